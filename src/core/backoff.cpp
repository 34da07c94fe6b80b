#include "core/backoff.hpp"

#include <algorithm>
#include <random>

namespace rcgate {

namespace {

double default_random01() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

Backoff::Backoff(ms initial, ms cap, std::function<double()> random01)
    : initial_(std::max(initial, ms{1})),
      cap_(std::max(cap, initial_)),
      random01_(random01 ? std::move(random01) : default_random01) {}

Backoff::ms Backoff::next() {
  // Doubling stops once the cap is reached, so attempt_ can grow forever without overflow.
  ms base = initial_;
  for (unsigned i = 0; i < attempt_ && base < cap_; ++i) base *= 2;
  base = std::min(base, cap_);
  ++attempt_;

  // A broken random source must not break the bounds promised in the header.
  const double r = std::clamp(random01_(), 0.0, 1.0);
  const double factor = 0.5 + 0.5 * r;
  const auto delay = ms{static_cast<ms::rep>(static_cast<double>(base.count()) * factor)};
  const ms floor = std::max(ms{1}, initial_ / 2);
  return std::clamp(delay, floor, cap_);
}

}  // namespace rcgate
