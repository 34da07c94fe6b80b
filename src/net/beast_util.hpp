#pragma once
// Internal to src/net: what the Beast sessions share — the namespace shorthands they are written
// with, the two kinds of stream a session template is made for, and error texts.
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string>
#include <type_traits>

namespace rcgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

}  // namespace rcgate::net

namespace rcgate::net::detail {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
inline constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// "code 4000 TIMEOUT", "code 1000", or "no status code".
inline std::string close_description(const boost::beast::websocket::close_reason& reason) {
  if (reason.code == boost::beast::websocket::close_code::none) return "no status code";
  std::string text = "code " + std::to_string(reason.code);
  if (!reason.reason.empty()) {
    text += " ";
    text.append(reason.reason.data(), reason.reason.size());
  }
  return text;
}

// A peer that vanishes without a goodbye shows up as EOF (plain) or a truncated TLS stream;
// both read the same to a person.
inline bool is_end_of_stream(const boost::beast::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::beast::http::error::end_of_stream ||
         ec == boost::asio::ssl::error::stream_truncated;
}

inline std::string io_error_text(const char* what, const boost::beast::error_code& ec) {
  return std::string(what) + ": " + (is_end_of_stream(ec) ? "end of stream" : ec.message());
}

}  // namespace rcgate::net::detail
