// The DDP codec on hand-written frames: every kind in both directions, tolerance rules, encoder
// shapes, encode -> parse round trips, Meteor.Error, EJSON dates and ids.
#include "rocketchat/ddp/codec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

namespace rcgate::ddp {
namespace {

Frame must_parse(const std::string& text) {
  std::string why;
  auto frame = parse(text, &why);
  EXPECT_TRUE(frame.has_value()) << text << " -> " << why;
  return frame.value_or(Frame{});
}

std::string must_fail(const std::string& text) {
  std::string why;
  std::optional<Frame> frame;
  EXPECT_NO_THROW(frame = parse(text, &why)) << text;
  EXPECT_FALSE(frame.has_value()) << text << " parsed as " << (frame ? to_string(frame->type) : "");
  EXPECT_FALSE(why.empty()) << text;
  return why;
}

TEST(DdpParse, GreetingIsAnyObjectWithoutMsg) {
  auto f = must_parse(R"({"server_id":"0"})");
  EXPECT_EQ(f.type, Type::Greeting);
  EXPECT_EQ(f.msg, "");
  EXPECT_EQ(must_parse("{}").type, Type::Greeting);
}

TEST(DdpParse, UnknownMsgIsToleratedAndKept) {
  auto f = must_parse(R"({"msg":"addedBefore","collection":"x","id":"1","before":null})");
  EXPECT_EQ(f.type, Type::Unknown);
  EXPECT_EQ(f.msg, "addedBefore");
  EXPECT_STREQ(to_string(f.type), "unknown");
}

TEST(DdpParse, UnknownFieldsAreIgnored) {
  auto f = must_parse(R"({"msg":"connected","session":"P8ozwSFXqmGsEuvHr","extra":[1,2],"x":{}})");
  EXPECT_EQ(f.type, Type::Connected);
  EXPECT_EQ(f.session, "P8ozwSFXqmGsEuvHr");
}

TEST(DdpParse, ConnectAndFailed) {
  auto c = must_parse(R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})");
  EXPECT_EQ(c.type, Type::Connect);
  EXPECT_EQ(c.version, "1");
  EXPECT_EQ(c.support, (std::vector<std::string>{"1", "pre2", "pre1"}));
  // A connect without version/support is still a connect: the server decides to answer "failed".
  auto bare = must_parse(R"({"msg":"connect"})");
  EXPECT_EQ(bare.type, Type::Connect);
  EXPECT_TRUE(bare.version.empty());
  EXPECT_TRUE(bare.support.empty());
  auto failed = must_parse(R"({"msg":"failed","version":"1"})");
  EXPECT_EQ(failed.type, Type::Failed);
  EXPECT_EQ(failed.version, "1");
  EXPECT_NE(must_fail(R"({"msg":"connect","version":1})").find("'version' is a number"),
            std::string::npos);
}

TEST(DdpParse, PingPongWithAndWithoutId) {
  auto ping = must_parse(R"({"msg":"ping"})");
  EXPECT_EQ(ping.type, Type::Ping);
  EXPECT_EQ(ping.id, "");
  auto ping_id = must_parse(R"({"msg":"ping","id":"h1"})");
  EXPECT_EQ(ping_id.id, "h1");
  auto pong = must_parse(R"({"msg":"pong","id":"h1"})");
  EXPECT_EQ(pong.type, Type::Pong);
  EXPECT_EQ(pong.id, "h1");
  must_fail(R"({"msg":"ping","id":1})");
  must_fail(R"({"msg":"pong","id":[]})");
}

TEST(DdpParse, MethodSubUnsub) {
  auto m = must_parse(
      R"({"msg":"method","method":"login","id":"1","params":[{"resume":"t"}],"randomSeed":"x"})");
  EXPECT_EQ(m.type, Type::Method);
  EXPECT_EQ(m.id, "1");
  EXPECT_EQ(m.name, "login");
  EXPECT_EQ(m.params, json::parse(R"([{"resume":"t"}])"));
  auto no_params = must_parse(R"({"msg":"method","method":"logout","id":"9"})");
  EXPECT_TRUE(no_params.params.is_null());
  auto s = must_parse(
      R"({"msg":"sub","id":"s1","name":"stream-room-messages","params":["__my_messages__",false]})");
  EXPECT_EQ(s.type, Type::Sub);
  EXPECT_EQ(s.id, "s1");
  EXPECT_EQ(s.name, "stream-room-messages");
  EXPECT_EQ(s.params, json::parse(R"(["__my_messages__",false])"));
  auto u = must_parse(R"({"msg":"unsub","id":"s1"})");
  EXPECT_EQ(u.type, Type::Unsub);
  EXPECT_EQ(u.id, "s1");
  must_fail(R"({"msg":"unsub"})");
  must_fail(R"({"msg":"method","method":"login"})");
  must_fail(R"({"msg":"sub","id":"s1"})");
}

TEST(DdpParse, ResultWithAndWithoutResultKey) {
  auto with = must_parse(R"({"msg":"result","id":"3","result":null})");
  EXPECT_EQ(with.type, Type::Result);
  EXPECT_TRUE(with.has_result);  // an explicit null result is still a result
  EXPECT_TRUE(with.result.is_null());
  EXPECT_FALSE(with.error.has_value());
  auto without = must_parse(R"({"msg":"result","id":"4"})");
  EXPECT_FALSE(without.has_result);
  EXPECT_FALSE(without.error.has_value());
  auto value = must_parse(R"({"msg":"result","id":"5","result":{"id":"u","token":"t"}})");
  EXPECT_TRUE(value.has_result);
  EXPECT_EQ(value.result["token"], "t");
}

TEST(DdpParse, ErrorCodeIsStringOrNumber) {
  auto s = must_parse(
      R"({"msg":"result","id":"1","error":{"error":"totp-required","reason":"TOTP Required","details":{"method":"totp"}}})");
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->code, "totp-required");
  EXPECT_FALSE(s.error->numeric);
  EXPECT_EQ(s.error->reason, "TOTP Required");
  EXPECT_EQ(s.error->details["method"], "totp");
  EXPECT_EQ(s.error->describe(), "TOTP Required [totp-required]");

