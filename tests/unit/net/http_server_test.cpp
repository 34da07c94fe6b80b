// The server against a raw TCP client: the bytes on the wire are exactly what the test wrote.
#include "net/http_server.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "net/loop.hpp"
#include "test_util.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;
using test::on_thread;
using test::RawClient;
using test::run_until;

HttpServerOptions local_options() {
  HttpServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  return options;
}

TEST(HttpServer, ParsesTheRequestAndAnswers) {
  Loop loop;
  HttpServer server(loop, local_options());
  ServerRequest seen;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    seen = req;
    respond(ServerResponse{201, {{"Content-Type", "text/plain"}, {"X-Reply", "yes"}}, "made"});
  });
  server.start();
  ASSERT_NE(server.port(), 0);

  const std::string response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send(
        "POST /items/new?name=J%C3%B6rg+Smith&x=1 HTTP/1.1\r\nHost: h\r\nX-Custom: abc\r\n"
        "Content-Length: 5\r\n\r\nhello");
    return client.read_response();
  });
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/items/new?name=J%C3%B6rg+Smith&x=1");
  EXPECT_EQ(seen.path, "/items/new");
  EXPECT_EQ(seen.query, "name=J%C3%B6rg+Smith&x=1");
  EXPECT_EQ(seen.query_param("name"), "J\xC3\xB6rg Smith");
  EXPECT_EQ(seen.query_param("x"), "1");
  EXPECT_EQ(seen.header("x-custom"), "abc");
  EXPECT_EQ(seen.body, "hello");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
  EXPECT_NE(seen.remote_port, 0);

  EXPECT_EQ(response.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("X-Reply: yes\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("Content-Length: 4\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 4), "made");
}

TEST(HttpServer, KeepsTheConnectionAliveAcrossRequests) {
  Loop loop;
  HttpServer server(loop, local_options());
  std::vector<std::uint16_t> ports;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    ports.push_back(req.remote_port);
    respond(ServerResponse{200, {}, req.path});
  });
  server.start();
  const auto [first, second] = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n");
    auto a = client.read_response();
    client.send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n");
    auto b = client.read_response();
    return std::pair{a, b};
  });
  EXPECT_NE(first.find("\r\n\r\n/one"), std::string::npos) << first;
  EXPECT_NE(second.find("\r\n\r\n/two"), std::string::npos) << second;
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0], ports[1]);
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "bye"}); });
  server.start();
  const bool closed = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const auto r = client.read_response();
    return r.find("Connection: close") != std::string::npos && client.wait_closed();
  });
  EXPECT_TRUE(closed);
}

TEST(HttpServer, AnswersLaterAndOnlyOnce) {
  Loop loop;
  HttpServer server(loop, local_options());
  Timer later(loop);
  server.on_request([&](const ServerRequest&, Respond respond) {
    later.start(50ms, [respond] {
      respond({200, {}, "first"});
      respond({500, {}, "second"});  // ignored
    });
  });
  server.start();
  const auto [a, b] = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    auto first = client.read_response();
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    auto second = client.read_response();
    return std::pair{first, second};
  });
  EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
  EXPECT_EQ(a.substr(a.size() - 5), "first");
  EXPECT_EQ(b.rfind("HTTP/1.1 200", 0), 0u) << b;
  EXPECT_EQ(b.substr(b.size() - 5), "first");
}

TEST(HttpServer, NoHandlerMeans404) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.start();
  const auto response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 404", 0), 0u) << response;
}

TEST(HttpServer, HandlerExceptionMeans500) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.on_request([](const ServerRequest&, Respond) { throw std::runtime_error("boom"); });
  server.start();
  const auto response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 500", 0), 0u) << response;
}

TEST(HttpServer, BodyOverTheLimitGets413AndTheClientCanFinishSending) {
  Loop loop;
  auto options = local_options();
  options.max_body_bytes = 1024;
  HttpServer server(loop, options);
  bool called = false;
  server.on_request([&](const ServerRequest&, Respond respond) {
    called = true;
    respond({200, {}, ""});
  });
  server.start();
  const auto [sent, response] = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    const std::string body(256 * 1024, 'x');
    const bool ok = client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body);
    return std::pair{ok, client.read_response()};
  });
  EXPECT_TRUE(sent);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_NE(response.find("request body larger than 1024 bytes"), std::string::npos);
  EXPECT_FALSE(called);
}

TEST(HttpServer, ErrorResponseShapesTheServersOwnAnswers) {
  Loop loop;
  auto options = local_options();
  options.max_body_bytes = 1024;
  std::vector<std::pair<int, std::string>> asked;
  options.error_response = [&](int status, const std::string& message) {
    asked.emplace_back(status, message);
    return ServerResponse{status, {{"Content-Type", "application/json"}},
                          "{\"error\":\"" + message + "\"}"};
  };
  HttpServer server(loop, options);
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, ""}); });
  server.start();
  const auto [too_large, malformed] = on_thread(loop, [port = server.port()] {
    RawClient a(port);
    a.send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" +
           std::string(5000, 'x'));
    RawClient b(port);
    b.send("GET / HTTP/1.1\r\nHost h\r\n\r\n");
    return std::pair{a.read_response(), b.read_response()};
  });
  EXPECT_EQ(too_large.rfind("HTTP/1.1 413", 0), 0u) << too_large;
  EXPECT_NE(too_large.find("Content-Type: application/json"), std::string::npos) << too_large;
  EXPECT_NE(too_large.find("Connection: close"), std::string::npos) << too_large;
  EXPECT_NE(too_large.find("{\"error\":\"request body larger than 1024 bytes\"}"),
            std::string::npos)
      << too_large;
  EXPECT_EQ(malformed.rfind("HTTP/1.1 400", 0), 0u) << malformed;
  ASSERT_EQ(asked.size(), 2u);
}

