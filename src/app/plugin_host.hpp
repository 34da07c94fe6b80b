#pragma once
// Runs rcgate's plugins. Each plugin gets a context on rcgate's loop (its configuration section,
// a log, an HTTP client, timers, a state directory); the host starts plugins in order, marks a
// plugin that throws as degraded (the rest keep running), stops them in reverse order, and
// collects the interaction engines they provide.
//
// The adapters below are public so that tests can give plugins the real thing.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/url.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::net {
class HttpClient;
class Loop;
}  // namespace rcgate::net

namespace rcgate::app {

// PluginHttpClient over net::HttpClient. Connections are kept per origin and TLS options
// (scheme, host, port, verify_tls, ca_file), created on demand: up to `connections_per_origin`
// keep-alive connections each, so that a slow answer (an LLM agent thinking) does not hold up
// the next question to the same server. Callbacks always run later on the loop, never inside
// request(); none run once the client is destroyed.
class LoopHttpClient final : public PluginHttpClient {
 public:
  explicit LoopHttpClient(net::Loop& loop, std::size_t connections_per_origin = 4);
  ~LoopHttpClient() override;
  LoopHttpClient(const LoopHttpClient&) = delete;
  LoopHttpClient& operator=(const LoopHttpClient&) = delete;

  void request(HttpCall call, std::function<void(HttpResult)> done) override;

  // Origins (distinct scheme/host/port/TLS options) seen so far, and their connections.
  std::size_t origin_count() const;
  std::size_t connection_count() const;

 private:
  net::HttpClient& pick(const std::string& key, const HttpCall& call, const Url& origin);

  net::Loop& loop_;
  std::size_t per_origin_;
  std::map<std::string, std::vector<std::unique_ptr<net::HttpClient>>> origins_;
  std::shared_ptr<bool> alive_;  // errors are reported through the loop; not after destruction
};

// Scheduler over net::Timer; the wall clock for now_ms().
class LoopScheduler final : public Scheduler {
 public:
  explicit LoopScheduler(net::Loop& loop);
  [[nodiscard]] std::unique_ptr<TimerHandle> after(std::chrono::milliseconds delay,
                                                   std::function<void()> fn) override;
  std::int64_t now_ms() const override;

 private:
  net::Loop& loop_;
};

// PluginLog over spdlog's default logger: "plugin 'jeedom': <text>".
class SpdlogPluginLog final : public PluginLog {
 public:
  explicit SpdlogPluginLog(std::string plugin_name);
  void debug(const std::string& text) override;
  void info(const std::string& text) override;
  void warn(const std::string& text) override;
  void error(const std::string& text) override;

 private:
  std::string prefix_;
};

class PluginHost {
 public:
  // Plugins keep their files under <state_dir>/plugins/<name>/.
  PluginHost(net::Loop& loop, std::string state_dir);
  ~PluginHost();  // stops whatever still runs
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Adds a plugin to run with its configuration section, which PluginInfo::validate has already
  // accepted. Plugins start in the order they are added.
  void add(PluginInfo info, nlohmann::json section);
  // A built-in plugin by name (see plugins/registry.hpp); throws std::invalid_argument for a
  // name rcgate does not know.
  void add(const std::string& name, nlohmann::json section);

  // Constructs and starts every added plugin, in order. A plugin whose construction or start()
  // throws is logged ("plugin 'x': start failed: ..."), stopped, dropped and reported by
  // degraded(); the engines it provided are discarded.
  void start();
  // Stops the running plugins in reverse order (exceptions are logged) and forgets their engines.
  // Requests already on the wire still complete. Idempotent.
  void stop();

  // Engines provided by running plugins, in the order they were provided. The host must outlive
  // every holder of these engines: they use the host's HTTP client, timers and logs.
  const std::vector<std::shared_ptr<InteractionEngine>>& engines() const { return engines_; }
  // The engine whose name() is `name`, or nullptr.
  std::shared_ptr<InteractionEngine> engine(const std::string& name) const;
  // Names of plugins that failed to start, with why.
  const std::map<std::string, std::string>& degraded() const { return degraded_; }
  // Names of plugins currently running.
  std::vector<std::string> running() const;
  // Hands an event to every running plugin, in order (a plugin that throws is logged, not
  // stopped).
  void publish(const std::string& type, const nlohmann::json& data);
  // The event types the running plugins want (each once); empty when none listens.
  std::vector<std::string> event_types() const;

  PluginHttpClient& http() { return *http_; }
  Scheduler& scheduler() { return *scheduler_; }

 private:
  class Context;
  struct Entry {
    PluginInfo info;
    std::unique_ptr<Context> context;
    std::unique_ptr<Plugin> plugin;
    bool running = false;
  };

  std::string state_dir_;
  std::unique_ptr<LoopHttpClient> http_;
  std::unique_ptr<LoopScheduler> scheduler_;
  std::vector<Entry> entries_;
  std::vector<std::shared_ptr<InteractionEngine>> engines_;
  std::map<std::string, std::string> degraded_;
};

}  // namespace rcgate::app
