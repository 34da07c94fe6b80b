#include "net/http.hpp"

#include <gtest/gtest.h>

namespace rcgate::net {
namespace {

TEST(Http, FindHeaderIgnoresCase) {
  const Headers headers{{"Content-Type", "application/json"}, {"X-Auth-Token", "t"}};
  EXPECT_EQ(find_header(headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(headers, "X-AUTH-TOKEN"), "t");
  EXPECT_EQ(find_header(headers, "X-User-Id"), "");
  HttpResponse response;
  response.headers = headers;
  EXPECT_EQ(response.header("CONTENT-type"), "application/json");
}

TEST(Http, FailStageNames) {
  EXPECT_STREQ(to_string(FailStage::None), "none");
  EXPECT_STREQ(to_string(FailStage::Resolve), "resolve");
  EXPECT_STREQ(to_string(FailStage::Connect), "connect");
  EXPECT_STREQ(to_string(FailStage::Tls), "tls");
  EXPECT_STREQ(to_string(FailStage::Write), "write");
  EXPECT_STREQ(to_string(FailStage::Read), "read");
  EXPECT_STREQ(to_string(FailStage::Timeout), "timeout");
  EXPECT_STREQ(to_string(FailStage::Closed), "closed");
}

TEST(Http, ResponseOkNeedsAStatusAndNoFailure) {
  HttpResponse r;
  EXPECT_FALSE(r.ok());
  r.status = 404;
  EXPECT_TRUE(r.ok());  // a transport success; the status says the rest
  r.stage = FailStage::Read;
  EXPECT_FALSE(r.ok());
}

TEST(Http, UrlDecode) {
  EXPECT_EQ(url_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(url_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(url_decode("J%C3%B6rg", true), "J\xC3\xB6rg");
  EXPECT_EQ(url_decode("100%", true), "100%");
  EXPECT_EQ(url_decode("%zz%4", true), "%zz%4");
  EXPECT_EQ(url_decode("%2f%2F", true), "//");
}

TEST(Http, SplitTarget) {
  std::string path, query;
  split_target("/api/v1/me?x=1&y=2", path, query);
  EXPECT_EQ(path, "/api/v1/me");
  EXPECT_EQ(query, "x=1&y=2");
  split_target("/plain", path, query);
  EXPECT_EQ(path, "/plain");
  EXPECT_EQ(query, "");
}

TEST(Http, QueryParam) {
  ServerRequest r;
  r.query = "name=J%C3%B6rg+Smith&empty=&flag&a%20b=c%26d&dup=1&dup=2";
  EXPECT_EQ(r.query_param("name"), "J\xC3\xB6rg Smith");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_EQ(r.query_param("a b"), "c&d");
  EXPECT_EQ(r.query_param("dup"), "1");
  EXPECT_EQ(r.query_param("missing"), "");
  EXPECT_EQ(r.query_param("nam"), "");
}

}  // namespace
}  // namespace rcgate::net
