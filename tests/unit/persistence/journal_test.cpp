#include "persistence/journal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "persistence/atomic_file.hpp"
#include "support/process.hpp"

namespace rcgate::persistence {
namespace {

using Lines = std::vector<std::string>;

TEST(Journal, AppendsAndReadsBackInOrderAfterReopening) {
  test::TempDir dir;
  const auto path = dir.file("state.journal");
  {
    Journal journal(path);
    Lines lines;
    ASSERT_EQ(journal.open(lines), "");
    EXPECT_TRUE(lines.empty());
    EXPECT_EQ(journal.append(R"({"handled":"a"})"), "");
    EXPECT_TRUE(journal.unsynced());
    EXPECT_EQ(journal.append(R"({"handled":"b"})"), "");
    EXPECT_EQ(journal.sync(), "");
    EXPECT_FALSE(journal.unsynced());
  }
  EXPECT_EQ(read_file(path).value(), "{\"handled\":\"a\"}\n{\"handled\":\"b\"}\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the journal holds message ids: private to rcgate";
  Journal again(path);
  Lines lines;
  ASSERT_EQ(again.open(lines), "");
  EXPECT_EQ(lines, (Lines{R"({"handled":"a"})", R"({"handled":"b"})"}));
}

TEST(Journal, DropsATornLastLineAndStartsTheNextRecordOnAFreshLine) {
  test::TempDir dir;
  const auto path = dir.file("state.journal");
  std::ofstream(path) << "one\ntwo\n{\"handled\":\"tor";  // killed in the middle of a write
  Journal journal(path);
  Lines lines;
  ASSERT_EQ(journal.open(lines), "");
  EXPECT_EQ(lines, (Lines{"one", "two"}));
  EXPECT_EQ(journal.records(), 2u) << "the torn line is not a record";
  ASSERT_EQ(journal.append("three"), "");
  EXPECT_EQ(journal.records(), 3u);
  EXPECT_EQ(read_file(path).value(), "one\ntwo\nthree\n");
}

TEST(Journal, ResetEmptiesItAndAppendsStartAgainFromTheTop) {
  test::TempDir dir;
  const auto path = dir.file("state.journal");
  Journal journal(path);
  Lines lines;
  ASSERT_EQ(journal.open(lines), "");
  ASSERT_EQ(journal.append("old"), "");
  EXPECT_EQ(journal.records(), 1u);
  ASSERT_EQ(journal.reset(), "");
  EXPECT_EQ(journal.records(), 0u);
  EXPECT_FALSE(journal.unsynced());
  ASSERT_EQ(journal.append("new"), "");
  EXPECT_EQ(read_file(path).value(), "new\n");
}

TEST(Journal, AnUnopenableJournalSaysWhyOnEveryAppend) {
  test::TempDir dir;
  Journal journal(dir.file("missing-dir/state.journal"));
  Lines lines;
  const auto error = journal.open(lines);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
  EXPECT_NE(error.find("missing-dir/state.journal"), std::string::npos) << error;
  EXPECT_EQ(journal.append("x"), error);
  EXPECT_EQ(journal.sync(), "") << "nothing was appended, so nothing to flush";
  EXPECT_FALSE(journal.is_open());
  EXPECT_EQ(journal.records(), 0u);
}

}  // namespace
}  // namespace rcgate::persistence
