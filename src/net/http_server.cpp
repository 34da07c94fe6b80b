// The HTTP/1.1 + WebSocket server: one session class per connection kind (plain or TLS), each
// alive through shared_from_this while an operation is pending, and owned by the server's
// session table so that stop() can close everything at once.
#include "net/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "net/loop.hpp"
#include "net/beast_util.hpp"
#include "net/tls_context.hpp"

namespace rcgate::net {

namespace {

using detail::kIsTls;
using detail::PlainStream;
using detail::TlsStream;

constexpr std::size_t kHeaderLimit = 16 * 1024;
// After a 413 the client may still be sending its body; reading (and discarding) it for a while
// lets the client finish writing and read the answer instead of seeing a connection reset.
constexpr std::size_t kMaxDrainBytes = 64 * 1024 * 1024;
constexpr std::chrono::seconds kDrainIdle{2};
constexpr std::chrono::seconds kTlsShutdownTimeout{5};

// Limits copied into each session so it never needs the server to read them.
struct Limits {
  std::size_t max_body_bytes;
  std::chrono::milliseconds idle_timeout;
  std::size_t max_ws_message_bytes;
  std::size_t max_ws_queued_messages;
};

class Session {
 public:
  virtual ~Session() = default;
  // The server is stopping: close now, without any goodbye on the wire.
  virtual void shutdown() = 0;
};

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(asio::io_context& io_context, HttpServerOptions opts)
      : io(io_context), options(std::move(opts)), acceptor(io_context), retry(io_context) {}

  asio::io_context& io;
  HttpServerOptions options;
  std::shared_ptr<ssl::context> tls;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  RequestHandler on_request;
  WsAcceptHandler on_websocket;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions;
  std::uint64_t next_id = 1;
  std::uint16_t port = 0;
  bool running = false;

  Limits limits() const {
    return Limits{options.max_body_bytes, options.idle_timeout, options.max_ws_message_bytes,
                  options.max_ws_queued_messages};
  }
};

ServerRequest make_request(const http::request<http::string_body>& req, const std::string& address,
                           std::uint16_t port) {
  ServerRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  split_target(out.target, out.path, out.query);
  for (const auto& field : req) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = req.body();
  out.remote_address = address;
  out.remote_port = port;
  return out;
}

// ---------------------------------------------------------------------------------------------
// WebSocket session (after a successful upgrade).

template <class Stream>
class WsSession final : public Session,
                        public WsServerConnection,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(asio::io_context& io, std::weak_ptr<ServerState> server, std::uint64_t id,
            Limits limits, std::shared_ptr<ssl::context> tls)
      : io_(io), server_(std::move(server)), id_(id), limits_(limits), tls_(std::move(tls)) {}

