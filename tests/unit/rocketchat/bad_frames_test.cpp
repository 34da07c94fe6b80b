// Golden malformed frames (tests/data/frames/bad/NAME.txt, one frame per file) with the expected
// reason in NAME.why: "ddp: <text>" when ddp::parse must refuse the frame, "message: <text>" when
// the frame is valid DDP but its stream event carries an unusable message. Plus a mutation sweep
// over the fixtures: whatever the bytes, nothing throws and every refusal says why.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "rocketchat/classifier.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/message.hpp"
#include "support/fixtures.hpp"

namespace rcgate {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(BadFrames, GoldenFilesFailWithTheirReason) {
  const std::filesystem::path dir = test::data_dir() + "/frames/bad";
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    auto sidecar = entry.path();
    sidecar.replace_extension(".why");
    ASSERT_TRUE(std::filesystem::exists(sidecar)) << "missing " << sidecar;
    const std::string text = test::read_file(entry.path().string());
    const std::string expectation = trim(test::read_file(sidecar.string()));
    const auto colon = expectation.find(": ");
    ASSERT_NE(colon, std::string::npos) << "bad sidecar: " << expectation;
    const std::string stage = expectation.substr(0, colon);
    const std::string reason = expectation.substr(colon + 2);
    ASSERT_TRUE(stage == "ddp" || stage == "message") << "bad stage: " << stage;

    std::string why;
    std::optional<ddp::Frame> frame;
    ASSERT_NO_THROW(frame = ddp::parse(text, &why));
    if (stage == "ddp") {
      EXPECT_FALSE(frame) << "parsed as " << ddp::to_string(frame->type);
      EXPECT_NE(why.find(reason), std::string::npos) << "reason was: " << why;
    } else {
      ASSERT_TRUE(frame) << why;
      ASSERT_EQ(frame->type, ddp::Type::Changed);
      std::optional<rc::Message> message;
      ASSERT_NO_THROW(message = rc::parse_stream_args(frame->args, &why));
      EXPECT_FALSE(message);
      EXPECT_NE(why.find(reason), std::string::npos) << "reason was: " << why;
    }
    ++checked;
  }
  EXPECT_GE(checked, 30u);
}

// Runs text through everything a client does with a server frame; returns false on refusal.
bool pipeline(const std::string& text, rc::Classifier& classifier) {
  std::string why;
  auto frame = ddp::parse(text, &why);
  if (!frame) {
    EXPECT_FALSE(why.empty()) << text;
    return false;
  }
  if (frame->error) {
    (void)frame->error->describe();
    (void)frame->error->time_to_reset_ms();
    (void)ddp::parse(ddp::encode_nosub(frame->id, frame->error));
  }
  if (frame->type == ddp::Type::Changed && !frame->args.is_null()) {
    auto message = rc::parse_stream_args(frame->args, &why);
    if (!message) {
      EXPECT_FALSE(why.empty()) << text;
      return false;
    }
    (void)classifier.classify(*message);
  }
  return true;
}

TEST(BadFrames, MutatedFixtureFramesNeverThrow) {
  std::mt19937 rng(20260310);  // fixed seed: a failure reproduces
  const char replacements[] = {'"', '{',  '}', '[', ']',    ':', ',',
                               '0', '\\', 'x', ' ', '\xff', '\0'};
  rc::Classifier classifier("BCmeyJm2r6b8hJiie", 64);
  std::size_t runs = 0;
  for (const auto& name : test::fixture_names()) {
    const nlohmann::json fx = test::fixture(name);
    for (const char* side : {"client", "server"}) {
      for (const auto& frame : fx[side]) {
        const std::string text = frame.dump();
        // Every truncation (a frame cut short by a broken proxy).
        const std::size_t step = text.size() > 800 ? 3 : 1;
        for (std::size_t len = 0; len < text.size(); len += step) {
          ASSERT_NO_THROW(pipeline(text.substr(0, len), classifier)) << name;
          ++runs;
        }
        // Random byte replacements.
        for (int i = 0; i < 400; ++i) {
          std::string mutated = text;
          const int edits = 1 + static_cast<int>(rng() % 3);
          for (int e = 0; e < edits; ++e) {
            mutated[rng() % mutated.size()] = replacements[rng() % sizeof(replacements)];
          }
          ASSERT_NO_THROW(pipeline(mutated, classifier)) << name << ": " << mutated;
          ++runs;
        }
      }
    }
  }
  EXPECT_GT(runs, 10000u);
  EXPECT_LE(classifier.remembered(), 64u);
}

// Type confusion inside otherwise valid message events: swap each field of each fixture message
// for values of other types. The message is either parsed or refused with a reason.
TEST(BadFrames, FieldTypeSwapsInMessagesNeverThrow) {
  const nlohmann::json odd[] = {nullptr,
                                true,
                                false,
                                0,
                                -1,
                                1e308,
                                "",
                                "x",
                                nlohmann::json::array(),
                                nlohmann::json::object()};
  rc::Classifier classifier("BCmeyJm2r6b8hJiie");
  std::size_t refused = 0;
  std::size_t parsed = 0;
  for (const char* name : {"channel-message-mention.json", "edited-message.json",
                           "file-attachment-message.json", "thread-reply.json", "system-uj.json"}) {
    const nlohmann::json fx = test::fixture(name);
    const nlohmann::json args = fx["server"].back()["fields"]["args"];
    for (const auto& [key, value] : args[0].items()) {
      for (const auto& replacement : odd) {
        nlohmann::json spoiled = args;
        spoiled[0][key] = replacement;
        std::string why;
        std::optional<rc::Message> m;
        ASSERT_NO_THROW(m = rc::parse_stream_args(spoiled, &why)) << name << " " << key;
        if (m) {
          ++parsed;
          ASSERT_NO_THROW(classifier.classify(*m));
        } else {
          ++refused;
          EXPECT_TRUE(key == "_id" || key == "rid" || key == "u") << key << ": " << why;
        }
      }
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(parsed, refused);
}

}  // namespace
}  // namespace rcgate
