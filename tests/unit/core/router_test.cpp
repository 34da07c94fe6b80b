#include "core/router.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace rcgate::core {
namespace {

using Kind = Decision::Kind;
using namespace std::chrono_literals;

const std::string kBotId = "BCmeyJm2r6b8hJiie";
const std::string kAliceId = "t7EgqqFfkzCDKZrLg";
const std::string kDmRoom = "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg";

// Every message event of a fixture, in order.
std::vector<rc::Message> messages_of(const std::string& name) {
  std::vector<rc::Message> out;
  const nlohmann::json fixture = test::fixture(name);
  for (const auto& frame : fixture["server"]) {
    if (frame.value("msg", "") != "changed" ||
        frame.value("collection", "") != "stream-room-messages") {
      continue;
    }
    std::string why;
    auto message = rc::parse_stream_args(frame["fields"]["args"], &why);
    EXPECT_TRUE(message.has_value()) << name << ": " << why;
    if (message) out.push_back(*message);
  }
  EXPECT_FALSE(out.empty()) << name;
  return out;
}

rc::Message first_of(const std::string& name) { return messages_of(name).at(0); }

// A message as the stream would deliver it, for cases the fixtures do not hold.
rc::Message built(std::string id, std::string rid, rc::UserRef user, std::string text,
                  std::int64_t ts, std::string room_type = "c", std::string room_name = "general") {
  rc::Message m;
  m.id = std::move(id);
  m.rid = std::move(rid);
  m.u = std::move(user);
  m.text = std::move(text);
  m.ts_ms = ts;
  m.updated_ms = ts + 20;
  m.attachments = nlohmann::json::array();
  m.meta.present = true;
  m.meta.participant = true;
  m.meta.room_name = room_type == "d" ? "" : std::move(room_name);
  m.meta.room_type = std::move(room_type);
  return m;
}

const rc::UserRef kAlice{kAliceId, "alice", "Alice Example"};
const rc::UserRef kCarol{"u-carol", "carol", "Carol"};
const rc::UserRef kBob{"u-bob", "bob", "Bob Stranger"};
const rc::UserRef kMallory{"u-mallory", "mallory", "Mallory"};
const rc::UserRef kBotMention{kBotId, "camera-bot", "Camera Bot"};

rc::Message mention(std::string id, rc::UserRef user, std::string text, std::int64_t ts,
                    std::string rid = "GENERAL") {
  rc::Message m = built(std::move(id), std::move(rid), std::move(user), std::move(text), ts);
  m.mentions.push_back(kBotMention);
  return m;
}

rc::Message dm(std::string id, rc::UserRef user, std::string text, std::int64_t ts,
               std::string rid = kDmRoom) {
  return built(std::move(id), std::move(rid), std::move(user), std::move(text), ts, "d");
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    devices.upsert_room({"GENERAL", "general", "General", "c", "", "", false});
    devices.upsert_room({"c3f8a6a80a707dc9ce744b9d", "camera-alerts", "", "p", "", "", false});
  }

  Decision route(const rc::Message& m, std::int64_t now = -1, Source source = Source::Live) {
    return router->route(m, classifier.classify(m), now < 0 ? m.ts_ms + 100 : now, source);
  }

  // A router restarted from the state of this one: a new classifier and the saved memory.
  void restart() {
    const RouterMemory memory = router->memory();
    classifier = rc::Classifier(kBotId);
    router = std::make_unique<Router>(BotIdentity{kBotId, "camera-bot"}, options, unknown, users,
                                      devices);
    router->restore(memory);
  }

  DeviceRegistry devices;
  UserDirectory users{{{"alice", "alice", true, "admin"},
                       {"carol", "carol_home", true, ""},
                       {"mallory", "mallory", false, ""}}};
  InteractionOptions options;
  UnknownUserOptions unknown;
  rc::Classifier classifier{kBotId};
  std::unique_ptr<Router> router =
      std::make_unique<Router>(BotIdentity{kBotId, "camera-bot"}, options, unknown, users, devices);
};

// ----- what is answered

TEST_F(RouterTest, DirectMessageIsAsked) {
  const rc::Message m = first_of("dm-message.json");
  const Decision d = route(m);
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  EXPECT_EQ(d.room_id, kDmRoom);
  EXPECT_EQ(d.thread_id, "");
  const rcgate::Query& q = d.query;
  EXPECT_EQ(q.text, "snapshot");
  EXPECT_EQ(q.message_id, "wfvudEKte7xbWZbX7");
  EXPECT_EQ(q.rc_user_id, kAliceId);
  EXPECT_EQ(q.rc_username, "alice");
  EXPECT_EQ(q.rc_display_name, "Alice Example");
  EXPECT_EQ(q.automation_user, "alice");
  EXPECT_EQ(q.role, "admin");
  EXPECT_EQ(q.room_id, kDmRoom);
  EXPECT_EQ(q.room_type, "d");
  EXPECT_EQ(q.room_name, "");
  EXPECT_EQ(q.device_id, "");
  EXPECT_TRUE(q.is_direct);
  EXPECT_FALSE(q.is_followup);
}

