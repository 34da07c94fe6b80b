#include "net/fd_watch.hpp"

#include <poll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "net/loop.hpp"

namespace rcgate::net {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

struct FdWatch::Impl : std::enable_shared_from_this<Impl> {
  Impl(Loop& loop, int fd) : io(loop.native()), descriptor(io, fd), fd(fd) {}

  asio::io_context& io;
  Descriptor descriptor;
  int fd;
  // Bumped to invalidate handlers already queued (cancel, replacement, destruction).
  unsigned read_generation = 0;
  unsigned write_generation = 0;
  bool reading = false;
  bool writing = false;

  // poll() with no timeout: asio's epoll reactor is edge-triggered, so readiness that arrived
  // before the wait was queued would never be reported.
  bool ready_now(short events) const {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLERR | POLLHUP | POLLNVAL)) != 0;
  }

  void wait(bool write, Handler handler) {
    unsigned& generation = write ? write_generation : read_generation;
    bool& waiting = write ? writing : reading;
    const unsigned mine = ++generation;
    waiting = true;
    auto self = shared_from_this();
    auto done = [self, write, mine, handler = std::move(handler)](bool ok) {
      unsigned& gen = write ? self->write_generation : self->read_generation;
      if (gen != mine) return;  // cancelled or replaced meanwhile
      (write ? self->writing : self->reading) = false;
      handler(ok);
    };
    if (ready_now(write ? POLLOUT : POLLIN)) {
      asio::post(io, [done] { done(true); });
      return;
    }
    descriptor.async_wait(write ? Descriptor::wait_write : Descriptor::wait_read,
                          [done](const boost::system::error_code& ec) {
                            // operation_aborted: cancel() or release(); the generation check in
                            // `done` already drops those, a real failure is reported.
                            if (ec == asio::error::operation_aborted) return;
                            done(!ec);
                          });
  }
};

FdWatch::FdWatch(Loop& loop, int fd) : impl_(std::make_shared<Impl>(loop, fd)) {}

FdWatch::~FdWatch() {
  cancel();
  // Gives the descriptor back without closing it: its owner closes it.
  (void)impl_->descriptor.release();
}

int FdWatch::fd() const { return impl_->fd; }
void FdWatch::wait_readable(Handler handler) { impl_->wait(false, std::move(handler)); }
void FdWatch::wait_writable(Handler handler) { impl_->wait(true, std::move(handler)); }
bool FdWatch::waiting_readable() const { return impl_->reading; }
bool FdWatch::waiting_writable() const { return impl_->writing; }

void FdWatch::cancel() {
  boost::system::error_code ec;
  impl_->descriptor.cancel(ec);
  ++impl_->read_generation;
  ++impl_->write_generation;
  impl_->reading = impl_->writing = false;
}

}  // namespace rcgate::net
