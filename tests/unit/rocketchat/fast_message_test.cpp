// The fast path for message events (rc::FastMessageParser) against the general path it stands in
// for (ddp::parse + parse_stream_args, what RealtimeClient did for every frame): whenever the fast
// path returns a Message it must be the general path's Message, field by field. Every frame of
// the shared fixtures and of tests/data/frames goes through both; the fixtures' message events
// must take the fast path; unusual frames must be left to the general path.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/fast_message.hpp"
#include "rocketchat/message.hpp"
#include "support/fixtures.hpp"
#include "support/message_compare.hpp"

namespace rcgate::rc {

// gtest prints Messages through this (ADL).
void PrintTo(const Message& m, std::ostream* os) { *os << test::describe(m); }

}  // namespace rcgate::rc

namespace rcgate {
namespace {

using json = nlohmann::json;
using rc::FastMessageParser;
using rc::Message;

::testing::AssertionResult same_message(const Message& fast, const Message& general) {
  const std::string differ = test::message_differences(fast, general);
  if (differ.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "fields differ: " << differ << "\n  fast:    " << test::describe(fast)
         << "\n  general: " << test::describe(general);
}

// What RealtimeClient does with a frame on the general path, up to the Message it delivers.
std::optional<Message> general_path(std::string_view text) {
  auto frame = ddp::parse(text);
  if (!frame || frame->type != ddp::Type::Changed || frame->collection != "stream-room-messages") {
    return std::nullopt;
  }
  return rc::parse_stream_args(frame->args);
}

struct Outcome {
  bool fast = false;     // the fast path returned a Message
  bool general = false;  // the general path delivered a Message
};

// Both paths on one frame; a fast Message must equal the general one. One parser for all frames
// of a test, as in RealtimeClient, so that its reused buffers are exercised.
Outcome both_paths(FastMessageParser& parser, std::string_view text, const std::string& where) {
  SCOPED_TRACE(where);
  Outcome out;
  const auto fast = parser.parse(text);
  const auto general = general_path(text);
  out.fast = fast.has_value();
  out.general = general.has_value();
  if (fast) {
    EXPECT_TRUE(general) << "the fast path took a frame the general path refuses: " << text;
    if (general) {
      EXPECT_TRUE(same_message(*fast, *general)) << text;
    }
    EXPECT_TRUE(FastMessageParser::worth_trying(text)) << "the cheap check would skip: " << text;
  }
  return out;
}

// The frames of a fixture file, in the file's key order (as servers send them) and in nlohmann's
// sorted order (eventName after args, msg last), compact and indented.
std::vector<std::string> frame_texts(const std::string& fixture_name) {
  std::vector<std::string> out;
  const auto ordered =
      nlohmann::ordered_json::parse(test::read_file(test::fixtures_dir() + "/" + fixture_name));
  for (const char* side : {"server", "client"}) {
    if (!ordered.contains(side)) continue;
    for (const auto& frame : ordered[side]) {
      out.push_back(frame.dump());
      out.push_back(frame.dump(2));
      out.push_back(json(frame).dump());
    }
  }
  return out;
}

// One fixture's first message event as JSON, to build variants from.
json message_event(const std::string& fixture_name) {
  const json doc = test::fixture(fixture_name);
  for (const auto& frame : doc["server"]) {
    if (frame.value("collection", "") == "stream-room-messages") return frame;
  }
  ADD_FAILURE() << fixture_name << " has no message event";
  return json::object();
}

json& message_of(json& frame) { return frame["fields"]["args"][0]; }

TEST(FastMessage, EveryFixtureFrameAgreesAndMessageEventsTakeTheFastPath) {
  FastMessageParser parser;
  std::size_t frames = 0, fast = 0, message_events = 0;
  std::map<std::string, std::size_t> fast_per_fixture;
  for (const auto& name : test::fixture_names()) {
    for (const auto& text : frame_texts(name)) {
      const auto outcome = both_paths(parser, text, name);
      ++frames;
      if (outcome.fast) {
        ++fast;
        ++fast_per_fixture[name];
      }
      if (outcome.general) {
        ++message_events;
        // Every message event of the fixtures is an ordinary one: none may fall back.
        EXPECT_TRUE(outcome.fast) << name << ": fell back on " << text;
      }
    }
  }
  // 7 message events (6 fixtures), each in three spellings.
  EXPECT_EQ(message_events, 21u);
  EXPECT_EQ(fast, 21u);
  for (const char* name : {"channel-message-mention.json", "dm-message.json", "edited-message.json",
                           "file-attachment-message.json", "system-uj.json", "thread-reply.json"}) {
    EXPECT_GT(fast_per_fixture[name], 0u) << name;
  }
  EXPECT_GT(frames, 100u);
  std::printf("fixture frames: %zu, through the fast path: %zu\n", frames, fast);
}

TEST(FastMessage, TestDataFramesAgree) {
  FastMessageParser parser;
  std::size_t frames = 0;
  for (const auto& dir : std::filesystem::directory_iterator(test::data_dir() + "/frames")) {
    if (!dir.is_directory()) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      if (entry.path().extension() != ".txt") continue;
      const std::string text = test::read_file(entry.path().string());
      const auto outcome = both_paths(parser, text, entry.path().filename().string());
      // These are all refused by the general path: the fast path must refuse them too.
      EXPECT_FALSE(outcome.fast) << entry.path();
      ++frames;
    }
  }
  EXPECT_GE(frames, 30u);
}

// Variants of real message events that must still take the fast path and agree.
TEST(FastMessage, VariantsTakeTheFastPathAndAgree) {
  std::vector<std::pair<std::string, json>> cases;
  auto add = [&](const std::string& name, const std::string& fixture, auto change) {
    json frame = message_event(fixture);
    change(frame);
    cases.emplace_back(name, std::move(frame));
  };
  add("attachments and files", "file-attachment-message.json", [](json&) {});
  add("only the legacy file", "file-attachment-message.json",
      [](json& f) { message_of(f).erase("files"); });
  add("empty files, then file", "file-attachment-message.json",
      [](json& f) { message_of(f)["files"] = json::array(); });
  add("file entries of odd shapes", "file-attachment-message.json", [](json& f) {
    message_of(f)["files"] = json::parse(
        R"([{"_id":"a","size":{"$date":7}},{"_id":""},"x",{"_id":"b","name":5,"size":-3}])");
  });
  add("attachments with fractions and nesting", "file-attachment-message.json", [](json& f) {
    message_of(f)["attachments"] = json::parse(
        R"([{"a":1.5,"b":-0.0,"c":1e3,"d":-7,"e":18446744073709551615,"f":[null,true,{"g":[]}]}])");
  });
  add("attachments not an array", "file-attachment-message.json",
      [](json& f) { message_of(f)["attachments"] = json::object(); });
  add("mentions with @all and @here", "channel-message-mention.json", [](json& f) {
    message_of(f)["mentions"] = json::parse(
        R"([{"_id":"all","username":"all"},{"_id":"here","username":"here","type":"team"},
            {"_id":"x1","username":"alice","name":"Alice"},{"username":"no-id"},{"_id":5},7])");
  });
  add("bot true (6.x)", "dm-message.json", [](json& f) { message_of(f)["bot"] = true; });
  add("bot object (8.x)", "dm-message.json", [](json& f) {
    message_of(f)["bot"] = {{"i", "integration-id"}};
  });
  add("bot false", "dm-message.json", [](json& f) { message_of(f)["bot"] = false; });
  add("bot null", "dm-message.json", [](json& f) { message_of(f)["bot"] = nullptr; });
  add("edited", "edited-message.json", [](json&) {});
  add("editedAt not a date", "edited-message.json",
      [](json& f) { message_of(f)["editedAt"] = "yesterday"; });
  add("editedBy without _id", "edited-message.json", [](json& f) {
    message_of(f)["editedBy"] = {{"username", "bob"}};
  });
  add("e2e by t", "dm-message.json", [](json& f) {
    message_of(f)["t"] = "e2e";
    message_of(f)["msg"] = "c2VjcmV0IGNpcGhlcnRleHQ=";
  });
  add("e2e by content.algorithm", "dm-message.json", [](json& f) {
    message_of(f)["content"] = {{"algorithm", "rc.v1.aes-sha2"}, {"ciphertext", "AAAA"}};
  });
  add("content with null algorithm", "dm-message.json", [](json& f) {
    message_of(f)["content"] = {{"algorithm", nullptr}};
  });
  add("thread root counters", "thread-reply.json", [](json& f) {
    message_of(f)["tcount"] = 3;
    message_of(f)["tlm"] = {{"$date", 1773137100000}};
  });
  add("replies only", "dm-message.json",
      [](json& f) { message_of(f)["replies"] = json::array({"u1"}); });
  add("thread reply shown in channel", "thread-reply.json",
      [](json& f) { message_of(f)["tshow"] = true; });
  add("tshow not a boolean", "thread-reply.json", [](json& f) { message_of(f)["tshow"] = "yes"; });
  add("unicode in msg", "dm-message.json",
      [](json& f) { message_of(f)["msg"] = "caf\u00e9 \u263a \U0001F600 \\ \" \t / \x01"; });
  add("ts missing, _updatedAt used", "dm-message.json", [](json& f) { message_of(f).erase("ts"); });
  add("_updatedAt missing, ts used", "dm-message.json",
      [](json& f) { message_of(f).erase("_updatedAt"); });
  add("both dates missing", "dm-message.json", [](json& f) {
    message_of(f).erase("ts");
    message_of(f).erase("_updatedAt");
  });
  add("dates as plain numbers", "dm-message.json", [](json& f) {
    message_of(f)["ts"] = 1773137100000;
    message_of(f)["_updatedAt"] = -5;
  });
  add("date object without $date", "dm-message.json", [](json& f) {
    message_of(f)["ts"] = {{"date", 1}};
  });
  add("date out of int64 range", "dm-message.json", [](json& f) {
    message_of(f)["ts"] = {{"$date", 18446744073709551615ULL}};
  });
  add("ISO date string (treated as missing)", "dm-message.json",
      [](json& f) { message_of(f)["ts"] = "2026-03-10T09:21:00.000Z"; });
  add("t null", "dm-message.json", [](json& f) { message_of(f)["t"] = nullptr; });
  add("system message", "system-uj.json", [](json&) {});
  add("meta without room name", "dm-message.json", [](json& f) {
    f["fields"]["args"][1] = {{"roomParticipant", false}, {"roomType", "d"}};
  });
  add("meta of odd types", "dm-message.json", [](json& f) {
    f["fields"]["args"][1] = {{"roomParticipant", "no"}, {"roomType", 3}, {"roomName", nullptr}};
  });
  add("empty meta", "dm-message.json", [](json& f) { f["fields"]["args"][1] = json::object(); });
  add("eventName null", "dm-message.json", [](json& f) { f["fields"]["eventName"] = nullptr; });
  add("eventName missing", "dm-message.json", [](json& f) { f["fields"].erase("eventName"); });
  add("extra keys everywhere", "dm-message.json", [](json& f) {
    f["extra"] = {{"deep", {1, 2, {{"x", nullptr}}}}};
    f["fields"]["more"] = 1.25;
    message_of(f)["unknown"] = {{"a", "b"}};
    message_of(f)["u"]["extra"] = true;
  });
  add("u without username", "dm-message.json", [](json& f) {
    message_of(f)["u"] = {{"_id", "abc"}, {"username", nullptr}, {"name", 12}};
  });

