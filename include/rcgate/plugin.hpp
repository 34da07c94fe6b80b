#pragma once
// The plugin contract. A plugin depends on this folder only (std + nlohmann_json, no Boost, no
// spdlog): it is built against rcgate's headers and handed everything it needs in a context.
//
// Life of a plugin (STYLE.md §7-9): rcgate validates its configuration section before anything
// starts (validate), constructs it with its context (the constructor only stores it), calls
// start(), and calls stop() in reverse order at shutdown. A plugin that throws from start() is
// logged and marked degraded; the rest of rcgate keeps running.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rcgate/http_client.hpp"
#include "rcgate/interaction.hpp"

namespace rcgate {

inline constexpr int kPluginApiVersion = 1;

class PluginLog {
 public:
  virtual ~PluginLog() = default;
  virtual void debug(const std::string& text) = 0;
  virtual void info(const std::string& text) = 0;
  virtual void warn(const std::string& text) = 0;
  virtual void error(const std::string& text) = 0;
};

// A pending timer; destroying the handle cancels it.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  [[nodiscard]] virtual std::unique_ptr<TimerHandle> after(std::chrono::milliseconds delay,
                                                           std::function<void()> fn) = 0;
  virtual std::int64_t now_ms() const = 0;  // wall clock, epoch milliseconds
};

// A problem in a plugin's configuration section. `path` is relative to the section
// ("rules[2].pattern"); rcgate prefixes it and adds the YAML line.
struct ConfigIssue {
  std::string path;
  std::string message;
};

class PluginContext {
 public:
  virtual ~PluginContext() = default;
  virtual const nlohmann::json& config() const = 0;  // this plugin's section, already validated
  virtual PluginLog& log() = 0;
  virtual PluginHttpClient& http() = 0;
  virtual Scheduler& scheduler() = 0;
  // Interaction engines a plugin offers; rcgate asks them in the order the operator configured.
  virtual void provide_engine(std::shared_ptr<InteractionEngine> engine) = 0;
  // The directory for the plugin's own files (created on demand).
  virtual std::string state_dir() const = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  // What happens in rcgate while the plugin runs (a person wrote, a device changed, an ask
  // ended, the link changed): `type` and `data` as listed in rcgate's src/app/events.hpp
  // ("message", "device", "device_removed", "ask", "link"). Called on the loop thread; must not
  // block. The default ignores them.
  virtual void on_event(const std::string& type, const nlohmann::json& data) {
    (void)type;
    (void)data;
  }
  // The event types on_event wants, asked once after start(). None by default: rcgate builds an
  // event only when someone listens, and a device event is built for every message.
  virtual std::vector<std::string> event_types() const { return {}; }
};

struct PluginInfo {
  std::string name;         // the key under `plugins:` in the configuration
  std::string description;  // one line for `rcgate help`
  // Every problem in the section at once; empty when valid.
  std::function<std::vector<ConfigIssue>(const nlohmann::json& section)> validate;
  std::function<std::unique_ptr<Plugin>(PluginContext& context)> create;
};

}  // namespace rcgate
