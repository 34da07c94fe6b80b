#include "persistence/background_writer.hpp"

#include <utility>

#include "persistence/atomic_file.hpp"

namespace rcgate::persistence {

BackgroundWriter::BackgroundWriter(Post post)
    : post_(std::move(post)), thread_([this] { run(); }) {}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void BackgroundWriter::write(std::string path, std::string content, unsigned mode, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back({std::move(path), std::move(content), mode, std::move(done)});
  }
  wake_.notify_one();
}

void BackgroundWriter::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return jobs_.empty() && !writing_; });
}

void BackgroundWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything asked for is written
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    writing_ = true;
    lock.unlock();
    std::string error = write_atomic(job.path, job.content, job.mode);
    if (job.done) {
      post_([done = std::move(job.done), error = std::move(error)]() mutable {
        done(std::move(error));
      });
    }
    lock.lock();
    writing_ = false;
    if (jobs_.empty()) idle_.notify_all();
  }
}

}  // namespace rcgate::persistence
