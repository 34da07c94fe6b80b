// Issue 3 end to end: rcgate (the binary) against rcgate-sim — devices per room, people, routing
// of DMs and mentions to the interaction engines, answers where the question was asked, state
// across restarts.
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon.hpp"

namespace rcgate::test {
namespace {

using nlohmann::json;
constexpr const char* kAliceDm = "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg";

json say(Sim& sim, const std::string& user, const std::string& room, const std::string& text,
         const std::string& tmid = {}) {
  json body = {{"user", user}, {"room", room}, {"text", text}};
  if (!tmid.empty()) body["tmid"] = tmid;
  return sim.post("messages", body)["message"];
}

json dm(Sim& sim, const std::string& user, const std::string& text) {
  return sim.post("messages", {{"user", user}, {"to", "camera-bot"}, {"text", text}})["message"];
}

json state_of(TempDir& dir) {
  auto text = read_file(dir.file("state/state.json"));
  return json::parse(text);
}

const json* device(const json& state, const std::string& id) {
  for (const auto& d : state["devices"])
    if (d.value("id", "") == id) return &d;
  return nullptr;
}

bool eventually_state(TempDir& dir, const std::function<bool(const json&)>& pred) {
  return eventually(
      [&] {
        try {
          return pred(state_of(dir));
        } catch (...) {
          return false;
        }
      },
      8s, 50ms);
}

class Gateway : public ::testing::Test {
 protected:
  Sim sim;
  TempDir dir;
  std::unique_ptr<Daemon> daemon;

  void start(const std::string& extra = {}) {
    daemon = std::make_unique<Daemon>(dir, household_config(sim.url(), dir.file("state"), extra));
    daemon->start();
    ASSERT_TRUE(daemon->wait_online()) << daemon->log() << sim.log();
  }
  void TearDown() override {
    if (daemon) daemon->stop();
  }
  bool replies_in(const std::string& room, std::size_t n, std::chrono::milliseconds within = 8s) {
    return eventually([&] { return bot_messages(sim, room).size() >= n; }, within);
  }
};

TEST_F(Gateway, AnswersAMentionInTheRoomOnce) {
  start();
  auto q = say(sim, "alice", "general", "@camera-bot is the garage closed?");
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  auto replies = bot_messages(sim, "general");
  EXPECT_EQ(replies[0]["msg"], "The garage door is closed, Alice Example.");
  EXPECT_FALSE(replies[0].contains("tmid"));
  // An edit of the mention and a reaction on it are not new questions.
  sim.post("messages/edit", {{"id", q["_id"]}, {"text", "@camera-bot is the garage really closed?"}});
  sim.post("messages/react", {{"id", q["_id"]}, {"user", "bob"}, {"emoji", ":thumbsup:"}});
  daemon->wait_log("ignored: ", 3s, 2);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_messages(sim, "general").size(), 1u) << daemon->log();
  EXPECT_NE(daemon->log().find("audit: "), std::string::npos) << "every query is audited";
}

TEST_F(Gateway, AnswersADirectMessageWithoutMention) {
  start();
  dm(sim, "alice", "garage?");
  ASSERT_TRUE(replies_in(kAliceDm, 1)) << daemon->log();
  EXPECT_EQ(bot_messages(sim, kAliceDm)[0]["msg"], "The garage door is closed, Alice Example.");
}

TEST_F(Gateway, AnswersAThreadReplyInTheThread) {
  start();
  auto root = say(sim, "alice", "general", "something about the house");
  say(sim, "alice", "general", "@camera-bot and the garage?", root["_id"]);
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  EXPECT_EQ(bot_messages(sim, "general")[0]["tmid"], root["_id"]);
}

TEST_F(Gateway, PlainChatterAndGroupMentionsAreNotQuestions) {
  start();
  say(sim, "alice", "general", "dinner at 7?");
  say(sim, "alice", "general", "@all the garage is open");
  say(sim, "alice", "lobby", "@camera-bot garage?");  // a room the bot has not joined
  daemon->wait_log("ignored: ", 3s, 3);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(bot_messages(sim, "general").empty()) << daemon->log();
  EXPECT_TRUE(bot_messages(sim, "lobby").empty());
}

TEST_F(Gateway, UnknownPeopleGetAPoliteRefusalAndDeniedPeopleSilence) {
  start();
  sim.post("users", {{"username", "carol"}, {"name", "Carol Guest"}});
  sim.post("rooms/add-member", {{"room", "general"}, {"user", "carol"}});
  say(sim, "carol", "general", "@camera-bot open the garage");
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  EXPECT_NE(bot_messages(sim, "general")[0]["msg"].get<std::string>().find("don't know you"),
            std::string::npos);
  say(sim, "bob", "general", "@camera-bot open the garage");
  ASSERT_TRUE(daemon->wait_log("bob: refused")) << daemon->log();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_messages(sim, "general").size(), 1u) << "bob (denied) is not answered";
  // The unknown person is listed for the operator to map.
  ASSERT_TRUE(eventually_state(dir, [](const json& s) {
    for (const auto& u : s["users"])
      if (u.value("username", "") == "carol") return true;
    return false;
  }));
}