  auto n = must_parse(
      R"({"msg":"result","id":"1","error":{"error":500,"reason":"Internal server error"}})");
  ASSERT_TRUE(n.error);
  EXPECT_EQ(n.error->code, "500");
  EXPECT_TRUE(n.error->numeric);
  EXPECT_TRUE(n.error->details.is_null());

  auto f = must_parse(R"({"msg":"nosub","id":"s","error":{"error":404.0}})");
  ASSERT_TRUE(f.error);
  EXPECT_EQ(f.error->code, "404");
  EXPECT_TRUE(f.error->numeric);
  EXPECT_EQ(f.error->describe(), "[404]");

  auto negative = must_parse(R"({"msg":"result","id":"1","error":{"error":-1}})");
  EXPECT_EQ(negative.error->code, "-1");

  // Text fields for people are best effort; the frame still carries its code.
  auto odd =
      must_parse(R"({"msg":"result","id":"1","error":{"error":"x","reason":5,"message":[]}})");
  ASSERT_TRUE(odd.error);
  EXPECT_EQ(odd.error->code, "x");
  EXPECT_EQ(odd.error->reason, "");

  // error: null is the same as no error.
  EXPECT_FALSE(must_parse(R"({"msg":"result","id":"1","error":null})").error.has_value());
}

TEST(DdpParse, ReadyUpdatedNosub) {
  auto r = must_parse(R"({"msg":"ready","subs":["s1","s2"]})");
  EXPECT_EQ(r.type, Type::Ready);
  EXPECT_EQ(r.ids, (std::vector<std::string>{"s1", "s2"}));
  auto u = must_parse(R"({"msg":"updated","methods":["1"]})");
  EXPECT_EQ(u.type, Type::Updated);
  EXPECT_EQ(u.ids, (std::vector<std::string>{"1"}));
  auto n = must_parse(R"({"msg":"nosub","id":"s1"})");
  EXPECT_EQ(n.type, Type::NoSub);
  EXPECT_EQ(n.id, "s1");
  EXPECT_FALSE(n.error.has_value());
}

