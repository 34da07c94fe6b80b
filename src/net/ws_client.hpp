#pragma once
// One WebSocket client connection (ws:// or wss://). Text frames only. Make a new one per
// connection attempt. Handlers run on the loop thread; after close() none is called again.
// Call every method on the loop thread.
//
// Lifetime: the connection keeps itself alive (shared_from_this) while I/O is pending, so the
// owner may drop its shared_ptr right after close(). Handlers should capture a weak_ptr or a
// raw pointer to their owner, not a shared_ptr to this client; the handlers are released when
// the connection ends or close() is called. Destroy clients before the Loop.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/url.hpp"
#include "net/tls.hpp"

namespace rcgate::net {

class Loop;

struct WsClientOptions {
  std::chrono::milliseconds connect_timeout{15000};  // resolve + TCP + TLS + upgrade
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  std::size_t max_queued_messages = 1024;  // send() refuses beyond this ("queue full")
  TlsClientOptions tls;
  std::string user_agent = "rcgate";
};

struct WsClientHandlers {
  std::function<void()> on_open;                          // upgrade done
  std::function<void(std::string_view text)> on_message;  // one text frame
  // Exactly once after connect() unless close() was called first: why the connection ended,
  // e.g. "connect: Connection refused", "tls: certificate verify failed: self-signed
  // certificate", "upgrade: refused with HTTP 404 Not Found for /websocket",
  // "timeout after 15000 ms (tls)", "closed by server (code 4000 TIMEOUT)",
  // "read: end of stream" (the server vanished without a close frame).
  std::function<void(const std::string& reason)> on_close;
};

class WsClient {
 public:
  static std::shared_ptr<WsClient> create(Loop& loop, Url url, WsClientOptions options,
                                          WsClientHandlers handlers);
  virtual ~WsClient() = default;

  // Starts resolve -> connect -> TLS -> upgrade on url.path (exactly), all within
  // connect_timeout. Once open there is no read timeout: the protocol above keeps its own
  // heartbeat.
  virtual void connect() = 0;
  // Queues a text frame. Returns false (and sends nothing) when not open or the queue is full.
  virtual bool send(std::string text) = 0;
  // Starts a clean close (queued frames go out first, then a 1000 close frame); no handler is
  // called after this. During connecting it simply abandons the attempt.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
};

}  // namespace rcgate::net
