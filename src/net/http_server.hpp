#pragma once
// A small HTTP/1.1 server (plain or TLS) with WebSocket upgrade, for rcgate's local API and for
// the simulator. Handlers run on the loop thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/http.hpp"
#include "net/tls.hpp"

namespace rcgate::net {

class Loop;

struct ServerResponse {
  int status = 200;
  Headers headers;  // Content-Length is set by the server
  std::string body;
};

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port())
  bool tls = false;
  TlsServerOptions tls_options;   // files, used when tls and cert_pem is empty
  std::string cert_pem, key_pem;  // in-memory certificate (takes precedence over files)
  std::size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413
  std::chrono::milliseconds idle_timeout{30000};  // HTTP keep-alive and TLS handshake
  std::size_t max_ws_message_bytes = 16 * 1024 * 1024;  // larger incoming frames close the socket
  std::size_t max_ws_queued_messages = 1024;  // WsServerConnection::send refuses beyond this
  // Shapes the answers the server sends by itself, before any handler ran: 413 (body over
  // max_body_bytes), 431 (headers too large), 400 (malformed request). `message` is the plain
  // sentence ("request body larger than 1024 bytes"). Unset: text/plain with that sentence. The
  // connection is closed after these answers whatever the headers say.
  std::function<ServerResponse(int status, const std::string& message)> error_response;
};

using Respond = std::function<void(ServerResponse)>;  // call exactly once, possibly later
using RequestHandler = std::function<void(const ServerRequest&, Respond)>;

// A WebSocket connection accepted by the server: a handle that may be kept for as long as
// wanted (it does not keep the socket alive; once the connection is gone every call is a no-op
// and send() returns false). Call it on the loop thread only.
class WsServerConnection {
 public:
  virtual ~WsServerConnection() = default;
  // Queues a text frame. False when closing/closed or when the queue is full. Frames sent from
  // the accept handler are queued and go out right after the upgrade response.
  virtual bool send(std::string text) = 0;
  // Sends what is queued, then a close frame (code, reason); on_close follows with
  // "closed by server (code <code> <reason>)".
  virtual void close(std::uint16_t code = 1000, std::string reason = {}) = 0;
  // Drops the TCP connection without a close frame (simulates a network failure). on_close
  // follows (later, never inside drop()) with "dropped by server".
  virtual void drop() = 0;
  virtual std::uint64_t id() const = 0;
  virtual bool is_open() const = 0;
};

struct WsServerHandlers {
  std::function<void(std::string_view text)> on_message;
  // Exactly once per accepted connection, with why it ended: "closed by client (code 1000)",
  // "closed by server (code 4000 TIMEOUT)", "dropped by server", "server stopped",
  // "read: end of stream", ...
  std::function<void(const std::string& reason)> on_close;
};

// Called for an upgrade request. Fill handlers_out and return true to accept; return false to
// refuse with 404. Without an on_websocket handler every upgrade gets 404.
using WsAcceptHandler = std::function<bool(const ServerRequest&,
                                           std::shared_ptr<WsServerConnection>,
                                           WsServerHandlers& handlers_out)>;

class HttpServer {
 public:
  HttpServer(Loop& loop, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void on_request(RequestHandler handler);
  void on_websocket(WsAcceptHandler handler);

  // Binds and starts accepting. Throws std::runtime_error with a readable message on failure.
  void start();
  // Stops accepting and closes every connection at once (no close frames). Accepted WebSocket
  // connections get on_close("server stopped") before stop() returns. start() may be called
  // again afterwards (a new port when options.port is 0).
  void stop();
  std::uint16_t port() const;
  // Open connections (HTTP and WebSocket).
  std::size_t connection_count() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
