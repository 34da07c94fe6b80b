// WsClient against HttpServer's WebSocket side, over real sockets, plain and TLS.
#include <gtest/gtest.h>

#include <memory>

#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "net/ws_client.hpp"
#include "test_util.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

// A WebSocket server that records what happens and echoes text frames back.
struct EchoServer {
  EchoServer(Loop& loop, bool tls, HttpServerOptions options = {}) : server(loop, [&] {
    options.bind_address = "127.0.0.1";
    options.port = 0;
    if (tls) {
      options.tls = true;
      options.cert_pem = test::localhost_cert().cert_pem;
      options.key_pem = test::localhost_cert().key_pem;
    }
    return options;
  }()) {
    server.on_websocket([this](const ServerRequest& req, std::shared_ptr<WsServerConnection> conn,
                               WsServerHandlers& handlers) {
      requests.push_back(req);
      if (req.path != "/websocket") return false;
      for (const auto& text : greetings) greeting_results.push_back(conn->send(text));
      connections.push_back(conn);
      std::weak_ptr<WsServerConnection> weak = conn;
      handlers.on_message = [this, weak](std::string_view text) {
        received.emplace_back(text);
        if (auto c = weak.lock(); c && echo) c->send(std::string(text));
      };
      handlers.on_close = [this](const std::string& reason) { closes.push_back(reason); };
      return true;
    });
    server.start();
    tls_ = tls;
  }

  Url url(const std::string& path = "/websocket", const std::string& host = "127.0.0.1") const {
    return *parse_url(std::string(tls() ? "wss" : "ws") + "://" + host + ":" +
                      std::to_string(server.port()) + path);
  }
  bool tls() const { return tls_; }

  HttpServer server;
  bool tls_ = false;
  bool echo = true;
  std::vector<std::string> greetings;
  std::vector<bool> greeting_results;
  std::vector<ServerRequest> requests;
  std::vector<std::shared_ptr<WsServerConnection>> connections;
  std::vector<std::string> received;
  std::vector<std::string> closes;
};

// What a client saw.
struct ClientLog {
  int opened = 0;
  std::vector<std::string> messages;
  std::vector<std::string> closes;

  WsClientHandlers handlers() {
    WsClientHandlers h;
    h.on_open = [this] { ++opened; };
    h.on_message = [this](std::string_view text) { messages.emplace_back(text); };
    h.on_close = [this](const std::string& reason) { closes.push_back(reason); };
    return h;
  }
};

WsClientOptions trusting_options(const std::string& ca_file) {
  WsClientOptions options;
  options.tls.ca_file = ca_file;
  options.user_agent = "rcgate-test";
  options.connect_timeout = 5000ms;
  return options;
}

class WsEcho : public ::testing::TestWithParam<bool> {};

TEST_P(WsEcho, EchoesTextFramesInOrder) {
  const bool tls = GetParam();
  Loop loop;
  EchoServer server(loop, tls);
  test::TempFile ca("ca.pem", test::localhost_cert().cert_pem);
  ClientLog log;
  auto handlers = log.handlers();
  std::weak_ptr<WsClient> weak_client;
  handlers.on_open = [&] {
    ++log.opened;
    auto client = weak_client.lock();
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(client->send("message " + std::to_string(i)));
  };
  auto client = WsClient::create(loop, server.url(), trusting_options(ca.path()), handlers);
  weak_client = client;
  EXPECT_FALSE(client->is_open());
  EXPECT_FALSE(client->send("too early"));
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.messages.size() == 100 || !log.closes.empty(); }))
      << (log.closes.empty() ? "" : log.closes.front());
  EXPECT_TRUE(client->is_open());
  EXPECT_EQ(log.opened, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(log.messages[i], "message " + std::to_string(i));
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].path, "/websocket");
  EXPECT_EQ(server.requests[0].header("user-agent"), "rcgate-test");
  EXPECT_EQ(server.requests[0].remote_address, "127.0.0.1");
  EXPECT_TRUE(log.closes.empty());

  // A clean close from the client: the server hears it, the client hears nothing more.
  client->close();
  EXPECT_FALSE(client->is_open());
  EXPECT_FALSE(client->send("after close"));
  ASSERT_TRUE(run_until(loop, [&] { return server.closes.size() == 1; }));
  EXPECT_EQ(server.closes[0], "closed by client (code 1000)");
  loop.run_for(50ms);
  EXPECT_TRUE(log.closes.empty());
  EXPECT_FALSE(server.connections[0]->is_open());
  EXPECT_FALSE(server.connections[0]->send("gone"));
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, WsEcho, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "wss" : "ws"; });

