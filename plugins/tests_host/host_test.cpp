// The plugin host: the HTTP client plugins get (against real loopback servers: status, headers,
// body, timeouts, refused connections, one pool per origin), the timers, the log prefix, and the
// life of plugins (order, a plugin that throws is degraded, reverse stop).
#include "app/plugin_host.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "plugin_test_support.hpp"
#include "registry.hpp"

namespace rcgate::app {
namespace {

using namespace rcgate::plugin_test;
using ::testing::HasSubstr;

// Sends spdlog's default logger into a string for the length of a test.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// ---- LoopHttpClient ---------------------------------------------------------------------------

class HttpClientTest : public ::testing::Test {
 protected:
  void TearDown() override { release_held(loop_, held_); }

  HttpResult call(HttpCall c) {
    std::optional<HttpResult> result;
    int calls = 0;
    client_.request(std::move(c), [&](HttpResult r) {
      ++calls;
      result = std::move(r);
    });
    EXPECT_TRUE(run_until(loop_, [&] { return result.has_value(); }));
    EXPECT_EQ(calls, 1);
    return result.value_or(HttpResult{});
  }

  net::Loop loop_;
  std::vector<net::Respond> held_;
  FakeServer server_{loop_, [this](const net::ServerRequest& request, net::Respond respond) {
                       if (request.path == "/hold") {
                         held_.push_back(std::move(respond));
                         return;
                       }
                       net::ServerResponse response;
                       response.status = request.path == "/missing" ? 404 : 201;
                       response.headers = {{"X-Answer", "42"}, {"Content-Type", "text/plain"}};
                       response.body = "echo " + request.method + " " + request.target + " " +
                                       std::string(request.header("X-Question")) + " " +
                                       request.body;
                       respond(response);
                     }};
  LoopHttpClient client_{loop_};
};

TEST_F(HttpClientTest, CarriesStatusHeadersAndBodyBothWays) {
  HttpCall c;
  c.method = "PUT";
  c.url = server_.url() + "/things/1?x=%20y";
  c.headers = {{"X-Question", "why"}};
  c.body = "payload";
  HttpResult r = call(c);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 201);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.body, "echo PUT /things/1?x=%20y why payload");
  bool found = false;
  for (const auto& [name, value] : r.headers) found |= name == "X-Answer" && value == "42";
  EXPECT_TRUE(found);
  EXPECT_EQ(server_.requests.at(0).header("Host"), "127.0.0.1:" + std::to_string(server_.port()));
}

TEST_F(HttpClientTest, AnErrorStatusIsAnAnswerNotAnError) {
  HttpCall c;
  c.url = server_.url() + "/missing";
  HttpResult r = call(c);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpClientTest, ATimeoutIsAnErrorInTime) {
  HttpCall c;
  c.url = server_.url() + "/hold";
  c.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  HttpResult r = call(c);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "timeout after 300 ms");
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

TEST_F(HttpClientTest, ARefusedConnectionSaysSo) {
  HttpCall c;
  c.url = "http://127.0.0.1:" + std::to_string(closed_port(loop_)) + "/x";
  HttpResult r = call(c);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.error, HasSubstr("connect"));
  EXPECT_THAT(r.error, HasSubstr("refused"));
}

TEST_F(HttpClientTest, AnInvalidUrlFailsLaterNotInsideRequest) {
  bool called = false;
  HttpResult result;
  HttpCall c;
  c.url = "ftp://files.lan/x";
  client_.request(c, [&](HttpResult r) {
    called = true;
    result = std::move(r);
  });
  EXPECT_FALSE(called);  // never re-entrant
  ASSERT_TRUE(run_until(loop_, [&] { return called; }));
  EXPECT_THAT(result.error, HasSubstr("invalid URL"));
  EXPECT_THAT(result.error, HasSubstr("ftp"));

  called = false;
  c.url = "not a url";
  client_.request(c, [&](HttpResult r) {
    called = true;
    result = std::move(r);
  });
  ASSERT_TRUE(run_until(loop_, [&] { return called; }));
  EXPECT_THAT(result.error, HasSubstr("invalid URL: expected an http(s)://"));
  EXPECT_EQ(client_.origin_count(), 0u);
}

TEST_F(HttpClientTest, OneConnectionPoolPerOriginAndTlsOptions) {
  FakeServer other(loop_, [](const net::ServerRequest&, net::Respond respond) {
    respond(text_response(200, "other"));
  });
  HttpCall a;
  a.url = server_.url() + "/a";
  call(a);
  call(a);  // kept alive: the same connection
  EXPECT_EQ(client_.origin_count(), 1u);
  EXPECT_EQ(client_.connection_count(), 1u);
  HttpCall b;
  b.url = other.url() + "/b";
  EXPECT_EQ(call(b).body, "other");
  EXPECT_EQ(client_.origin_count(), 2u);
  a.verify_tls = false;  // other TLS options: another pool, even for the same server
  call(a);
  EXPECT_EQ(client_.origin_count(), 3u);
}

