#pragma once
// An asynchronous HTTP/1.1 client for one origin: keep-alive, one request on the wire at a time,
// the rest queued in order. TLS when the URL is https (verified against the system CAs or
// tls.ca_file, host name included, unless tls.verify is false). Callbacks run on the loop
// thread, never inside request(). Call every method on the loop thread; destroy the client
// before the Loop.
//
// Every request gets Host, User-Agent ("rcgate/<version>") unless given, and Content-Length from
// its body. On failure the response has status 0, a FailStage and a readable error, e.g.
//   Connect "connect: Connection refused"
//   Tls     "tls: certificate verify failed: self-signed certificate"
//   Timeout "timeout after 2000 ms"  (request.timeout covers resolving and connecting too)
//   Write   "request body: /x.jpg shrank while it was being sent (1000 of 5000 bytes)"
//   Read    "response body larger than the limit of 1048576 bytes"  (response_file_max)
//
// Large bodies stream both ways in 64 KiB chunks (HttpRequest::body_source, response_file): the
// client's memory does not grow with them. A streamed body whose write fails (a proxy refusing
// it early) still yields the server's answer when one arrived, e.g. 413.
#include <functional>
#include <memory>

#include "core/url.hpp"
#include "net/http.hpp"
#include "net/tls.hpp"

namespace rcgate::net {

class Loop;

class HttpClient {
 public:
  using Callback = std::function<void(HttpResponse)>;

  // origin: scheme (http/https, ws/wss accepted and mapped), host and port; its path is ignored.
  HttpClient(Loop& loop, Url origin, TlsClientOptions tls = {});
  ~HttpClient();  // pending callbacks are not called after destruction
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request; the callback is called exactly once (unless the client is destroyed).
  // A keep-alive connection that the server closed is reopened transparently once.
  void request(HttpRequest request, Callback callback);

  // Fails the request in flight and the queued ones with FailStage::Closed ("client closed"),
  // calling their callbacks before it returns, and closes the connection. Final: later requests
  // fail the same way (called back on the loop).
  void close();

  // Requests not yet answered (in flight and waiting).
  std::size_t queued() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