TEST(WsClient, ServerGreetingSentFromTheAcceptHandlerArrivesFirst) {
  Loop loop;
  EchoServer server(loop, false);
  server.greetings = {"{\"server_id\":\"0\"}"};
  ClientLog log;
  auto client = WsClient::create(loop, server.url(), {}, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.messages.size() == 1; }));
  EXPECT_EQ(log.messages[0], "{\"server_id\":\"0\"}");
  EXPECT_EQ(server.greeting_results, std::vector<bool>{true});
  client->close();
  loop.run_for(20ms);
}

TEST(WsClient, ServerDropIsSeenAsEndOfStream) {
  for (const bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "wss" : "ws");
    Loop loop;
    EchoServer server(loop, tls);
    test::TempFile ca("ca.pem", test::localhost_cert().cert_pem);
    ClientLog log;
    auto client = WsClient::create(loop, server.url(), trusting_options(ca.path()), log.handlers());
    client->connect();
    ASSERT_TRUE(run_until(loop, [&] { return log.opened == 1 && server.connections.size() == 1; }));
    server.connections[0]->drop();
    EXPECT_TRUE(server.closes.empty()) << "on_close must not run inside drop()";
    ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1 && server.closes.size() == 1; }));
    EXPECT_EQ(log.closes[0], "read: end of stream");
    EXPECT_EQ(server.closes[0], "dropped by server");
    EXPECT_FALSE(client->is_open());
    loop.run_for(50ms);
    EXPECT_EQ(log.closes.size(), 1u);
    EXPECT_EQ(server.closes.size(), 1u);
  }
}

TEST(WsClient, ServerCloseCodeAndReasonAreVisible) {
  Loop loop;
  EchoServer server(loop, false);
  ClientLog log;
  auto client = WsClient::create(loop, server.url(), {}, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return server.connections.size() == 1 && log.opened; }));
  EXPECT_TRUE(server.connections[0]->send("last words"));
  server.connections[0]->close(4000, "TIMEOUT");
  EXPECT_FALSE(server.connections[0]->is_open());
  EXPECT_FALSE(server.connections[0]->send("after close"));
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1 && server.closes.size() == 1; }));
  EXPECT_EQ(log.messages, std::vector<std::string>{"last words"});
  EXPECT_EQ(log.closes[0], "closed by server (code 4000 TIMEOUT)");
  EXPECT_EQ(server.closes[0], "closed by server (code 4000 TIMEOUT)");
}

TEST(WsClient, ServerStopEndsEveryConnection) {
  Loop loop;
  EchoServer server(loop, false);
  ClientLog a, b;
  auto client_a = WsClient::create(loop, server.url(), {}, a.handlers());
  auto client_b = WsClient::create(loop, server.url(), {}, b.handlers());
  client_a->connect();
  client_b->connect();
  ASSERT_TRUE(run_until(loop, [&] { return a.opened && b.opened; }));
  EXPECT_EQ(server.server.connection_count(), 2u);
  server.server.stop();
  EXPECT_EQ(server.closes, (std::vector<std::string>{"server stopped", "server stopped"}));
  ASSERT_TRUE(run_until(loop, [&] { return a.closes.size() == 1 && b.closes.size() == 1; }));
  EXPECT_EQ(a.closes[0], "read: end of stream");
}

TEST(WsClient, RefusedUpgradeIsReadable) {
  Loop loop;
  EchoServer server(loop, false);
  ClientLog log;
  auto client = WsClient::create(loop, server.url("/nope"), {}, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "upgrade: refused with HTTP 404 Not Found for /nope");
  EXPECT_EQ(log.opened, 0);
}

