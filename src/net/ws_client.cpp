// One WebSocket client connection, read top to bottom:
// resolve -> TCP connect -> TLS handshake (wss) -> WebSocket upgrade -> read loop, with one
// write in flight and a bounded queue behind it.
#include "net/ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

#include "net/beast_util.hpp"
#include "net/loop.hpp"
#include "net/tls_context.hpp"

namespace rcgate::net {

namespace {

using detail::kIsTls;
using detail::PlainStream;
using detail::TlsStream;

// How long a close handshake may take once the connection is open.
constexpr std::chrono::seconds kCloseTimeout{5};

template <class Stream>
class WsClientImpl final : public WsClient,
                           public std::enable_shared_from_this<WsClientImpl<Stream>> {
 public:
  WsClientImpl(asio::io_context& io, Url url, WsClientOptions options, WsClientHandlers handlers,
               std::shared_ptr<ssl::context> tls, std::string setup_error)
      : io_(io),
        url_(std::move(url)),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        tls_(std::move(tls)),
        setup_error_(std::move(setup_error)),
        resolver_(io),
        resolve_timer_(io) {}

  void connect() override {
    if (state_ != State::Idle) return;
    state_ = State::Connecting;
    if (!setup_error_.empty()) {
      // Reported like any other failure: later, on the loop, through on_close.
      asio::post(io_, [self = this->shared_from_this()] { self->fail(self->setup_error_); });
      return;
    }
    deadline_ = std::chrono::steady_clock::now() + options_.connect_timeout;
    do_resolve();
  }

  bool send(std::string text) override {
    if (state_ != State::Open) return false;
    if (queue_.size() >= options_.max_queued_messages) {
      if (!warned_full_) {
        spdlog::warn("websocket {}: send queue full ({} messages); refusing frames until it "
                     "drains",
                     url_.to_string(), queue_.size());
      }
      warned_full_ = true;
      return false;
    }
    warned_full_ = false;
    queue_.push_back(std::move(text));
    if (!writing_) do_write();
    return true;
  }

  void close() override {
    if (user_closed_ || finished_) return;
    user_closed_ = true;
    // No handler runs after close(); dropping them also breaks cycles through captured pointers.
    handlers_ = {};
    switch (state_) {
      case State::Idle:
      case State::Connecting:
        finish();
        break;
      case State::Open:
        state_ = State::Closing;
        if (!writing_) do_close();  // otherwise once the queue has gone out
        break;
      case State::Closing:
      case State::Closed:
        break;
    }
  }

  bool is_open() const override { return state_ == State::Open; }

 private:
  enum class State { Idle, Connecting, Open, Closing, Closed };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*ws_); }

  std::string timeout_text() const {
    return "timeout after " + std::to_string(options_.connect_timeout.count()) + " ms (" + step_ +
           ")";
  }

