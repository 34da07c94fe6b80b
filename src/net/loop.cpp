#include "net/loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>

namespace rcgate::net {

namespace asio = boost::asio;

namespace {

// One signal_set and its handler, re-armed after each delivery.
struct SignalWatch {
  SignalWatch(asio::io_context& io, std::function<void(int)> fn) : set(io), handler(std::move(fn)) {}

  void arm() {
    // `this` is safe: the watch lives as long as the Loop, and destroying the io_context destroys
    // a still-queued completion without calling it.
    set.async_wait([this](const boost::system::error_code& ec, int signal_number) {
      if (ec) return;  // operation_aborted: the loop is going away
      handler(signal_number);
      arm();
    });
  }

  asio::signal_set set;
  std::function<void(int)> handler;
};

}  // namespace

struct Loop::Impl {
  // Concurrency hint 1: rcgate runs the loop on one thread, so Asio can skip internal locking.
  asio::io_context io{1};
  // Keeps run() running while nothing is pending (e.g. between reconnect attempts) until stop().
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::vector<std::unique_ptr<SignalWatch>> signals;
};

Loop::Loop() : impl_(std::make_unique<Impl>()) {}
Loop::~Loop() = default;

std::size_t Loop::run() { return impl_->io.run(); }

std::size_t Loop::run_for(std::chrono::milliseconds for_at_most) {
  return impl_->io.run_for(for_at_most);
}

void Loop::stop() { impl_->io.stop(); }
bool Loop::stopped() const { return impl_->io.stopped(); }
void Loop::restart() { impl_->io.restart(); }

void Loop::post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

void Loop::on_signals(std::vector<int> signals, std::function<void(int)> handler) {
  auto watch = std::make_unique<SignalWatch>(impl_->io, std::move(handler));
  for (int s : signals) watch->set.add(s);
  watch->arm();
  impl_->signals.push_back(std::move(watch));
}

asio::io_context& Loop::native() { return impl_->io; }

struct Timer::Impl : std::enable_shared_from_this<Timer::Impl> {
  explicit Impl(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::function<void()> fn;
  // A completion that is already queued cannot be taken back by cancel(); the generation tells
  // it that it belongs to an older start() and must not run.
  std::uint64_t generation = 0;
  bool pending = false;
};

Timer::Timer(Loop& loop) : impl_(std::make_shared<Impl>(loop.native())) {}

Timer::~Timer() { cancel(); }

void Timer::start(std::chrono::milliseconds after, std::function<void()> fn) {
  cancel();
  impl_->fn = std::move(fn);
  impl_->pending = true;
  impl_->timer.expires_after(after);
  // A weak reference: a destroyed Timer frees its state, and the completion then finds nothing.
  impl_->timer.async_wait([weak = std::weak_ptr<Impl>(impl_), generation = impl_->generation](
                              const boost::system::error_code&) {
    auto self = weak.lock();
    if (!self || self->generation != generation || !self->pending) return;
    self->pending = false;
    // Moved out first: the callback may re-arm this timer or destroy its owner.
    auto fn = std::move(self->fn);
    self->fn = nullptr;
    if (fn) fn();
  });
}

void Timer::cancel() {
  ++impl_->generation;
  impl_->pending = false;
  impl_->fn = nullptr;
  impl_->timer.cancel();
}

bool Timer::pending() const { return impl_->pending; }

}  // namespace rcgate::net