TEST(WsClient, ConnectionRefused) {
  Loop loop;
  ClientLog log;
  auto client = WsClient::create(
      loop, *parse_url("ws://127.0.0.1:" + std::to_string(test::refused_port()) + "/websocket"),
      {}, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "connect: Connection refused");
  loop.run_for(20ms);
  EXPECT_EQ(log.closes.size(), 1u);
}

TEST(WsClient, SilentServerTimesOutDuringTheUpgrade) {
  Loop loop;
  test::SilentListener silent;
  ClientLog log;
  WsClientOptions options;
  options.connect_timeout = 300ms;
  auto client = WsClient::create(
      loop, *parse_url("ws://127.0.0.1:" + std::to_string(silent.port()) + "/websocket"), options,
      log.handlers());
  const auto start = std::chrono::steady_clock::now();
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "timeout after 300 ms (upgrade)");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);
}

TEST(WsClient, TlsSilentServerTimesOutDuringTheHandshake) {
  Loop loop;
  test::SilentListener silent;
  ClientLog log;
  WsClientOptions options;
  options.connect_timeout = 300ms;
  auto client = WsClient::create(
      loop, *parse_url("wss://127.0.0.1:" + std::to_string(silent.port()) + "/websocket"),
      options, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "timeout after 300 ms (tls)");
}

TEST(WsClient, SelfSignedCertificateIsRefusedByDefault) {
  Loop loop;
  EchoServer server(loop, true);
  ClientLog log;
  auto client = WsClient::create(loop, server.url(), {}, log.handlers());  // system CAs
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "tls: certificate verify failed: self-signed certificate");
  EXPECT_EQ(log.opened, 0);
  EXPECT_TRUE(server.requests.empty());
}

TEST(WsClient, VerifyOffAcceptsAnyCertificate) {
  Loop loop;
  EchoServer server(loop, true);
  ClientLog log;
  WsClientOptions options;
  options.tls.verify = false;
  auto client = WsClient::create(loop, server.url(), options, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.opened == 1 || !log.closes.empty(); }));
  EXPECT_TRUE(log.closes.empty()) << log.closes.front();
  client->close();
  loop.run_for(20ms);
}

TEST(WsClient, HostNameMustMatchTheCertificate) {
  Loop loop;
  auto options = HttpServerOptions{};
  // A certificate for another name (its SAN still has IP:127.0.0.1, so "localhost" must fail
  // on the name while "127.0.0.1" passes on the address).
  const auto other = make_self_signed("chat.example.org");
  options.bind_address = "127.0.0.1";
  options.tls = true;
  options.cert_pem = other.cert_pem;
  options.key_pem = other.key_pem;
  HttpServer tls_server(loop, options);
  tls_server.on_websocket([](const ServerRequest&, std::shared_ptr<WsServerConnection>,
                             WsServerHandlers&) { return true; });
  tls_server.start();
  test::TempFile ca("other-ca.pem", other.cert_pem);
  const std::string port = std::to_string(tls_server.port());

  ClientLog by_name;
  auto name_client = WsClient::create(loop, *parse_url("wss://localhost:" + port + "/websocket"),
                                      trusting_options(ca.path()), by_name.handlers());
  name_client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return by_name.closes.size() == 1; }));
  EXPECT_EQ(by_name.closes[0], "tls: certificate verify failed: hostname mismatch");

  ClientLog by_ip;
  auto ip_client = WsClient::create(loop, *parse_url("wss://127.0.0.1:" + port + "/websocket"),
                                    trusting_options(ca.path()), by_ip.handlers());
  ip_client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return by_ip.opened == 1 || !by_ip.closes.empty(); }));
  EXPECT_TRUE(by_ip.closes.empty()) << by_ip.closes.front();
  ip_client->close();
  loop.run_for(20ms);
}