  FastMessageParser parser;
  for (const auto& [name, frame] : cases) {
    for (const std::string& text : {frame.dump(), frame.dump(1)}) {
      const auto outcome = both_paths(parser, text, name);
      EXPECT_TRUE(outcome.general) << name;
      EXPECT_TRUE(outcome.fast) << name << ": fell back on " << text;
    }
  }
}

// Hand-written frames the fast path must take, where the spelling matters.
TEST(FastMessage, SpellingsTakeTheFastPathAndAgree) {
  const std::vector<std::string> frames = {
      // Key order of a server, unicode escapes in msg and in a key, a surrogate pair.
      R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"r1","args":[{"_id":"m1","rid":"r1","msg":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","u":{"\u005fid":"u1","username":"al"},"ts":{"$date":5}},{"roomType":"d"}]}})",
      // Key order reversed, whitespace everywhere.
      " {\r\n \"fields\" : { \"args\" : [ { \"u\" : { \"_id\" : \"u1\" } , \"rid\" : \"r\" , "
      "\"_id\" : \"m\" } , { } ] , \"eventName\" : \"r\" } ,\t\"id\" : \"x\" , \"collection\" : "
      "\"stream-room-messages\" , \"msg\" : \"changed\" } \n",
      // A duplicated key the message model does not read.
      R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"r","args":[{"_id":"m","rid":"r","u":{"_id":"u"},"md":[1],"md":[2]},{}]}})",
      // A duplicated key inside a copied value: the last one wins on both paths.
      R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"r","args":[{"_id":"m","rid":"r","u":{"_id":"u1","_id":"u2","name":"a","name":"b"}},{}]}})",
      // A deep but allowed AST (the frame is 128 levels deep).
      R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"r","args":[{"_id":"m","rid":"r","u":{"_id":"u"},"md":)" +
          std::string(124, '[') + std::string(124, ']') + R"(},{}]}})",
  };
  FastMessageParser parser;
  for (const auto& text : frames) {
    const auto outcome = both_paths(parser, text, text);
    EXPECT_TRUE(outcome.general) << text;
    EXPECT_TRUE(outcome.fast) << "fell back on " << text;
  }
}

