#include "net/loop.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <thread>

#include "test_util.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

TEST(Loop, PostRunsOnTheLoopInOrder) {
  Loop loop;
  std::vector<int> seen;
  loop.post([&] { seen.push_back(1); });
  loop.post([&] { seen.push_back(2); });
  loop.post([&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  EXPECT_TRUE(loop.stopped());
}

TEST(Loop, RunKeepsWaitingWhenIdleUntilStop) {
  Loop loop;
  // Nothing is pending; run() must still wait (a daemon's loop idles between events).
  std::thread stopper([&] {
    std::this_thread::sleep_for(150ms);
    loop.post([&] { loop.stop(); });
  });
  const auto start = std::chrono::steady_clock::now();
  loop.run();
  const auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  EXPECT_GE(took, 140ms);
}

TEST(Loop, PostFromAnotherThreadIsSafe) {
  Loop loop;
  int count = 0;
  std::thread poster([&] {
    for (int i = 0; i < 1000; ++i) loop.post([&] { ++count; });
    loop.post([&] { loop.stop(); });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(count, 1000);
}

TEST(Loop, RestartAfterStop) {
  Loop loop;
  loop.post([&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(loop.stopped());
  loop.restart();
  EXPECT_FALSE(loop.stopped());
  bool ran = false;
  loop.post([&] {
    ran = true;
    loop.stop();
  });
  loop.run();
  EXPECT_TRUE(ran);
}

TEST(Loop, RunForReturnsAfterTheDuration) {
  Loop loop;
  const auto start = std::chrono::steady_clock::now();
  loop.run_for(50ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 45ms);
  EXPECT_LT(took, 2000ms);
}

TEST(Loop, SignalsArriveAsLoopWork) {
  Loop loop;
  std::vector<int> got;
  loop.on_signals({SIGUSR1, SIGUSR2}, [&](int sig) { got.push_back(sig); });
  std::raise(SIGUSR1);
  ASSERT_TRUE(run_until(loop, [&] { return got.size() == 1; }));
  std::raise(SIGUSR2);
  ASSERT_TRUE(run_until(loop, [&] { return got.size() == 2; }));
  EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGUSR2}));
}

TEST(Timer, FiresOnceAfterTheDelay) {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  const auto start = std::chrono::steady_clock::now();
  timer.start(30ms, [&] { ++fired; });
  EXPECT_TRUE(timer.pending());
  ASSERT_TRUE(run_until(loop, [&] { return fired == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 29ms);
  EXPECT_FALSE(timer.pending());
  loop.run_for(50ms);
  EXPECT_EQ(fired, 1);
}

TEST(Timer, CancelPreventsTheCallback) {
  Loop loop;
  Timer timer(loop);
  bool fired = false;
  timer.start(10ms, [&] { fired = true; });
  timer.cancel();
  EXPECT_FALSE(timer.pending());
  loop.run_for(60ms);
  EXPECT_FALSE(fired);
}

TEST(Timer, DestroyPreventsTheCallback) {
  Loop loop;
  bool fired = false;
  {
    Timer timer(loop);
    timer.start(10ms, [&] { fired = true; });
  }
  loop.run_for(60ms);
  EXPECT_FALSE(fired);
}

TEST(Timer, RestartReplacesThePendingCallback) {
  Loop loop;
  Timer timer(loop);
  std::vector<int> fired;
  timer.start(10ms, [&] { fired.push_back(1); });
  timer.start(20ms, [&] { fired.push_back(2); });
  loop.run_for(80ms);
  EXPECT_EQ(fired, (std::vector<int>{2}));
}

TEST(Timer, CanRearmItselfFromItsCallback) {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  std::function<void()> tick = [&] {
    if (++fired < 3) timer.start(5ms, tick);
  };
  timer.start(5ms, tick);
  ASSERT_TRUE(run_until(loop, [&] { return fired == 3; }));
  loop.run_for(30ms);
  EXPECT_EQ(fired, 3);
}

// Both timers expire in the same pass, so both completions are already queued when the first
// callback runs; the one cancelled (or destroyed) by the first must still not run.
TEST(Timer, CancelWinsOverAnAlreadyQueuedCompletion) {
  Loop loop;
  Timer a(loop), b(loop);
  int fired = 0;
  a.start(5ms, [&] {
    ++fired;
    b.cancel();
  });
  b.start(5ms, [&] {
    ++fired;
    a.cancel();
  });
  loop.post([] { std::this_thread::sleep_for(30ms); });
  loop.run_for(100ms);
  EXPECT_EQ(fired, 1);
}

TEST(Timer, DestroyWinsOverAnAlreadyQueuedCompletion) {
  Loop loop;
  auto a = std::make_unique<Timer>(loop);
  auto b = std::make_unique<Timer>(loop);
  int fired = 0;
  a->start(5ms, [&] {
    ++fired;
    b.reset();
  });
  b->start(5ms, [&] {
    ++fired;
    a.reset();
  });
  loop.post([] { std::this_thread::sleep_for(30ms); });
  loop.run_for(100ms);
  EXPECT_EQ(fired, 1);
}

TEST(Timer, OwnerMayDestroyTheTimerInsideItsCallback) {
  Loop loop;
  auto timer = std::make_unique<Timer>(loop);
  bool fired = false;
  timer->start(5ms, [&] {
    fired = true;
    timer.reset();
  });
  ASSERT_TRUE(run_until(loop, [&] { return fired; }));
  EXPECT_EQ(timer, nullptr);
}

}  // namespace
}  // namespace rcgate::net
