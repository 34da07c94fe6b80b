#pragma once
// Plain HTTP message types shared by the client and the server. No Boost here.
#include <chrono>
#include <cstdint>
#include <memory>
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

// A request body produced piece by piece (a file being uploaded), so that memory does not grow
// with the body's size. Its length is known up front (sent as Content-Length). The client calls
// rewind() before it sends the body (again when it must resend it on a fresh connection), then
// read() until size() bytes came. Used on the loop thread only.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Total length in bytes.
  virtual std::uint64_t size() const = 0;
  // Back to the first byte; false (with `error` set) when that is impossible.
  virtual bool rewind(std::string& error) = 0;
  // Copies the next bytes (at most `capacity`) into `buffer` and returns how many; 0 at the end.
  // On failure returns 0 and sets `error` to a sentence ("/x.jpg shrank while it was being sent").
  virtual std::size_t read(char* buffer, std::size_t capacity, std::string& error) = 0;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query, e.g. "/api/v1/me"
  Headers headers;           // Host, Content-Length and User-Agent are filled in by the client
  std::string body;
  std::chrono::milliseconds timeout{30000};  // whole exchange, connecting included
  // When set, the body is streamed from here instead of `body` (which must stay empty), in
  // chunks of 64 KiB: memory use does not depend on the body's size.
  std::shared_ptr<BodySource> body_source;
  // When set, a 2xx response's body is streamed to this file (created or truncated, mode 0600)
  // instead of HttpResponse::body; other statuses keep up to 64 KiB of their body in memory for
  // the error text. A body over response_file_max bytes fails the exchange (FailStage::Read) and
  // the partial file is removed, as it is on any failure.
  std::string response_file;
  std::uint64_t response_file_max = 64ULL * 1024 * 1024;
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
  bool body_in_file = false;    // the body went to request.response_file (body is empty)
  std::uint64_t file_size = 0;  // bytes written there

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