  // Takes over the upgraded connection. Frames queued by the accept handler go out after the
  // 101 response.
  void start(Stream stream, http::request<http::string_body> req, WsServerHandlers handlers) {
    handlers_ = std::move(handlers);
    request_ = std::move(req);
    ws_.emplace(std::move(stream));
    if (finished_ || dropped_) {
      beast::get_lowest_layer(*ws_).close();
      return;
    }
    // The WebSocket stream has its own timeouts (handshake, idle with pings); the TCP layer's
    // would fire in the middle of a quiet but healthy connection.
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_->set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "rcgate"); }));
    ws_->read_message_max(limits_.max_ws_message_bytes);
    ws_->async_accept(*request_, beast::bind_front_handler(&WsSession::on_accept,
                                                           this->shared_from_this()));
  }

  bool send(std::string text) override {
    if (finished_ || closing_ || dropped_) return false;
    if (queue_.size() >= limits_.max_ws_queued_messages) {
      if (!warned_full_) {
        spdlog::warn("websocket server: connection {} send queue full ({} messages); refusing "
                     "frames until it drains",
                     id_, queue_.size());
      }
      warned_full_ = true;
      return false;
    }
    warned_full_ = false;
    queue_.push_back(std::move(text));
    if (accepted_ && !writing_) do_write();
    return true;
  }

  void close(std::uint16_t code, std::string reason) override {
    if (finished_ || closing_ || dropped_) return;
    closing_ = true;
    // A close frame carries at most 123 bytes of reason.
    if (reason.size() > 123) reason.resize(123);
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    close_text_ = "closed by server (" + detail::close_description(close_reason_) + ")";
    if (accepted_ && !writing_) do_close();  // otherwise after the write in flight / the accept
  }

  void drop() override {
    if (finished_ || dropped_) return;
    dropped_ = true;
    if (ws_) beast::get_lowest_layer(*ws_).close();
    // Posted so that on_close never runs inside drop() itself.
    asio::post(io_, [self = this->shared_from_this()] { self->finish("dropped by server"); });
  }

  std::uint64_t id() const override { return id_; }
  bool is_open() const override { return !finished_ && !closing_ && !dropped_; }

  void shutdown() override {
    if (finished_) return;
    dropped_ = true;
    finish("server stopped");
  }

 private:
  void on_accept(beast::error_code ec) {
    if (finished_) return;
    if (ec) return finish(dropped_ ? "dropped by server" : "accept: " + ec.message());
    accepted_ = true;
    do_read();
    if (!queue_.empty()) {
      do_write();
    } else if (closing_) {
      do_close();
    }
  }

  void do_read() {
    ws_->async_read(buffer_,
                    beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      if (dropped_) return finish("dropped by server");
      if (closing_) return finish(close_text_);
      if (ec == websocket::error::closed) {
        return finish("closed by client (" + detail::close_description(ws_->reason()) + ")");
      }
      if (ec == beast::error::timeout) return finish("timeout: the client stopped answering");
      return finish(detail::io_error_text("read", ec));
    }
    if (!closing_ && !dropped_) {
      // A copy: the handler may stop the server, which clears handlers_ under our feet.
      auto on_message = handlers_.on_message;
      if (on_message) {
        on_message(std::string_view(static_cast<const char*>(buffer_.data().data()),
                                    buffer_.size()));
      }
    }
    if (finished_ || dropped_) return;
    buffer_.consume(buffer_.size());
    do_read();
  }

  void do_write() {
    writing_ = true;
    ws_->text(true);
    ws_->async_write(asio::buffer(queue_.front()),
                     beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (finished_) return;
    if (ec) return finish(dropped_ ? "dropped by server" : "write: " + ec.message());
    queue_.pop_front();
    if (dropped_) return;
    if (!queue_.empty()) return do_write();
    if (closing_) do_close();
  }

  void do_close() {
    ws_->async_close(close_reason_,
                     beast::bind_front_handler(&WsSession::on_closed, this->shared_from_this()));
  }

  void on_closed(beast::error_code) { finish(close_text_); }

  void finish(const std::string& reason) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    if (ws_) beast::get_lowest_layer(*ws_).close();
    if (auto server = server_.lock()) server->sessions.erase(id_);
    auto on_close = std::move(handlers_.on_close);
    handlers_ = {};
    if (on_close) on_close(reason);
  }

  asio::io_context& io_;
  std::weak_ptr<ServerState> server_;
  std::uint64_t id_;
  Limits limits_;
  std::shared_ptr<ssl::context> tls_;  // the TLS stream refers to it
  std::optional<websocket::stream<Stream>> ws_;
  std::optional<http::request<http::string_body>> request_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  WsServerHandlers handlers_;
  websocket::close_reason close_reason_;
  std::string close_text_;
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool dropped_ = false;
  bool finished_ = false;
  bool warned_full_ = false;
};

// What the accept handler holds: it never keeps the connection alive, so handlers that capture
// it make no reference cycle, and calls after the end are harmless.
class WsHandle final : public WsServerConnection {
 public:
  WsHandle(std::weak_ptr<WsServerConnection> session, std::uint64_t id)
      : session_(std::move(session)), id_(id) {}

