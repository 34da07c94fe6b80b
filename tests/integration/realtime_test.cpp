// rcgate's realtime client against rcgate-sim over real sockets: logins, token reuse, reconnects,
// heartbeat, rate limits, fatal credential problems, ws and wss.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "support/fixtures.hpp"

namespace rcgate::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

TEST(Realtime, LogsInWithPersonalAccessTokenAndSubscribes) {
  Sim sim;
  ClientHarness h(pat_options(sim.url()));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  EXPECT_EQ(h.client->identity().user_id, kBotId);
  EXPECT_EQ(h.client->identity().username, "camera-bot");  // learnt from /api/v1/me
  auto stats = sim.stats();
  EXPECT_EQ(stats["password_logins"], 0);
  // The four streams rcgate needs, on the bot's own user id.
  std::set<std::string> events;
  for (const auto& s : stats["subscriptions"]) events.insert(s["name"].get<std::string>() + " " +
                                                             s["event"].get<std::string>());
  EXPECT_TRUE(events.count("stream-room-messages __my_messages__"));
  EXPECT_TRUE(events.count(std::string("stream-notify-user ") + kBotId + "/rooms-changed"));
  EXPECT_TRUE(events.count(std::string("stream-notify-user ") + kBotId + "/subscriptions-changed"));
  EXPECT_TRUE(events.count(std::string("stream-notify-user ") + kBotId + "/message"));
}

TEST(Realtime, ReceivesAndClassifiesMessages) {
  Sim sim;
  ClientHarness h(pat_options(sim.url()));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();

  auto mention = sim.post("messages", {{"room", "general"}, {"user", "alice"},
                                       {"text", "@camera-bot snapshot please"}})["message"];
  auto id = mention["_id"].get<std::string>();
  ASSERT_TRUE(h.run_until([&] { return h.find(id) != nullptr; })) << sim.log();
  const auto* r = h.find(id);
  EXPECT_EQ(r->classification.kind, rc::MessageKind::New);
  EXPECT_TRUE(r->classification.mentions_bot);
  EXPECT_TRUE(r->classification.member);
  EXPECT_EQ(r->message.u.username, "alice");
  EXPECT_EQ(r->message.meta.room_name, "general");

  // An edit of the mention is an edit; a reaction on it is a mutation, not a new message.
  sim.post("messages/edit", {{"id", id}, {"text", "@camera-bot snapshot of the garage please"}});
  ASSERT_TRUE(h.run_until([&] { return h.received.size() >= 2; }));
  EXPECT_EQ(h.received.back().classification.kind, rc::MessageKind::Edit);
  sim.post("messages/react", {{"id", id}, {"user", "bob"}, {"emoji", ":eyes:"}});
  ASSERT_TRUE(h.run_until([&] { return h.received.size() >= 3; }));
  EXPECT_EQ(h.received.back().classification.kind, rc::MessageKind::Mutation);

  // A thread reply, a public room the bot has not joined, a DM is not a device message.
  auto reply = sim.post("messages", {{"room", "general"}, {"user", "alice"},
                                     {"text", "and the driveway too"}, {"tmid", id}})["message"];
  ASSERT_TRUE(h.run_until([&] { return h.find(reply["_id"]) != nullptr; }));
  EXPECT_TRUE(h.find(reply["_id"])->classification.thread_reply);

  auto lobby = sim.post("messages", {{"room", "lobby"}, {"user", "bob"}, {"text", "hi all"}})["message"];
  ASSERT_TRUE(h.run_until([&] { return h.find(lobby["_id"]) != nullptr; }));
  EXPECT_FALSE(h.find(lobby["_id"])->classification.member);
}

