// HttpClient against HttpServer (and against peers that misbehave), over real sockets.
#include "net/http_client.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "test_util.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

HttpServerOptions server_options(bool tls) {
  HttpServerOptions options;
  options.bind_address = "127.0.0.1";
  if (tls) {
    options.tls = true;
    options.cert_pem = test::localhost_cert().cert_pem;
    options.key_pem = test::localhost_cert().key_pem;
  }
  return options;
}

Url url_for(bool tls, std::uint16_t port, const std::string& host = "127.0.0.1") {
  return *parse_url(std::string(tls ? "https" : "http") + "://" + host + ":" +
                    std::to_string(port));
}

// Sends one request and runs the loop until its answer.
HttpResponse exchange(Loop& loop, HttpClient& client, HttpRequest request) {
  std::optional<HttpResponse> got;
  client.request(std::move(request), [&](HttpResponse r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value()) << "the callback must not run inside request()";
  EXPECT_TRUE(run_until(loop, [&] { return got.has_value(); }, 15000ms));
  return got.value_or(HttpResponse{});
}

HttpRequest get(const std::string& target, std::chrono::milliseconds timeout = 5000ms) {
  HttpRequest r;
  r.target = target;
  r.timeout = timeout;
  return r;
}

class HttpRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(HttpRoundTrip, SendsAndReceivesEverything) {
  const bool tls = GetParam();
  Loop loop;
  HttpServer server(loop, server_options(tls));
  ServerRequest seen;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    seen = req;
    respond({202, {{"Content-Type", "application/json"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
             "{\"ok\":true}"});
  });
  server.start();
  test::TempFile ca("ca.pem", test::localhost_cert().cert_pem);
  HttpClient client(loop, url_for(tls, server.port()), TlsClientOptions{true, ca.path()});

  HttpRequest request;
  request.method = "POST";
  request.target = "/api/v1/chat.postMessage?x=%20y";
  request.headers = {{"Content-Type", "application/json"}, {"X-Auth-Token", "secret"}};
  request.body = "{\"text\":\"hello\"}";
  const HttpResponse response = exchange(loop, client, request);

  ASSERT_TRUE(response.ok()) << to_string(response.stage) << ": " << response.error;
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, "{\"ok\":true}");
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.error, "");
  int cookies = 0;
  for (const auto& [name, value] : response.headers) cookies += name == "Set-Cookie";
  EXPECT_EQ(cookies, 2);

  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/api/v1/chat.postMessage?x=%20y");
  EXPECT_EQ(seen.query_param("x"), " y");
  EXPECT_EQ(seen.body, "{\"text\":\"hello\"}");
  EXPECT_EQ(seen.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.header("User-Agent").substr(0, 7), "rcgate/");
  EXPECT_EQ(seen.header("Content-Length"), "16");
  EXPECT_EQ(seen.header("X-Auth-Token"), "secret");
  EXPECT_EQ(client.queued(), 0u);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, HttpRoundTrip, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "https" : "http"; });

TEST(HttpClient, SelfSignedServerFailsAgainstTheSystemCAs) {
  Loop loop;
  HttpServer server(loop, server_options(true));
  int handled = 0;
  server.on_request([&](const ServerRequest&, Respond respond) {
    ++handled;
    respond({200, {}, ""});
  });
  server.start();
  HttpClient client(loop, url_for(true, server.port()));
  const auto response = exchange(loop, client, get("/"));
  EXPECT_FALSE(response.ok());
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.stage, FailStage::Tls);
  EXPECT_EQ(response.error, "tls: certificate verify failed: self-signed certificate");
  EXPECT_EQ(handled, 0);
}

TEST(HttpClient, VerifyOffTalksToAnyCertificate) {
  Loop loop;
  HttpServer server(loop, server_options(true));
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "fine"}); });
  server.start();
  HttpClient client(loop, url_for(true, server.port()), TlsClientOptions{false, ""});
  const auto response = exchange(loop, client, get("/"));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.body, "fine");
}

TEST(HttpClient, HostNameIsVerified) {
  Loop loop;
  auto options = server_options(false);
  const auto other = make_self_signed("chat.example.org");  // SAN: that name and 127.0.0.1
  options.tls = true;
  options.cert_pem = other.cert_pem;
  options.key_pem = other.key_pem;
  HttpServer server(loop, options);
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, ""}); });
  server.start();
  test::TempFile ca("other.pem", other.cert_pem);
  HttpClient by_name(loop, url_for(true, server.port(), "localhost"),
                     TlsClientOptions{true, ca.path()});
  const auto refused = exchange(loop, by_name, get("/"));
  EXPECT_EQ(refused.stage, FailStage::Tls);
  EXPECT_EQ(refused.error, "tls: certificate verify failed: hostname mismatch");
  HttpClient by_ip(loop, url_for(true, server.port()), TlsClientOptions{true, ca.path()});
  EXPECT_TRUE(exchange(loop, by_ip, get("/")).ok());
}