TEST_F(HttpClientTest, SlowAnswersDoNotHoldUpOthers) {
  std::vector<std::string> bodies;
  for (int i = 0; i < 2; ++i) {
    HttpCall hold;
    hold.url = server_.url() + "/hold";
    client_.request(hold, [&](HttpResult r) { bodies.push_back(r.body); });
  }
  ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 2; }));
  HttpCall quick;
  quick.url = server_.url() + "/quick";
  quick.body = "q";
  client_.request(quick, [&](HttpResult r) { bodies.push_back(r.body); });
  ASSERT_TRUE(run_until(loop_, [&] { return bodies.size() == 1; }));
  EXPECT_EQ(bodies[0], "echo GET /quick  q");
  EXPECT_EQ(client_.connection_count(), 3u);
  held_[1](text_response(200, "second"));
  held_[0](text_response(200, "first"));
  held_.clear();
  ASSERT_TRUE(run_until(loop_, [&] { return bodies.size() == 3; }));
  EXPECT_EQ(bodies[1], "second");
  EXPECT_EQ(bodies[2], "first");
}

TEST_F(HttpClientTest, TheConnectionsPerOriginAreBounded) {
  LoopHttpClient small(loop_, 2);
  int answered = 0;
  for (int i = 0; i < 5; ++i) {
    HttpCall hold;
    hold.url = server_.url() + "/hold";
    small.request(hold, [&](HttpResult) { ++answered; });
  }
  ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 2; }));
  EXPECT_EQ(small.connection_count(), 2u);
  // The queued three go out one by one as answers come back.
  for (int round = 0; round < 3; ++round) {
    auto respond = std::move(held_.front());
    held_.erase(held_.begin());
    respond(text_response(200, "ok"));
    ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 2 || answered == 5; }));
  }
  while (!held_.empty()) {
    held_.front()(text_response(200, "ok"));
    held_.erase(held_.begin());
  }
  ASSERT_TRUE(run_until(loop_, [&] { return answered == 5; }));
  EXPECT_EQ(server_.requests.size(), 5u);
}

TEST_F(HttpClientTest, NoCallbackAfterTheClientIsGone) {
  bool called = false;
  {
    LoopHttpClient short_lived(loop_);
    HttpCall hold;
    hold.url = server_.url() + "/hold";
    short_lived.request(hold, [&](HttpResult) { called = true; });
    ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 1; }));
    HttpCall bad;  // its failure is posted to the loop, which runs only after the client is gone
    bad.url = "nope";
    short_lived.request(bad, [&](HttpResult) { called = true; });
  }
  held_[0](text_response(200, "too late"));
  held_.clear();
  run_until(loop_, [&] { return called; }, 100ms);
  EXPECT_FALSE(called);
}

// ---- LoopScheduler and the log ----------------------------------------------------------------

