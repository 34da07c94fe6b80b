// Every shared fixture (../shared/fixtures, PROTOCOL.md Appendix A) through the codec, the message
// model and the classifier: the frames real servers send must all parse, re-encode to the same
// JSON, and classify as §5.3 says.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rocketchat/classifier.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/message.hpp"
#include "support/fixtures.hpp"

namespace rcgate {
namespace {

using ddp::Type;
using json = nlohmann::json;
using rc::MessageKind;

const std::string kBot = "BCmeyJm2r6b8hJiie";

struct Expected {
  std::vector<Type> client;
  std::vector<Type> server;
};

// What each fixture's frames are. A new fixture must be added here (the test says so).
const std::map<std::string, Expected>& expected_types() {
  static const std::map<std::string, Expected> table = {
      {"channel-message-mention.json", {{Type::Sub}, {Type::Ready, Type::Changed}}},
      {"dm-message.json", {{}, {Type::Changed}}},
      {"edited-message.json", {{}, {Type::Changed}}},
      {"file-attachment-message.json", {{}, {Type::Changed}}},
      {"handshake.json",
       {{Type::Connect, Type::Pong}, {Type::Greeting, Type::Connected, Type::Ping}}},
      {"login-result.json", {{Type::Method}, {Type::Result, Type::Updated}}},
      {"login-resume-pat.json", {{Type::Method}, {Type::Result, Type::Updated}}},
      {"nosub-not-allowed.json", {{Type::Sub, Type::Sub}, {Type::NoSub, Type::NoSub}}},
      // HTTP exchanges written as JSON, not DDP: no "msg", so the codec sees objects it ignores.
      {"rest-429.json", {{Type::Greeting}, {Type::Greeting}}},
      {"rooms-changed-inserted.json",
       {{Type::Sub, Type::Sub}, {Type::Ready, Type::Ready, Type::Changed, Type::Changed}}},
      {"send-message-result.json", {{Type::Method}, {Type::Result, Type::Updated}}},
      {"system-uj.json", {{}, {Type::Changed}}},
      {"thread-reply.json", {{}, {Type::Changed, Type::Changed}}},
      {"too-many-requests.json",
       {{Type::Method, Type::Method}, {Type::Result, Type::Updated, Type::Result, Type::Updated}}},
  };
  return table;
}

ddp::Frame parse_frame(const json& frame, const std::string& where) {
  std::string why;
  auto parsed = ddp::parse(frame.dump(), &why);
  EXPECT_TRUE(parsed) << where << ": " << why;
  return parsed.value_or(ddp::Frame{});
}

// The encoder call that produces this frame; nullopt for frames rcgate never sends.
std::optional<std::string> reencode(const ddp::Frame& f) {
  switch (f.type) {
    case Type::Connect:
      return ddp::encode_connect();
    case Type::Ping:
      return ddp::encode_ping(f.id);
    case Type::Pong:
      return ddp::encode_pong(f.id);
    case Type::Method:
      return ddp::encode_method(f.id, f.name, f.params);
    case Type::Sub:
      return ddp::encode_sub(f.id, f.name, f.params);
    case Type::Unsub:
      return ddp::encode_unsub(f.id);
    case Type::Connected:
      return ddp::encode_connected(f.session);
    case Type::Failed:
      return ddp::encode_failed(f.version);
    case Type::Result:
      if (f.has_result) return ddp::encode_result(f.id, f.result);
      if (f.error) return ddp::encode_result_error(f.id, *f.error);
      return ddp::encode_result_empty(f.id);
    case Type::Updated:
      return ddp::encode_updated(f.ids);
    case Type::Ready:
      return ddp::encode_ready(f.ids);
    case Type::NoSub:
      return ddp::encode_nosub(f.id, f.error);
    case Type::Changed:
      return ddp::encode_stream_event(f.collection, f.event_name, f.args);
    case Type::Error:
      return ddp::encode_protocol_error(f.reason, f.offending);
    default:
      return std::nullopt;
  }
}

TEST(Fixtures, EveryFrameParsesWithTheExpectedType) {
  const auto names = test::fixture_names();
  EXPECT_GE(names.size(), 14u);
  std::size_t frames = 0;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const json fx = test::fixture(name);
    EXPECT_TRUE(fx["_comment"].is_string());
    auto expected = expected_types().find(name);
    ASSERT_NE(expected, expected_types().end())
        << "fixture " << name << " is not in expected_types(): add what its frames are";
    for (const char* side : {"client", "server"}) {
      const json& list = fx.at(side);
      ASSERT_TRUE(list.is_array());
      const auto& types =
          std::string(side) == "client" ? expected->second.client : expected->second.server;
      ASSERT_EQ(list.size(), types.size()) << side;
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = name + " " + side + "[" + std::to_string(i) + "]";
        auto f = parse_frame(list[i], where);
        EXPECT_EQ(f.type, types[i]) << where << " parsed as " << ddp::to_string(f.type);
        ++frames;
      }
    }
  }
  EXPECT_GE(frames, 40u);
}