TEST(DdpParse, CollectionFrames) {
  auto a = must_parse(
      R"({"msg":"added","collection":"users","id":"BCmeyJm2r6b8hJiie","fields":{"username":"camera-bot"}})");
  EXPECT_EQ(a.type, Type::Added);
  EXPECT_EQ(a.collection, "users");
  EXPECT_EQ(a.id, "BCmeyJm2r6b8hJiie");
  EXPECT_EQ(a.fields["username"], "camera-bot");
  EXPECT_TRUE(a.event_name.empty());
  EXPECT_TRUE(a.args.is_null());

  auto c = must_parse(
      R"({"msg":"changed","collection":"stream-notify-user","id":"id","fields":{"eventName":"u/rooms-changed","args":["inserted",{}]}})");
  EXPECT_EQ(c.type, Type::Changed);
  EXPECT_EQ(c.event_name, "u/rooms-changed");
  ASSERT_TRUE(c.args.is_array());
  EXPECT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0], "inserted");
  // The arguments are moved out of fields (one copy of a message, not three).
  EXPECT_FALSE(c.fields.contains("args"));
  EXPECT_EQ(c.fields["eventName"], "u/rooms-changed");

  auto cleared =
      must_parse(R"({"msg":"changed","collection":"users","id":"x","cleared":["name"]})");
  EXPECT_EQ(cleared.type, Type::Changed);
  EXPECT_TRUE(cleared.fields.is_null());

  auto r = must_parse(R"({"msg":"removed","collection":"users","id":"x"})");
  EXPECT_EQ(r.type, Type::Removed);
  EXPECT_EQ(r.id, "x");
  must_fail(R"({"msg":"removed","collection":"users"})");
}

TEST(DdpParse, ProtocolError) {
  auto e = must_parse(
      R"({"msg":"error","reason":"Already connected","offendingMessage":{"msg":"connect"}})");
  EXPECT_EQ(e.type, Type::Error);
  EXPECT_EQ(e.reason, "Already connected");
  EXPECT_EQ(e.offending["msg"], "connect");
  auto bare = must_parse(R"({"msg":"error"})");
  EXPECT_EQ(bare.type, Type::Error);
  EXPECT_TRUE(bare.reason.empty());
}

TEST(DdpParse, ReasonsNameTheProblem) {
  EXPECT_EQ(must_fail("nope").rfind("not JSON: ", 0), 0u);
  EXPECT_EQ(must_fail("[]"), "frame is not an object (it is an array)");
  EXPECT_EQ(must_fail("null"), "frame is not an object (it is null)");
  EXPECT_EQ(must_fail("12"), "frame is not an object (it is a number)");
  EXPECT_EQ(must_fail(R"({"msg":"result"})"), "'result' frame without 'id'");
  EXPECT_EQ(must_fail(R"({"msg":null})"), "'msg' is null, expected a string");
  // parse() without a reason pointer must work too.
  EXPECT_FALSE(parse("[]").has_value());
}

TEST(DdpParse, DeepNestingIsRefusedNotACrash) {
  auto nested = [](int depth) {
    return R"({"msg":"result","id":"1","result":)" + std::string(depth, '[') +
           std::string(depth, ']') + "}";
  };
  EXPECT_TRUE(must_parse(nested(127)).has_result);  // 127 arrays + the frame object = 128
  EXPECT_EQ(must_fail(nested(128)), "frame nested deeper than 128 levels");
  EXPECT_EQ(must_fail(std::string(100000, '[')), "frame nested deeper than 128 levels");
  // Brackets inside strings do not count.
  auto f =
      must_parse(R"({"msg":"result","id":"1","result":")" + std::string(1000, '[') + R"(\"{"})");
  EXPECT_EQ(f.result.get<std::string>().size(), 1002u);
}

