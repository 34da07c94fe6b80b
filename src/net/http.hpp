#pragma once
// Plain HTTP message types shared by the client and the server. No Boost here.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rcgate::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; empty when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

// Percent-decoding ("%2F" -> "/"); with plus_as_space, '+' becomes ' ' (query strings and forms).
std::string url_decode(std::string_view text, bool plus_as_space);
// "/a/b?x=1" -> path "/a/b", query "x=1".
void split_target(std::string_view target, std::string& path, std::string& query);

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query, e.g. "/api/v1/me"
  Headers headers;           // Host, Content-Length and User-Agent are filled in by the client
  std::string body;
  std::chrono::milliseconds timeout{30000};  // whole exchange, connecting included
};

// Where a client request failed before a response arrived.
enum class FailStage { None, Resolve, Connect, Tls, Write, Read, Timeout, Closed };
const char* to_string(FailStage stage);

struct HttpResponse {
  int status = 0;  // 0 when the exchange failed (see stage and error)
  Headers headers;
  std::string body;
  FailStage stage = FailStage::None;
  std::string error;  // transport error a person can read, e.g. "tls: certificate verify failed
                      // (self-signed certificate)"; empty on success

  bool ok() const { return stage == FailStage::None && status != 0; }
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// A request as a server sees it.
struct ServerRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string query;   // after '?', undecoded
  Headers headers;
  std::string body;
  std::string remote_address;  // peer IP address, e.g. "127.0.0.1"
  std::uint16_t remote_port = 0;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  // Decoded value of a query parameter; empty when absent.
  std::string query_param(std::string_view name) const;
};

}  // namespace rcgate::net
