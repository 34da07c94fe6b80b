#include "persistence/background_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "persistence/atomic_file.hpp"
#include "support/process.hpp"

namespace rcgate::persistence {
namespace {

// Stands in for the owner's loop: what the writer posts waits here until run() on this thread.
class Posted {
 public:
  BackgroundWriter::Post post() {
    return [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_.push_back(std::move(fn));
    };
  }
  std::size_t run() {
    std::vector<std::function<void()>> work;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      work.swap(work_);
    }
    for (auto& fn : work) fn();
    return work.size();
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> work_;
};

TEST(BackgroundWriter, WritesInOrderOffTheCallersThreadAndReportsOnItsLoop) {
  test::TempDir dir;
  Posted loop;
  BackgroundWriter writer(loop.post());
  const auto path = dir.file("state.json");
  std::vector<std::string> results;
  const auto caller = std::this_thread::get_id();
  for (int i = 0; i < 5; ++i) {
    writer.write(path, "version " + std::to_string(i), 0600, [&, i, caller](std::string error) {
      EXPECT_EQ(std::this_thread::get_id(), caller) << "done runs where the loop runs";
      results.push_back(std::to_string(i) + ":" + error);
    });
  }
  writer.wait_idle();
  EXPECT_TRUE(results.empty()) << "nothing is called back before the loop runs it";
  EXPECT_EQ(read_file(path).value(), "version 4") << "the last one asked for is on disk";
  EXPECT_EQ(loop.run(), 5u);
  EXPECT_EQ(results, (std::vector<std::string>{"0:", "1:", "2:", "3:", "4:"}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(BackgroundWriter, AFailedWriteSaysWhyAndTheNextOnesStillRun) {
  test::TempDir dir;
  Posted loop;
  BackgroundWriter writer(loop.post());
  std::vector<std::string> errors;
  writer.write(dir.file("missing/queue.json"), "{}", 0600,
               [&](std::string error) { errors.push_back(error); });
  writer.write(dir.file("queue.json"), "{}", 0600, [&](std::string error) { errors.push_back(error); });
  writer.wait_idle();
  loop.run();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("missing/queue.json"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "");
}

TEST(BackgroundWriter, DestroyingItFinishesWhatWasAskedFor) {
  test::TempDir dir;
  Posted loop;
  {
    BackgroundWriter writer(loop.post());
    for (int i = 0; i < 20; ++i) writer.write(dir.file("f" + std::to_string(i)), "x", 0600, nullptr);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(read_file(dir.file("f" + std::to_string(i))).value_or(""), "x") << i;
  EXPECT_EQ(loop.run(), 0u) << "no done callbacks were given";
}

}  // namespace
}  // namespace rcgate::persistence