TEST_F(RouterTest, ChannelMentionIsAskedWithoutTheMention) {
  const Decision d = route(first_of("channel-message-mention.json"));
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  EXPECT_EQ(d.query.text, "snapshot please");
  EXPECT_EQ(d.room_id, "GENERAL");
  EXPECT_EQ(d.query.device_id, "GENERAL");
  EXPECT_EQ(d.query.room_name, "General") << "the device's display name";
  EXPECT_EQ(d.query.room_type, "c");
  EXPECT_FALSE(d.query.is_direct);
  EXPECT_EQ(d.reason, "mention");
}

TEST_F(RouterTest, MentionInARoomNotYetKnownAsADeviceUsesTheStreamMetadata) {
  const Decision d = route(mention("m1", kAlice, "@camera-bot hi", 1000, "NEWROOM"));
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  EXPECT_EQ(d.query.room_name, "general");
  EXPECT_EQ(d.query.device_id, "NEWROOM");
}

TEST_F(RouterTest, ThreadReplyMentioningTheBotIsAnsweredInTheThread) {
  rc::Message m = first_of("thread-reply.json");
  m.text = "@camera-bot and the driveway too";
  m.mentions.push_back(kBotMention);
  const Decision d = route(m);
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  EXPECT_EQ(d.thread_id, "gwfL9C5wjoXJTF6Yr");
  EXPECT_EQ(d.query.thread_id, "gwfL9C5wjoXJTF6Yr");
  EXPECT_EQ(d.query.text, "and the driveway too");
}

TEST_F(RouterTest, ThreadReplyWithoutMentionAndTheRootCountersAreIgnored) {
  const auto frames = messages_of("thread-reply.json");
  ASSERT_EQ(frames.size(), 2u);
  // The order of the two events is not guaranteed: both orders, each with a fresh memory.
  for (const bool reversed : {false, true}) {
    classifier = rc::Classifier(kBotId);
    const Decision a = route(frames[reversed ? 1 : 0]);
    const Decision b = route(frames[reversed ? 0 : 1]);
    EXPECT_EQ(a.kind, Kind::Ignore) << a.reason;
    EXPECT_EQ(b.kind, Kind::Ignore) << b.reason;
  }
  EXPECT_EQ(route(frames[1]).reason, "change to an earlier message (reaction, thread, preview)");
}

TEST_F(RouterTest, MentionOfTheBotAnywhereIsStripped) {
  const Decision d = route(mention("m1", kAlice, "turn  on @camera-bot the   lights", 1000));
  ASSERT_EQ(d.kind, Kind::Ask);
  EXPECT_EQ(d.query.text, "turn on the lights");
}

TEST_F(RouterTest, MentionUsesTheUsernameTheServerResolved) {
  // The bot's account was renamed; mentions[] carries the current name, matched by id.
  router->set_bot({kBotId, "old-name"});
  const Decision d = route(mention("m1", kAlice, "@camera-bot status", 1000));
  ASSERT_EQ(d.kind, Kind::Ask);
  EXPECT_EQ(d.query.text, "status");
}

TEST_F(RouterTest, GroupMentionWithTheBotIsAsked) {
  rc::Message m = mention("m1", kAlice, "@all @camera-bot dinner is ready?", 1000);
  m.mentions.push_back({"all", "all", ""});
  const Decision d = route(m);
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  EXPECT_EQ(d.query.text, "@all dinner is ready?");
}

// ----- what is not

TEST_F(RouterTest, EditOfAMentionIsIgnored) {
  EXPECT_EQ(route(first_of("channel-message-mention.json")).kind, Kind::Ask);
  const Decision d = route(first_of("edited-message.json"));
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "already handled");
}

TEST_F(RouterTest, EditThatAddsAMentionIsIgnored) {
  // Only new messages are questions: editing a mention in does not ask.
  rc::Message m = built("e1", "GENERAL", kAlice, "lights on", 1000);
  EXPECT_EQ(route(m).reason, "not addressed to the bot");
  m.text = "@camera-bot lights on";
  m.mentions.push_back(kBotMention);
  m.edited_ms = 5000;
  m.updated_ms = 5000;
  const Decision d = route(m, 5000);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "edit of an earlier message");
}