// Encoders: the exact JSON shape of PROTOCOL.md §1 (compared as JSON, key order aside), and "msg"
// first on the wire.
TEST(DdpEncode, ClientFrames) {
  EXPECT_EQ(json::parse(encode_connect()),
            json::parse(R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})"));
  EXPECT_EQ(encode_ping(), R"({"msg":"ping"})");
  EXPECT_EQ(encode_ping("p1"), R"({"msg":"ping","id":"p1"})");
  EXPECT_EQ(encode_pong(), R"({"msg":"pong"})");
  EXPECT_EQ(encode_pong("p1"), R"({"msg":"pong","id":"p1"})");
  EXPECT_EQ(json::parse(encode_method("1", "login", json::array({{{"resume", "t"}}}))),
            json::parse(R"({"msg":"method","method":"login","id":"1","params":[{"resume":"t"}]})"));
  EXPECT_EQ(json::parse(encode_method("2", "logout", nullptr))["params"], json::array());
  EXPECT_EQ(
      json::parse(encode_sub("s1", "stream-room-messages", {"__my_messages__", false})),
      json::parse(
          R"({"msg":"sub","id":"s1","name":"stream-room-messages","params":["__my_messages__",false]})"));
  EXPECT_EQ(encode_unsub("s1"), R"({"msg":"unsub","id":"s1"})");
  EXPECT_EQ(encode_connect().rfind(R"({"msg":"connect")", 0), 0u);
}

TEST(DdpEncode, ServerFrames) {
  EXPECT_EQ(encode_connected("P8ozwSFXqmGsEuvHr"),
            R"({"msg":"connected","session":"P8ozwSFXqmGsEuvHr"})");
  EXPECT_EQ(encode_failed("1"), R"({"msg":"failed","version":"1"})");
  EXPECT_EQ(encode_result("1", 42), R"({"msg":"result","id":"1","result":42})");
  EXPECT_EQ(encode_result("1", nullptr), R"({"msg":"result","id":"1","result":null})");
  // A method that returns nothing: no "result" key at all (PROTOCOL.md §1.4).
  EXPECT_EQ(encode_result_empty("12"), R"({"msg":"result","id":"12"})");
  EXPECT_EQ(encode_updated({"1", "2"}), R"({"msg":"updated","methods":["1","2"]})");
  EXPECT_EQ(encode_ready({"s1"}), R"({"msg":"ready","subs":["s1"]})");
  EXPECT_EQ(encode_nosub("s1"), R"({"msg":"nosub","id":"s1"})");
  EXPECT_EQ(
      json::parse(encode_stream_event("stream-room-messages", "__my_messages__", {1, 2})),
      json::parse(
          R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"__my_messages__","args":[1,2]}})"));
  EXPECT_EQ(encode_protocol_error("Must connect first"),
            R"({"msg":"error","reason":"Must connect first"})");
  EXPECT_EQ(
      json::parse(encode_protocol_error("Already connected", {{"msg", "connect"}})),
      json::parse(
          R"({"msg":"error","reason":"Already connected","offendingMessage":{"msg":"connect"}})"));
}

TEST(DdpEncode, InvalidUtf8IsReplacedNotThrown) {
  std::string out;
  ASSERT_NO_THROW(out = encode_result("1", std::string("caf\xC3", 4)));
  auto f = must_parse(out);
  EXPECT_EQ(f.result, "caf\xEF\xBF\xBD");
}

