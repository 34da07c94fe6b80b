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

// Found by tests/fuzz/fuzz_rest_message: members of an unexpected type used to throw out of
// interpret_response (and so out of the event loop), huge numbers overflowed.
TEST(RestInterpret, FuzzRegressionMembersOfTheWrongTypeAreIgnored) {
  // The fuzzer's own input: "success" a string on a 200.
  auto text_success = interpret_response(
      response(200, R"({"success":"Room not found","errorType":"error-room-not-found"})"), 0);
  EXPECT_TRUE(text_success.ok());
  EXPECT_EQ(text_success.body["errorType"], "error-room-not-found");

  auto numeric_type = interpret_response(
      response(200, R"({"success":false,"errorType":5,"error":["x"]})"), 0);
  EXPECT_FALSE(numeric_type.ok());
  EXPECT_EQ(numeric_type.error, "request failed");
  EXPECT_EQ(numeric_type.error_type, "");

  auto empty_error = interpret_response(response(200, R"({"success":false,"error":""})"), 0);
  EXPECT_FALSE(empty_error.ok());
  EXPECT_EQ(empty_error.error, "request failed");
}

TEST(RestInterpret, FuzzRegressionHugeRateLimitWaitsAreClamped) {
  constexpr std::int64_t year_ms = 365LL * 24 * 3600 * 1000;
  auto huge_text = interpret_response(
      response(429, R"({"success":false,"error":"You must wait 99999999999999999999 seconds [error-too-many-requests]"})"),
      0);
  ASSERT_TRUE(huge_text.retry_after_ms.has_value());
  EXPECT_EQ(*huge_text.retry_after_ms, year_ms);

  auto past = interpret_response(
      response(429, "{}", {{"X-RateLimit-Reset", "-9223372036854775808"}}), 1773136800000);
  ASSERT_TRUE(past.retry_after_ms.has_value());
  EXPECT_EQ(*past.retry_after_ms, 0);

  auto future = interpret_response(
      response(429, "{}", {{"X-RateLimit-Reset", "9223372036854775807"}}), -1773136800000);
  ASSERT_TRUE(future.retry_after_ms.has_value());
  EXPECT_EQ(*future.retry_after_ms, year_ms);

  auto float_wait =
      interpret_response(response(429, R"({"details":{"timeToReset":1e300}})"), 0);
  ASSERT_TRUE(float_wait.retry_after_ms.has_value());
  EXPECT_EQ(*float_wait.retry_after_ms, year_ms);

  auto fraction = interpret_response(response(429, R"({"details":{"timeToReset":1500.7}})"), 0);
  ASSERT_TRUE(fraction.retry_after_ms.has_value());
  EXPECT_EQ(*fraction.retry_after_ms, 1500);

  auto negative = interpret_response(response(429, R"({"details":{"timeToReset":-5}})"), 0);
  ASSERT_TRUE(negative.retry_after_ms.has_value());
  EXPECT_EQ(*negative.retry_after_ms, 0);
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