  bool send(std::string text) override {
    auto s = session_.lock();
    return s && s->send(std::move(text));
  }
  void close(std::uint16_t code, std::string reason) override {
    if (auto s = session_.lock()) s->close(code, std::move(reason));
  }
  void drop() override {
    if (auto s = session_.lock()) s->drop();
  }
  std::uint64_t id() const override { return id_; }
  bool is_open() const override {
    auto s = session_.lock();
    return s && s->is_open();
  }

 private:
  std::weak_ptr<WsServerConnection> session_;
  std::uint64_t id_;
};

// ---------------------------------------------------------------------------------------------
// HTTP session: TLS handshake (when TLS) -> read request -> handler -> write response -> again.

template <class Stream>
class HttpSession final : public Session,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(asio::io_context& io, std::weak_ptr<ServerState> server, std::uint64_t id,
              Limits limits, std::shared_ptr<ssl::context> tls, Stream stream,
              tcp::endpoint remote)
      : io_(io),
        server_(std::move(server)),
        id_(id),
        limits_(limits),
        tls_(std::move(tls)),
        stream_(std::move(stream)),
        remote_address_(remote.address().to_string()),
        remote_port_(remote.port()) {}

  void start() {
    if constexpr (kIsTls<Stream>) {
      lowest().expires_after(limits_.idle_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&HttpSession::on_handshake,
                                                        this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void shutdown() override {
    if (closed_) return;
    closed_ = true;
    if (!upgraded_) lowest().close();
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_handshake(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      spdlog::debug("http server: TLS handshake with {} failed: {}", remote_address_,
                    ec.message());
      return finish();
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(limits_.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    lowest().expires_after(limits_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (closed_) return;
    if (ec == http::error::end_of_stream) return do_close();  // the client is done
    if (ec == http::error::body_limit) {
      return reply_error(413,
                         "request body larger than " + std::to_string(limits_.max_body_bytes) +
                             " bytes",
                         true);
    }
    if (ec == http::error::header_limit) {
      return reply_error(431, "request headers too large", false);
    }
    if (ec && ec != http::error::partial_message &&
        ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return reply_error(400, "bad request: " + ec.message(), false);
    }
    if (ec) {
      // Timeouts and resets end idle or broken connections; nothing to report to anyone.
      spdlog::trace("http server: connection from {} ended: {}", remote_address_, ec.message());
      return finish();
    }
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));
    dispatch(std::move(req));
  }

  void dispatch(http::request<http::string_body> req) {
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    const std::uint64_t seq = ++seq_;
    awaiting_ = true;
    auto server = server_.lock();
    if (!server) return finish();
    // A copy: the handler may replace itself or stop the server while running.
    RequestHandler handler = server->on_request;
    server.reset();
    if (!handler) return on_response(seq, ServerResponse{404, {}, "not found\n"});
    ServerRequest request = make_request(req, remote_address_, remote_port_);
    Respond respond = [weak = this->weak_from_this(), seq](ServerResponse response) {
      if (auto self = weak.lock()) self->on_response(seq, std::move(response));
    };
    try {
      handler(request, std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("http server: handler for {} {} failed: {}", request.method, request.path,
                    e.what());
      on_response(seq, ServerResponse{500, {}, "internal error\n"});
    }
  }

  void on_response(std::uint64_t seq, ServerResponse response) {
    // Late or repeated answers (after a timeout, a closed connection or a first answer) are
    // dropped: the contract is one answer per request.
    if (closed_ || seq != seq_ || !awaiting_) return;
    awaiting_ = false;
    write(std::move(response), !keep_alive_, false);
  }

  void reply_error(int status, std::string text, bool drain) {
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    ++seq_;
    awaiting_ = false;
    ServerResponse response{status, {{"Content-Type", "text/plain; charset=utf-8"}}, text + "\n"};
    if (auto server = server_.lock(); server && server->options.error_response) {
      try {
        response = server->options.error_response(status, text);
      } catch (const std::exception& e) {
        spdlog::error("http server: error_response for {} failed: {}", status, e.what());
      }
    }
    write(std::move(response), true, drain);
  }

  void write(ServerResponse response, bool close, bool drain) {
    res_.emplace();
    auto& res = *res_;
    res.version(version_);
    res.result(static_cast<unsigned>(response.status));
    res.set(http::field::server, "rcgate");
    for (const auto& [name, value] : response.headers) {
      if (beast::iequals(name, "Content-Length")) continue;
      if (beast::iequals(name, "Connection")) {
        if (beast::iequals(value, "close")) close = true;
        continue;
      }
      res.insert(name, value);
    }
    res.keep_alive(!close);
    const std::size_t size = response.body.size();
    res.body() = std::move(response.body);
    res.prepare_payload();
    if (head_) {
      res.content_length(size);
      res.body().clear();
    }
    lowest().expires_after(limits_.idle_timeout);
    http::async_write(stream_, res,
                      [self = this->shared_from_this(), close, drain](beast::error_code ec,
                                                                      std::size_t) {
                        self->on_write(ec, close, drain);
                      });
  }

  void on_write(beast::error_code ec, bool close, bool drain) {
    res_.reset();
    if (closed_) return;
    if (ec) return finish();
    if (drain) return do_drain();
    if (close) return do_close();
    do_read();
  }

  void do_drain() {
    if constexpr (!kIsTls<Stream>) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    scratch_.resize(16 * 1024);
    drain_more();
  }

  void drain_more() {
    lowest().expires_after(kDrainIdle);
    stream_.async_read_some(asio::buffer(scratch_), [self = this->shared_from_this()](
                                                        beast::error_code ec, std::size_t n) {
      if (self->closed_) return;
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->finish();
      self->drain_more();
    });
  }

  void do_close() {
    if constexpr (kIsTls<Stream>) {
      lowest().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        // Whatever the peer did with our close_notify, the connection is over.
        self->finish();
      });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      finish();
    }
  }

  void finish() {
    if (closed_) return;
    closed_ = true;
    if (!upgraded_) lowest().close();
    if (auto server = server_.lock()) server->sessions.erase(id_);
  }

  void upgrade(http::request<http::string_body> req) {
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = false;
    ++seq_;
    awaiting_ = false;
    auto server = server_.lock();
    if (!server) return finish();
    WsAcceptHandler accept = server->on_websocket;
    if (!accept) return write(ServerResponse{404, {}, "not found\n"}, true, false);

    const std::uint64_t ws_id = server->next_id++;
    auto ws = std::make_shared<WsSession<Stream>>(io_, server_, ws_id, limits_, tls_);
    auto handle = std::make_shared<WsHandle>(ws, ws_id);
    server.reset();
    WsServerHandlers handlers;
    bool accepted = false;
    const ServerRequest request = make_request(req, remote_address_, remote_port_);
    try {
      accepted = accept(request, handle, handlers);
    } catch (const std::exception& e) {
      spdlog::error("http server: websocket handler for {} failed: {}", request.path, e.what());
      return write(ServerResponse{500, {}, "internal error\n"}, true, false);
    }
    if (closed_) {
      // The handler stopped the server; the connection it accepted ends here.
      if (accepted && handlers.on_close) handlers.on_close("server stopped");
      return;
    }
    if (!accepted) return write(ServerResponse{404, {}, "not found\n"}, !keep_alive_, false);

    server = server_.lock();
    if (!server) return finish();
    upgraded_ = true;
    closed_ = true;
    server->sessions.erase(id_);
    server->sessions.emplace(ws_id, ws);
    ws->start(std::move(stream_), std::move(req), std::move(handlers));
  }

  asio::io_context& io_;
  std::weak_ptr<ServerState> server_;
  std::uint64_t id_;
  Limits limits_;
  std::shared_ptr<ssl::context> tls_;  // the TLS stream refers to it
  Stream stream_;
  std::string remote_address_;
  std::uint16_t remote_port_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  std::vector<char> scratch_;
  std::size_t drained_ = 0;
  std::uint64_t seq_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool awaiting_ = false;
  bool closed_ = false;
  bool upgraded_ = false;
};

// ---------------------------------------------------------------------------------------------
// Accepting.

void do_accept(const std::shared_ptr<ServerState>& state);

void start_session(ServerState& state, tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  socket.set_option(tcp::no_delay(true), ec);
  const std::uint64_t id = state.next_id++;
  std::weak_ptr<ServerState> weak = state.weak_from_this();
  if (state.tls) {
    auto session = std::make_shared<HttpSession<TlsStream>>(
        state.io, weak, id, state.limits(), state.tls, TlsStream(std::move(socket), *state.tls),
        remote);
    state.sessions.emplace(id, session);
    session->start();
  } else {
    auto session = std::make_shared<HttpSession<PlainStream>>(
        state.io, weak, id, state.limits(), nullptr, PlainStream(std::move(socket)), remote);
    state.sessions.emplace(id, session);
    session->start();
  }
}

void on_accept(const std::weak_ptr<ServerState>& weak, beast::error_code ec, tcp::socket socket) {
  auto state = weak.lock();
  if (!state || !state->running) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // Typically EMFILE: retry a little later rather than spin.
    spdlog::warn("http server: accept on port {} failed: {} (retrying in 100 ms)", state->port,
                 ec.message());
    state->retry.expires_after(std::chrono::milliseconds(100));
    state->retry.async_wait([weak](beast::error_code wait_ec) {
      if (wait_ec) return;
      if (auto s = weak.lock(); s && s->running) do_accept(s);
    });
    return;
  }
  start_session(*state, std::move(socket));
  do_accept(state);
}

void do_accept(const std::shared_ptr<ServerState>& state) {
  state->acceptor.async_accept(
      state->io, [weak = std::weak_ptr<ServerState>(state)](beast::error_code ec,
                                                             tcp::socket socket) {
        on_accept(weak, ec, std::move(socket));
      });
}

}  // namespace