TEST(LoopSchedulerTest, TimersFireAndDestroyedHandlesCancel) {
  net::Loop loop;
  LoopScheduler scheduler(loop);
  bool fired = false, cancelled_fired = false;
  auto handle = scheduler.after(30ms, [&] { fired = true; });
  auto cancelled = scheduler.after(10ms, [&] { cancelled_fired = true; });
  cancelled.reset();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(loop, [&] { return fired; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 25ms);
  EXPECT_FALSE(cancelled_fired);
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  EXPECT_LE(std::abs(scheduler.now_ms() - wall), 1000);
}

TEST(SpdlogPluginLogTest, PrefixesEveryLineWithThePlugin) {
  LogCapture capture;
  SpdlogPluginLog log("jeedom");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  EXPECT_EQ(capture.text(),
            "debug plugin 'jeedom': d\ninfo plugin 'jeedom': i\nwarning plugin 'jeedom': w\n"
            "error plugin 'jeedom': e\n");
}

// ---- PluginHost -------------------------------------------------------------------------------

class NamedEngine final : public InteractionEngine {
 public:
  explicit NamedEngine(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void ask(const Query&, std::function<void(Answer)> done) override {
    done(Answer::replied({name_, {}, false}));
  }

 private:
  std::string name_;
};

// A plugin that writes what happens to it into `events`.
PluginInfo recording_plugin(const std::string& name, std::vector<std::string>& events,
                            bool throw_on_start = false) {
  struct Recording final : Plugin {
    Recording(PluginContext& c, std::string n, std::vector<std::string>& e, bool t)
        : context(c), name(std::move(n)), events(e), throws(t) {}
    void start() override {
      events.push_back("start " + name + " " + context.config().dump());
      context.log().info("starting");
      context.provide_engine(std::make_shared<NamedEngine>(name + "-engine"));
      if (throws) throw std::runtime_error("the device is not plugged in");
    }
    void stop() override { events.push_back("stop " + name); }
    PluginContext& context;
    std::string name;
    std::vector<std::string>& events;
    bool throws;
  };
  PluginInfo info;
  info.name = name;
  info.description = "records";
  info.validate = [](const Json&) { return std::vector<ConfigIssue>{}; };
  info.create = [name, &events, throw_on_start](PluginContext& context) {
    return std::make_unique<Recording>(context, name, events, throw_on_start);
  };
  return info;
}

TEST(PluginHostTest, StartsInOrderDegradesWhatThrowsAndStopsInReverse) {
  LogCapture capture;
  net::Loop loop;
  std::vector<std::string> events;
  PluginHost host(loop, "/tmp");
  host.add(recording_plugin("first", events), {{"a", 1}});
  host.add(recording_plugin("broken", events, /*throw_on_start=*/true), Json::object());
  host.add(recording_plugin("last", events), Json::object());
  host.start();

  EXPECT_EQ(events, (std::vector<std::string>{"start first {\"a\":1}", "start broken {}",
                                              "stop broken", "start last {}"}));
  EXPECT_EQ(host.running(), (std::vector<std::string>{"first", "last"}));
  ASSERT_EQ(host.degraded().count("broken"), 1u);
  EXPECT_EQ(host.degraded().at("broken"), "the device is not plugged in");
  EXPECT_THAT(capture.text(),
              HasSubstr("error plugin 'broken': start failed: the device is not plugged in"));
  EXPECT_THAT(capture.text(), HasSubstr("info plugin 'first': starting"));
  EXPECT_THAT(capture.text(), HasSubstr("plugin 'last': started (interaction engine: last-engine)"));

  // The broken plugin's engine was discarded.
  ASSERT_EQ(host.engines().size(), 2u);
  EXPECT_EQ(host.engines()[0]->name(), "first-engine");
  EXPECT_EQ(host.engines()[1]->name(), "last-engine");
  EXPECT_EQ(host.engine("last-engine"), host.engines()[1]);
  EXPECT_EQ(host.engine("broken-engine"), nullptr);

  events.clear();
  host.stop();
  host.stop();  // idempotent
  EXPECT_EQ(events, (std::vector<std::string>{"stop last", "stop first"}));
  EXPECT_TRUE(host.engines().empty());
  EXPECT_TRUE(host.running().empty());
}

TEST(PluginHostTest, TheDestructorStopsWhatStillRuns) {
  net::Loop loop;
  std::vector<std::string> events;
  {
    PluginHost host(loop, "/tmp");
    host.add(recording_plugin("a", events), Json::object());
    host.add(recording_plugin("b", events), Json::object());
    host.start();
  }
  EXPECT_EQ(events, (std::vector<std::string>{"start a {}", "start b {}", "stop b", "stop a"}));
}

TEST(PluginHostTest, BuiltInPluginsByName) {
  LogCapture capture;
  net::Loop loop;
  PluginHost host(loop, "/tmp");
  EXPECT_THROW(host.add("homeasistant", Json::object()), std::invalid_argument);
  try {
    host.add("homeasistant", Json::object());
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "unknown plugin 'homeasistant' (built in: rules, homeassistant, jeedom, webhook)");
  }
  host.add("rules", {{"rules", {{{"keywords", "ping"}, {"reply", "pong"}}}}});
  host.add("homeassistant", Json::object());  // invalid: start fails, the rest runs
  host.start();
  EXPECT_EQ(host.running(), std::vector<std::string>{"rules"});
  EXPECT_EQ(host.degraded().count("homeassistant"), 1u);
  EXPECT_THAT(capture.text(), HasSubstr("plugin 'homeassistant': start failed: invalid "
                                        "homeassistant configuration:"));
  auto rules = host.engine("rules");
  ASSERT_NE(rules, nullptr);
  auto answer = ask(loop, *rules, make_query("ping"));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->reply.text, "pong");
}

TEST(PluginHostTest, EachPluginHasItsOwnStateDirectory) {
  net::Loop loop;
  const std::string root = "/tmp/rcgate-host-test-" + std::to_string(::getpid());
  std::string seen;
  PluginInfo info;
  info.name = "keeper";
  info.create = [&seen](PluginContext& context) {
    struct Keeper final : Plugin {
      void start() override {}
      void stop() override {}
    };
    seen = context.state_dir();
    return std::make_unique<Keeper>();
  };
  {
    PluginHost host(loop, root);
    host.add(info, Json::object());
    host.start();
  }
  EXPECT_EQ(seen, root + "/plugins/keeper");
  EXPECT_TRUE(std::filesystem::is_directory(seen));
  std::filesystem::remove_all(root);
}

TEST(RegistryTest, ListsTheBuiltInPlugins) {
  std::vector<std::string> names;
  for (const auto& plugin : builtin_plugins()) {
    names.push_back(plugin.name);
    EXPECT_FALSE(plugin.description.empty()) << plugin.name;
    EXPECT_TRUE(plugin.validate) << plugin.name;
    EXPECT_TRUE(plugin.create) << plugin.name;
    // An empty section is never silently accepted: each names what it needs.
    EXPECT_FALSE(plugin.validate(Json::object()).empty()) << plugin.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"rules", "homeassistant", "jeedom", "webhook"}));
  EXPECT_EQ(find_builtin_plugin("jeedom"), &builtin_plugins()[2]);
  EXPECT_EQ(find_builtin_plugin("zigbee"), nullptr);
}

}  // namespace
}  // namespace rcgate::app
