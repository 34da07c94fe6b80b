#pragma once
// Runs a loop in the test's thread until a condition holds, for tests that drive rcgate's own
// clients (RestClient, RealtimeClient, ...) without a daemon.
#include <chrono>
#include <functional>

#include "net/loop.hpp"

namespace rcgate::test {

// Runs `loop` until pred() holds or `limit` has passed; returns pred().
inline bool run_until(net::Loop& loop, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    loop.restart();
    loop.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace rcgate::test