TEST(Realtime, PasswordLoginOnceThenResumesAcross20Reconnects) {
  Sim sim;
  TempDir state;
  ClientHarness h(password_options(sim.url(), state.path()));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  for (int i = 0; i < 20; ++i) {
    int before = h.online_count;
    auto dropped = sim.post("connections/drop")["dropped"].get<int>();
    ASSERT_GE(dropped, 1);
    ASSERT_TRUE(h.run_until([&] { return h.online_count > before; }))
        << "reconnect " << i << " did not come back online\n" << sim.log();
  }
  auto stats = sim.stats();
  EXPECT_EQ(stats["password_logins"], 1) << stats.dump();
  EXPECT_EQ(stats["tokens"]["camera-bot"], 1) << stats.dump();
  EXPECT_GE(stats["resume_logins"].get<int>(), 21);

  // The token is kept for the next start, readable by rcgate only.
  struct stat st {};
  ASSERT_EQ(::stat((state.path() + "/session.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // A restart resumes the saved token: still one password login on the server.
  h.client->stop();
  ClientHarness again(password_options(sim.url(), state.path()));
  again.client->start();
  ASSERT_TRUE(again.wait_online()) << sim.log();
  EXPECT_EQ(sim.stats()["password_logins"], 1);
  EXPECT_EQ(sim.stats()["tokens"]["camera-bot"], 1);
}

TEST(Realtime, StaleSavedTokenLeadsToOneFreshPasswordLogin) {
  Sim sim;
  TempDir state;
  auto options = password_options(sim.url(), state.path());
  {
    std::ofstream f(state.file("session.json"));
    f << json{{"format", 1}, {"server", options.server.to_string()}, {"username", "camera-bot"},
              {"user_id", kBotId}, {"token", "expired-or-wrong-token"}}
             .dump();
  }
  ClientHarness h(options);
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  EXPECT_EQ(sim.stats()["password_logins"], 1);
  EXPECT_EQ(h.client->counters().password_logins, 1u);
  EXPECT_NE(read_file(state.file("session.json")).find(h.client->identity().token),
            std::string::npos);
}

TEST(Realtime, ReconnectsAfterDropWithinBackoffAndResubscribes) {
  Sim sim;
  ClientHarness h(pat_options(sim.url()));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  h.run_for(600ms);  // a stable session earns a fresh backoff
  auto t0 = Clock::now();
  sim.post("connections/drop");
  ASSERT_TRUE(h.run_until([&] { return h.online_count >= 2; })) << sim.log();
  // backoff_max is 400 ms: back within that plus the time a login takes on loopback.
  EXPECT_LT(ms_since(t0), 400 + 1500);
  // Resubscribed: a message posted now arrives.
  auto m = sim.post("messages", {{"room", "general"}, {"user", "bob"}, {"text", "back?"}})["message"];
  EXPECT_TRUE(h.run_until([&] { return h.find(m["_id"]) != nullptr; }));
  int subs = 0;
  const auto stats = sim.stats();
  for (const auto& s : stats["subscriptions"])
    if (s["name"] == "stream-room-messages") ++subs;
  EXPECT_EQ(subs, 1) << "exactly one live message subscription after the reconnect: "
                     << stats.dump();
}

TEST(Realtime, DetectsASilentServerAndReconnects) {
  Sim sim;
  auto o = pat_options(sim.url());
  o.ping_interval = 200ms;
  o.dead_after = 600ms;
  ClientHarness h(o);
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  h.run_for(300ms);
  EXPECT_GE(h.client->counters().pings_sent, 1u) << "the client pings a quiet link";
  EXPECT_GE(sim.stats()["pings_received"].get<int>(), 1);

  sim.post("faults", {{"answer_pings", false}});
  auto t0 = Clock::now();
  ASSERT_TRUE(h.run_until([&] {
    return h.client->status().state == rc::LinkState::BackingOff;
  }, 5s));
  // dead_after, plus one heartbeat tick and scheduling slack on a loaded (or sanitized) machine.
  EXPECT_LT(ms_since(t0), 600 + 200 + 1000) << "declared dead within dead_after";
  EXPECT_NE(h.client->status().reason.find("no data"), std::string::npos)
      << h.client->status().reason;
  sim.post("faults", {{"answer_pings", true}});
  int before = h.online_count;
  EXPECT_TRUE(h.run_until([&] { return h.online_count > before; }, 10s)) << sim.log();
}

TEST(Realtime, HonoursRateLimitedLogins) {
  Sim sim;
  ClientHarness h(pat_options(sim.url()));
  sim.post("faults", {{"refuse_logins", 3}, {"time_to_reset_ms", 300}});
  auto t0 = Clock::now();
  h.client->start();
  ASSERT_TRUE(h.wait_online(10s)) << sim.log();
  auto elapsed = ms_since(t0);
  // Three refusals, each waited out for at least timeToReset (300 ms), at most the backoff cap.
  EXPECT_GE(elapsed, 3 * 300);
  EXPECT_LT(elapsed, 3 * (400 + 300) + 1500);
  int backoffs = 0;
  for (const auto& st : h.statuses)
    if (st.state == rc::LinkState::BackingOff) {
      ++backoffs;
      EXPECT_NE(st.reason.find("rate-limited"), std::string::npos) << st.reason;
    }
  EXPECT_EQ(backoffs, 3);
}

TEST(Realtime, HonoursRestRateLimitOnPasswordLogin) {
  Sim sim;
  TempDir state;
  sim.post("faults", {{"rest_login_429", 2}, {"reset_ms", 300}});
  ClientHarness h(password_options(sim.url(), state.path()));
  auto t0 = Clock::now();
  h.client->start();
  ASSERT_TRUE(h.wait_online(10s)) << sim.log();
  EXPECT_GE(ms_since(t0), 2 * 300) << "waited for X-RateLimit-Reset each time";
  EXPECT_EQ(sim.stats()["password_logins"], 1);
}

TEST(Realtime, WrongPasswordStopsWithAClearReasonAndNoRetries) {
  Sim sim;
  TempDir state;
  ClientHarness h(password_options(sim.url(), state.path(), "not-the-password"));
  h.client->start();
  ASSERT_TRUE(h.run_until([&] { return h.client->status().state == rc::LinkState::Stopped; }));
  EXPECT_TRUE(h.client->status().fatal);
  EXPECT_NE(h.client->status().reason.find("rocketchat.auth"), std::string::npos)
      << h.client->status().reason;
  EXPECT_EQ(h.client->status().reason.find("not-the-password"), std::string::npos)
      << "the password must never appear in messages";
  h.run_for(1500ms);
  EXPECT_EQ(sim.stats()["failed_logins"], 1) << "no retry storm";
  EXPECT_EQ(h.client->counters().connects, 0u);
}

TEST(Realtime, TwoFactorAccountStopsWithAClearReason) {
  Sim sim;
  TempDir state;
  sim.post("users/update", {{"username", "camera-bot"}, {"totp", true}});
  ClientHarness h(password_options(sim.url(), state.path()));
  h.client->start();
  ASSERT_TRUE(h.run_until([&] { return h.client->status().state == rc::LinkState::Stopped; }));
  EXPECT_TRUE(h.client->status().fatal);
  EXPECT_NE(h.client->status().reason.find("two-factor"), std::string::npos);
  h.run_for(1000ms);
  EXPECT_LE(sim.stats()["failed_logins"].get<int>(), 1);
}

TEST(Realtime, RefusedTokenStops) {
  Sim sim;
  auto o = pat_options(sim.url());
  o.credentials.token = "revoked-token-000000000000000000000000000000";
  ClientHarness h(o);
  h.client->start();
  ASSERT_TRUE(h.run_until([&] { return h.client->status().state == rc::LinkState::Stopped; }));
  EXPECT_TRUE(h.client->status().fatal);
  EXPECT_NE(h.client->status().reason.find("personal access token"), std::string::npos);
}

TEST(Realtime, WorksUnderASubPath) {
  Sim sim({"--root-prefix", "/chat"});
  ClientHarness h(pat_options(sim.url() + "/chat"));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  EXPECT_EQ(h.client->identity().username, "camera-bot") << "REST under /chat/api works too";
  auto m = sim.post("messages", {{"room", "general"}, {"user", "alice"}, {"text", "sub-path"}})["message"];
  EXPECT_TRUE(h.run_until([&] { return h.find(m["_id"]) != nullptr; }));
}

TEST(Realtime, ConnectsOverWssWithTheServersCertificate) {
  Sim sim({}, /*tls=*/true);
  auto o = pat_options(sim.tls_url());
  o.tls.ca_file = sim.cert_file();
  ClientHarness h(o);
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  auto m = sim.post("messages", {{"room", "general"}, {"user", "alice"}, {"text", "over tls"}})["message"];
  EXPECT_TRUE(h.run_until([&] { return h.find(m["_id"]) != nullptr; }));
}

TEST(Realtime, RefusesAnUntrustedCertificate) {
  Sim sim({}, /*tls=*/true);
  ClientHarness h(pat_options(sim.tls_url()));  // system CAs only: the sim's cert is self-signed
  h.client->start();
  ASSERT_TRUE(h.run_until([&] {
    return h.client->status().state == rc::LinkState::BackingOff;
  }));
  EXPECT_NE(h.client->status().reason.find("certificate"), std::string::npos)
      << h.client->status().reason;
  EXPECT_FALSE(h.online());
}

TEST(Realtime, FollowsRoomMembershipEvents) {
  Sim sim;
  ClientHarness h(pat_options(sim.url()));
  h.client->start();
  ASSERT_TRUE(h.wait_online()) << sim.log();
  auto room = sim.post("rooms", {{"name", "garage"}, {"type", "p"}, {"members", {"alice"}}})["room"];
  sim.post("rooms/add-member", {{"room", "garage"}, {"user", "camera-bot"}});
  ASSERT_TRUE(h.run_until([&] {
    for (const auto& [a, r] : h.room_events)
      if (a == "inserted" && r.value("_id", "") == room["_id"]) return true;
    return false;
  })) << sim.log();
  sim.post("rooms/rename", {{"room", "garage"}, {"name", "garage-door"}});
  ASSERT_TRUE(h.run_until([&] {
    for (const auto& [a, r] : h.room_events)
      if (a == "updated" && r.value("name", "") == "garage-door") return true;
    return false;
  })) << sim.log();
  sim.post("rooms/remove-member", {{"room", "garage-door"}, {"user", "camera-bot"}});
  EXPECT_TRUE(h.run_until([&] {
    for (const auto& [a, s] : h.subscription_events)
      if (a == "removed") return true;
    return false;
  })) << sim.log();
}

}  // namespace
}  // namespace rcgate::test
