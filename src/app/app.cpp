#include "app/app.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "config/loader.hpp"
#include "core/log.hpp"
#include "net/loop.hpp"

#ifdef RCGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

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

void notify(const std::string& what) {
#ifdef RCGATE_HAVE_SYSTEMD
  sd_notify(0, what.c_str());
#else
  (void)what;
#endif
}

std::string where(const rc::Message& m) {
  if (m.meta.room_type == "d") return "DM";
  if (!m.meta.room_name.empty()) return "#" + m.meta.room_name;
  return "room " + m.rid;
}

// What the daemon does with a message until the devices and interaction engines take over:
// it says, in the log, what it received and how it understood it.
void log_message(const rc::Message& m, const rc::Classification& c) {
  if (c.kind == rc::MessageKind::OwnEcho) return;
  std::string flags;
  if (c.direct) flags += ", direct";
  if (c.mentions_bot) flags += ", mentions the bot";
  if (c.thread_reply) flags += ", in a thread";
  if (!c.member) flags += ", room not joined";
  if (c.from_bot) flags += ", from a bot";
  spdlog::info("{} {}: {}{}", where(m), m.u.username, rc::to_string(c.kind), flags);
  spdlog::debug("{} {} text: {:.200}", where(m), m.u.username, m.text);
}

}  // namespace

int run_daemon(const config::Settings& settings, const std::string& config_path) {
  spdlog::info("rcgate {} starting with {}", RCGATE_VERSION, config_path);
  net::Loop loop;
  int exit_code = 0;

  rc::RealtimeHandlers handlers;
  handlers.on_message = log_message;
  handlers.on_room_changed = [](const std::string& action, const nlohmann::json& room) {
    spdlog::info("room {}: {} ({})", action, room.value("fname", room.value("name", "")),
                 room.value("_id", ""));
  };
  handlers.on_ephemeral = [](const nlohmann::json& m) {
    spdlog::warn("server notice: {}", m.value("msg", std::string{}));
  };
  rc::RealtimeClient* client_ptr = nullptr;
  handlers.on_status = [&](const rc::LinkStatus& st) {
    notify("STATUS=Rocket.Chat " + std::string(rc::to_string(st.state)) +
           (st.reason.empty() ? "" : ": " + st.reason));
    if (st.state == rc::LinkState::Stopped && st.fatal) {
      exit_code = config::kExitConfig;  // the operator must fix something: no restart loop
      loop.stop();
    }
  };
  rc::RealtimeClient client(loop, realtime_options(settings), handlers);
  client_ptr = &client;

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
    client_ptr->stop("rcgate is shutting down");
    loop.stop();
  });

  // The watchdog is fed from the loop itself, so a wedged loop gets the daemon restarted.
  net::Timer watchdog(loop);
  std::function<void()> feed;
#ifdef RCGATE_HAVE_SYSTEMD
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    auto every = std::chrono::milliseconds(usec / 2000);
    feed = [&, every] {
      notify("WATCHDOG=1");
      watchdog.start(every, feed);
    };
    feed();
  }
#endif

  client.start();
  notify("READY=1");
  loop.run();
  client.stop("rcgate stopped");
  spdlog::info("rcgate stopped");
  return exit_code;
}

}  // namespace rcgate::app