// Frames the fast path must leave to the general path (which takes some of them, refuses others).
TEST(FastMessage, UnusualFramesFallBack) {
  const std::string head = R"({"msg":"changed","collection":"stream-room-messages","id":"id",)";
  const std::string good_message = R"({"_id":"m","rid":"r","u":{"_id":"u"},"ts":{"$date":5}})";
  auto event = [&](const std::string& args) {
    return head + R"("fields":{"eventName":"r","args":)" + args + "}}";
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"duplicate _id", event(R"([{"_id":"m","_id":"n","rid":"r","u":{"_id":"u"}},{}])")},
      {"duplicate u", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"u":{"_id":"v"}},{}])")},
      {"duplicate meta key", event("[" + good_message + R"(,{"roomType":"d","roomType":"c"}])")},
      {"duplicate args", head + R"("fields":{"eventName":"r","args":[)" + good_message +
                             R"(,{}],"args":[)" + good_message + ",{}]}}"},
      {"duplicate collection",
       R"({"msg":"changed","collection":"x","collection":"stream-room-messages","id":"id","fields":{"args":[)" +
           good_message + ",{}]}}"},
      {"duplicate msg",
       R"({"msg":"added","msg":"changed",)" + event("[" + good_message + ",{}]").substr(1)},
      {"t numeric", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"t":5},{}])")},
      {"t object", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"t":{"a":1}},{}])")},
      {"nested 4.x form", event("[[" + good_message + "],{}]")},
      {"args of one element", event("[" + good_message + "]")},
      {"args of three elements", event("[" + good_message + ",{},{}]")},
      {"meta not an object", event("[" + good_message + ",null]")},
      {"empty args", event("[]")},
      {"ts as a float", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"ts":{"$date":5.5}},{}])")},
      {"ts with an exponent", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"ts":5e3},{}])")},
      {"size too large",
       event(
           R"([{"_id":"m","rid":"r","u":{"_id":"u"},"file":{"_id":"f","size":18446744073709551616}},{}])")},
      {"_id empty (refused)", event(R"([{"_id":"","rid":"r","u":{"_id":"u"}},{}])")},
      {"_id number (refused)", event(R"([{"_id":1,"rid":"r","u":{"_id":"u"}},{}])")},
      {"u without _id (refused)", event(R"([{"_id":"m","rid":"r","u":{"username":"a"}},{}])")},
      {"invalid UTF-8 in msg",
       event("[{\"_id\":\"m\",\"rid\":\"r\",\"u\":{\"_id\":\"u\"},\"msg\":\"\xff\xfe\"},{}]")},
      {"invalid UTF-8 in an unread key",
       event("[{\"_id\":\"m\",\"rid\":\"r\",\"u\":{\"_id\":\"u\"},\"md\":[\"\xc3\"]},{}]")},
      {"control character in a string",
       event("[{\"_id\":\"m\",\"rid\":\"r\",\"u\":{\"_id\":\"u\"},\"msg\":\"a\x01\"},{}]")},
      {"lone high surrogate",
       event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"msg":"\ud800"},{}])")},
      {"lone low surrogate", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":"\udc00"},{}])")},
      {"bad escape in an unread value",
       event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":"\x"},{}])")},
      {"bad number in an unread value",
       event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":01},{}])")},
      {"bad literal in an unread value",
       event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":[tru]},{}])")},
      {"number overflowing a double",
       event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":1e400},{}])")},
      {"truncated", event("[" + good_message + ",{}]").substr(0, 90)},
      {"truncated after the frame",
       event("[" + good_message + ",{}]").substr(0, event("[" + good_message + ",{}]").size() - 1)},
      {"trailing garbage", event("[" + good_message + ",{}]") + "x"},
      {"a second object", event("[" + good_message + ",{}]") + "{}"},
      {"trailing comma", event("[" + good_message + ",{},]")},
      {"missing comma", event("[" + good_message + " {}]")},
      {"missing colon", event(R"([{"_id" "m","rid":"r","u":{"_id":"u"}},{}])")},
      {"mismatched brackets", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"}],{}])")},
      {"too deep", event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"md":)" + std::string(125, '[') +
                         std::string(125, ']') + "},{}]")},
      {"other collection",
       R"({"msg":"changed","collection":"stream-notify-user","id":"id","fields":{"eventName":"u/message","args":[)" +
           good_message + ",{}]}}"},
      {"added, not changed",
       R"({"msg":"added","collection":"stream-room-messages","id":"id","fields":{"eventName":"r","args":[)" +
           good_message + ",{}]}}"},
      {"no id",
       R"({"msg":"changed","collection":"stream-room-messages","fields":{"eventName":"r","args":[)" +
           good_message + ",{}]}}"},
      {"id a number",
       R"({"msg":"changed","collection":"stream-room-messages","id":1,"fields":{"eventName":"r","args":[)" +
           good_message + ",{}]}}"},
      {"eventName a number",
       head + R"("fields":{"eventName":1,"args":[)" + good_message + ",{}]}}"},
      {"fields null", head + R"("fields":null})"},
      {"no fields", R"({"msg":"changed","collection":"stream-room-messages","id":"id"})"},
      {"args an object", head + R"("fields":{"eventName":"r","args":{}}})"},
      {"byte order mark", "\xef\xbb\xbf" + event("[" + good_message + ",{}]")},
      {"an array frame", "[" + event("[" + good_message + ",{}]") + "]"},
  };
  FastMessageParser parser;
  // A good frame between the bad ones: a refusal must not leave the parser in a bad state.
  const std::string good = event("[" + good_message + ",{}]");
  ASSERT_TRUE(both_paths(parser, good, "good").fast);
  for (const auto& [name, text] : cases) {
    const auto outcome = both_paths(parser, text, name);
    EXPECT_FALSE(outcome.fast) << name << ": took " << text;
    EXPECT_TRUE(both_paths(parser, good, "good after " + name).fast);
  }
  // Frames over the size limit go to the general path, which takes them.
  const std::string big = event(R"([{"_id":"m","rid":"r","u":{"_id":"u"},"msg":")" +
                                std::string(FastMessageParser::kMaxFrameBytes, 'a') + R"("},{}])");
  EXPECT_FALSE(FastMessageParser::worth_trying(big));
  EXPECT_FALSE(both_paths(parser, big, "big").fast);
  EXPECT_TRUE(general_path(big));
}