TEST_F(RouterTest, EditArrivingBeforeItsOriginalIsAnsweredOnce) {
  const Decision edit = route(first_of("edited-message.json"));
  ASSERT_EQ(edit.kind, Kind::Ask) << edit.reason;
  EXPECT_EQ(edit.query.text, "snapshot of the garage please");
  const Decision original = route(first_of("channel-message-mention.json"));
  EXPECT_EQ(original.kind, Kind::Ignore) << original.reason;
}

TEST_F(RouterTest, ReactionOnAMentionIsIgnored) {
  rc::Message m = first_of("channel-message-mention.json");
  ASSERT_EQ(route(m).kind, Kind::Ask);
  m.updated_ms += 30'000;  // a reaction bumps _updatedAt only
  EXPECT_EQ(route(m, m.updated_ms).kind, Kind::Ignore);

  // A reaction on yesterday's mention, first seen today (not handled by this run).
  rc::Message old = first_of("channel-message-mention.json");
  old.id = "yesterday";
  old.updated_ms = old.ts_ms + 86'400'000;
  const Decision d = route(old, old.updated_ms);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "change to an earlier message (reaction, thread, preview)");
}

TEST_F(RouterTest, ReactionAfterARestartIsNotAnsweredAgain) {
  // After a restart the classifier has forgotten the message; a reaction shortly after it was
  // written looks new to it. The saved handled ids catch it.
  rc::Message m = first_of("channel-message-mention.json");
  ASSERT_EQ(route(m).kind, Kind::Ask);
  restart();
  m.updated_ms += 10'000;
  const Decision d = route(m, m.updated_ms);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "already handled");
}

TEST_F(RouterTest, SystemMessageIsIgnored) {
  const Decision d = route(first_of("system-uj.json"));
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "system message (t=uj)");
}

TEST_F(RouterTest, OwnMessagesAreIgnoredEvenBeforeTheClassifierKnowsTheBot) {
  const rc::Message m = first_of("file-attachment-message.json");
  EXPECT_EQ(route(m).reason, "own message");
  classifier = rc::Classifier();  // no bot id yet
  EXPECT_EQ(route(m).reason, "own message");
  rc::Message own_dm = dm("m2", kBotMention, "hello", 1000);
  EXPECT_EQ(route(own_dm).reason, "own message");
}

TEST_F(RouterTest, RemovedMessageIsIgnored) {
  rc::Message m = built("m1", "GENERAL", kAlice, "", 1000);
  m.t = "rm";
  m.mentions.push_back(kBotMention);
  EXPECT_EQ(route(m).reason, "removed message");
}

TEST_F(RouterTest, EncryptedMessagesGetOneNoticePerRoom) {
  auto encrypted = [](std::string id, std::string rid, std::int64_t ts, std::string type = "p") {
    rc::Message m = built(std::move(id), std::move(rid), kAlice, "", ts, std::move(type), "secret");
    m.t = "e2e";
    m.encrypted = true;
    return m;
  };
  const Decision first = route(encrypted("e1", "SECRET", 1000));
  ASSERT_EQ(first.kind, Kind::NoticeEncrypted) << first.reason;
  EXPECT_EQ(first.room_id, "SECRET");
  EXPECT_EQ(first.text, "I cannot read encrypted rooms; please write to me in a normal room.");
  EXPECT_EQ(route(encrypted("e2", "SECRET", 2000)).kind, Kind::Ignore);
  // Another room, and a DM, are told too.
  EXPECT_EQ(route(encrypted("e3", "SECRET2", 3000)).kind, Kind::NoticeEncrypted);
  EXPECT_EQ(route(encrypted("e4", kDmRoom, 4000, "d")).kind, Kind::NoticeEncrypted);
  // Once per room survives a restart.
  restart();
  EXPECT_EQ(route(encrypted("e5", "SECRET", 5000)).kind, Kind::Ignore);

  // An empty notice means silence.
  InteractionOptions quiet;
  quiet.encrypted_notice = "";
  router->set_options(quiet, unknown);
  const Decision silent = route(encrypted("e6", "SECRET3", 6000));
  EXPECT_EQ(silent.kind, Kind::Ignore);
  EXPECT_EQ(silent.reason, "encrypted message");
}

TEST_F(RouterTest, OtherBotsAreIgnoredUnlessAllowed) {
  rc::Message m = mention("b1", kCarol, "@camera-bot status", 1000);
  m.from_integration = true;
  const Decision d = route(m);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "message from a bot (interactions.allow_bots is off)");

  InteractionOptions allow;
  allow.allow_bots = true;
  router->set_options(allow, unknown);
  m.id = "b2";
  EXPECT_EQ(route(m).kind, Kind::Ask);
}

