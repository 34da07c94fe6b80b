#pragma once
// Internal to src/net: error texts shared by the Beast sessions.
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string>

namespace rcgate::net::detail {

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
