// The message model: what is read from Rocket.Chat's message object, what is tolerated and what
// is refused (PROTOCOL.md §5).
#include "rocketchat/message.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "support/fixtures.hpp"

namespace rcgate::rc {
namespace {

using json = nlohmann::json;

json base_message() {
  return json::parse(R"({
    "_id": "gwfL9C5wjoXJTF6Yr", "rid": "GENERAL", "msg": "@camera-bot snapshot please",
    "ts": {"$date": 1773136860000}, "_updatedAt": {"$date": 1773136860021},
    "u": {"_id": "t7EgqqFfkzCDKZrLg", "username": "alice", "name": "Alice Example"}
  })");
}

Message must_parse(const json& msg, const json* meta = nullptr) {
  std::string why;
  auto m = parse_message(msg, meta, &why);
  EXPECT_TRUE(m.has_value()) << msg.dump() << " -> " << why;
  return m.value_or(Message{});
}

TEST(Message, ChannelMentionFixture) {
  const json frame = test::fixture("channel-message-mention.json")["server"][1];
  std::string why;
  auto m = parse_stream_args(frame["fields"]["args"], &why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->id, "gwfL9C5wjoXJTF6Yr");
  EXPECT_EQ(m->rid, "GENERAL");
  EXPECT_EQ(m->text, "@camera-bot snapshot please");
  EXPECT_EQ(m->t, "");
  EXPECT_EQ(m->ts_ms, 1773136860000);
  EXPECT_EQ(m->updated_ms, 1773136860021);
  EXPECT_FALSE(m->edited_ms);
  EXPECT_FALSE(m->edited_by);
  EXPECT_EQ(m->u.id, "t7EgqqFfkzCDKZrLg");
  EXPECT_EQ(m->u.username, "alice");
  EXPECT_EQ(m->u.name, "Alice Example");
  ASSERT_EQ(m->mentions.size(), 1u);
  EXPECT_EQ(m->mentions[0].id, "BCmeyJm2r6b8hJiie");
  EXPECT_EQ(m->mentions[0].username, "camera-bot");
  EXPECT_FALSE(m->from_integration);
  EXPECT_FALSE(m->encrypted);
  EXPECT_FALSE(m->has_thread_counters);
  EXPECT_TRUE(m->files.empty());
  EXPECT_TRUE(m->attachments.is_null());
  EXPECT_TRUE(m->meta.present);
  EXPECT_TRUE(m->meta.participant);
  EXPECT_EQ(m->meta.room_type, "c");
  EXPECT_EQ(m->meta.room_name, "general");
}

TEST(Message, EditedFixtureCarriesEditedAtAndBy) {
  const json args = test::fixture("edited-message.json")["server"][0]["fields"]["args"];
  auto m = parse_stream_args(args);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->edited_ms, 1773136895000);
  ASSERT_TRUE(m->edited_by);
  EXPECT_EQ(m->edited_by->username, "alice");
  EXPECT_EQ(m->ts_ms, 1773136860000);  // edits do not move ts
}

TEST(Message, FileFixtureFilesAndAttachments) {
  const json args = test::fixture("file-attachment-message.json")["server"][0]["fields"]["args"];
  auto m = parse_stream_args(args);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text, "");
  ASSERT_EQ(m->files.size(), 2u);  // original first, then the thumbnail
  EXPECT_EQ(m->files[0].id, "625a749dcb46f439eb4740d5");
  EXPECT_EQ(m->files[0].name, "snapshot-front-door.jpg");
  EXPECT_EQ(m->files[0].type, "image/jpeg");
  EXPECT_EQ(m->files[0].size, 183422);
  EXPECT_EQ(m->files[1].name, "thumb-snapshot-front-door.jpg");
  ASSERT_TRUE(m->attachments.is_array());
  EXPECT_EQ(m->attachments[0]["type"], "file");
  EXPECT_EQ(m->meta.room_type, "p");
}

TEST(Message, DeprecatedSingleFileIsUsedWhenFilesIsAbsent) {
  json msg = base_message();
  msg["file"] = {{"_id", "f1"}, {"name", "a.jpg"}, {"type", "image/jpeg"}, {"size", 10}};
  auto m = must_parse(msg);
  ASSERT_EQ(m.files.size(), 1u);
  EXPECT_EQ(m.files[0].id, "f1");
  EXPECT_EQ(m.files[0].size, 10);
}