// The cheap check passes every frame the fast path could take and skips the others cheaply.
TEST(FastMessage, CheapCheck) {
  EXPECT_FALSE(FastMessageParser::worth_trying(""));
  EXPECT_FALSE(FastMessageParser::worth_trying(R"({"msg":"ping"})"));
  EXPECT_FALSE(FastMessageParser::worth_trying(
      R"({"msg":"changed","collection":"stream-notify-user","id":"id"})"));
  EXPECT_TRUE(FastMessageParser::worth_trying(
      R"({"msg":"changed","collection":"stream-room-messages","id":"id"})"));
}

// Byte mutations of the fixtures' message events (the unit-test-sized cousin of fuzz_ddp's
// differential check): whatever the bytes, a fast Message is the general path's.
TEST(FastMessage, MutatedFramesAgree) {
  std::vector<std::string> seeds;
  for (const auto& name : test::fixture_names()) {
    for (const auto& text : frame_texts(name)) {
      if (general_path(text)) seeds.push_back(text);
    }
  }
  ASSERT_FALSE(seeds.empty());
  const std::string alphabet = "{}[]\":,\\ 0123456789-.eE+truefalsn\x01\x7f\xc3\xa9\xff";
  std::mt19937 rng(7);
  FastMessageParser parser;
  std::size_t fast = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + rng() % 4);
          break;
        default:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
      if (text.empty()) text = "{";
    }
    if (both_paths(parser, text, "mutation " + std::to_string(round)).fast) ++fast;
    if (::testing::Test::HasFailure()) break;
  }
  // Many mutations land in values the message model does not care about.
  EXPECT_GT(fast, 100u);
}

}  // namespace
}  // namespace rcgate
