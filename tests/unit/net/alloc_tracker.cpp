// Replaces the global operator new/delete of net_stream_tests (every C++ allocation of the
// process: Asio, Beast, std containers) to measure heap use; see alloc_tracker.hpp. libstdc++'s
// other forms (new[], nothrow, sized delete) forward to these two.
#include "alloc_tracker.hpp"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_watching{false};
std::atomic<long long> g_live{0};  // live bytes allocated through operator new
std::atomic<long long> g_base{0};
std::atomic<long long> g_peak{0};
std::atomic<std::size_t> g_largest{0};

void record_alloc(void* p, std::size_t requested) {
  const long long size = static_cast<long long>(malloc_usable_size(p));
  const long long live = g_live.fetch_add(size, std::memory_order_relaxed) + size;
  if (!g_watching.load(std::memory_order_relaxed)) return;
  std::size_t largest = g_largest.load(std::memory_order_relaxed);
  while (requested > largest && !g_largest.compare_exchange_weak(largest, requested)) {
  }
  long long peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
}

}  // namespace

void* operator new(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  record_alloc(p, size);
  return p;
}

void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_live.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace rcgate::test {

HeapWatch::HeapWatch() {
  const long long live = g_live.load();
  g_base = live;
  g_peak = live;
  g_largest = 0;
  g_watching = true;
}

HeapWatch::~HeapWatch() { g_watching = false; }

std::size_t HeapWatch::largest_allocation() const { return g_largest.load(); }

std::size_t HeapWatch::peak_growth() const {
  const long long growth = g_peak.load() - g_base.load();
  return growth > 0 ? static_cast<std::size_t>(growth) : 0;
}

}  // namespace rcgate::test