TEST(Message, ThreadReplyAndRootCounters) {
  const json fx = test::fixture("thread-reply.json");
  auto reply = parse_stream_args(fx["server"][0]["fields"]["args"]);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->tmid, "gwfL9C5wjoXJTF6Yr");
  EXPECT_FALSE(reply->has_thread_counters);
  auto root = parse_stream_args(fx["server"][1]["fields"]["args"]);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->tmid, "");
  EXPECT_TRUE(root->has_thread_counters);
}

TEST(Message, SystemMessageKeepsT) {
  auto m = parse_stream_args(test::fixture("system-uj.json")["server"][0]["fields"]["args"]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->t, "uj");
  EXPECT_EQ(m->text, "bob");
  EXPECT_TRUE(m->u.name.empty());
}

TEST(Message, DmMetaHasNoRoomName) {
  auto m = parse_stream_args(test::fixture("dm-message.json")["server"][0]["fields"]["args"]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->meta.room_type, "d");
  EXPECT_EQ(m->meta.room_name, "");
}

TEST(Message, StreamArgsForms) {
  const json msg = base_message();
  const json meta = {{"roomParticipant", false}, {"roomType", "c"}, {"roomName", "general"}};
  // [message, meta]
  auto a = parse_stream_args(json::array({msg, meta}));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->meta.present);
  EXPECT_FALSE(a->meta.participant);
  // old nested form [[message], meta]
  auto b = parse_stream_args(json::array({json::array({msg}), meta}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, "gwfL9C5wjoXJTF6Yr");
  EXPECT_FALSE(b->meta.participant);
  // per-room stream: [message], no meta
  auto c = parse_stream_args(json::array({msg}));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->meta.present);
  EXPECT_TRUE(c->meta.participant);
  // meta that is null or not an object counts as absent
  auto d = parse_stream_args(json::array({msg, nullptr}));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->meta.present);
  auto e = parse_stream_args(json::array({msg, "c"}));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->meta.present);

  std::string why;
  EXPECT_FALSE(parse_stream_args(json::object(), &why));
  EXPECT_EQ(why, "stream event args is an object, expected an array");
  EXPECT_FALSE(parse_stream_args(json(nullptr), &why));
  EXPECT_FALSE(parse_stream_args(json::array(), &why));
  EXPECT_EQ(why, "stream event args is empty, expected [message, meta]");
}

TEST(Message, BotMarkerAnyTypeButNullOrFalse) {
  struct Case {
    json value;
    bool integration;
  };
  const Case cases[] = {
      {json::parse(R"({"i":"JDbmpiDQGjEzdWbYN"})"), true},
      {true, true},
      {"yes", true},
      {1, true},
      {json::object(), true},
      {false, false},
      {nullptr, false},
  };
  for (const auto& c : cases) {
    json msg = base_message();
    msg["bot"] = c.value;
    EXPECT_EQ(must_parse(msg).from_integration, c.integration) << c.value.dump();
  }
  EXPECT_FALSE(must_parse(base_message()).from_integration);
}

TEST(Message, EncryptedByTypeOrContent) {
  json e2e = base_message();
  e2e["t"] = "e2e";
  e2e["e2e"] = "pending";
  e2e["msg"] = "";
  EXPECT_TRUE(must_parse(e2e).encrypted);
  json content = base_message();
  content["content"] = {{"algorithm", "rc.v2.aes-sha2"}, {"ciphertext", "abc"}};
  auto m = must_parse(content);
  EXPECT_TRUE(m.encrypted);
  EXPECT_EQ(m.t, "");
  json other = base_message();
  other["content"] = "text";  // not an encrypted payload
  EXPECT_FALSE(must_parse(other).encrypted);
}

TEST(Message, GroupMentionsAreKept) {
  json msg = base_message();
  msg["mentions"] = json::parse(R"([{"_id":"all","username":"all"},{"_id":"here","username":"here"},
                                     {"username":"no-id"}, "junk", 5])");
  auto m = must_parse(msg);
  ASSERT_EQ(m.mentions.size(), 2u);
  EXPECT_EQ(m.mentions[0].id, "all");
  EXPECT_EQ(m.mentions[1].id, "here");
}