TEST(HttpClient, MissingCaFileIsATlsFailure) {
  Loop loop;
  HttpClient client(loop, *parse_url("https://127.0.0.1:1"),
                    TlsClientOptions{true, "/nonexistent/ca.pem"});
  const auto response = exchange(loop, client, get("/"));
  EXPECT_EQ(response.stage, FailStage::Tls);
  EXPECT_EQ(response.error, "tls: CA file '/nonexistent/ca.pem' does not exist");
}

TEST(HttpClient, QueuedRequestsGoOutInOrderOneAtATimeOnOneConnection) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  int in_flight = 0, max_in_flight = 0;
  std::vector<std::uint16_t> ports;
  std::vector<std::unique_ptr<Timer>> timers;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    max_in_flight = std::max(max_in_flight, ++in_flight);
    ports.push_back(req.remote_port);
    timers.push_back(std::make_unique<Timer>(loop));
    timers.back()->start(10ms, [&, respond, path = req.path] {
      --in_flight;
      respond({200, {}, path});
    });
  });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  std::vector<std::string> answers;
  for (int i = 0; i < 5; ++i) {
    client.request(get("/" + std::to_string(i)), [&](HttpResponse r) { answers.push_back(r.body); });
  }
  EXPECT_EQ(client.queued(), 5u);
  ASSERT_TRUE(run_until(loop, [&] { return answers.size() == 5; }));
  EXPECT_EQ(answers, (std::vector<std::string>{"/0", "/1", "/2", "/3", "/4"}));
  EXPECT_EQ(max_in_flight, 1);
  ASSERT_EQ(ports.size(), 5u);
  for (auto port : ports) EXPECT_EQ(port, ports[0]) << "keep-alive connection reused";
  EXPECT_EQ(client.queued(), 0u);
}

TEST(HttpClient, ReconnectsTransparentlyWhenTheServerClosedTheIdleConnection) {
  for (const bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "https" : "http");
    Loop loop;
    auto options = server_options(tls);
    options.idle_timeout = 100ms;
    HttpServer server(loop, options);
    std::vector<std::uint16_t> ports;
    server.on_request([&](const ServerRequest& req, Respond respond) {
      ports.push_back(req.remote_port);
      respond({200, {}, "ok"});
    });
    server.start();
    test::TempFile ca("ca.pem", test::localhost_cert().cert_pem);
    HttpClient client(loop, url_for(tls, server.port()), TlsClientOptions{true, ca.path()});
    ASSERT_TRUE(exchange(loop, client, get("/first")).ok());
    // The server closes the idle connection; the client only finds out when it reuses it.
    ASSERT_TRUE(run_until(loop, [&] { return server.connection_count() == 0; }));
    const auto second = exchange(loop, client, get("/second"));
    ASSERT_TRUE(second.ok()) << to_string(second.stage) << ": " << second.error;
    EXPECT_EQ(second.body, "ok");
    ASSERT_EQ(ports.size(), 2u) << "each request reached the server exactly once";
    EXPECT_NE(ports[0], ports[1]);
  }
}

TEST(HttpClient, ConnectionCloseFromTheServerMeansANewConnectionNextTime) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  std::vector<std::uint16_t> ports;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    ports.push_back(req.remote_port);
    respond({200, {{"Connection", "close"}}, "once"});
  });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  EXPECT_TRUE(exchange(loop, client, get("/")).ok());
  EXPECT_TRUE(exchange(loop, client, get("/")).ok());
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0], ports[1]);
}

TEST(HttpClient, BodyOverTheServerLimitGets413) {
  Loop loop;
  auto options = server_options(false);
  options.max_body_bytes = 1024;
  HttpServer server(loop, options);
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, ""}); });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  HttpRequest request;
  request.method = "POST";
  request.target = "/upload";
  request.body.assign(512 * 1024, 'x');
  const auto response = exchange(loop, client, request);
  ASSERT_TRUE(response.ok()) << to_string(response.stage) << ": " << response.error;
  EXPECT_EQ(response.status, 413);
  // The connection was closed by the server; the next request still works.
  EXPECT_EQ(exchange(loop, client, get("/")).status, 200);
}

TEST(HttpClient, ServerThatNeverAnswersTimesOut) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  std::vector<Respond> unanswered;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    if (req.path == "/hang") {
      unanswered.push_back(std::move(respond));
    } else {
      respond({200, {}, "awake"});
    }
  });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  const auto start = std::chrono::steady_clock::now();
  const auto response = exchange(loop, client, get("/hang", 300ms));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(response.stage, FailStage::Timeout);
  EXPECT_EQ(response.error, "timeout after 300 ms");
  EXPECT_EQ(response.status, 0);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3000ms);
  // The client starts over on a new connection.
  const auto next = exchange(loop, client, get("/"));
  EXPECT_TRUE(next.ok()) << next.error;
  EXPECT_EQ(next.body, "awake");
}