TEST(WsClient, MissingCaFileIsReportedThroughOnClose) {
  Loop loop;
  ClientLog log;
  auto client = WsClient::create(loop, *parse_url("wss://127.0.0.1:1/websocket"),
                                 trusting_options("/nonexistent/ca.pem"), log.handlers());
  client->connect();
  EXPECT_TRUE(log.closes.empty()) << "never inside connect()";
  ASSERT_TRUE(run_until(loop, [&] { return log.closes.size() == 1; }));
  EXPECT_EQ(log.closes[0], "tls: CA file '/nonexistent/ca.pem' does not exist");
}

TEST(WsClient, SendQueueIsBounded) {
  Loop loop;
  EchoServer server(loop, false);
  server.echo = false;
  ClientLog log;
  WsClientOptions options;
  options.max_queued_messages = 3;
  std::vector<bool> results;
  std::weak_ptr<WsClient> weak;
  auto handlers = log.handlers();
  handlers.on_open = [&] {
    auto c = weak.lock();
    for (int i = 0; i < 5; ++i) results.push_back(c->send(std::string(1000, 'a' + i)));
  };
  auto client = WsClient::create(loop, server.url(), options, handlers);
  weak = client;
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return server.received.size() == 3; }));
  EXPECT_EQ(results, (std::vector<bool>{true, true, true, false, false}));
  loop.run_for(30ms);
  EXPECT_EQ(server.received.size(), 3u);
  // Once drained, the queue takes frames again.
  EXPECT_TRUE(client->send("again"));
  ASSERT_TRUE(run_until(loop, [&] { return server.received.size() == 4; }));
  client->close();
  loop.run_for(20ms);
}

TEST(WsServer, SendQueueIsBounded) {
  Loop loop;
  HttpServerOptions options;
  options.max_ws_queued_messages = 2;
  EchoServer server(loop, false, options);
  server.greetings = {"a", "b", "c"};  // queued before the upgrade completes
  ClientLog log;
  auto client = WsClient::create(loop, server.url(), {}, log.handlers());
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return log.messages.size() == 2; }));
  EXPECT_EQ(server.greeting_results, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(log.messages, (std::vector<std::string>{"a", "b"}));
  client->close();
  loop.run_for(20ms);
}

TEST(WsClient, CloseWhileConnectingGivesNoCallback) {
  Loop loop;
  EchoServer server(loop, true);
  ClientLog log;
  auto client = WsClient::create(loop, server.url(), {}, log.handlers());
  client->connect();
  loop.run_for(1ms);
  client->close();
  client.reset();  // the owner lets go at once
  loop.run_for(100ms);
  EXPECT_EQ(log.opened, 0);
  EXPECT_TRUE(log.closes.empty());
}

TEST(WsClient, OwnerMayDropItsPointerRightAfterClose) {
  Loop loop;
  EchoServer server(loop, false);
  ClientLog log;
  std::shared_ptr<WsClient> client;
  auto handlers = log.handlers();
  handlers.on_open = [&] {
    client->send("bye");
    client->close();
    client.reset();  // inside a handler, too
  };
  client = WsClient::create(loop, server.url(), {}, handlers);
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return server.closes.size() == 1; }));
  EXPECT_EQ(server.received, std::vector<std::string>{"bye"});
  EXPECT_EQ(server.closes[0], "closed by client (code 1000)");
  EXPECT_TRUE(log.closes.empty());
}

TEST(WsClient, HandlerMayCloseFromOnMessage) {
  Loop loop;
  EchoServer server(loop, false);
  server.greetings = {"one", "two"};
  ClientLog log;
  std::shared_ptr<WsClient> client;
  auto handlers = log.handlers();
  handlers.on_message = [&](std::string_view text) {
    log.messages.emplace_back(text);
    client->close();
  };
  client = WsClient::create(loop, server.url(), {}, handlers);
  client->connect();
  ASSERT_TRUE(run_until(loop, [&] { return server.closes.size() == 1; }));
  EXPECT_EQ(log.messages, std::vector<std::string>{"one"});
  EXPECT_TRUE(log.closes.empty());
}

}  // namespace
}  // namespace rcgate::net