// Encoding what was parsed gives back the fixture's JSON: the encoders produce exactly the shapes
// real servers and clients use (the simulator relies on this).
TEST(Fixtures, EveryDdpFrameReencodesToTheSameJson) {
  std::size_t checked = 0;
  for (const auto& name : test::fixture_names()) {
    const json fx = test::fixture(name);
    for (const char* side : {"client", "server"}) {
      for (std::size_t i = 0; i < fx.at(side).size(); ++i) {
        const json& original = fx[side][i];
        const std::string where = name + " " + side + "[" + std::to_string(i) + "]";
        auto f = parse_frame(original, where);
        auto text = reencode(f);
        if (!text) {
          EXPECT_EQ(f.type, Type::Greeting) << where;
          continue;
        }
        EXPECT_EQ(json::parse(*text), original) << where << "\n  got " << *text;
        EXPECT_EQ(text->rfind(R"({"msg":)", 0), 0u) << where;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 35u);
}

TEST(Fixtures, HandshakeFrames) {
  const json fx = test::fixture("handshake.json");
  auto connect = parse_frame(fx["client"][0], "connect");
  EXPECT_EQ(connect.version, "1");
  EXPECT_EQ(connect.support, (std::vector<std::string>{"1", "pre2", "pre1"}));
  EXPECT_EQ(parse_frame(fx["server"][1], "connected").session, "P8ozwSFXqmGsEuvHr");
  auto ping = parse_frame(fx["server"][2], "ping");
  EXPECT_EQ(ping.id, "");
  EXPECT_EQ(json::parse(ddp::encode_pong(ping.id)), fx["client"][1]);
}

TEST(Fixtures, LoginResults) {
  const json pw = test::fixture("login-result.json");
  auto method = parse_frame(pw["client"][0], "login");
  EXPECT_EQ(method.name, "login");
  EXPECT_EQ(method.params[0]["password"]["algorithm"], "sha-256");
  auto result = parse_frame(pw["server"][0], "result");
  EXPECT_EQ(result.id, "1");
  ASSERT_TRUE(result.has_result);
  EXPECT_FALSE(result.error);
  EXPECT_EQ(result.result["id"], kBot);
  EXPECT_EQ(result.result["type"], "password");
  EXPECT_EQ(ddp::ejson_date(result.result["tokenExpires"]), 1780912800000);
  EXPECT_EQ(parse_frame(pw["server"][1], "updated").ids, std::vector<std::string>{"1"});

  const json pat = test::fixture("login-resume-pat.json");
  auto resume = parse_frame(pat["server"][0], "result");
  ASSERT_TRUE(resume.has_result);
  EXPECT_EQ(resume.result["type"], "resume");
  EXPECT_FALSE(resume.result.contains("tokenExpires"));
  EXPECT_EQ(resume.result["token"], pat["client"][0]["params"][0]["resume"]);
}

TEST(Fixtures, TooManyRequestsAndIncorrectPassword) {
  const json fx = test::fixture("too-many-requests.json");
  auto limited = parse_frame(fx["server"][0], "result 7");
  EXPECT_EQ(limited.id, "7");
  EXPECT_FALSE(limited.has_result);
  ASSERT_TRUE(limited.error);
  EXPECT_EQ(limited.error->code, "too-many-requests");
  EXPECT_FALSE(limited.error->numeric);
  EXPECT_EQ(limited.error->time_to_reset_ms(), 8712);
  EXPECT_EQ(
      limited.error->reason,
      "Error, too many requests. Please slow down. You must wait 9 seconds before trying again.");
  EXPECT_EQ(limited.error->describe(), limited.error->message);

  auto wrong = parse_frame(fx["server"][2], "result 8");
  EXPECT_EQ(wrong.id, "8");
  ASSERT_TRUE(wrong.error);
  EXPECT_EQ(wrong.error->code, "403");
  EXPECT_TRUE(wrong.error->numeric);
  EXPECT_EQ(wrong.error->reason, "Incorrect password");
  EXPECT_EQ(wrong.error->message, "Incorrect password [403]");
  EXPECT_EQ(wrong.error->describe(), "Incorrect password [403]");
  EXPECT_FALSE(wrong.error->time_to_reset_ms());
  EXPECT_TRUE(wrong.error->details.is_null());
  EXPECT_EQ(wrong.error->to_json(), fx["server"][2]["error"]);
}

TEST(Fixtures, NosubErrors) {
  const json fx = test::fixture("nosub-not-allowed.json");
  auto refused = parse_frame(fx["server"][0], "nosub s9");
  EXPECT_EQ(refused.id, "s9");
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, "not-allowed");
  EXPECT_FALSE(refused.error->numeric);
  EXPECT_EQ(refused.error->reason, "");
  EXPECT_EQ(refused.error->message, "[not-allowed]");
  EXPECT_EQ(refused.error->describe(), "[not-allowed]");

  auto unknown = parse_frame(fx["server"][1], "nosub s10");
  EXPECT_EQ(unknown.id, "s10");
  ASSERT_TRUE(unknown.error);
  EXPECT_EQ(unknown.error->code, "404");
  EXPECT_TRUE(unknown.error->numeric);
  EXPECT_EQ(unknown.error->reason, "Subscription 'stream-does-not-exist' not found");
  EXPECT_EQ(unknown.error->to_json()["error"], 404);
}

TEST(Fixtures, NotifyUserEvents) {
  const json fx = test::fixture("rooms-changed-inserted.json");
  auto sub = parse_frame(fx["server"][2], "subscriptions-changed");
  EXPECT_EQ(sub.collection, "stream-notify-user");
  EXPECT_EQ(sub.id, "id");
  EXPECT_EQ(sub.event_name, kBot + "/subscriptions-changed");
  EXPECT_EQ(sub.args[0], "inserted");
  EXPECT_EQ(sub.args[1]["rid"], "c3f8a6a80a707dc9ce744b9d");
  auto room = parse_frame(fx["server"][3], "rooms-changed");
  EXPECT_EQ(room.event_name, kBot + "/rooms-changed");
  EXPECT_EQ(room.args[1]["t"], "p");
}

// --- Classification (PROTOCOL.md §5.3) -------------------------------------------------------

// A message delivery taken from a fixture: a stream event in server[index], or (result = true)
// the message returned as the "result" of server[index].
struct Delivery {
  const char* fixture;
  std::size_t index;
  bool result = false;
};

struct Outcome {
  MessageKind kind;
  bool thread_reply = false;
  bool direct = false;
  bool mentions_bot = false;
  bool mentions_group = false;
  bool from_bot = false;
  bool member = true;
  bool livechat = false;
};

struct Step {
  Delivery delivery;
  Outcome outcome;
};

struct Scenario {
  const char* name;
  std::vector<Step> steps;  // delivered in this order to one classifier
};

rc::Message deliver(const Delivery& d) {
  const json fx = test::fixture(d.fixture);
  auto frame = parse_frame(fx["server"][d.index], d.fixture);
  std::string why;
  std::optional<rc::Message> m;
  if (d.result) {
    EXPECT_EQ(frame.type, Type::Result);
    m = rc::parse_message(frame.result, nullptr, &why);
  } else {
    EXPECT_EQ(frame.type, Type::Changed);
    EXPECT_EQ(frame.collection, "stream-room-messages");
    EXPECT_EQ(frame.event_name, "__my_messages__");
    m = rc::parse_stream_args(frame.args, &why);
  }
  EXPECT_TRUE(m) << d.fixture << ": " << why;
  return m.value_or(rc::Message{});
}

const Delivery kMention{"channel-message-mention.json", 1};
const Delivery kEdited{"edited-message.json", 0};
const Delivery kDm{"dm-message.json", 0};
const Delivery kReply{"thread-reply.json", 0};
const Delivery kRoot{"thread-reply.json", 1};
const Delivery kJoin{"system-uj.json", 0};
const Delivery kUpload{"file-attachment-message.json", 0};
const Delivery kSent{"send-message-result.json", 0, true};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> table = {
      {"channel mention", {{kMention, {.kind = MessageKind::New, .mentions_bot = true}}}},
      {"direct message", {{kDm, {.kind = MessageKind::New, .direct = true}}}},
      {"edit after the original, then the same edit again",
       {{kMention, {.kind = MessageKind::New, .mentions_bot = true}},
        {kEdited, {.kind = MessageKind::Edit, .mentions_bot = true}},
        {kEdited, {.kind = MessageKind::Mutation, .mentions_bot = true}}}},
      {"edit first seen on its own is fresh (35 s after ts): new",
       {{kEdited, {.kind = MessageKind::New, .mentions_bot = true}},
        {kMention, {.kind = MessageKind::Mutation, .mentions_bot = true}}}},
      {"thread reply after the original and its edit",
       {{kMention, {.kind = MessageKind::New, .mentions_bot = true}},
        {kEdited, {.kind = MessageKind::Edit, .mentions_bot = true}},
        {kReply, {.kind = MessageKind::New, .thread_reply = true}},
        {kRoot, {.kind = MessageKind::Mutation, .mentions_bot = true}}}},
      {"root re-broadcast before the reply (out of order)",
       {{kMention, {.kind = MessageKind::New, .mentions_bot = true}},
        {kEdited, {.kind = MessageKind::Edit, .mentions_bot = true}},
        {kRoot, {.kind = MessageKind::Mutation, .mentions_bot = true}},
        {kReply, {.kind = MessageKind::New, .thread_reply = true}}}},
      {"root never seen before: 120 s old at its re-broadcast, a mutation",
       {{kRoot, {.kind = MessageKind::Mutation, .mentions_bot = true}},
        {kReply, {.kind = MessageKind::New, .thread_reply = true}},
        {kRoot, {.kind = MessageKind::Mutation, .mentions_bot = true}}}},
      {"system message",
       {{kJoin, {.kind = MessageKind::System}}, {kJoin, {.kind = MessageKind::System}}}},
      {"own upload echoed", {{kUpload, {.kind = MessageKind::OwnEcho}}}},
      {"own sendMessage result (no meta: member)",
       {{kSent, {.kind = MessageKind::OwnEcho, .thread_reply = true}}}},
  };
  return table;
}

