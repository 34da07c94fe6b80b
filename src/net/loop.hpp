#pragma once
// The event loop every part of rcgate runs on: one thread, one io_context, nothing needs a lock.
// This header keeps Boost out of the code that only needs to post work and arm timers.
// Everything built on a Loop (timers, servers, clients) must be destroyed before the Loop.
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace rcgate::net {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs handlers until stop(). An idle loop keeps waiting (a daemon between reconnect attempts
  // has nothing pending, and must not return). Returns the number of handlers run.
  std::size_t run();
  // Runs handlers for at most `for_at_most`, returning early when stopped.
  std::size_t run_for(std::chrono::milliseconds for_at_most);
  // After stop(), run() returns at once until restart() is called.
  void stop();
  bool stopped() const;
  void restart();

  // Queues fn to run on the loop thread. Safe to call from any thread.
  void post(std::function<void()> fn);

  // Calls handler (on the loop thread) with the signal number each time one of `signals` arrives.
  // The handler runs as normal loop work, never inside the signal handler.
  void on_signals(std::vector<int> signals, std::function<void(int)> handler);

  boost::asio::io_context& native();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A one-shot timer. Destroying or cancelling it guarantees the callback will not run.
class Timer {
 public:
  explicit Timer(Loop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer; a previous pending callback is cancelled.
  void start(std::chrono::milliseconds after, std::function<void()> fn);
  void cancel();
  bool pending() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
