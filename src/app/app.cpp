#include "app/app.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "config/loader.hpp"
#include "core/log.hpp"
#include "app/api_server.hpp"
#include "app/gateway.hpp"
#include "app/plugin_host.hpp"
#include "app/scenarios.hpp"
#include "app/sd_notify.hpp"
#include "mqtt/bridge.hpp"
#include "persistence/atomic_file.hpp"
#include "core/engines.hpp"
#include "net/loop.hpp"

namespace rcgate::app {

rc::RealtimeOptions realtime_options(const config::Settings& s) {
  const auto& r = s.rocketchat;
  rc::RealtimeOptions o;
  o.server = r.url;
  if (r.auth.method == config::AuthMethod::Token) {
    o.credentials.user_id = r.auth.user_id;
    o.credentials.token = r.auth.token;
  } else {
    o.credentials.username = r.auth.username;
    o.credentials.password = r.auth.password;
  }
  o.tls.verify = r.tls.verify;
  o.tls.ca_file = r.tls.ca_file;
  o.ping_interval = r.ping_interval;
  o.dead_after = r.dead_after;
  o.connect_timeout = r.connect_timeout;
  o.request_timeout = r.request_timeout;
  o.backoff_initial = r.backoff_initial;
  o.backoff_max = r.backoff_max;
  o.state_dir = s.state_dir;
  return o;
}

namespace {

// The service manager's status line and readiness; logged once when it cannot be told (a wrong
// NOTIFY_SOCKET would otherwise only show as a unit that never becomes ready).
void notify(const std::string& what) {
  static bool warned = false;
  std::string error;
  if (sd::notify(what, &error) == sd::NotifyResult::Failed && !warned) {
    warned = true;
    spdlog::warn("cannot tell the service manager '{}': {}", what, error);
  }
}

}  // namespace

int run_daemon(const config::Settings& settings, const std::string& config_path) {
  spdlog::info("rcgate {} starting with {}", RCGATE_VERSION, config_path);
  net::Loop loop;
  int exit_code = 0;

  // Plugins first (the engines), then the gateway that uses them; stopped in reverse.
  PluginHost plugins(loop, settings.state_dir.empty() ? "" : settings.state_dir + "/plugins");
  for (const auto& section : settings.plugins) plugins.add(section.name, section.config);
  Gateway gateway(loop, settings, plugins.scheduler());
  if (auto error = gateway.load_state(); !error.empty()) {
    spdlog::error("refusing to start: {}", error);
    return config::kExitConfig;
  }
  plugins.start();
  std::vector<std::string> missing;
  gateway.set_engines(
      core::order_engines(settings.interactions.engines, plugins.engines(), &missing));
  for (const auto& name : missing)
    spdlog::error("interactions.engines: '{}' is not running (see the plugin's error above); "
                  "it is skipped",
                  name);

  gateway.on_status([&](const rc::LinkStatus& st) {
    notify("STATUS=Rocket.Chat " + std::string(rc::to_string(st.state)) +
           (st.reason.empty() ? "" : ": " + st.reason));
    if (st.state == rc::LinkState::Stopped && st.fatal) {
      exit_code = config::kExitConfig;  // the operator must fix something: no restart loop
      loop.stop();
    }
  });

  loop.on_signals({SIGINT, SIGTERM, SIGHUP}, [&](int sig) {
    if (sig == SIGHUP) {
      // Re-validate the file; the log level applies at once, the rest at the next restart.
      auto reloaded = config::load_file(config_path);
      if (!reloaded.ok()) {
        spdlog::error("reload refused, keeping the running configuration:\n{}",
                      config::format_problems(config_path, reloaded.problems));
        return;
      }
      log::setup(reloaded.settings.log.level, std::getenv("JOURNAL_STREAM") != nullptr);
      spdlog::info("reloaded {}: log level {}; other changes take effect at the next restart",
                   config_path, reloaded.settings.log.level);
      return;
    }
    spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notify("STOPPING=1");
    loop.stop();
  });

  // The watchdog is fed from the loop itself, so a wedged loop gets the daemon restarted.
  net::Timer watchdog(loop);
  std::function<void()> feed;
  if (const auto interval = sd::watchdog_interval()) {
    // Twice per interval, as sd_watchdog_enabled(3) advises; at least every millisecond.
    const auto every = std::max(std::chrono::milliseconds(1),
                                std::chrono::duration_cast<std::chrono::milliseconds>(*interval / 2));
    feed = [&, every] {
      notify("WATCHDOG=1");
      watchdog.start(every, feed);
    };
    feed();
  }

  // Plugins hear what they asked for (a Jeedom push, for instance); nothing is built for them
  // when none listens.
  if (auto types = plugins.event_types(); !types.empty()) {
    gateway.events().subscribe(
        [&plugins](const Event& event) { plugins.publish(event.type, event.data); },
        std::move(types));
  }

  // The local API: automations and the rcgate send/ask/upload/... commands.
  Scenarios scenarios(loop, gateway, settings);
  std::unique_ptr<ApiServer> api;
  const std::string port_file =
      settings.state_dir.empty() ? std::string() : settings.state_dir + "/api.port";
  if (settings.api.enabled) {
    api = std::make_unique<ApiServer>(loop, settings.api, scenarios);
    try {
      api->start();
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;  // not a configuration error: the port may be free at the next start
    }
    // The CLI finds a daemon started with api.port 0 (any free port) through this file.
    if (!port_file.empty()) {
      if (auto err = persistence::ensure_directory(settings.state_dir); err.empty()) {
        if (auto werr = persistence::write_atomic(port_file, std::to_string(api->port()) + "\n",
                                                  0644);
            !werr.empty())
          spdlog::warn("api: {}", werr);
      }
    }
  } else {
    spdlog::info("local API off (no api: section, or api.enabled is false): rcgate send/ask/"
                 "upload need it");
  }

  // The MQTT bridge (topics, Home Assistant discovery) over the same verbs and events. Declared
  // after the gateway and the scenarios, so it is destroyed first: its destructor publishes
  // "offline" and disconnects.
  std::unique_ptr<mqtt::Bridge> mqtt_bridge;
  if (settings.mqtt.enabled) {
    mqtt_bridge = std::make_unique<mqtt::Bridge>(loop, settings, scenarios, gateway.events());
    mqtt_bridge->start();
  }

  gateway.start();
  notify("READY=1");
  loop.run();
  if (api) {
    api->stop();
    if (!port_file.empty()) std::remove(port_file.c_str());
  }
  gateway.stop();
  plugins.stop();
  spdlog::info("rcgate stopped");
  return exit_code;
}

}  // namespace rcgate::app