TEST_F(RouterTest, GroupMentionAloneIsNotAddressedToTheBot) {
  for (const char* group : {"all", "here"}) {
    rc::Message m = built(std::string("g-") + group, "GENERAL", kAlice,
                          std::string("@") + group + " dinner is ready", 1000);
    m.mentions.push_back({group, group, ""});
    const Decision d = route(m);
    EXPECT_EQ(d.kind, Kind::Ignore) << group;
    EXPECT_EQ(d.reason, "@all/@here without mentioning the bot") << group;
  }
}

TEST_F(RouterTest, PlainChannelChatterIsIgnoredButItsAuthorIsRecorded) {
  const Decision d = route(built("c1", "GENERAL", kBob, "lunch?", 1000));
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "not addressed to the bot");
  ASSERT_EQ(users.unknown().size(), 1u);
  EXPECT_EQ(users.unknown()[0].username, "bob");
  EXPECT_EQ(users.unknown()[0].display_name, "Bob Stranger");
}

TEST_F(RouterTest, RoomsTheBotIsNotAMemberOfAreIgnored) {
  rc::Message m = mention("n1", kAlice, "@camera-bot hi", 1000, "PUBLIC");
  m.meta.participant = false;
  const Decision d = route(m);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "not a member of the room");
  EXPECT_TRUE(users.seen().empty()) << "people in rooms the bot has not joined are not recorded";

  // Without stream metadata (a history fetch), a room the bot has left is known from the devices.
  devices.remove_room("GENERAL");
  rc::Message fetched = mention("n2", kAlice, "@camera-bot hi", 2000);
  fetched.meta = {};
  const Decision left = route(fetched);
  EXPECT_EQ(left.kind, Kind::Ignore);
  EXPECT_EQ(left.reason, "the bot left the room");
  // The stream says the bot is a participant (added back a moment ago): that is newer.
  EXPECT_EQ(route(mention("n3", kAlice, "@camera-bot hi", 3000)).kind, Kind::Ask);
}

TEST_F(RouterTest, LivechatIsIgnored) {
  rc::Message m = built("l1", "LIVE", kAlice, "hello", 1000, "l", "visitor");
  EXPECT_EQ(route(m).reason, "livechat room");
}

TEST_F(RouterTest, MentionWithNothingElseIsIgnored) {
  const Decision d = route(mention("e1", kAlice, "  @camera-bot:  ", 1000));
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "nothing to answer: no text besides the mention");
  EXPECT_EQ(route(dm("e2", kAlice, "", 1000)).kind, Kind::Ignore) << "a file alone in a DM";
}

// ----- who may ask

TEST_F(RouterTest, UnmappedUserIsRefusedPolitelyOrSilently) {
  const Decision d = route(dm("u1", kBob, "open the garage", 1000, "BOBDM"));
  ASSERT_EQ(d.kind, Kind::Refuse);
  EXPECT_EQ(d.text,
            "Sorry, I don't know you yet. Ask whoever runs the house to add you to rcgate.");
  EXPECT_EQ(d.room_id, "BOBDM");
  EXPECT_EQ(d.reason, "unknown user 'bob' (not listed under users:)");
  ASSERT_EQ(users.unknown().size(), 1u);
  EXPECT_EQ(users.unknown()[0].user_id, "u-bob");

  UnknownUserOptions silent;
  silent.polite = false;
  router->set_options(options, silent);
  const Decision quiet = route(dm("u2", kBob, "open the garage", 2000, "BOBDM"));
  EXPECT_EQ(quiet.kind, Kind::Refuse);
  EXPECT_EQ(quiet.text, "");
}

TEST_F(RouterTest, UnmappedUserMentioningInAThreadIsRefusedInTheThread) {
  rc::Message m = mention("u1", kBob, "@camera-bot open the garage", 1000);
  m.tmid = "ROOT";
  const Decision d = route(m);
  ASSERT_EQ(d.kind, Kind::Refuse);
  EXPECT_EQ(d.thread_id, "ROOT");
}

TEST_F(RouterTest, DeniedUserIsRefusedSilently) {
  const Decision d = route(dm("d1", kMallory, "open the garage", 1000, "MALDM"));
  ASSERT_EQ(d.kind, Kind::Refuse);
  EXPECT_EQ(d.text, "");
  EXPECT_EQ(d.reason, "user 'mallory' has interactions: deny");
  EXPECT_TRUE(users.unknown().empty()) << "mallory is known, just not allowed";
}

TEST_F(RouterTest, MappedUserGetsTheAutomationUser) {
  const Decision d = route(dm("c1", kCarol, "lights", 1000, "CAROLDM"));
  ASSERT_EQ(d.kind, Kind::Ask);
  EXPECT_EQ(d.query.automation_user, "carol_home");
  EXPECT_EQ(d.query.role, "");
}

// ----- at most once

