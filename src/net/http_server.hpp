#pragma once
// A small HTTP/1.1 server (plain or TLS) with WebSocket upgrade, for rcgate's local API and for
// the simulator. Handlers run on the loop thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/http.hpp"
#include "net/tls.hpp"

namespace rcgate::net {

class Loop;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port())
  bool tls = false;
  TlsServerOptions tls_options;   // files, used when tls and cert_pem is empty
  std::string cert_pem, key_pem;  // in-memory certificate (takes precedence over files)
  std::size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413
  std::chrono::milliseconds idle_timeout{30000};
};

struct ServerResponse {
  int status = 200;
  Headers headers;  // Content-Length is set by the server
  std::string body;
};

using Respond = std::function<void(ServerResponse)>;  // call exactly once, possibly later
using RequestHandler = std::function<void(const ServerRequest&, Respond)>;

// A WebSocket connection accepted by the server.
class WsServerConnection {
 public:
  virtual ~WsServerConnection() = default;
  virtual bool send(std::string text) = 0;  // false when closed or queue full
  // Closes with a WebSocket close frame (code, reason).
  virtual void close(std::uint16_t code = 1000, std::string reason = {}) = 0;
  // Drops the TCP connection without a close frame (simulates a network failure).
  virtual void drop() = 0;
  virtual std::uint64_t id() const = 0;
  virtual bool is_open() const = 0;
};

struct WsServerHandlers {
  std::function<void(std::string_view text)> on_message;
  std::function<void(const std::string& reason)> on_close;  // exactly once
};

// Called for an upgrade request. Return handlers to accept, or std::nullopt-like empty
// on_message to refuse with 404. The connection object is valid until on_close.
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
  void stop();  // stops accepting and closes every connection
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