TEST(DdpError, ToJsonMeteorShape) {
  EXPECT_EQ(make_error("error-not-allowed", "Not allowed", {{"method", "sendMessage"}}).to_json(),
            json::parse(R"({"isClientSafe":true,"error":"error-not-allowed","reason":"Not allowed",
              "details":{"method":"sendMessage"},"message":"Not allowed [error-not-allowed]",
              "errorType":"Meteor.Error"})"));
  auto e404 = make_error(404, "Method 'x' not found");
  EXPECT_TRUE(e404.numeric);
  EXPECT_EQ(e404.code, "404");
  const json j = e404.to_json();
  EXPECT_TRUE(j["error"].is_number_integer());
  EXPECT_EQ(j["error"], 404);
  EXPECT_EQ(j["message"], "Method 'x' not found [404]");
  EXPECT_FALSE(j.contains("details"));
  const json bare = make_error("not-allowed").to_json();
  EXPECT_EQ(
      bare,
      json::parse(
          R"({"isClientSafe":true,"error":"not-allowed","message":"[not-allowed]","errorType":"Meteor.Error"})"));
  // A numeric flag on a code that is not a number cannot become a number: it stays text.
  Error odd = make_error("abc");
  odd.numeric = true;
  EXPECT_EQ(odd.to_json()["error"], "abc");
  // fuzz_ddp finding: a fractional numeric code was written back as text, so a re-encoded nosub
  // read back with a string code.
  const std::string frame = R"({"msg":"nosub","id":"{1","error":{"error":444.444403,"reason":"Not allowed"}})";
  auto first = must_parse(frame);
  ASSERT_TRUE(first.error);
  EXPECT_EQ(first.error->code, "444.444403");
  EXPECT_TRUE(first.error->numeric);
  auto again = must_parse(encode_nosub(first.id, first.error));
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->code, "444.444403");
  EXPECT_TRUE(again.error->numeric);
}

TEST(DdpError, TimeToReset) {
  EXPECT_EQ(
      make_error("too-many-requests", "slow down", {{"timeToReset", 9720}}).time_to_reset_ms(),
      9720);
  EXPECT_EQ(
      make_error("too-many-requests", "slow down", {{"timeToReset", 9720.6}}).time_to_reset_ms(),
      9720);
  EXPECT_FALSE(make_error("too-many-requests").time_to_reset_ms());
  EXPECT_FALSE(make_error("too-many-requests", "", {{"timeToReset", "9720"}}).time_to_reset_ms());
  EXPECT_FALSE(make_error("error-not-allowed", "", {{"timeToReset", 9720}}).time_to_reset_ms());
}

Frame round_trip(const std::string& text) {
  auto f = must_parse(text);
  EXPECT_EQ(json::parse(text), json::parse(text));  // the text itself is JSON
  return f;
}

