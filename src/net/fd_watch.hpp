#pragma once
// Readiness of a file descriptor that somebody else reads and writes (libmosquitto's socket):
// the loop calls back when it becomes readable or writable, and the owner does the I/O itself.
// The watch never reads, writes or closes the descriptor.
//
// Waits are level-triggered: a wait on a descriptor that is already ready completes at once (on
// the loop, never inside the call), so data left unread by the owner is never forgotten.
//
// The descriptor must stay open while the watch exists: destroy the watch (or call release())
// BEFORE the owner closes it, since the number may be reused by the next socket.
#include <functional>
#include <memory>

namespace rcgate::net {

class Loop;

class FdWatch {
 public:
  // ok is false when the descriptor failed (the owner's next I/O call reports why).
  using Handler = std::function<void(bool ok)>;

  FdWatch(Loop& loop, int fd);
  ~FdWatch();  // cancels the waits (their handlers are not called) and releases the descriptor
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  int fd() const;
  // One-shot waits; at most one of each kind at a time (a second call replaces the first).
  void wait_readable(Handler handler);
  void wait_writable(Handler handler);
  bool waiting_readable() const;
  bool waiting_writable() const;
  // Cancels both waits; their handlers are not called.
  void cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
