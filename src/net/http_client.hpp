#pragma once
// An asynchronous HTTP/1.1 client for one origin: keep-alive, one request on the wire at a time,
// the rest queued in order. TLS when the URL is https. Callbacks run on the loop thread.
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

  // Fails queued requests with FailStage::Closed and closes the connection.
  void close();

  std::size_t queued() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rcgate::net