// The idle timeout guards reads and writes; a handler that answers much later (a long poll)
// is not cut by it.
TEST(HttpServer, AHandlerMayAnswerLongAfterTheIdleTimeout) {
  Loop loop;
  auto options = local_options();
  options.idle_timeout = 100ms;
  HttpServer server(loop, options);
  Timer later(loop);
  server.on_request([&](const ServerRequest&, Respond respond) {
    later.start(600ms, [respond] { respond({200, {}, "late"}); });
  });
  server.start();
  const auto response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_EQ(response.substr(response.size() - 4), "late");
}

// A client that went away before its answer: the late answer is dropped quietly.
TEST(HttpServer, AnAnswerAfterTheClientLeftIsHarmless) {
  Loop loop;
  HttpServer server(loop, local_options());
  Respond kept;
  server.on_request([&](const ServerRequest&, Respond respond) { kept = std::move(respond); });
  server.start();
  on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
  });
  ASSERT_TRUE(run_until(loop, [&] { return static_cast<bool>(kept); }));
  kept({200, {}, std::string(256 * 1024, 'x')});
  EXPECT_TRUE(run_until(loop, [&] { return server.connection_count() == 0; }));
}

TEST(HttpServer, MalformedRequestGets400) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.start();
  const auto response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost h\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
}

TEST(HttpServer, IdleConnectionsAreClosed) {
  Loop loop;
  auto options = local_options();
  options.idle_timeout = 100ms;
  HttpServer server(loop, options);
  server.start();
  const auto start = std::chrono::steady_clock::now();
  const bool closed = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    return client.wait_closed();
  });
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3000ms);
  EXPECT_TRUE(run_until(loop, [&] { return server.connection_count() == 0; }));
}

TEST(HttpServer, StopClosesOpenConnections) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "x"}); });
  server.start();
  const auto port = server.port();
  auto future = std::async(std::launch::async, [port] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    client.read_response();
    return client.wait_closed();
  });
  ASSERT_TRUE(run_until(loop, [&] { return server.connection_count() == 1; }));
  loop.run_for(50ms);  // the response goes out
  server.stop();
  EXPECT_EQ(server.connection_count(), 0u);
  run_until(loop, [&] { return future.wait_for(0ms) == std::future_status::ready; });
  EXPECT_TRUE(future.get());
  // Nobody listens any more.
  EXPECT_THROW(RawClient{port}, std::runtime_error);
}

TEST(HttpServer, CanStartAgainAfterStop) {
  Loop loop;
  HttpServer server(loop, local_options());
  server.on_request([](const ServerRequest&, Respond respond) { respond({200, {}, "again"}); });
  server.start();
  server.stop();
  server.start();
  const auto response = on_thread(loop, [port = server.port()] {
    RawClient client(port);
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
}

TEST(HttpServer, StartFailsReadablyWhenThePortIsTaken) {
  Loop loop;
  HttpServer first(loop, local_options());
  first.start();
  auto options = local_options();
  options.port = first.port();
  HttpServer second(loop, options);
  try {
    second.start();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" +
                                         std::to_string(first.port())),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

TEST(HttpServer, StartFailsReadablyOnABadAddressOrCertificate) {
  Loop loop;
  auto options = local_options();
  options.bind_address = "localhost:80";
  HttpServer bad_address(loop, options);
  EXPECT_THROW(
      {
        try {
          bad_address.start();
        } catch (const std::runtime_error& e) {
          EXPECT_NE(std::string(e.what()).find("invalid bind address 'localhost:80'"),
                    std::string::npos);
          throw;
        }
      },
      std::runtime_error);

  auto tls = local_options();
  tls.tls = true;
  tls.tls_options.cert_file = "/nonexistent/cert.pem";
  tls.tls_options.key_file = "/nonexistent/key.pem";
  HttpServer bad_cert(loop, tls);
  try {
    bad_cert.start();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("certificate file '/nonexistent/cert.pem' does not exist"),
              std::string::npos)
        << e.what();
  }
}

TEST(HttpServer, SelfSignedTlsServerStarts) {
  Loop loop;
  auto options = local_options();
  options.tls = true;
  const auto cert = make_self_signed("localhost");
  EXPECT_EQ(cert.cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  EXPECT_NE(cert.key_pem.find("PRIVATE KEY-----"), std::string::npos);
  options.cert_pem = cert.cert_pem;
  options.key_pem = cert.key_pem;
  HttpServer server(loop, options);
  EXPECT_NO_THROW(server.start());

  // A key from another certificate is refused with a clear reason.
  auto mismatched = options;
  mismatched.key_pem = make_self_signed("other").key_pem;
  HttpServer wrong(loop, mismatched);
  try {
    wrong.start();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("private key does not match"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rcgate::net
