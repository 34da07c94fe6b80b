#pragma once
// Test helpers for plugins: the real HTTP client (app::LoopHttpClient) on a real loop, a
// loopback HTTP server that records what it was sent, a clock the test moves by hand, a log
// that keeps its lines, and a fixture that starts one plugin and asks its engine.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/plugin_host.hpp"
#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::plugin_test {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// Runs the loop in short slices until done() or the timeout; returns done().
bool run_until(net::Loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = 5000ms);

net::ServerResponse json_response(int status, const Json& body);
net::ServerResponse text_response(int status, std::string body,
                                  std::string content_type = "text/plain; charset=utf-8");

// An HTTP server on 127.0.0.1 (any free port) that records every request and answers through
// the handler (which may keep `respond` and answer later, or never).
class FakeServer {
 public:
  using Handler = std::function<void(const net::ServerRequest&, net::Respond)>;
  FakeServer(net::Loop& loop, Handler handler);
  ~FakeServer();
  void set_handler(Handler handler) { *handler_ = std::move(handler); }
  std::uint16_t port() const { return server_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  void stop() { server_.stop(); }

  std::vector<net::ServerRequest> requests;
  Json body_json(std::size_t index) const;  // requests[index].body parsed (discarded if invalid)

 private:
  std::shared_ptr<Handler> handler_;
  net::HttpServer server_;
};

// A port on 127.0.0.1 where nothing listens (connections are refused).
std::uint16_t closed_port(net::Loop& loop);

// Answers every exchange a fake server held back (503 "test over") and lets the loop deliver
// them, so that no exchange outlives the test.
void release_held(net::Loop& loop, std::vector<net::Respond>& held);

class CapturingLog final : public PluginLog {
 public:
  void debug(const std::string& text) override { lines.push_back("debug: " + text); }
  void info(const std::string& text) override { lines.push_back("info: " + text); }
  void warn(const std::string& text) override { lines.push_back("warn: " + text); }
  void error(const std::string& text) override { lines.push_back("error: " + text); }
  bool contains(const std::string& part) const;
  std::string all() const;
  std::vector<std::string> lines;
};

// Real timers; a wall clock that only moves when the test says so.
class ManualClock final : public Scheduler {
 public:
  explicit ManualClock(net::Loop& loop) : timers_(loop) {}
  std::unique_ptr<TimerHandle> after(std::chrono::milliseconds delay,
                                     std::function<void()> fn) override {
    return timers_.after(delay, std::move(fn));
  }
  std::int64_t now_ms() const override { return now_; }
  void advance(std::chrono::milliseconds by) { now_ += by.count(); }

 private:
  app::LoopScheduler timers_;
  std::int64_t now_ = 1'790'000'000'000;
};

// A PluginContext with rcgate's real HTTP client, a manual clock and a capturing log.
class TestContext final : public PluginContext {
 public:
  TestContext(net::Loop& loop, Json config);
  const Json& config() const override { return config_; }
  PluginLog& log() override { return log_; }
  PluginHttpClient& http() override { return http_; }
  Scheduler& scheduler() override { return clock_; }
  void provide_engine(std::shared_ptr<InteractionEngine> engine) override {
    engines.push_back(std::move(engine));
  }
  std::string state_dir() const override { return "/tmp"; }

  Json config_;
  CapturingLog log_;
  app::LoopHttpClient http_;
  ManualClock clock_;
  std::vector<std::shared_ptr<InteractionEngine>> engines;
};

// A question from `user` (automation user; rc username is its lower case) in a room.
Query make_query(std::string text, std::string user = "Alice", std::string room_id = "GENERAL",
                 std::string room_name = "general");

// Asks and runs the loop until the answer (nullopt when none came in time). Fails the test if
// done is called more than once.
std::optional<Answer> ask(net::Loop& loop, InteractionEngine& engine, const Query& query,
                          std::chrono::milliseconds timeout = 5000ms);

const char* kind_name(Answer::Kind kind);

// A fixture for one plugin's tests: start() runs the plugin on a section in a fresh TestContext
// and hands back its engine; answer() asks it over real sockets. What a fake server keeps in
// held_ is answered when the test ends.
class PluginFixture : public ::testing::Test {
 protected:
  explicit PluginFixture(PluginInfo info) : info_(std::move(info)) {}

  // Releases held_, then lets go of the plugin and its context (before the fakes a derived
  // fixture declares, which go with it: the client closes before the servers do).
  void TearDown() override;

  // The section tests start from (see config()); none by default.
  virtual Json base_section() const { return Json::object(); }
  // base_section() with `extra`'s keys set over it.
  Json config(Json extra = Json::object()) const;

  // Creates and starts the plugin on `section`; its one engine.
  InteractionEngine& start(Json section);
  // The engine's answer to `query` (a failure of the test when none came).
  Answer answer(InteractionEngine& engine, const Query& query);

  net::Loop loop_;
  std::vector<net::Respond> held_;
  std::unique_ptr<TestContext> context_;
  std::unique_ptr<Plugin> plugin_;

 private:
  PluginInfo info_;
};

// "<path>: <message>" per line: a section's issues, as tests compare them.
std::string issue_lines(const std::vector<ConfigIssue>& issues);

}  // namespace rcgate::plugin_test
