#include "core/url.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rcgate {

namespace {

std::uint16_t default_port(std::string_view scheme) {
  return (scheme == "https" || scheme == "wss") ? 443 : 80;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool valid_host_name(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_ipv6_literal(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isxdigit(c) || c == ':' || c == '.';
  });
}

std::optional<Url> fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::string Url::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::to_string() const { return scheme + "://" + host_header() + path; }

Url Url::as_http() const {
  Url out = *this;
  if (scheme == "ws") out.scheme = "http";
  if (scheme == "wss") out.scheme = "https";
  return out;
}

Url Url::as_websocket() const {
  Url out = *this;
  if (scheme == "http") out.scheme = "ws";
  if (scheme == "https") out.scheme = "wss";
  return out;
}

std::string Url::join(std::string_view sub) const {
  std::string out = path.empty() ? "/" : path;
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!sub.empty() && sub.front() == '/') sub.remove_prefix(1);
  out += '/';
  out += sub;
  return out;
}

std::optional<Url> parse_url(std::string_view input, std::string* error) {
  const std::string_view text = trim(input);
  const std::string quoted = "'" + std::string(text) + "'";
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return fail(error, "expected an http(s):// or ws(s):// URL, got " + quoted);
  }
  Url url;
  url.scheme = core::ascii_lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https" && url.scheme != "ws" && url.scheme != "wss") {
    return fail(error, "unsupported scheme '" + url.scheme + "' in " + quoted +
                           " (expected http, https, ws or wss)");
  }
  std::string_view rest = text.substr(sep + 3);
  if (std::any_of(rest.begin(), rest.end(), is_space)) {
    return fail(error, "URL " + quoted + " contains whitespace");
  }
  if (rest.find('#') != std::string_view::npos) {
    return fail(error, "URL " + quoted + " has a #fragment; give the server address only");
  }

  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? std::string_view{}
                                                               : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return fail(error, "URL " + quoted +
                           " contains credentials (user@host); put them in the configuration "
                           "instead");
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return fail(error, "URL " + quoted + " has an IPv6 address without a closing ']'");
    }
    host = authority.substr(1, close - 1);
    if (!valid_ipv6_literal(host)) {
      return fail(error, "URL " + quoted + " has an invalid IPv6 address '" + std::string(host) +
                             "'");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return fail(error, "URL " + quoted + ": unexpected '" + std::string(after) +
                               "' after the IPv6 address");
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (!valid_host_name(host)) {
      return fail(error, "URL " + quoted + " has an invalid host name '" + std::string(host) +
                             "'");
    }
  }
  if (host.empty()) return fail(error, "URL " + quoted + " has no host name");

  url.host = core::ascii_lower(host);
  url.port = default_port(url.scheme);
  if (has_port) {
    unsigned value = 0;
    const auto* begin = port_text.data();
    const auto* end = begin + port_text.size();
    const auto result = std::from_chars(begin, end, value);
    if (port_text.empty() || result.ec != std::errc{} || result.ptr != end) {
      return fail(error, "URL " + quoted + " has an invalid port '" + std::string(port_text) +
                             "' (expected a number 1-65535)");
    }
    if (value == 0 || value > 65535) {
      return fail(error, "URL " + quoted + ": port " + std::string(port_text) +
                             " is out of range (1-65535)");
    }
    url.port = static_cast<std::uint16_t>(value);
  }

  url.path = std::string(path);
  if (url.path.empty() || url.path.front() != '/') url.path.insert(0, "/");
  return url;
}

}  // namespace rcgate