TEST_F(Gateway, EncryptedMessagesGetOneNotice) {
  start();
  for (int i = 0; i < 2; ++i)
    sim.post("messages", {{"user", "alice"}, {"room", "general"}, {"text", ""}, {"t", "e2e"},
                          {"e2e", "pending"},
                          {"content", {{"algorithm", "rc.v1.aes-sha2"}, {"ciphertext", "x"}}}});
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  std::this_thread::sleep_for(500ms);
  auto replies = bot_messages(sim, "general");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_NE(replies[0]["msg"].get<std::string>().find("encrypted"), std::string::npos);
}

TEST_F(Gateway, FollowUpNeedsNoMention) {
  start();
  say(sim, "alice", "general", "@camera-bot lights please");
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  EXPECT_EQ(bot_messages(sim, "general")[0]["msg"], "Which room?");
  say(sim, "alice", "general", "the kitchen");
  ASSERT_TRUE(replies_in("general", 2)) << daemon->log();
  EXPECT_EQ(bot_messages(sim, "general")[1]["msg"], "Kitchen lights on.");
}

TEST_F(Gateway, ReplaysRecordedFixtureFrames) {
  start();
  // alice's DM room exists once she has written to the bot.
  dm(sim, "alice", "garage?");
  ASSERT_TRUE(replies_in(kAliceDm, 1)) << daemon->log();
  // The recorded frames of ../shared/fixtures, replayed to rcgate over its real connection.
  // The DM from alice is answered; the mention in #general (same id as the edited and thread
  // fixtures) is answered once; edit, thread-root re-broadcast, system and own echo are not.
  for (const char* name : {"dm-message.json", "channel-message-mention.json", "edited-message.json",
                           "thread-reply.json", "system-uj.json", "file-attachment-message.json"}) {
    const json recorded = fixture(name);
    for (const auto& frame : recorded["server"]) {
      if (frame.value("msg", "") != "changed") continue;
      // Fixture times are from March 2026: make them current so the messages count as fresh.
      json f = frame;
      auto& m = f["fields"]["args"][0];
      std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
      std::int64_t shift = now - m["ts"]["$date"].get<std::int64_t>();
      for (const char* key : {"ts", "_updatedAt", "editedAt", "tlm"})
        if (m.contains(key)) m[key]["$date"] = m[key]["$date"].get<std::int64_t>() + shift;
      auto sent = sim.post("frames", {{"frame", f}});
      ASSERT_EQ(sent.value("sent", 0), 1) << name << " " << sent.dump();
    }
  }
  // The fixtures' rooms are the simulator's: GENERAL and the alice DM.
  ASSERT_TRUE(replies_in("general", 1)) << daemon->log();
  ASSERT_TRUE(replies_in(kAliceDm, 2)) << daemon->log();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(bot_messages(sim, "general").size(), 1u) << daemon->log();
  EXPECT_EQ(bot_messages(sim, kAliceDm).size(), 2u);
  // A malformed frame is logged and skipped; the daemon goes on.
  sim.post("frames", {{"raw", "{\"msg\":\"changed\",\"collection\":\"stream-room-messages\",\"fields\":{\"args\":{}}}"}});
  sim.post("frames", {{"raw", "not json at all"}});
  ASSERT_TRUE(daemon->wait_log("malformed frame")) << daemon->log();
  dm(sim, "alice", "garage?");
  EXPECT_TRUE(replies_in(kAliceDm, 3)) << daemon->log();
}

