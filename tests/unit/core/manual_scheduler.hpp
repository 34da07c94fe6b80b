#pragma once
// A scheduler whose clock moves only when the test says so. Like net::Timer, it moves a callback
// out before running it, so a callback may destroy its own handle (or arm a new timer).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate::test {

class ManualScheduler : public rcgate::Scheduler {
 public:
  struct Entry {
    std::int64_t due = 0;
    std::function<void()> fn;
    bool cancelled = false;
  };
  class Handle : public rcgate::TimerHandle {
   public:
    explicit Handle(std::shared_ptr<Entry> entry) : entry_(std::move(entry)) {}
    ~Handle() override { entry_->cancelled = true; }

   private:
    std::shared_ptr<Entry> entry_;
  };

  explicit ManualScheduler(std::int64_t start_ms = 1'773'000'000'000) : now_(start_ms) {}

  std::unique_ptr<rcgate::TimerHandle> after(std::chrono::milliseconds delay,
                                             std::function<void()> fn) override {
    auto entry = std::make_shared<Entry>(Entry{now_ + delay.count(), std::move(fn), false});
    entries_.push_back(entry);
    return std::make_unique<Handle>(entry);
  }
  std::int64_t now_ms() const override { return now_; }

  // Moves the clock forward, running what falls due in order (timers armed meanwhile too).
  void advance(std::chrono::milliseconds by) {
    const std::int64_t until = now_ + by.count();
    while (true) {
      std::shared_ptr<Entry> next;
      for (const auto& e : entries_) {
        if (!e->cancelled && e->fn && e->due <= until && (!next || e->due < next->due)) next = e;
      }
      if (!next) break;
      now_ = std::max(now_, next->due);
      auto fn = std::move(next->fn);
      next->fn = nullptr;
      fn();
    }
    now_ = until;
    std::erase_if(entries_, [](const auto& e) { return e->cancelled || !e->fn; });
  }
  // Runs what is due now (timers of 0 ms).
  void run_due() { advance(std::chrono::milliseconds(0)); }

  std::size_t armed() const {
    std::size_t n = 0;
    for (const auto& e : entries_) n += !e->cancelled && e->fn ? 1 : 0;
    return n;
  }

 private:
  std::int64_t now_;
  std::vector<std::shared_ptr<Entry>> entries_;
};

}  // namespace rcgate::test
