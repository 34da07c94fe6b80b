// How REST answers are understood: success, Rocket.Chat's error bodies, and rate limiting.
#include "rocketchat/rest_client.hpp"

#include <gtest/gtest.h>

#include "support/fixtures.hpp"

namespace rcgate::rc {
namespace {

net::HttpResponse response(int status, std::string body, net::Headers headers = {}) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(RestInterpret, RateLimitFromTheFixtureUsesTheEpochMillisecondsReset) {
  auto fx = test::fixture("rest-429.json")["server"][0];
  net::Headers headers;
  for (auto& [k, v] : fx["headers"].items()) headers.emplace_back(k, v.get<std::string>());
  auto r = response(fx["http_status"], fx["body"].dump(), headers);
  const std::int64_t reset = std::stoll(fx["headers"]["X-RateLimit-Reset"].get<std::string>());
  auto result = interpret_response(r, reset - 36000);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status, 429);
  EXPECT_EQ(result.error_type, "error-too-many-requests");
  ASSERT_TRUE(result.retry_after_ms.has_value());
  EXPECT_EQ(*result.retry_after_ms, 36000);
}

TEST(RestInterpret, RateLimitWithoutHeaderFallsBackToTheText) {
  auto r = response(429, R"({"success":false,"error":"Error, too many requests. Please slow down. You must wait 12 seconds before trying this endpoint again. [error-too-many-requests]"})");
  auto result = interpret_response(r, 0);
  ASSERT_TRUE(result.retry_after_ms.has_value());
  EXPECT_EQ(*result.retry_after_ms, 12000);
}

TEST(RestInterpret, ErrorShapes) {
  auto unauthorized = interpret_response(
      response(401, R"({"status":"error","error":"Unauthorized","message":"Unauthorized"})"), 0);
  EXPECT_EQ(unauthorized.error_type, "Unauthorized");
  EXPECT_EQ(unauthorized.error, "HTTP 401: Unauthorized");

  auto strict = interpret_response(
      response(400, R"({"success":false,"error":"must NOT have additional properties [invalid-params]","errorType":"invalid-params"})"),
      0);
  EXPECT_EQ(strict.error_type, "invalid-params");

  auto bracketed = interpret_response(
      response(400, R"({"success":false,"error":"File size exceeds the allowed limit [error-file-too-large]"})"), 0);
  EXPECT_EQ(bracketed.error_type, "error-file-too-large");

  auto html = interpret_response(response(502, "<html>Bad Gateway</html>"), 0);
  EXPECT_FALSE(html.ok());
  EXPECT_TRUE(html.body.is_null());
  EXPECT_EQ(html.error, "HTTP 502");
}

TEST(RestInterpret, SuccessAndTransportFailure) {
  auto ok = interpret_response(response(200, R"({"version":"8.8","success":true})"), 0);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.body["version"], "8.8");

  net::HttpResponse failed;
  failed.stage = net::FailStage::Tls;
  failed.error = "tls: certificate verify failed: self-signed certificate";
  auto tls = interpret_response(failed, 0);
  EXPECT_FALSE(tls.ok());
  EXPECT_EQ(tls.stage, net::FailStage::Tls);
  EXPECT_EQ(tls.error, failed.error);

  auto legacy = interpret_response(response(200, R"({"success":false,"error":"error-not-allowed"})"), 0);
  EXPECT_FALSE(legacy.ok()) << "an old server's success:false with HTTP 200 is a failure";
}

}  // namespace
}  // namespace rcgate::rc