TEST_F(RouterTest, DuplicateDeliveryIsAnsweredOnce) {
  const rc::Message m = first_of("dm-message.json");
  EXPECT_EQ(route(m).kind, Kind::Ask);
  EXPECT_EQ(route(m).kind, Kind::Ignore);
  // Even when the classifier has forgotten it (a reconnect with a new client).
  classifier = rc::Classifier(kBotId);
  const Decision again = route(m);
  EXPECT_EQ(again.kind, Kind::Ignore);
  EXPECT_EQ(again.reason, "already handled");
}

TEST_F(RouterTest, HandledIdsSurviveARestart) {
  const rc::Message m = first_of("dm-message.json");
  ASSERT_EQ(route(m).kind, Kind::Ask);
  restart();
  EXPECT_EQ(route(m).reason, "already handled");
  // A new message still gets through.
  EXPECT_EQ(route(dm("new1", kAlice, "status", m.ts_ms + 1000)).kind, Kind::Ask);
}

TEST_F(RouterTest, OutOfOrderDeliveryOfSeveralMessages) {
  // Three DMs delivered 3, 1, 2, then all again: each answered exactly once.
  std::vector<rc::Message> dms = {dm("a1", kAlice, "one", 1000), dm("a2", kAlice, "two", 2000),
                                  dm("a3", kAlice, "three", 3000)};
  int asked = 0;
  for (int index : {2, 0, 1, 0, 1, 2}) {
    if (route(dms[static_cast<std::size_t>(index)], 5000).kind == Kind::Ask) ++asked;
  }
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(router->read_position(kDmRoom), 3000);
}

TEST(RecentIds, ForgetsTheOldestBeyondCapacity) {
  RecentIds ids(3);
  EXPECT_TRUE(ids.insert("a"));
  EXPECT_FALSE(ids.insert("a"));
  ids.insert("b");
  ids.insert("c");
  ids.insert("d");
  EXPECT_FALSE(ids.contains("a"));
  EXPECT_TRUE(ids.contains("d"));
  EXPECT_EQ(ids.ids(), (std::vector<std::string>{"b", "c", "d"}));
  RecentIds restored(2);
  restored.restore({"x", "", "y", "z"});
  EXPECT_EQ(restored.ids(), (std::vector<std::string>{"y", "z"})) << "the newest are kept";
}

// ----- catch-up

TEST_F(RouterTest, DirectMessageSentWhileAwayIsAnsweredOnceOnCatchUp) {
  const rc::Message m = first_of("dm-message.json");
  const std::int64_t now = m.ts_ms + 5 * 60'000;  // back five minutes later
  const Decision d = route(m, now, Source::CatchUp);
  ASSERT_EQ(d.kind, Kind::Ask) << d.reason;
  // The live stream may deliver it as well, and a second catch-up may fetch it again.
  classifier = rc::Classifier(kBotId);
  EXPECT_EQ(route(m, now, Source::Live).kind, Kind::Ignore);
  restart();
  EXPECT_EQ(route(m, now + 1000, Source::CatchUp).kind, Kind::Ignore);
}