TEST_F(Gateway, DevicesFollowTheRooms) {
  start("devices:\n  rooms:\n    camera-alerts: {mention_commands: false}\n");
  ASSERT_TRUE(eventually_state(dir, [](const json& s) {
    return device(s, "GENERAL") && device(s, "c3f8a6a80a707dc9ce744b9d");
  })) << daemon->log();
  // Not a member of #lobby: no device, even after a message there.
  say(sim, "bob", "lobby", "hello lobby");
  say(sim, "alice", "general", "the garage is open");
  say(sim, "alice", "camera-alerts", "motion at the door");
  ASSERT_TRUE(eventually_state(dir, [](const json& s) {
    const json* g = device(s, "GENERAL");
    return g && g->dump().find("the garage is open") != std::string::npos;
  })) << daemon->log();
  auto s = state_of(dir);
  EXPECT_EQ(device(s, "7b2e1d3c0f9e8d7c6b5a4f3e"), nullptr);
  const json* g = device(s, "GENERAL");
  EXPECT_EQ(g->at("last").value("sender_username", ""), "alice");
  EXPECT_EQ(g->at("last").value("sender_name", ""), "Alice Example");
  EXPECT_NE(g->dump().find("\"alice\""), std::string::npos) << "alice is among the persons";
  const json* cam = device(s, "c3f8a6a80a707dc9ce744b9d");
  EXPECT_EQ(cam->at("last").value("text", ""), "motion at the door");
  // Mention commands: one per person who spoke; switched off for camera-alerts by the config.
  EXPECT_TRUE(daemon->wait_log("device 'general' (GENERAL): command-added @alice"))
      << daemon->log();
  EXPECT_EQ(daemon->log().find("(c3f8a6a80a707dc9ce744b9d): command-added"), std::string::npos)
      << daemon->log();

  // Joined, renamed, left: the same device follows.
  auto room = sim.post("rooms", {{"name", "garage"}, {"type", "p"}, {"members", {"alice"}}})["room"];
  std::string rid = room["_id"];
  sim.post("rooms/add-member", {{"room", "garage"}, {"user", "camera-bot"}});
  ASSERT_TRUE(eventually_state(dir, [&](const json& s) { return device(s, rid) != nullptr; }))
      << daemon->log();
  sim.post("rooms/rename", {{"room", "garage"}, {"name", "garage-door"}});
  ASSERT_TRUE(eventually_state(dir, [&](const json& s) {
    const json* d = device(s, rid);
    return d && d->value("name", "") == "garage-door";
  })) << daemon->log();
  sim.post("rooms/remove-member", {{"room", "garage-door"}, {"user", "camera-bot"}});
  ASSERT_TRUE(eventually_state(dir, [&](const json& s) {
    const json* d = device(s, rid);
    return d && d->value("available", true) == false;
  })) << daemon->log();
}

TEST_F(Gateway, StateSurvivesKillAndCorruption) {
  start();
  say(sim, "alice", "general", "remember me");
  ASSERT_TRUE(eventually_state(dir, [](const json& s) {
    const json* g = device(s, "GENERAL");
    return g && g->dump().find("remember me") != std::string::npos;
  })) << daemon->log();
  daemon->kill9();
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  EXPECT_NE(daemon->log().find("devices and"), std::string::npos) << daemon->log();
  EXPECT_NE(state_of(dir).dump().find("remember me"), std::string::npos);
  daemon->stop();

  std::ofstream(dir.file("state/state.json")) << "{\"version\": 1, \"devices\": [tru";
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  EXPECT_NE(daemon->log().find("is damaged"), std::string::npos) << daemon->log();
  ASSERT_TRUE(eventually_state(dir, [](const json& s) { return device(s, "GENERAL") != nullptr; }))
      << "rebuilt from the server\n" << daemon->log();
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("state")))
    if (e.path().filename().string().rfind("state.json.corrupt-", 0) == 0) ++aside;
  EXPECT_EQ(aside, 1);
}

