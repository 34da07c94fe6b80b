#include "core/url.hpp"

#include <gtest/gtest.h>

namespace rcgate {
namespace {

struct GoodCase {
  const char* text;
  const char* scheme;
  const char* host;
  std::uint16_t port;
  const char* path;
  const char* host_header;
  const char* round_trip;
};

class ParseUrlGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseUrlGood, ParsesEveryPart) {
  const auto& c = GetParam();
  std::string error;
  const auto url = parse_url(c.text, &error);
  ASSERT_TRUE(url.has_value()) << c.text << ": " << error;
  EXPECT_EQ(url->scheme, c.scheme);
  EXPECT_EQ(url->host, c.host);
  EXPECT_EQ(url->port, c.port);
  EXPECT_EQ(url->path, c.path);
  EXPECT_EQ(url->host_header(), c.host_header);
  EXPECT_EQ(url->to_string(), c.round_trip);
  EXPECT_TRUE(error.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlGood,
    ::testing::Values(
        GoodCase{"https://chat.example.org", "https", "chat.example.org", 443, "/",
                 "chat.example.org", "https://chat.example.org/"},
        GoodCase{"http://chat.example.org", "http", "chat.example.org", 80, "/", "chat.example.org",
                 "http://chat.example.org/"},
        GoodCase{"ws://127.0.0.1:3000/websocket", "ws", "127.0.0.1", 3000, "/websocket",
                 "127.0.0.1:3000", "ws://127.0.0.1:3000/websocket"},
        GoodCase{"wss://chat.example.org/chat/websocket", "wss", "chat.example.org", 443,
                 "/chat/websocket", "chat.example.org", "wss://chat.example.org/chat/websocket"},
        GoodCase{"HTTPS://Chat.Example.ORG:8443/chat", "https", "chat.example.org", 8443, "/chat",
                 "chat.example.org:8443", "https://chat.example.org:8443/chat"},
        GoodCase{"https://chat.example.org:443/", "https", "chat.example.org", 443, "/",
                 "chat.example.org", "https://chat.example.org/"},
        GoodCase{"http://[::1]:8080/api", "http", "::1", 8080, "/api", "[::1]:8080",
                 "http://[::1]:8080/api"},
        GoodCase{"wss://[2001:db8::7]", "wss", "2001:db8::7", 443, "/", "[2001:db8::7]",
                 "wss://[2001:db8::7]/"},
        GoodCase{"  http://localhost:3000  ", "http", "localhost", 3000, "/", "localhost:3000",
                 "http://localhost:3000/"},
        GoodCase{"http://localhost?x=1", "http", "localhost", 80, "/?x=1", "localhost",
                 "http://localhost/?x=1"},
        GoodCase{"http://my_host.lan:65535/a/b/", "http", "my_host.lan", 65535, "/a/b/",
                 "my_host.lan:65535", "http://my_host.lan:65535/a/b/"}));

struct BadCase {
  const char* text;
  const char* expected_fragment;
};

class ParseUrlBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseUrlBad, RefusesWithAReadableError) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(parse_url(c.text, &error).has_value()) << c.text;
  EXPECT_NE(error.find(c.expected_fragment), std::string::npos)
      << "input: " << c.text << "\nerror: " << error;
  // Refusing without an error pointer must work too.
  EXPECT_FALSE(parse_url(c.text).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlBad,
    ::testing::Values(
        BadCase{"chat.example.org", "expected an http(s):// or ws(s):// URL, got 'chat.example.org'"},
        BadCase{"", "expected an http(s):// or ws(s):// URL, got ''"},
        BadCase{"ftp://chat.example.org", "unsupported scheme 'ftp'"},
        BadCase{"https://", "has no host name"},
        BadCase{"https://:8443/", "has no host name"},
        BadCase{"https://chat.example.org:0", "port 0 is out of range"},
        BadCase{"https://chat.example.org:65536", "port 65536 is out of range"},
        BadCase{"https://chat.example.org:99999999999", "invalid port '99999999999'"},
        BadCase{"https://chat.example.org:abc", "invalid port 'abc'"},
        BadCase{"https://chat.example.org:", "invalid port ''"},
        BadCase{"https://user:pw@chat.example.org", "contains credentials"},
        BadCase{"https://[::1", "without a closing ']'"},
        BadCase{"https://[zz::1]/", "invalid IPv6 address 'zz::1'"},
        BadCase{"https://[::1]x/", "unexpected 'x'"},
        BadCase{"https://chat example.org", "contains whitespace"},
        BadCase{"https://chat.example.org/#top", "#fragment"},
        BadCase{"https://chat!.example.org/", "invalid host name 'chat!.example.org'"}));

TEST(Url, SchemeFamiliesMapBothWays) {
  auto url = *parse_url("wss://chat.example.org:8443/chat");
  EXPECT_EQ(url.as_http().to_string(), "https://chat.example.org:8443/chat");
  EXPECT_EQ(url.as_http().as_websocket().to_string(), "wss://chat.example.org:8443/chat");
  EXPECT_EQ(parse_url("ws://h")->as_http().scheme, "http");
  EXPECT_EQ(parse_url("http://h")->as_websocket().scheme, "ws");
  EXPECT_EQ(parse_url("https://h")->as_http().scheme, "https");
  EXPECT_TRUE(parse_url("wss://h")->secure());
  EXPECT_TRUE(parse_url("https://h")->secure());
  EXPECT_FALSE(parse_url("ws://h")->secure());
  EXPECT_FALSE(parse_url("http://h")->secure());
}

TEST(Url, JoinAddsExactlyOneSlash) {
  EXPECT_EQ(parse_url("https://h")->join("/websocket"), "/websocket");
  EXPECT_EQ(parse_url("https://h/")->join("websocket"), "/websocket");
  EXPECT_EQ(parse_url("https://h/chat")->join("/websocket"), "/chat/websocket");
  EXPECT_EQ(parse_url("https://h/chat/")->join("/websocket"), "/chat/websocket");
  EXPECT_EQ(parse_url("https://h/chat")->join("api/v1/me"), "/chat/api/v1/me");
}

}  // namespace
}  // namespace rcgate
