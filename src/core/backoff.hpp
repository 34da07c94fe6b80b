#pragma once
// Exponential backoff with jitter. Pure: the caller supplies the random source.
#include <chrono>
#include <cstdint>
#include <functional>

namespace rcgate {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;
  // random01 returns a number in [0, 1); defaults to a thread-local PRNG.
  Backoff(ms initial, ms cap, std::function<double()> random01 = {});

  // The next delay: min(cap, initial * 2^attempt) scaled by a jitter factor in [0.5, 1.0].
  // Never more than cap, never less than initial / 2.
  ms next();
  void reset() { attempt_ = 0; }
  unsigned attempt() const { return attempt_; }
  ms initial() const { return initial_; }
  ms cap() const { return cap_; }

 private:
  ms initial_;
  ms cap_;
  unsigned attempt_ = 0;
  std::function<double()> random01_;
};

}  // namespace rcgate
