#pragma once
// Watches the heap of this test executable (alloc_tracker.cpp replaces the global operator new
// and delete): while a Watch is alive it records the largest single allocation and how far the
// live heap grew above where it started. That is how a test shows that a 30 MB upload never holds
// the file (or any large part of it) in memory.
#include <cstddef>

namespace rcgate::test {

class HeapWatch {
 public:
  HeapWatch();
  ~HeapWatch();
  HeapWatch(const HeapWatch&) = delete;
  HeapWatch& operator=(const HeapWatch&) = delete;

  std::size_t largest_allocation() const;
  // Peak of (live heap bytes - live heap bytes when the watch started).
  std::size_t peak_growth() const;
};

}  // namespace rcgate::test
