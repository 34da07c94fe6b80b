#include "rocketchat/session_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/process.hpp"

namespace rcgate::rc {
namespace {

TEST(SessionStore, RoundTripMatchesServerAndUser) {
  test::TempDir dir;
  SessionStore store(dir.path() + "/state");
  EXPECT_FALSE(store.load("https://a/", "bot").has_value());
  ASSERT_EQ(store.save({"https://a/", "bot", "uid", "tok"}), "");
  auto s = store.load("https://a/", "bot");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->user_id, "uid");
  EXPECT_EQ(s->token, "tok");
  EXPECT_FALSE(store.load("https://b/", "bot").has_value()) << "another server";
  EXPECT_FALSE(store.load("https://a/", "other").has_value()) << "another account";
  store.forget();
  EXPECT_FALSE(store.load("https://a/", "bot").has_value());
}

TEST(SessionStore, DamagedFileIsSetAside) {
  test::TempDir dir;
  SessionStore store(dir.path());
  { std::ofstream(dir.file("session.json")) << "{not json"; }
  EXPECT_FALSE(store.load("https://a/", "bot").has_value());
  EXPECT_FALSE(std::filesystem::exists(dir.file("session.json")));
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename().string().rfind("session.json.corrupt-", 0) == 0) ++aside;
  EXPECT_EQ(aside, 1);
}

TEST(SessionStore, EmptyStateDirKeepsNothing) {
  SessionStore store("");
  EXPECT_EQ(store.save({"s", "u", "id", "t"}), "");
  EXPECT_FALSE(store.load("s", "u").has_value());
}

}  // namespace
}  // namespace rcgate::rc