TEST_F(RouterTest, CatchUpSkipsWhatIsTooOld) {
  const rc::Message m = dm("old", kAlice, "lights", 1'000'000);
  const Decision d = route(m, 1'000'000 + 11 * 60'000, Source::CatchUp);
  EXPECT_EQ(d.kind, Kind::Ignore);
  EXPECT_EQ(d.reason, "missed while away, and older than interactions.catch_up");

  InteractionOptions off;
  off.catch_up = 0ms;
  router->set_options(off, unknown);
  EXPECT_EQ(route(dm("recent", kAlice, "lights", 2'000'000), 2'000'100, Source::CatchUp).kind,
            Kind::Ignore);
  EXPECT_EQ(route(dm("live", kAlice, "lights", 3'000'000), 3'000'100, Source::Live).kind, Kind::Ask)
      << "catch_up: 0 only turns off catching up";
}

TEST_F(RouterTest, CatchUpStartsAtTheReadPositionWithinTheWindow) {
  const std::int64_t now = 100'000'000;
  EXPECT_EQ(router->catch_up_since("GENERAL", now), now - 600'000) << "never seen: the window";
  route(built("r1", "GENERAL", kAlice, "chatter", now - 60'000), now - 60'000);
  EXPECT_EQ(router->read_position("GENERAL"), now - 60'000);
  EXPECT_EQ(router->catch_up_since("GENERAL", now), now - 60'000 - 5000) << "with a small overlap";
  EXPECT_EQ(router->catch_up_since("GENERAL", now + 3'600'000), now + 3'600'000 - 600'000)
      << "never further back than the window";
  // Messages from rooms the bot has not joined do not move it.
  rc::Message outside = built("r2", "PUBLIC", kAlice, "hi", now);
  outside.meta.participant = false;
  route(outside, now);
  EXPECT_EQ(router->read_position("PUBLIC"), 0);

  InteractionOptions off;
  off.catch_up = 0ms;
  router->set_options(off, unknown);
  EXPECT_FALSE(router->catch_up_since("GENERAL", now).has_value());
}

TEST_F(RouterTest, ACrashDuringCatchUpNeverSkipsWhatTheCatchUpHadYetToRead) {
  // Before: DMs read up to t=1000. While away, a DM at 2000 came in; back online, a live DM at
  // 3000 arrives before the history of the DM room has been read.
  const std::int64_t now = 4000;
  route(dm("d1", kAlice, "one", 1000), 1100);
  restart();
  router->begin_catch_up();
  ASSERT_EQ(route(dm("d3", kAlice, "three", 3000), now).kind, Kind::Ask);
  route(built("g1", "GENERAL", kAlice, "chatter", 3100), now);
  EXPECT_EQ(router->read_position(kDmRoom), 3000) << "in memory the position moves at once";
  // Killed now: the saved position is still where the catch-up started, so the next catch-up
  // reads the DM at 2000; d3 is known as handled and is not answered twice.
  restart();
  EXPECT_EQ(router->read_position(kDmRoom), 1000);
  EXPECT_EQ(router->read_position("GENERAL"), 0) << "first heard of during the catch-up";
  router->begin_catch_up();
  EXPECT_EQ(route(dm("d2", kAlice, "two", 2000), now, Source::CatchUp).kind, Kind::Ask);
  EXPECT_EQ(route(dm("d3", kAlice, "three", 3000), now, Source::CatchUp).reason, "already handled");
  router->caught_up(kDmRoom);
  router->caught_up("GENERAL");
  route(built("g2", "GENERAL", kAlice, "chatter", 3200), now);
  restart();
  EXPECT_EQ(router->read_position(kDmRoom), 3000) << "caught up: the position is saved";
  EXPECT_EQ(router->read_position("GENERAL"), 3200);
}

TEST_F(RouterTest, ARoomNotCaughtUpKeepsItsOldFloorAcrossReconnects) {
  route(dm("d1", kAlice, "one", 1000), 1100);
  restart();
  router->begin_catch_up();
  route(built("g1", "GENERAL", kAlice, "chatter", 1500), 1600);
  router->caught_up("GENERAL");
  route(dm("d2", kAlice, "two", 2000), 2100);  // the DM room's history read failed
  router->begin_catch_up();                     // reconnected
  route(dm("d3", kAlice, "three", 3000), 3100);
  route(built("g2", "GENERAL", kAlice, "more", 3200), 3300);
  const RouterMemory memory = router->memory();
  EXPECT_EQ(memory.read_positions.at(kDmRoom), 1000) << "still the floor from before the restart";
  EXPECT_EQ(memory.read_positions.at("GENERAL"), 1500)
      << "caught up in the first round: safe from where it was when the link came back";
}

TEST_F(RouterTest, WithoutCatchUpPositionsAreSavedAsTheyAre) {
  InteractionOptions off;
  off.catch_up = 0ms;
  router->set_options(off, unknown);
  router->begin_catch_up();
  route(dm("d1", kAlice, "one", 1000), 1100);
  EXPECT_EQ(router->memory().read_positions.at(kDmRoom), 1000);
}

TEST_F(RouterTest, JournalReplayMarksMessagesHandledAndRoomsNoticed) {
  const rc::Message m = first_of("dm-message.json");
  const auto before = router->revision();
  router->remember_handled(m.id);
  router->remember_noticed("GENERAL");
  EXPECT_GT(router->revision(), before) << "replayed records are saved with the next state file";
  EXPECT_EQ(route(m).reason, "already handled");
  EXPECT_EQ(router->memory().encrypted_noticed, (std::vector<std::string>{"GENERAL"}));
}

// ----- rate limit

TEST_F(RouterTest, RateLimitStopsAConversationBetweenTwoBots) {
  const std::int64_t t0 = 1'000'000;
  int n = 0;
  auto next = [&](std::int64_t at) {
    ++n;
    return route(dm("r" + std::to_string(n), kCarol, "ping " + std::to_string(n), at, "CAROLDM"),
                 at);
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(next(t0).kind, Kind::Ask) << i;
  const Decision sixth = next(t0);
  EXPECT_EQ(sixth.kind, Kind::Ignore);
  EXPECT_EQ(sixth.reason, "rate limited: carol sent more than 5 messages in 1m");
  EXPECT_TRUE(sixth.notable) << "the first of a burst is logged";
  const Decision seventh = next(t0 + 1000);
  EXPECT_EQ(seventh.kind, Kind::Ignore);
  EXPECT_FALSE(seventh.notable) << "the rest of the burst is not";

  // Someone else is not affected.
  EXPECT_EQ(route(dm("alice1", kAlice, "hi", t0 + 1000), t0 + 1000).kind, Kind::Ask);

  // One token comes back every 12s (5 per minute).
  EXPECT_EQ(next(t0 + 12'000).kind, Kind::Ask);
  const Decision again = next(t0 + 12'000);
  EXPECT_EQ(again.kind, Kind::Ignore);
  EXPECT_TRUE(again.notable) << "a new burst";

  // A rate-limited message is not answered after a restart either.
  restart();
  classifier = rc::Classifier(kBotId);
  EXPECT_EQ(route(dm("r6", kCarol, "ping 6", t0, "CAROLDM"), t0 + 600'000).reason,
            "already handled");
}

TEST_F(RouterTest, RateLimitAppliesToRefusalsToo) {
  // An unknown bot and a polite refusal would otherwise talk forever.
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    if (route(dm("x" + std::to_string(i), kBob, "hello?", 1000 + i), 1000 + i).kind ==
        Kind::Refuse) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 5);
}

TEST_F(RouterTest, RateLimitFollowsTheConfiguration) {
  InteractionOptions strict;
  strict.rate_limit = {2, 10'000ms};
  router->set_options(strict, unknown);
  EXPECT_EQ(route(dm("s1", kAlice, "a", 0), 0).kind, Kind::Ask);
  EXPECT_EQ(route(dm("s2", kAlice, "b", 0), 0).kind, Kind::Ask);
  const Decision third = route(dm("s3", kAlice, "c", 0), 0);
  EXPECT_EQ(third.reason, "rate limited: alice sent more than 2 messages in 10s");
  EXPECT_EQ(route(dm("s4", kAlice, "d", 5000), 5000).kind, Kind::Ask);
}

// ----- follow-ups

TEST_F(RouterTest, FollowUpNeedsNoMentionWithinTheWindow) {
  const std::int64_t t0 = 1'000'000;
  const Decision asked = route(mention("f1", kAlice, "@camera-bot set an alarm", t0), t0);
  ASSERT_EQ(asked.kind, Kind::Ask);
  EXPECT_EQ(route(built("f0", "GENERAL", kAlice, "not yet", t0 + 10), t0 + 10).kind, Kind::Ignore)
      << "no follow-up before the engine asks for one";

  router->on_answered(asked.query, true, t0 + 1000);  // "for what time?"
  const Decision followup = route(built("f2", "GENERAL", kAlice, "7 am", t0 + 30'000), t0 + 30'000);
  ASSERT_EQ(followup.kind, Kind::Ask) << followup.reason;
  EXPECT_TRUE(followup.query.is_followup);
  EXPECT_EQ(followup.query.text, "7 am");
  EXPECT_EQ(followup.reason, "follow-up");

  // Used up: the next message needs a mention again, unless the engine asks again.
  EXPECT_EQ(route(built("f3", "GENERAL", kAlice, "thanks", t0 + 40'000), t0 + 40'000).kind,
            Kind::Ignore);
}

TEST_F(RouterTest, FollowUpIsForThatPersonInThatRoomAndExpires) {
  const std::int64_t t0 = 1'000'000;
  const Decision asked = route(mention("f1", kAlice, "@camera-bot set an alarm", t0), t0);
  ASSERT_EQ(asked.kind, Kind::Ask);
  router->on_answered(asked.query, true, t0);

  EXPECT_EQ(route(built("o1", "GENERAL", kCarol, "8 am", t0 + 1000), t0 + 1000).kind, Kind::Ignore)
      << "someone else";
  rc::Message elsewhere = built("o2", "c3f8a6a80a707dc9ce744b9d", kAlice, "7 am", t0 + 1000);
  EXPECT_EQ(route(elsewhere, t0 + 1000).kind, Kind::Ignore) << "another room";
  rc::Message group = built("o3", "GENERAL", kAlice, "@here 7 am", t0 + 1000);
  group.mentions.push_back({"here", "here", ""});
  EXPECT_EQ(route(group, t0 + 1000).kind, Kind::Ignore) << "speaking to everyone";

  EXPECT_EQ(route(built("o4", "GENERAL", kAlice, "7 am", t0 + 121'000), t0 + 121'000).kind,
            Kind::Ignore)
      << "after the 2m window";
}

TEST_F(RouterTest, AnswerWithoutFollowUpClosesTheConversation) {
  const std::int64_t t0 = 1'000'000;
  const Decision asked = route(mention("f1", kAlice, "@camera-bot set an alarm", t0), t0);
  router->on_answered(asked.query, true, t0);
  router->on_answered(asked.query, false, t0 + 10);
  EXPECT_EQ(route(built("f2", "GENERAL", kAlice, "7 am", t0 + 1000), t0 + 1000).kind, Kind::Ignore);

  InteractionOptions none;
  none.followup_window = 0ms;
  router->set_options(none, unknown);
  router->on_answered(asked.query, true, t0 + 2000);
  EXPECT_EQ(route(built("f3", "GENERAL", kAlice, "7 am", t0 + 3000), t0 + 3000).kind, Kind::Ignore)
      << "followup_window: 0 turns follow-ups off";
}

// ----- memory

TEST_F(RouterTest, RevisionMovesWhenThereIsSomethingToSave) {
  const auto before = router->revision();
  route(first_of("dm-message.json"));
  EXPECT_GT(router->revision(), before);
  const auto after = router->revision();
  route(first_of("dm-message.json"));  // a repeat: nothing new
  EXPECT_EQ(router->revision(), after);
}

// ----- helpers

TEST(StripMention, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"@camera-bot snapshot please", "snapshot please"},
      {"snapshot please @camera-bot", "snapshot please"},
      {"turn @camera-bot  on the   lights", "turn on the lights"},
      {"@Camera-Bot: lights on", "lights on"},
      {"@camera-bot, lights", "lights"},
      {"thanks @camera-bot.", "thanks"},
      {"@camera-bot. lights", "lights"},
      {"@camera-bot @camera-bot twice", "twice"},
      {"@camera-bot2 hi", "@camera-bot2 hi"},
      {"@camera-bot.old hi", "@camera-bot.old hi"},
      {"mail@camera-bot hi", "mail@camera-bot hi"},
      {"@camera-bot", ""},
      {"@camera-bot:", ""},
      {"", ""},
      {"  spaced \t out  ", "spaced out"},
      {"line one\n@camera-bot line two", "line one\nline two"},
      {"line one @camera-bot\nline two", "line one\nline two"},
      {"@camera", "@camera"},
      {"(@camera-bot) hi", "( ) hi"},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(strip_mention(text, "camera-bot"), expected) << text;
  }
  EXPECT_EQ(strip_mention(" @x  hi ", ""), "@x hi") << "no username: only spaces collapse";
}

TEST(DeviceMessage, OnlyReadableChatInMemberRoomsCounts) {
  rc::Classifier classifier(kBotId);
  const rc::Message mention_message = first_of("channel-message-mention.json");
  const auto seen = device_message(mention_message, classifier.classify(mention_message));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->room_id, "GENERAL");
  EXPECT_EQ(seen->message_id, "gwfL9C5wjoXJTF6Yr");
  EXPECT_EQ(seen->sender_id, kAliceId);
  EXPECT_EQ(seen->sender_username, "alice");
  EXPECT_EQ(seen->sender_name, "Alice Example");
  EXPECT_EQ(seen->text, "@camera-bot snapshot please");
  EXPECT_EQ(seen->ts_ms, 1773136860000);
  EXPECT_FALSE(seen->edit);

  const rc::Message edit = first_of("edited-message.json");
  const auto edited = device_message(edit, classifier.classify(edit));
  ASSERT_TRUE(edited.has_value());
  EXPECT_TRUE(edited->edit);

  for (const char* name : {"dm-message.json", "system-uj.json", "file-attachment-message.json"}) {
    const rc::Message m = first_of(name);
    EXPECT_FALSE(device_message(m, classifier.classify(m)).has_value()) << name;
  }
  rc::Message outside = built("p1", "PUBLIC", kAlice, "hi", 1000);
  outside.meta.participant = false;
  EXPECT_FALSE(device_message(outside, classifier.classify(outside)).has_value());
}

TEST(DecisionKind, Names) {
  EXPECT_STREQ(to_string(Kind::Ignore), "ignore");
  EXPECT_STREQ(to_string(Kind::NoticeEncrypted), "notice-encrypted");
  EXPECT_STREQ(to_string(Kind::Refuse), "refuse");
  EXPECT_STREQ(to_string(Kind::Ask), "ask");
}

// ----- messages taken by an ask

TEST_F(RouterTest, AMessageTakenByAnAskIsNeverRoutedLaterNorTakenTwice) {
  const rc::Message m = first_of("dm-message.json");
  EXPECT_FALSE(router->handled(m.id));
  EXPECT_TRUE(router->take(m));
  EXPECT_TRUE(router->handled(m.id));
  EXPECT_FALSE(router->take(m)) << "a repeat (catch-up) must not be taken a second time";
  EXPECT_EQ(route(m).kind, Kind::Ignore);
  // The read position moved past it, and both survive a restart.
  EXPECT_EQ(router->read_position(m.rid), m.ts_ms);
  restart();
  EXPECT_TRUE(router->handled(m.id));
  EXPECT_EQ(route(m, -1, Source::CatchUp).kind, Kind::Ignore);
}

}  // namespace
}  // namespace rcgate::core
