// The classifier's rules (PROTOCOL.md §5.3) on synthetic messages: rule order, flags, the
// new/edit/mutation memory, its bound, and out-of-order delivery.
#include "rocketchat/classifier.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace rcgate::rc {
namespace {

const std::string kBot = "BCmeyJm2r6b8hJiie";
const std::string kAlice = "t7EgqqFfkzCDKZrLg";
constexpr std::int64_t kTs = 1773136860000;

Message msg(std::string id, std::int64_t ts = kTs, std::int64_t updated = kTs + 20) {
  Message m;
  m.id = std::move(id);
  m.rid = "GENERAL";
  m.text = "hello";
  m.ts_ms = ts;
  m.updated_ms = updated;
  m.u = {kAlice, "alice", "Alice Example"};
  m.meta.present = true;
  m.meta.room_type = "c";
  m.meta.room_name = "general";
  return m;
}

MessageKind kind(Classifier& c, const Message& m) { return c.classify(m).kind; }

TEST(Classifier, KindNames) {
  EXPECT_STREQ(to_string(MessageKind::New), "new");
  EXPECT_STREQ(to_string(MessageKind::Edit), "edit");
  EXPECT_STREQ(to_string(MessageKind::Mutation), "mutation");
  EXPECT_STREQ(to_string(MessageKind::System), "system");
  EXPECT_STREQ(to_string(MessageKind::OwnEcho), "own-echo");
  EXPECT_STREQ(to_string(MessageKind::Encrypted), "encrypted");
  EXPECT_STREQ(to_string(MessageKind::Removed), "removed");
}

TEST(Classifier, NewThenMutationThenEditThenMutation) {
  Classifier c(kBot);
  Message m = msg("m1");
  EXPECT_EQ(kind(c, m), MessageKind::New);
  m.updated_ms += 1000;  // a reaction
  EXPECT_EQ(kind(c, m), MessageKind::Mutation);
  m.edited_ms = kTs + 5000;
  m.updated_ms = kTs + 5000;
  EXPECT_EQ(kind(c, m), MessageKind::Edit);
  m.updated_ms = kTs + 9000;  // reaction on the edited message: editedAt unchanged
  EXPECT_EQ(kind(c, m), MessageKind::Mutation);
  m.edited_ms = kTs + 10000;  // second edit
  EXPECT_EQ(kind(c, m), MessageKind::Edit);
  EXPECT_EQ(kind(c, m), MessageKind::Mutation);  // same delivery again
  m.edited_ms.reset();                           // editedAt vanished: not an edit
  EXPECT_EQ(kind(c, m), MessageKind::Mutation);
  EXPECT_EQ(c.remembered(), 1u);
}

TEST(Classifier, FreshWindowDecidesFirstSightings) {
  Classifier c(kBot, 100, 60000);
  EXPECT_EQ(kind(c, msg("a", kTs, kTs + 60000)), MessageKind::New);       // exactly at the window
  EXPECT_EQ(kind(c, msg("b", kTs, kTs + 60001)), MessageKind::Mutation);  // just past it
  EXPECT_EQ(kind(c, msg("c", kTs, kTs - 5000)), MessageKind::New);        // clock skew
  EXPECT_EQ(kind(c, msg("d", 0, 0)), MessageKind::New);                   // no dates at all
  // Extreme dates do not overflow (UBSan would flag it).
  EXPECT_EQ(kind(c, msg("e", std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::int64_t>::max())),
            MessageKind::Mutation);
  // The old message is remembered: its next delivery is compared with what was stored.
  Message b = msg("b", kTs, kTs + 70000);
  b.edited_ms = kTs + 65000;
  EXPECT_EQ(kind(c, b), MessageKind::Edit);

  Classifier strict(kBot, 100, 0);
  EXPECT_EQ(kind(strict, msg("x", kTs, kTs)), MessageKind::New);
  EXPECT_EQ(kind(strict, msg("y", kTs, kTs + 1)), MessageKind::Mutation);
}

TEST(Classifier, RuleOrderOwnEchoFirst) {
  Classifier c(kBot);
  Message own = msg("o1");
  own.u.id = kBot;
  own.t = "uj";  // even the bot's own system messages are own echoes
  EXPECT_EQ(kind(c, own), MessageKind::OwnEcho);

  Message own_rm = msg("o2");
  own_rm.u.id = kBot;
  own_rm.t = "rm";
  EXPECT_EQ(kind(c, own_rm), MessageKind::OwnEcho);

  Message rm_e2e = msg("r1");
  rm_e2e.t = "rm";
  rm_e2e.encrypted = true;  // a removed encrypted message is Removed: rm comes before e2e
  EXPECT_EQ(kind(c, rm_e2e), MessageKind::Removed);

  Message e2e = msg("e1");
  e2e.t = "e2e";
  e2e.encrypted = true;
  EXPECT_EQ(kind(c, e2e), MessageKind::Encrypted);

  Message content_only = msg("e2");
  content_only.encrypted = true;  // content.algorithm without t
  EXPECT_EQ(kind(c, content_only), MessageKind::Encrypted);

  for (const char* t : {"uj", "ul", "au", "ru", "r", "room_changed_topic", "discussion-created",
                        "videoconf", "livechat-started", "some-type-from-the-future"}) {
    Message sys = msg(std::string("s-") + t);
    sys.t = t;
    EXPECT_EQ(kind(c, sys), MessageKind::System) << t;
  }
}

TEST(Classifier, WithoutBotIdNothingIsAnOwnEcho) {
  Classifier c;  // bot id not known yet
  Message m = msg("m1");
  m.u.id = "";
  m.mentions.push_back({"", "", ""});
  auto r = c.classify(m);
  EXPECT_EQ(r.kind, MessageKind::New);
  EXPECT_FALSE(r.mentions_bot);
  c.set_bot_user_id(kBot);
  EXPECT_EQ(c.bot_user_id(), kBot);
}

TEST(Classifier, Flags) {
  Classifier c(kBot);
  Message m = msg("f1");
  m.tmid = "root";
  m.mentions = {{kBot, "camera-bot", "Camera Bot"}, {"here", "here", ""}};
  m.from_integration = true;
  auto r = c.classify(m);
  EXPECT_EQ(r.kind, MessageKind::New);  // from_bot is a flag, not a kind
  EXPECT_TRUE(r.thread_reply);
  EXPECT_TRUE(r.mentions_bot);
  EXPECT_TRUE(r.mentions_group);
  EXPECT_TRUE(r.from_bot);
  EXPECT_TRUE(r.member);
  EXPECT_FALSE(r.direct);
  EXPECT_FALSE(r.livechat);

  Message all = msg("f2");
  all.mentions = {{"all", "all", ""}};
  auto ra = c.classify(all);
  EXPECT_TRUE(ra.mentions_group);
  EXPECT_FALSE(ra.mentions_bot);

  Message other = msg("f3");
  other.mentions = {{kAlice, "alice", ""}};
  auto ro = c.classify(other);
  EXPECT_FALSE(ro.mentions_bot);
  EXPECT_FALSE(ro.mentions_group);

  Message dm = msg("f4");
  dm.meta.room_type = "d";
  EXPECT_TRUE(c.classify(dm).direct);

  Message lc = msg("f5");
  lc.meta.room_type = "l";
  auto rl = c.classify(lc);
  EXPECT_TRUE(rl.livechat);
  EXPECT_FALSE(rl.direct);

  Message outsider = msg("f6");
  outsider.meta.participant = false;
  EXPECT_FALSE(c.classify(outsider).member);

  Message per_room = msg("f7");  // per-room stream: no meta, the bot subscribed to the room
  per_room.meta = RoomMeta{};
  per_room.meta.participant = false;  // ignored when meta is absent
  EXPECT_TRUE(c.classify(per_room).member);

  // Flags are computed for every kind, so a caller can still tell where an echo went.
  Message own_dm = msg("f8");
  own_dm.u.id = kBot;
  own_dm.meta.room_type = "d";
  auto rd = c.classify(own_dm);
  EXPECT_EQ(rd.kind, MessageKind::OwnEcho);
  EXPECT_TRUE(rd.direct);
}

TEST(Classifier, CapacityEvictsByFirstSighting) {
  Classifier c(kBot, 2);
  EXPECT_EQ(kind(c, msg("a")), MessageKind::New);
  EXPECT_EQ(kind(c, msg("b")), MessageKind::New);
  EXPECT_EQ(kind(c, msg("a")), MessageKind::Mutation);  // does not refresh a's place
  EXPECT_EQ(c.remembered(), 2u);
  EXPECT_EQ(kind(c, msg("c")), MessageKind::New);  // evicts a, the first seen
  EXPECT_EQ(c.remembered(), 2u);
  EXPECT_EQ(kind(c, msg("b")), MessageKind::Mutation);  // b is still known
  EXPECT_EQ(kind(c, msg("c")), MessageKind::Mutation);
  // a was forgotten: a fresh delivery of it looks new again, an old one is a mutation.
  EXPECT_EQ(kind(c, msg("a")), MessageKind::New);  // evicts b
  EXPECT_EQ(kind(c, msg("b", kTs, kTs + 3600000)), MessageKind::Mutation);
  EXPECT_EQ(c.remembered(), 2u);
}

TEST(Classifier, ManyMessagesStayBounded) {
  Classifier c(kBot, 1000);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(kind(c, msg("m" + std::to_string(i))), MessageKind::New);
  EXPECT_EQ(c.remembered(), 1000u);
  EXPECT_EQ(kind(c, msg("m4999")), MessageKind::Mutation);
  EXPECT_EQ(kind(c, msg("m4000")), MessageKind::Mutation);
  EXPECT_EQ(kind(c, msg("m3999")), MessageKind::New);  // evicted
}

TEST(Classifier, ZeroCapacityRemembersNothing) {
  Classifier c(kBot, 0);
  EXPECT_EQ(kind(c, msg("a")), MessageKind::New);
  EXPECT_EQ(kind(c, msg("a")), MessageKind::New);
  EXPECT_EQ(c.remembered(), 0u);
}

TEST(Classifier, EditArrivingBeforeItsOriginal) {
  Classifier c(kBot);
  Message edited = msg("m1", kTs, kTs + 35000);
  edited.edited_ms = kTs + 35000;
  EXPECT_EQ(kind(c, edited), MessageKind::New);  // first sighting, still fresh
  Message original = msg("m1");
  EXPECT_EQ(kind(c, original), MessageKind::Mutation);  // late original: nothing runs twice
}

// Messages classified by an early rule are remembered too: if the marker that rule relied on is
// gone from a later delivery, the message is not mistaken for a new one.
TEST(Classifier, EarlyRuleMessagesAreRemembered) {
  Classifier c;  // the bot id is learned later (e.g. after login)
  Message mine = msg("own");
  mine.u.id = kBot;
  EXPECT_EQ(kind(c, mine), MessageKind::New);
  c.set_bot_user_id(kBot);
  EXPECT_EQ(kind(c, mine), MessageKind::OwnEcho);
  c.set_bot_user_id("another-bot-account");
  EXPECT_EQ(kind(c, mine), MessageKind::Mutation);  // seen before: never New twice

  Message enc = msg("enc");
  enc.encrypted = true;
  EXPECT_EQ(kind(c, enc), MessageKind::Encrypted);
  enc.encrypted = false;
  EXPECT_EQ(kind(c, enc), MessageKind::Mutation);

  Message sys = msg("sys");
  sys.t = "discussion-created";
  EXPECT_EQ(kind(c, sys), MessageKind::System);
  sys.t.clear();
  EXPECT_EQ(kind(c, sys), MessageKind::Mutation);
  EXPECT_EQ(c.remembered(), 3u);

  // editedAt stored while an early rule decided still counts: an unchanged editedAt is no edit.
  Classifier d(kBot);
  Message rm = msg("rm", kTs, kTs + 1000);
  rm.t = "rm";
  rm.edited_ms = kTs + 1000;
  EXPECT_EQ(kind(d, rm), MessageKind::Removed);
  rm.t.clear();
  EXPECT_EQ(kind(d, rm), MessageKind::Mutation);
  rm.edited_ms = kTs + 2000;
  EXPECT_EQ(kind(d, rm), MessageKind::Edit);
}

}  // namespace
}  // namespace rcgate::rc
