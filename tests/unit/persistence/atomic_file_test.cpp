#include "persistence/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/process.hpp"

namespace rcgate::persistence {
namespace {

TEST(AtomicFile, WritesReplacesAndKeepsMode) {
  test::TempDir dir;
  auto path = dir.file("state.json");
  EXPECT_EQ(write_atomic(path, "one"), "");
  EXPECT_EQ(read_file(path).value(), "one");
  EXPECT_EQ(write_atomic(path, "two", 0640), "");
  EXPECT_EQ(read_file(path).value(), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_FALSE(std::filesystem::exists(path + ".new")) << "the temporary file is renamed away";
}

TEST(AtomicFile, MissingFileIsNotAnError) {
  test::TempDir dir;
  std::string error;
  EXPECT_FALSE(read_file(dir.file("absent"), &error).has_value());
  EXPECT_EQ(error, "");
}

TEST(AtomicFile, UnwritableDirectorySaysWhy) {
  auto err = write_atomic("/nonexistent-dir/x.json", "data");
  EXPECT_NE(err.find("/nonexistent-dir/x.json.new"), std::string::npos) << err;
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
}

TEST(AtomicFile, SetAsideKeepsTheDamagedFile) {
  test::TempDir dir;
  auto path = dir.file("state.json");
  ASSERT_EQ(write_atomic(path, "{garbage"), "");
  auto aside = set_aside(path);
  ASSERT_FALSE(aside.empty());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(read_file(aside).value(), "{garbage");
}

TEST(AtomicFile, EnsureDirectoryCreatesParents) {
  test::TempDir dir;
  auto nested = dir.file("a/b/c");
  EXPECT_EQ(ensure_directory(nested), "");
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  EXPECT_EQ(ensure_directory(nested), "") << "idempotent";
}

}  // namespace
}  // namespace rcgate::persistence
