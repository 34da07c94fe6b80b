#include "core/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

namespace rcgate {
namespace {

TEST(Redact, ShowsAtMostTheLastFourCharacters) {
  EXPECT_EQ(log::redact("Zq9f8a7s6d5f4g3h2j1kb3Xz"), "\u2026b3Xz");
  EXPECT_EQ(log::redact("abcdefghijklmnop"), "\u2026mnop");
}

TEST(Redact, ShortSecretsShowLess) {
  EXPECT_EQ(log::redact(""), "(empty)");
  EXPECT_EQ(log::redact("abc"), "\u2026");
  EXPECT_EQ(log::redact("abcdefgh"), "\u2026gh");
  EXPECT_EQ(log::redact("abcdefghijkl"), "\u2026jkl");
}

TEST(Redact, NeverRevealsMoreThanFourCharactersOfAnySecret) {
  for (std::size_t n = 0; n < 200; ++n) {
    const std::string secret(n, 's');
    const std::string shown = log::redact(secret);
    const auto count = static_cast<std::size_t>(std::count(shown.begin(), shown.end(), 's'));
    EXPECT_LE(count, 4u) << "length " << n;
    EXPECT_LE(count, n / 4) << "length " << n;
  }
}

TEST(Redact, DoesNotCutAUtf8Sequence) {
  // "é" is two bytes; the last four bytes start with its second byte, which is left out.
  EXPECT_EQ(log::redact("aaaaaaaaaaaaaa\u00e9abc"), "\u2026abc");
  EXPECT_EQ(log::redact("aaaaaaaaaaaaaaa\u00e9"), "\u2026aa\u00e9");
}

TEST(LogSetup, LevelByName) {
  log::setup("debug", true);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  log::setup("WARNING", true);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  log::setup("error", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::err);
  log::setup("off", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
  log::setup("trace", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::trace);
  log::setup("loud", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST(LogSetup, JournalStyleHasPriorityPrefixAndNoTimestamp) {
  log::setup("info", true);
  ::testing::internal::CaptureStderr();
  spdlog::warn("disk {} low", "space");
  spdlog::debug("not shown at info");
  spdlog::error("bad");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "<4>warning: disk space low\n<3>error: bad\n");
}

TEST(LogSetup, ConsoleStyleHasTimestamp) {
  log::setup("info", false);
  ::testing::internal::CaptureStderr();
  spdlog::info("hello");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_match(
      out, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\x1b\[[0-9;]*m)?info(\x1b\[[0-9;]*m)?: hello\n)")))
      << out;
}

}  // namespace
}  // namespace rcgate