TEST_F(Gateway, ADirectMessageSentWhileDownIsAnsweredExactlyOnce) {
  start();
  dm(sim, "alice", "garage?");
  ASSERT_TRUE(replies_in(kAliceDm, 1)) << daemon->log();
  ASSERT_EQ(daemon->stop(), 0);

  const std::string missed = dm(sim, "alice", "and the garage now?")["_id"];  // while down
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(replies_in(kAliceDm, 2)) << daemon->log();

  // Killed and started again: nothing is answered twice. Unless state.json was written since
  // (5 s after a change), only the journal knows that the DM was acted on.
  daemon->kill9();
  const bool in_state = state_of(dir).dump().find(missed) != std::string::npos;
  const bool in_journal = read_file(dir.file("state/state.journal")).find(missed) != std::string::npos;
  ASSERT_TRUE(in_state || in_journal) << "the DM acted on is on disk";
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  if (in_journal) {
    EXPECT_NE(daemon->log().find("record(s) of what was acted on or queued since the last save replayed"),
              std::string::npos)
        << daemon->log();
  }
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(bot_messages(sim, kAliceDm).size(), 2u) << daemon->log();
}

// After a long outage the history holds more than one page (the server gives 100 messages at a
// time): every page is read, and every missed DM answered once, oldest first.
TEST_F(Gateway, AnOutageOfMoreThanAPageOfDirectMessagesIsCaughtUpWhole) {
  auto config = household_config(sim.url(), dir.file("state"));
  config.replace(config.find("messages: 20"), 12, "messages: 1000");  // alice asks a lot
  daemon = std::make_unique<Daemon>(dir, config);
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  dm(sim, "alice", "garage?");
  ASSERT_TRUE(replies_in(kAliceDm, 1)) << daemon->log();
  ASSERT_EQ(daemon->stop(), 0);

  constexpr int kMissed = 250;
  for (int i = 0; i < kMissed; ++i) dm(sim, "alice", "garage? " + std::to_string(i));
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(replies_in(kAliceDm, 1 + kMissed, 30s)) << daemon->log();
  std::this_thread::sleep_for(1000ms);
  const auto replies = bot_messages(sim, kAliceDm);
  EXPECT_EQ(replies.size(), 1u + kMissed) << "none twice";
  EXPECT_EQ(daemon->log().find("are not read"), std::string::npos);
}

// A server coming back behind a proxy answers 503 to its first REST calls: the listing of the
// bot's rooms and the history of the DM fail once each. The catch-up is tried again, so the DM
// sent while rcgate was down is still answered, once.
TEST_F(Gateway, CatchUpIsTriedAgainWhenTheServerFailsAtFirst) {
  start();
  dm(sim, "alice", "garage?");
  ASSERT_TRUE(replies_in(kAliceDm, 1)) << daemon->log();
  ASSERT_EQ(daemon->stop(), 0);

  dm(sim, "alice", "and the garage now?");  // while rcgate is down
  sim.post("chaos/rest", {{"path", "/api/v1/subscriptions.get"}, {"status", 503}, {"count", 1}});
  sim.post("chaos/rest", {{"path", "/api/v1/im.history"}, {"status", 502}, {"count", 1}});
  daemon->start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(replies_in(kAliceDm, 2)) << daemon->log();
  EXPECT_EQ(sim.get("chaos")["applied"], 2) << "both failures were served\n" << daemon->log();
  EXPECT_NE(daemon->log().find("catch-up: trying again"), std::string::npos) << daemon->log();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(bot_messages(sim, kAliceDm).size(), 2u) << daemon->log();
}

}  // namespace
}  // namespace rcgate::test
