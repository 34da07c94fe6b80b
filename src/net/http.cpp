#include "net/http.hpp"

#include <cctype>

namespace rcgate::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

const char* to_string(FailStage stage) {
  switch (stage) {
    case FailStage::None: return "none";
    case FailStage::Resolve: return "resolve";
    case FailStage::Connect: return "connect";
    case FailStage::Tls: return "tls";
    case FailStage::Write: return "write";
    case FailStage::Read: return "read";
    case FailStage::Timeout: return "timeout";
    case FailStage::Closed: return "closed";
  }
  return "unknown";
}

std::string url_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_as_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;  // a stray '%' is kept as is rather than refused
    }
  }
  return out;
}

void split_target(std::string_view target, std::string& path, std::string& query) {
  const auto mark = target.find('?');
  path = std::string(target.substr(0, mark));
  query = mark == std::string_view::npos ? std::string() : std::string(target.substr(mark + 1));
}

std::string ServerRequest::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string key = url_decode(pair.substr(0, eq), true);
    if (key == name) {
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), true);
    }
  }
  return {};
}

}  // namespace rcgate::net
