// HTTP/1.1 client for one origin. One exchange at a time, read top to bottom:
// resolve -> connect -> TLS (https) -> write -> read, skipping the first three while a
// keep-alive connection is open. Every step carries the request's deadline.
//
// Streamed bodies (HttpRequest::body_source) go out as the header, then one 64 KiB chunk at a
// time through a buffer_body serializer; streamed responses (response_file) come in through a
// buffer_body parser the same way. Neither ever holds more than one chunk of the body.
#include "net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
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
// One piece of a streamed body, either way.
constexpr std::size_t kChunk = 64 * 1024;
// What an error response keeps of its body when the body was meant for a file.
constexpr std::size_t kMaxErrorBody = 64 * 1024;

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

// The file a streamed response goes to. Anything but a completed response leaves no file behind.
class ResponseFile {
 public:
  ResponseFile() = default;
  ResponseFile(const ResponseFile&) = delete;
  ResponseFile& operator=(const ResponseFile&) = delete;
  ~ResponseFile() { discard(); }

  bool open(const std::string& path, std::string& error) {
    discard();
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error = "cannot write " + path + ": " + std::strerror(errno);
      return false;
    }
    path_ = path;
    written_ = 0;
    return true;
  }
  bool is_open() const { return fd_ >= 0; }
  std::uint64_t written() const { return written_; }

  bool write(const char* data, std::size_t size, std::string& error) {
    while (size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = "cannot write " + path_ + ": " + std::strerror(errno);
        return false;
      }
      data += n;
      size -= static_cast<std::size_t>(n);
      written_ += static_cast<std::uint64_t>(n);
    }
    return true;
  }

  // Closes the file and keeps it.
  bool finish(std::string& error) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      error = "cannot write " + path_ + ": " + std::strerror(errno);
      ::unlink(path_.c_str());
      return false;
    }
    return true;
  }

  // Closes and removes a partial file.
  void discard() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(path_.c_str());
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::uint64_t written_ = 0;
};

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

  template <class Message>
  void fill_header(Message& message, const HttpRequest& req) {
    const http::verb verb = http::string_to_verb(req.method);
    if (verb == http::verb::unknown) {
      message.method_string(req.method);
    } else {
      message.method(verb);
    }
    message.target(req.target.empty() ? "/" : req.target);
    message.version(11);
    bool has_host = false, has_agent = false;
    for (const auto& [name, value] : req.headers) {
      // Ours, from the body; and a streamed body always goes with a Content-Length.
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) continue;
      has_host = has_host || iequals(name, "Host");
      has_agent = has_agent || iequals(name, "User-Agent");
      message.insert(name, value);
    }
    if (!has_host) message.set(http::field::host, origin.host_header());
    if (!has_agent) message.set(http::field::user_agent, kUserAgent);
  }

  void build_wire_request() {
    HttpRequest& req = current->request;
    head_request = iequals(req.method, "HEAD");
    wire.reset();
    stream_wire.reset();
    if (req.body_source) {
      stream_wire.emplace();
      fill_header(*stream_wire, req);
      stream_wire->content_length(req.body_source->size());
      stream_wire->keep_alive(true);
      return;
    }
    wire.emplace();
    fill_header(*wire, req);
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
    if (stream_wire) return do_write_streamed();
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

  // The header first, then the body one chunk at a time: each completion asks for the next.
  // Called again from the start after a reconnect, so the source is rewound every time.
  void do_write_streamed() {
    std::string error;
    if (!current->request.body_source->rewind(error)) {
      // Possibly still inside request(): the callback must come later.
      return post_fail(FailStage::Write, "request body: " + error);
    }
    if (!chunk) chunk = std::make_unique<char[]>(kChunk);
    body_sent = 0;
    write_error.clear();
    serializer.emplace(*stream_wire);
    with_stream([this](auto& stream) {
      http::async_write_header(stream, *serializer,
                               [self = shared_from_this(), id = exchange](beast::error_code ec,
                                                                          std::size_t) {
                                 self->on_write_streamed(id, ec);
                               });
    });
  }

  void on_write_streamed(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == http::error::need_buffer) ec = {};  // the chunk went out; the next one, please
    if (ec && ec != beast::error::timeout && !(reused && !retried && connection_gone(ec))) {
      // A server (or a proxy) may refuse a large body at once and stop reading: its answer,
      // typically 413, is already here and says more than "connection reset".
      write_error = detail::io_error_text("write", ec);
      return do_read();
    }
    if (ec) return on_write(id, ec);
    if (serializer->is_done()) return do_read();
    BodySource& source = *current->request.body_source;
    const std::uint64_t total = source.size();
    std::size_t n = 0;
    if (body_sent < total) {
      std::string error;
      n = source.read(chunk.get(), static_cast<std::size_t>(std::min<std::uint64_t>(
                                       kChunk, total - body_sent)),
                      error);
      if (!error.empty()) return fail(FailStage::Write, "request body: " + error);
      if (n == 0) {
        return fail(FailStage::Write, "request body: ended after " + std::to_string(body_sent) +
                                          " of the announced " + std::to_string(total) +
                                          " bytes");
      }
    }
    body_sent += n;
    auto& body = stream_wire->body();
    body.data = n > 0 ? chunk.get() : nullptr;
    body.size = n;
    body.more = body_sent < total;
    lowest().expires_at(deadline);
    with_stream([this](auto& stream) {
      http::async_write(stream, *serializer,
                        [self = shared_from_this(), id = exchange](beast::error_code write_ec,
                                                                   std::size_t) {
                          self->on_write_streamed(id, write_ec);
                        });
    });
  }

  void do_read() {
    if (!current->request.response_file.empty()) return do_read_file_header();
    parser.emplace();
    parser->body_limit(kMaxResponseBody);
    parser->header_limit(kMaxResponseHeader);
    if (head_request) parser->skip(true);
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
      if (!write_error.empty()) return fail(FailStage::Write, write_error);
      // The server closed the kept-alive connection while it sat idle; the request never
      // reached it, so sending it again on a fresh connection is safe.
      if (reused && !retried && !parser->got_some() && connection_gone(ec)) return retry();
      return fail(FailStage::Read, detail::io_error_text("read", ec));
    }
    if (!write_error.empty()) drop_connection();  // the rest of the body never went out
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

  // -- a response streamed to a file ------------------------------------------------------------

  void do_read_file_header() {
    file_parser.emplace();
    file_parser->header_limit(kMaxResponseHeader);
    // The size cap is ours (response_file_max), checked as the chunks arrive.
    file_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_request) file_parser->skip(true);
    if (!chunk) chunk = std::make_unique<char[]>(kChunk);
    error_body.clear();
    lowest().expires_at(deadline);
    with_stream([this](auto& stream) {
      http::async_read_header(stream, buffer, *file_parser,
                              [self = shared_from_this(), id = exchange](beast::error_code ec,
                                                                         std::size_t) {
                                self->on_read_file_header(id, ec);
                              });
    });
  }

  void on_read_file_header(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) {
      if (!write_error.empty()) return fail(FailStage::Write, write_error);
      if (reused && !retried && !file_parser->got_some() && connection_gone(ec)) return retry();
      return fail(FailStage::Read, detail::io_error_text("read", ec));
    }
    const unsigned status = file_parser->get().result_int();
    if (status >= 200 && status < 300 && !head_request) {
      std::string error;
      if (!out_file.open(current->request.response_file, error)) {
        return fail(FailStage::Read, error);
      }
    }
    do_read_file_body();
  }

  void do_read_file_body() {
    if (file_parser->is_done()) return on_file_response_done();
    auto& body = file_parser->get().body();
    body.data = chunk.get();
    body.size = kChunk;
    lowest().expires_at(deadline);
    with_stream([this](auto& stream) {
      http::async_read(stream, buffer, *file_parser,
                       [self = shared_from_this(), id = exchange](beast::error_code ec,
                                                                  std::size_t) {
                         self->on_read_file_body(id, ec);
                       });
    });
  }

  void on_read_file_body(std::uint64_t id, beast::error_code ec) {
    if (id != exchange) return;
    if (ec == http::error::need_buffer) ec = {};  // the chunk is full
    if (ec == beast::error::timeout) return fail(FailStage::Timeout, timeout_text());
    if (ec) return fail(FailStage::Read, detail::io_error_text("read", ec));
    const std::size_t n = kChunk - file_parser->get().body().size;
    if (out_file.is_open()) {
      const std::uint64_t max = current->request.response_file_max;
      if (out_file.written() + n > max) {
        return fail(FailStage::Read, "response body larger than the limit of " +
                                         std::to_string(max) + " bytes");
      }
      std::string error;
      if (!out_file.write(chunk.get(), n, error)) return fail(FailStage::Read, error);
    } else if (error_body.size() < kMaxErrorBody) {
      error_body.append(chunk.get(), std::min(n, kMaxErrorBody - error_body.size()));
    }
    do_read_file_body();
  }

  void on_file_response_done() {
    auto& res = file_parser->get();
    HttpResponse response;
    response.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (out_file.is_open()) {
      response.body_in_file = true;
      response.file_size = out_file.written();
      std::string error;
      if (!out_file.finish(error)) return fail(FailStage::Read, error);
    } else {
      response.body = std::move(error_body);
    }
    // After a failed write the rest of the body never went out: the connection is done.
    if (!res.keep_alive() || !write_error.empty()) drop_connection();
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
    serializer.reset();
    stream_wire.reset();
    file_parser.reset();
    out_file.discard();  // still open here only when the exchange failed half-way
    error_body.clear();
    write_error.clear();
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
    out_file.discard();
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
  // Streamed bodies: the request with its serializer, the response parser, one shared chunk.
  std::optional<http::request<http::buffer_body>> stream_wire;
  std::optional<http::request_serializer<http::buffer_body>> serializer;
  std::optional<http::response_parser<http::buffer_body>> file_parser;
  std::unique_ptr<char[]> chunk;
  std::uint64_t body_sent = 0;
  ResponseFile out_file;
  std::string error_body;
  std::string write_error;  // a streamed body's write failed; the response is read anyway
  bool head_request = false;
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