  void do_resolve() {
    step_ = "resolve";
    // The resolver has no stream to carry a deadline; a timer cancels it instead.
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait(
        [weak = this->weak_from_this()](beast::error_code ec) {
          if (ec) return;
          if (auto self = weak.lock()) {
            self->resolve_timed_out_ = true;
            self->resolver_.cancel();
          }
        });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        beast::bind_front_handler(&WsClientImpl::on_resolve, this->shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    resolve_timer_.cancel();
    if (user_closed_ || finished_) return;
    if (resolve_timed_out_) return fail(timeout_text());
    if (ec) return fail("resolve " + url_.host + ": " + ec.message());

    if constexpr (kIsTls<Stream>) {
      ws_.emplace(io_, *tls_);
    } else {
      ws_.emplace(io_);
    }
    step_ = "connect";
    lowest().expires_at(deadline_);
    lowest().async_connect(
        results, beast::bind_front_handler(&WsClientImpl::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (user_closed_ || finished_) return;
    if (ec == beast::error::timeout) return fail(timeout_text());
    if (ec) return fail("connect: " + ec.message());
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);

    if constexpr (kIsTls<Stream>) {
      std::string error;
      if (!detail::prepare_client_ssl(ws_->next_layer().native_handle(), url_.host,
                                      options_.tls.verify, &error)) {
        return fail(error);
      }
      step_ = "tls";
      ws_->next_layer().async_handshake(
          ssl::stream_base::client,
          beast::bind_front_handler(&WsClientImpl::on_tls, this->shared_from_this()));
    } else {
      do_upgrade();
    }
  }

  void on_tls(beast::error_code ec) {
    if (user_closed_ || finished_) return;
    if (ec == beast::error::timeout) return fail(timeout_text());
    if (ec) return fail(detail::describe_tls_error(ws_->next_layer().native_handle(), ec));
    do_upgrade();
  }

  void do_upgrade() {
    step_ = "upgrade";
    // The TCP deadline still covers the upgrade; the WebSocket timeouts take over once open.
    ws_->set_option(websocket::stream_base::decorator(
        [agent = options_.user_agent](websocket::request_type& req) {
          req.set(http::field::user_agent, agent);
        }));
    ws_->read_message_max(options_.max_message_bytes);
    ws_->async_handshake(
        upgrade_response_, url_.host_header(), url_.path,
        beast::bind_front_handler(&WsClientImpl::on_upgrade, this->shared_from_this()));
  }

  void on_upgrade(beast::error_code ec) {
    if (user_closed_ || finished_) return;
    if (ec == beast::error::timeout) return fail(timeout_text());
    if (ec) {
      if (upgrade_response_.result_int() != 0 &&
          upgrade_response_.result() != http::status::switching_protocols) {
        return fail("upgrade: refused with HTTP " +
                    std::to_string(upgrade_response_.result_int()) + " " +
                    std::string(upgrade_response_.reason()) + " for " + url_.path);
      }
      return fail(detail::io_error_text("upgrade", ec));
    }
    // No idle timeout: the protocol above (DDP) runs its own heartbeat and decides when a quiet
    // connection is dead. Only the closing handshake keeps a deadline.
    lowest().expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kCloseTimeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_->set_option(timeouts);
    state_ = State::Open;

    auto on_open = handlers_.on_open;
    if (on_open) on_open();
    if (user_closed_ || finished_) return;  // closed from on_open
    do_read();
  }

  void do_read() {
    ws_->async_read(buffer_,
                    beast::bind_front_handler(&WsClientImpl::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (user_closed_ || finished_) return;
    if (ec) {
      if (ec == websocket::error::closed) {
        return fail("closed by server (" + detail::close_description(ws_->reason()) + ")");
      }
      return fail(detail::io_error_text("read", ec));
    }
    // A copy: the handler may call close(), which clears handlers_.
    auto on_message = handlers_.on_message;
    if (on_message) {
      on_message(
          std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
    }
    if (user_closed_ || finished_) return;
    buffer_.consume(buffer_.size());
    do_read();
  }

  void do_write() {
    writing_ = true;
    ws_->text(true);
    ws_->async_write(asio::buffer(queue_.front()),
                     beast::bind_front_handler(&WsClientImpl::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (finished_) return;
    if (ec) {
      if (user_closed_) return finish();
      return fail(detail::io_error_text("write", ec));
    }
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (state_ == State::Closing) do_close();
  }

  void do_close() {
    ws_->async_close(websocket::close_code::normal,
                     [self = this->shared_from_this()](beast::error_code) {
                       // Whatever the server answered, we are done; nobody is listening.
                       self->finish();
                     });
  }

  // The end: reports `reason` unless the user closed first. Called once per connection.
  void fail(const std::string& reason) {
    if (finished_) return;
    auto on_close = std::move(handlers_.on_close);
    const bool report = !user_closed_;
    finish();
    if (report && on_close) on_close(reason);
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    state_ = State::Closed;
    queue_.clear();
    handlers_ = {};
    resolve_timer_.cancel();
    resolver_.cancel();
    if (ws_) lowest().close();
  }

  asio::io_context& io_;
  Url url_;
  WsClientOptions options_;
  WsClientHandlers handlers_;
  std::shared_ptr<ssl::context> tls_;  // the TLS stream refers to it
  std::string setup_error_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  std::optional<websocket::stream<Stream>> ws_;
  websocket::response_type upgrade_response_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::chrono::steady_clock::time_point deadline_;
  std::string step_;
  State state_ = State::Idle;
  bool resolve_timed_out_ = false;
  bool writing_ = false;
  bool user_closed_ = false;
  bool finished_ = false;
  bool warned_full_ = false;
};

}  // namespace

std::shared_ptr<WsClient> WsClient::create(Loop& loop, Url url, WsClientOptions options,
                                           WsClientHandlers handlers) {
  auto& io = loop.native();
  if (!url.secure()) {
    return std::make_shared<WsClientImpl<PlainStream>>(io, std::move(url), std::move(options),
                                                       std::move(handlers), nullptr, "");
  }
  std::shared_ptr<ssl::context> tls;
  std::string error;
  try {
    tls = detail::make_client_context(options.tls);
  } catch (const std::exception& e) {
    error = e.what();  // reported through on_close after connect(), like other failures
  }
  if (!options.tls.verify) {
    spdlog::warn("websocket {}: TLS certificate verification is OFF; anyone on the path can "
                 "read and change this connection",
                 url.to_string());
  }
  return std::make_shared<WsClientImpl<TlsStream>>(io, std::move(url), std::move(options),
                                                   std::move(handlers), std::move(tls),
                                                   std::move(error));
}

}  // namespace rcgate::net
