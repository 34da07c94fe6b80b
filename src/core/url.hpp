#pragma once
// A parsed server address. Pure: no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rcgate {

struct Url {
  std::string scheme;  // "http", "https", "ws" or "wss" (lower case)
  std::string host;    // without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string path;    // always starts with '/'; "/" when the URL has none

  bool secure() const { return scheme == "https" || scheme == "wss"; }
  // "host:port" for Host headers (port omitted when it is the scheme's default).
  std::string host_header() const;
  // The URL as text, e.g. "https://chat.example.org:8443/chat".
  std::string to_string() const;
  // Same origin, other scheme family ("ws"<->"http", "wss"<->"https").
  Url as_http() const;
  Url as_websocket() const;
  // path joined with a sub-path: base "/chat" + "/websocket" -> "/chat/websocket".
  std::string join(std::string_view sub) const;
};

// Parses "scheme://host[:port][/path]". Returns nullopt and sets *error to a sentence a person
// can act on when the text is not such a URL.
std::optional<Url> parse_url(std::string_view text, std::string* error = nullptr);

}  // namespace rcgate