TEST(HttpClient, TimeoutCoversTheTlsHandshake) {
  Loop loop;
  test::SilentListener silent;
  HttpClient client(loop, url_for(true, silent.port()), TlsClientOptions{false, ""});
  const auto response = exchange(loop, client, get("/", 200ms));
  EXPECT_EQ(response.stage, FailStage::Timeout);
  EXPECT_EQ(response.error, "timeout after 200 ms");
}

TEST(HttpClient, ConnectionRefused) {
  Loop loop;
  HttpClient client(loop, url_for(false, test::refused_port()));
  const auto response = exchange(loop, client, get("/"));
  EXPECT_EQ(response.stage, FailStage::Connect);
  EXPECT_EQ(response.error, "connect: Connection refused");
}

TEST(HttpClient, UnknownHostIsAResolveFailure) {
  Loop loop;
  HttpClient client(loop, *parse_url("http://nonexistent.invalid"));
  const auto response = exchange(loop, client, get("/", 10000ms));
  EXPECT_EQ(response.stage, FailStage::Resolve);
  EXPECT_EQ(response.error.rfind("resolve nonexistent.invalid: ", 0), 0u) << response.error;
}

TEST(HttpClient, ConnectionLostBeforeTheResponseIsAReadFailure) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([&](const ServerRequest&, Respond) { server.stop(); });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  const auto response = exchange(loop, client, get("/"));
  EXPECT_EQ(response.stage, FailStage::Read);
  EXPECT_EQ(response.error, "read: end of stream");
}

TEST(HttpClient, HeadResponsesHaveNoBody) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "12345"}); });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  HttpRequest head = get("/");
  head.method = "HEAD";
  const auto response = exchange(loop, client, head);
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.header("Content-Length"), "5");
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(exchange(loop, client, get("/")).body, "12345");  // the connection is still in sync
}

TEST(HttpClient, CloseFailsEverythingPendingWithClosed) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  std::vector<Respond> held;
  server.on_request([&](const ServerRequest&, Respond respond) { held.push_back(respond); });
  server.start();
  HttpClient client(loop, url_for(false, server.port()));
  std::vector<HttpResponse> answers;
  for (int i = 0; i < 3; ++i) {
    client.request(get("/"), [&](HttpResponse r) { answers.push_back(std::move(r)); });
  }
  ASSERT_TRUE(run_until(loop, [&] { return held.size() == 1; }));
  client.close();
  ASSERT_EQ(answers.size(), 3u) << "called back before close() returns";
  for (const auto& r : answers) {
    EXPECT_EQ(r.stage, FailStage::Closed);
    EXPECT_EQ(r.error, "client closed");
  }
  EXPECT_EQ(client.queued(), 0u);
  // Later requests are refused the same way, on the loop.
  client.request(get("/"), [&](HttpResponse r) { answers.push_back(std::move(r)); });
  EXPECT_EQ(answers.size(), 3u);
  ASSERT_TRUE(run_until(loop, [&] { return answers.size() == 4; }));
  EXPECT_EQ(answers[3].stage, FailStage::Closed);
  // A late answer from the server changes nothing.
  held[0]({200, {}, "late"});
  loop.run_for(50ms);
  EXPECT_EQ(answers.size(), 4u);
}

TEST(HttpClient, NoCallbackAfterDestruction) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  std::vector<Respond> held;
  server.on_request([&](const ServerRequest&, Respond respond) { held.push_back(respond); });
  server.start();
  int called = 0;
  {
    HttpClient client(loop, url_for(false, server.port()));
    client.request(get("/", 100ms), [&](HttpResponse) { ++called; });
    client.request(get("/", 100ms), [&](HttpResponse) { ++called; });
    ASSERT_TRUE(run_until(loop, [&] { return held.size() == 1; }));
  }
  held[0]({200, {}, "late"});
  loop.run_for(300ms);  // past the timeout, too
  EXPECT_EQ(called, 0);
}

TEST(HttpClient, CallbackMayDestroyTheClient) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "x"}); });
  server.start();
  auto client = std::make_unique<HttpClient>(loop, url_for(false, server.port()));
  int called = 0;
  client->request(get("/"), [&](HttpResponse r) {
    ++called;
    EXPECT_TRUE(r.ok());
    client.reset();
  });
  client->request(get("/"), [&](HttpResponse) { ++called; });
  ASSERT_TRUE(run_until(loop, [&] { return client == nullptr; }));
  loop.run_for(50ms);
  EXPECT_EQ(called, 1);
}

TEST(HttpClient, WebSocketSchemesMapToHttp) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([](const ServerRequest& req, Respond respond) { respond({200, {}, req.path}); });
  server.start();
  HttpClient client(loop, *parse_url("ws://127.0.0.1:" + std::to_string(server.port()) + "/x"));
  const auto response = exchange(loop, client, get("/api/info"));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.body, "/api/info");  // the origin's path is ignored
}

}  // namespace
}  // namespace rcgate::net
