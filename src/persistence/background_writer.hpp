#pragma once
// Writes whole files with write_atomic (a temporary file, fsync, rename, fsync of the directory)
// on a thread of its own, so that the owner's event loop does not wait for the disk: rewriting
// state.json or queue.json takes milliseconds on an SD card, and every message that arrives
// meanwhile would wait that long.
//
// The owner builds the content on its own thread and hands it over; `done` is handed back
// through `post` (the owner's loop) with "" or what went wrong. Writes run one at a time, in the
// order they were asked for. A synchronous write of the same file (at shutdown) must call
// wait_idle() first: two writers would share the temporary file.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace rcgate::persistence {

class BackgroundWriter {
 public:
  using Done = std::function<void(std::string error)>;
  using Post = std::function<void(std::function<void()>)>;

  explicit BackgroundWriter(Post post);
  // Finishes the writes asked for (their `done` is still posted), then stops the thread.
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void write(std::string path, std::string content, unsigned mode, Done done);
  // Blocks until every write asked for so far is on disk (their `done` may not have run yet).
  void wait_idle();

 private:
  struct Job {
    std::string path;
    std::string content;
    unsigned mode = 0600;
    Done done;
  };
  void run();

  Post post_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Job> jobs_;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace rcgate::persistence