TEST(Fixtures, ClassificationTable) {
  for (const auto& scenario : scenarios()) {
    SCOPED_TRACE(scenario.name);
    rc::Classifier classifier(kBot);
    for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
      const auto& step = scenario.steps[i];
      SCOPED_TRACE("step " + std::to_string(i) + ": " + step.delivery.fixture);
      const auto got = classifier.classify(deliver(step.delivery));
      const auto& want = step.outcome;
      EXPECT_EQ(rc::to_string(got.kind), std::string(rc::to_string(want.kind)));
      EXPECT_EQ(got.thread_reply, want.thread_reply);
      EXPECT_EQ(got.direct, want.direct);
      EXPECT_EQ(got.mentions_bot, want.mentions_bot);
      EXPECT_EQ(got.mentions_group, want.mentions_group);
      EXPECT_EQ(got.from_bot, want.from_bot);
      EXPECT_EQ(got.member, want.member);
      EXPECT_EQ(got.livechat, want.livechat);
    }
  }
}

// Every fixture that carries a message event appears in the table above, and every such event
// parses as a message.
TEST(Fixtures, ClassificationTableCoversEveryMessageFixture) {
  std::set<std::string> with_messages;
  for (const auto& name : test::fixture_names()) {
    const json fx = test::fixture(name);
    for (std::size_t i = 0; i < fx["server"].size(); ++i) {
      auto f = parse_frame(fx["server"][i], name);
      if (f.type == Type::Changed && f.collection == "stream-room-messages") {
        std::string why;
        EXPECT_TRUE(rc::parse_stream_args(f.args, &why)) << name << ": " << why;
        with_messages.insert(name);
      }
    }
  }
  std::set<std::string> covered;
  std::set<std::pair<std::string, std::size_t>> frames;
  for (const auto& scenario : scenarios()) {
    for (const auto& step : scenario.steps) {
      if (!step.delivery.result) covered.insert(step.delivery.fixture);
      frames.insert({step.delivery.fixture, step.delivery.index});
    }
  }
  EXPECT_EQ(covered, with_messages);
  EXPECT_EQ(frames.count({"thread-reply.json", 0}) + frames.count({"thread-reply.json", 1}), 2u);
}

}  // namespace
}  // namespace rcgate