// Optional fields with odd types are read as absent, never as a reason to drop the message.
TEST(Message, OddTypesInOptionalFieldsAreTolerated) {
  const json odd_values[] = {
      nullptr, true, 12, -3.5, "text", json::array({1, "x"}), json::object({{"k", "v"}})};
  const char* optional_fields[] = {"msg",         "tmid",     "tshow",     "ts",       "_updatedAt",
                                   "editedAt",    "editedBy", "mentions",  "files",    "file",
                                   "attachments", "content",  "tcount",    "replies",  "tlm",
                                   "urls",        "md",       "reactions", "channels", "groupable"};
  for (const char* field : optional_fields) {
    for (const json& value : odd_values) {
      json msg = base_message();
      msg[field] = value;
      std::string why;
      std::optional<Message> m;
      ASSERT_NO_THROW(m = parse_message(msg, nullptr, &why)) << field << "=" << value.dump();
      ASSERT_TRUE(m) << field << "=" << value.dump() << ": " << why;
      EXPECT_EQ(m->id, "gwfL9C5wjoXJTF6Yr");
    }
  }
  // Odd meta fields too.
  for (const json& value : odd_values) {
    const json meta = {{"roomParticipant", value}, {"roomType", value}, {"roomName", value}};
    auto m = must_parse(base_message(), &meta);
    EXPECT_TRUE(m.meta.present);
    EXPECT_EQ(m.meta.participant, value.is_boolean() ? value.get<bool>() : true);
  }
}

TEST(Message, NonStringTypeStillMarksTheMessageSpecial) {
  json msg = base_message();
  msg["t"] = 7;
  EXPECT_EQ(must_parse(msg).t, "7");
  msg["t"] = nullptr;
  EXPECT_EQ(must_parse(msg).t, "");
}

TEST(Message, MissingDatesFallBackToEachOther) {
  json no_updated = base_message();
  no_updated.erase("_updatedAt");
  auto a = must_parse(no_updated);
  EXPECT_EQ(a.updated_ms, 1773136860000);
  json no_ts = base_message();
  no_ts.erase("ts");
  auto b = must_parse(no_ts);
  EXPECT_EQ(b.ts_ms, 1773136860021);
  json plain_numbers = base_message();
  plain_numbers["ts"] = 1000;
  plain_numbers["_updatedAt"] = 2000;
  auto c = must_parse(plain_numbers);
  EXPECT_EQ(c.ts_ms, 1000);
  EXPECT_EQ(c.updated_ms, 2000);
}

TEST(Message, RequiredFieldsAreStrict) {
  struct Case {
    const char* name;
    std::function<void(json&)> spoil;
    const char* why;
  };
  const Case cases[] = {
      {"no _id", [](json& m) { m.erase("_id"); }, "message without '_id'"},
      {"_id number", [](json& m) { m["_id"] = 5; }, "message '_id' is a number, expected a string"},
      {"_id null", [](json& m) { m["_id"] = nullptr; }, "message '_id' is null, expected a string"},
      {"_id empty", [](json& m) { m["_id"] = ""; }, "message '_id' is empty"},
      {"no rid", [](json& m) { m.erase("rid"); }, "message without 'rid'"},
      {"rid array", [](json& m) { m["rid"] = json::array(); },
       "message 'rid' is an array, expected a string"},
      {"no u", [](json& m) { m.erase("u"); }, "message gwfL9C5wjoXJTF6Yr without 'u' (author)"},
      {"u string", [](json& m) { m["u"] = "alice"; },
       "message gwfL9C5wjoXJTF6Yr: 'u' is a string, expected an object"},
      {"u._id missing", [](json& m) { m["u"].erase("_id"); },
       "message gwfL9C5wjoXJTF6Yr: 'u' has no string '_id'"},
      {"u._id number", [](json& m) { m["u"]["_id"] = 1; },
       "message gwfL9C5wjoXJTF6Yr: 'u' has no string '_id'"},
  };
  for (const auto& c : cases) {
    json msg = base_message();
    c.spoil(msg);
    std::string why;
    EXPECT_FALSE(parse_message(msg, nullptr, &why)) << c.name;
    EXPECT_EQ(why, c.why) << c.name;
  }
  std::string why;
  EXPECT_FALSE(parse_message(json::array(), nullptr, &why));
  EXPECT_EQ(why, "message is an array, expected an object");
  EXPECT_FALSE(parse_message(json("x"), nullptr));  // no reason pointer: still safe
}

}  // namespace
}  // namespace rcgate::rc