struct HttpServer::Impl : ServerState {
  using ServerState::ServerState;
};

HttpServer::HttpServer(Loop& loop, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(loop.native(), std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::on_request(RequestHandler handler) { impl_->on_request = std::move(handler); }
void HttpServer::on_websocket(WsAcceptHandler handler) {
  impl_->on_websocket = std::move(handler);
}

void HttpServer::start() {
  auto& s = *impl_;
  if (s.running) return;
  const std::string where = s.options.bind_address + ":" + std::to_string(s.options.port);
  if (s.options.tls && !s.tls) {
    try {
      s.tls = detail::make_server_context(s.options.cert_pem, s.options.key_pem,
                                          s.options.tls_options);
    } catch (const std::exception& e) {
      throw std::runtime_error("http server on " + where + ": " + e.what());
    }
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.bind_address, ec);
  if (ec) {
    throw std::runtime_error("http server: invalid bind address '" + s.options.bind_address +
                             "' (expected an IP address such as 127.0.0.1)");
  }
  const tcp::endpoint endpoint(address, s.options.port);
  auto fail = [&](const char* step) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    throw std::runtime_error("http server: cannot " + std::string(step) + " on " + where + ": " +
                             ec.message());
  };
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("open a socket");
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail("set SO_REUSEADDR");
  s.acceptor.bind(endpoint, ec);
  if (ec) fail("listen");
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  s.port = s.acceptor.local_endpoint(ec).port();
  s.running = true;
  do_accept(impl_);
}

void HttpServer::stop() {
  auto& s = *impl_;
  s.running = false;
  beast::error_code ignored;
  s.acceptor.close(ignored);
  s.retry.cancel();
  // Moved out first: closing a WebSocket session calls on_close, which may call back into us.
  auto sessions = std::move(s.sessions);
  s.sessions.clear();
  for (auto& [id, session] : sessions) session->shutdown();
}

std::uint16_t HttpServer::port() const { return impl_->port; }

std::size_t HttpServer::connection_count() const { return impl_->sessions.size(); }

}  // namespace rcgate::net
