#pragma once
// The asynchronous HTTP client handed to plugins, so that they need no Boost. Absolute URLs;
// rcgate keeps one keep-alive connection per origin. Callbacks run on rcgate's loop thread.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace rcgate {

struct HttpCall {
  std::string method = "GET";
  std::string url;  // absolute: http(s)://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  bool verify_tls = true;  // false only when the operator configured it for this service
  std::string ca_file;     // extra CA (PEM) for this service; empty: system CAs
};

struct HttpResult {
  int status = 0;  // 0: no response (error says why)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;  // empty when a response arrived
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class PluginHttpClient {
 public:
  virtual ~PluginHttpClient() = default;
  virtual void request(HttpCall call, std::function<void(HttpResult)> done) = 0;
};

}  // namespace rcgate
