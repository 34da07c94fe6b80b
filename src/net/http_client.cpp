// HTTP/1.1 client for one origin. One exchange at a time, read top to bottom:
// resolve -> connect -> TLS (https) -> write -> read, skipping the first three while a
// keep-alive connection is open. Every step carries the request's deadline.
#include "net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

#include "net/beast_util.hpp"
#include "net/loop.hpp"
#include "net/tls_context.hpp"

namespace rcgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kMaxResponseBody = 64 * 1024 * 1024;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;

#ifdef RCGATE_VERSION
constexpr const char* kUserAgent = "rcgate/" RCGATE_VERSION;
#else
constexpr const char* kUserAgent = "rcgate";
#endif

// The ways a kept-alive connection that the server already closed shows itself.
bool connection_gone(const beast::error_code& ec) {
  return detail::is_end_of_stream(ec) || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  struct Pending {
    HttpRequest request;
    Callback callback;
  };

  Impl(asio::io_context& io_context, Url url, TlsClientOptions tls)
      : io(io_context),
        origin(url.as_http()),
        tls_options(std::move(tls)),
        resolver(io_context),
        resolve_timer(io_context) {}

  // -- queue ------------------------------------------------------------------------------------

  void request(HttpRequest req, Callback callback) {
    if (closed) {
      // Later, on the loop: a callback never runs inside request().
      asio::post(io, [callback = std::move(callback)] {
        HttpResponse response;
        response.stage = FailStage::Closed;
        response.error = "client closed";
        if (callback) callback(std::move(response));
      });
      return;
    }
    queue.push_back(Pending{std::move(req), std::move(callback)});
    start_next();
  }

  void start_next() {
    if (closed || current || queue.empty()) return;
    current = std::move(queue.front());
    queue.pop_front();
    ++exchange;
    retried = false;
    deadline = std::chrono::steady_clock::now() + current->request.timeout;
    build_wire_request();
    if (connected) {
      reused = true;
      do_write();
    } else {
      reused = false;
      do_resolve();
    }
  }

  void build_wire_request() {
    HttpRequest& req = current->request;
    wire.emplace();
    const http::verb verb = http::string_to_verb(req.method);
    if (verb == http::verb::unknown) {
      wire->method_string(req.method);
    } else {
      wire->method(verb);
    }
    wire->target(req.target.empty() ? "/" : req.target);
    wire->version(11);
    bool has_host = false, has_agent = false;
    for (const auto& [name, value] : req.headers) {
      if (iequals(name, "Content-Length")) continue;  // ours, from the body
      has_host = has_host || iequals(name, "Host");
      has_agent = has_agent || iequals(name, "User-Agent");
      wire->insert(name, value);
    }
    if (!has_host) wire->set(http::field::host, origin.host_header());
    if (!has_agent) wire->set(http::field::user_agent, kUserAgent);
    wire->body() = std::move(req.body);
    wire->prepare_payload();
    wire->keep_alive(true);
  }

  // -- connecting -------------------------------------------------------------------------------

  void do_resolve() {
    connected = false;
    if (origin.secure() && !tls) {
      try {
        tls = detail::make_client_context(tls_options);
      } catch (const std::exception& e) {
        return post_fail(FailStage::Tls, e.what());
      }
    }
    resolve_timed_out = false;
    // The resolver has no stream to carry the deadline; a timer cancels it instead.
    resolve_timer.expires_at(deadline);
    resolve_timer.async_wait([weak = weak_from_this(), id = exchange](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->exchange != id) return;
      self->resolve_timed_out = true;
      self->resolver.cancel();
    });
    resolver.async_resolve(origin.host, std::to_string(origin.port),
                           [self = shared_from_this(), id = exchange](
                               beast::error_code ec, tcp::resolver::results_type results) {
                             self->on_resolve(id, ec, std::move(results));
                           });
  }

  void on_resolve(std::uint64_t id, beast::error_code ec, tcp::resolver::results_type results) {
    if (id != exchange) return;
    resolve_timer.cancel();
    if (resolve_timed_out) return fail(FailStage::Timeout, timeout_text());
    if (ec) return fail(FailStage::Resolve, "resolve " + origin.host + ": " + ec.message());
    // No operation is pending on the previous stream (exchanges are one at a time), so it can
    // be replaced.
    if (origin.secure()) {
      plain.reset();
      secure.emplace(io, *tls);
    } else {
      secure.reset();
      plain.emplace(io);
    }
    buffer.clear();
    lowest().expires_at(deadline);
    lowest().async_connect(results, [self = shared_from_this(), id](beast::error_code connect_ec,
                                                                    const tcp::endpoint&) {
      self->on_connect(id, connect_ec);
    });
  }

  void on_connect(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) return fail(FailStage::Connect, "connect: " + ec.message());
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!secure) {
      connected = true;
      return do_write();
    }
    std::string error;
    if (!detail::prepare_client_ssl(secure->native_handle(), origin.host, tls_options.verify,
                                    &error)) {
      return fail(FailStage::Tls, error);
    }
    secure->async_handshake(ssl::stream_base::client,
                            [self = shared_from_this(), id](beast::error_code handshake_ec) {
                              self->on_handshake(id, handshake_ec);
                            });
  }

  void on_handshake(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) return fail(FailStage::Tls, detail::describe_tls_error(secure->native_handle(), ec));
    connected = true;
    do_write();
  }

  // -- the exchange -----------------------------------------------------------------------------

  void do_write() {
    lowest().expires_at(deadline);
    with_stream([this](auto& stream) {
      http::async_write(stream, *wire,
                        [self = shared_from_this(), id = exchange](beast::error_code ec,
                                                                   std::size_t) {
                          self->on_write(id, ec);
                        });
    });
  }

  void on_write(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) {
      if (reused && !retried && connection_gone(ec)) return retry();
      return fail(FailStage::Write, detail::io_error_text("write", ec));
    }
    do_read();
  }

  void do_read() {
    parser.emplace();
    parser->body_limit(kMaxResponseBody);
    parser->header_limit(kMaxResponseHeader);
    if (wire->method() == http::verb::head) parser->skip(true);
    lowest().expires_at(deadline);
    with_stream([this](auto& stream) {
      http::async_read(stream, buffer, *parser,
                       [self = shared_from_this(), id = exchange](beast::error_code ec,
                                                                  std::size_t) {
                         self->on_read(id, ec);
                       });
    });
  }

  void on_read(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) {
      // The server closed the kept-alive connection while it sat idle; the request never
      // reached it, so sending it again on a fresh connection is safe.
      if (reused && !retried && !parser->got_some() && connection_gone(ec)) return retry();
      return fail(FailStage::Read, detail::io_error_text("read", ec));
    }
    auto& res = parser->get();
    HttpResponse response;
    response.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(res.body());
    if (!res.keep_alive()) drop_connection();
    complete(std::move(response));
  }

  void retry() {
    spdlog::debug("http {}: kept-alive connection was closed by the server; reconnecting once",
                  origin.to_string());
    retried = true;
    reused = false;
    drop_connection();
    do_resolve();
  }

  // -- endings ----------------------------------------------------------------------------------

  std::string timeout_text() const {
    return "timeout after " + std::to_string(current->request.timeout.count()) + " ms";
  }

  void fail(FailStage stage, std::string error) {
    drop_connection();
    HttpResponse response;
    response.stage = stage;
    response.error = std::move(error);
    complete(std::move(response));
  }

  void post_fail(FailStage stage, std::string error) {
    asio::post(io, [self = shared_from_this(), id = exchange, stage, error = std::move(error)] {
      if (id == self->exchange) self->fail(stage, error);
    });
  }

  void complete(HttpResponse response) {
    ++exchange;  // whatever is still in flight for this exchange is stale from now on
    resolve_timer.cancel();
    Callback callback = std::move(current->callback);
    current.reset();
    wire.reset();
    parser.reset();
    auto keep_alive = shared_from_this();  // the callback may destroy the HttpClient
    if (callback) callback(std::move(response));
    start_next();
  }

  void drop_connection() {
    connected = false;
    // Only closed here, not destroyed: an operation may still be pending on it (close() in the
    // middle of an exchange); the next connect replaces the stream.
    if (plain || secure) {
      beast::error_code ignored;
      lowest().socket().close(ignored);
    }
    buffer.clear();
  }

  void close(bool call_back) {
    closed = true;
    ++exchange;
    resolver.cancel();
    resolve_timer.cancel();
    drop_connection();
    std::vector<Callback> callbacks;
    if (current) callbacks.push_back(std::move(current->callback));
    current.reset();
    for (auto& pending : queue) callbacks.push_back(std::move(pending.callback));
    queue.clear();
    if (!call_back) return;
    auto keep_alive = shared_from_this();
    for (auto& callback : callbacks) {
      if (destroyed) break;  // a callback destroyed the client: the rest are not called
      HttpResponse response;
      response.stage = FailStage::Closed;
      response.error = "client closed";
      if (callback) callback(std::move(response));
    }
  }

  beast::tcp_stream& lowest() {
    return secure ? beast::get_lowest_layer(*secure) : *plain;
  }

  template <class F>
  void with_stream(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  asio::io_context& io;
  Url origin;
  TlsClientOptions tls_options;
  std::shared_ptr<ssl::context> tls;
  tcp::resolver resolver;
  asio::steady_timer resolve_timer;
  std::optional<beast::tcp_stream> plain;
  std::optional<TlsStream> secure;
  beast::flat_buffer buffer;
  std::deque<Pending> queue;
  std::optional<Pending> current;
  std::optional<http::request<http::string_body>> wire;
  std::optional<http::response_parser<http::string_body>> parser;
  // Identifies the exchange a completion belongs to; anything older is ignored.
  std::uint64_t exchange = 0;
  std::chrono::steady_clock::time_point deadline;
  bool connected = false;
  bool reused = false;
  bool retried = false;
  bool resolve_timed_out = false;
  bool closed = false;
  bool destroyed = false;
};

HttpClient::HttpClient(Loop& loop, Url origin, TlsClientOptions tls)
    : impl_(std::make_shared<Impl>(loop.native(), std::move(origin), std::move(tls))) {
  if (impl_->origin.secure() && !impl_->tls_options.verify) {
    spdlog::warn("http {}: TLS certificate verification is OFF; anyone on the path can read and "
                 "change this connection",
                 impl_->origin.to_string());
  }
}

HttpClient::~HttpClient() {
  impl_->destroyed = true;
  impl_->close(false);
}

void HttpClient::request(HttpRequest request, Callback callback) {
  impl_->request(std::move(request), std::move(callback));
}

void HttpClient::close() {
  if (impl_->closed) return;
  impl_->close(true);
}

std::size_t HttpClient::queued() const {
  return impl_->queue.size() + (impl_->current ? 1 : 0);
}

}  // namespace rcgate::net