TEST(DdpRoundTrip, EncodeThenParse) {
  auto c = round_trip(encode_connect());
  EXPECT_EQ(c.type, Type::Connect);
  EXPECT_EQ(c.version, "1");
  EXPECT_EQ(c.support.size(), 3u);
  EXPECT_EQ(round_trip(encode_ping("x")).id, "x");
  EXPECT_EQ(round_trip(encode_pong()).type, Type::Pong);
  auto m = round_trip(encode_method("7", "sendMessage", json::array({{{"rid", "GENERAL"}}})));
  EXPECT_EQ(m.type, Type::Method);
  EXPECT_EQ(m.name, "sendMessage");
  EXPECT_EQ(m.params[0]["rid"], "GENERAL");
  auto s = round_trip(encode_sub("s1", "stream-room-messages", {"__my_messages__", false}));
  EXPECT_EQ(s.name, "stream-room-messages");
  EXPECT_EQ(round_trip(encode_unsub("s1")).type, Type::Unsub);
  EXPECT_EQ(round_trip(encode_connected("S")).session, "S");
  EXPECT_EQ(round_trip(encode_failed("1")).type, Type::Failed);
  auto r = round_trip(encode_result("1", {{"a", 1}}));
  EXPECT_TRUE(r.has_result);
  EXPECT_EQ(r.result["a"], 1);
  auto empty = round_trip(encode_result_empty("1"));
  EXPECT_FALSE(empty.has_result);
  EXPECT_FALSE(empty.error);

  const Error limit =
      make_error("too-many-requests", "Error, too many requests.", {{"timeToReset", 9720}});
  auto re = round_trip(encode_result_error("8", limit));
  ASSERT_TRUE(re.error);
  EXPECT_FALSE(re.has_result);
  EXPECT_EQ(re.error->code, "too-many-requests");
  EXPECT_EQ(re.error->reason, limit.reason);
  EXPECT_EQ(re.error->message, limit.message);
  EXPECT_EQ(re.error->time_to_reset_ms(), 9720);
  EXPECT_EQ(re.error->to_json(), limit.to_json());

  auto ns = round_trip(encode_nosub("s9", make_error(404, "Subscription 'x' not found")));
  ASSERT_TRUE(ns.error);
  EXPECT_TRUE(ns.error->numeric);
  EXPECT_EQ(ns.error->code, "404");
  EXPECT_EQ(round_trip(encode_updated({"1"})).ids, std::vector<std::string>{"1"});
  EXPECT_EQ(round_trip(encode_ready({"s1", "s2"})).ids, (std::vector<std::string>{"s1", "s2"}));
  auto ev = round_trip(
      encode_stream_event("stream-notify-user", "u/message", json::array({{{"_id", "m"}}})));
  EXPECT_EQ(ev.type, Type::Changed);
  EXPECT_EQ(ev.collection, "stream-notify-user");
  EXPECT_EQ(ev.id, "id");
  EXPECT_EQ(ev.event_name, "u/message");
  EXPECT_EQ(ev.args[0]["_id"], "m");
  auto pe = round_trip(encode_protocol_error("Parse error"));
  EXPECT_EQ(pe.type, Type::Error);
  EXPECT_EQ(pe.reason, "Parse error");
}

TEST(DdpTypes, NamesMatchWire) {
  EXPECT_STREQ(to_string(Type::NoSub), "nosub");
  EXPECT_STREQ(to_string(Type::Changed), "changed");
  EXPECT_STREQ(to_string(Type::Greeting), "greeting");
  EXPECT_STREQ(to_string(Type::Error), "error");
}

TEST(Ejson, Dates) {
  EXPECT_EQ(ejson_date(json::parse(R"({"$date":1773136860000})")), 1773136860000);
  EXPECT_EQ(ejson_date(json(1773136860000)), 1773136860000);
  EXPECT_EQ(ejson_date(json(-5)), -5);
  EXPECT_EQ(ejson_date(json::parse(R"({"$date":1773136860000.9})")), 1773136860000);
  EXPECT_FALSE(ejson_date(json::parse(R"({"$date":"2026-03-10T10:01:00Z"})")));
  EXPECT_FALSE(ejson_date(json::parse(R"({"date":1})")));
  EXPECT_FALSE(ejson_date(json("1773136860000")));
  EXPECT_FALSE(ejson_date(json(nullptr)));
  EXPECT_FALSE(ejson_date(json::parse(R"({"$date":1e300})")));
  EXPECT_FALSE(ejson_date(json(std::numeric_limits<std::uint64_t>::max())));
  EXPECT_EQ(make_ejson_date(1773136860000), json::parse(R"({"$date":1773136860000})"));
  EXPECT_EQ(ejson_date(make_ejson_date(42)), 42);
}

TEST(RandomId, MeteorAlphabetAndLength) {
  const std::string alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  std::set<std::string> ids;
  std::set<char> used;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = random_id();
    ASSERT_EQ(id.size(), 17u);
    for (char ch : id) {
      ASSERT_NE(alphabet.find(ch), std::string::npos) << id;
      used.insert(ch);
    }
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 2000u);             // 55^17 ids: a repeat means a broken generator
  EXPECT_EQ(used.size(), alphabet.size());  // every symbol shows up in 34000 draws
  EXPECT_EQ(random_id(5).size(), 5u);
  EXPECT_EQ(random_id(0), "");
}

}  // namespace
}  // namespace rcgate::ddp
