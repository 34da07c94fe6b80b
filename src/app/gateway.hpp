#pragma once
// What turns chat into a home-automation surface: the Rocket.Chat connection feeds the devices
// (one per room), the user directory and the router; questions go to the interaction engines and
// their answers are posted back where the question came from. State (devices, people seen,
// handled message ids, read positions) is kept in <state_dir>/state.json.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "core/devices.hpp"
#include "core/engines.hpp"
#include "core/router.hpp"
#include "core/users.hpp"
#include "net/loop.hpp"
#include "rcgate/interaction.hpp"
#include "rcgate/plugin.hpp"
#include "rocketchat/realtime_client.hpp"

namespace rcgate::app {

class Gateway {
 public:
  Gateway(net::Loop& loop, const config::Settings& settings, rcgate::Scheduler& scheduler);
  ~Gateway();

  // Loads the state file. Returns an error text when rcgate must not start (a state file written
  // by a newer rcgate); a damaged file is set aside with a warning and rcgate starts clean.
  std::string load_state();
  void set_engines(std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines);
  void start();
  void stop();

  rc::RealtimeClient& client() { return *client_; }
  const core::DeviceRegistry& devices() const { return devices_; }
  const core::UserDirectory& users() const { return users_; }
  // Extra status observers (the daemon reports to systemd and exits on fatal errors).
  void on_status(std::function<void(const rc::LinkStatus&)> fn) { status_observer_ = std::move(fn); }

  // Posts text to a room (in a thread when thread_id is set). `key` makes the message id
  // deterministic, so a retry (even after a restart) never posts twice.
  void post(const std::string& room_id, const std::string& thread_id, const std::string& text,
            const std::string& key);

  void save_now();

 private:
  void on_online(const rc::Identity& identity);
  void on_message(const rc::Message& message, const rc::Classification& c, core::Source source);
  void on_room_changed(const std::string& action, const nlohmann::json& room);
  void on_subscription_changed(const std::string& action, const nlohmann::json& sub);
  void reconcile_and_catch_up();
  void catch_up_room(const std::string& room_id, const std::string& type, const std::string& name);
  void report(const core::DeviceChanges& changes);
  void answer(const core::Decision& decision);
  void schedule_save();
  void send_with_retry(nlohmann::json message, int attempt);

  net::Loop& loop_;
  const config::Settings& settings_;
  rcgate::Scheduler& scheduler_;
  core::DeviceRegistry devices_;
  core::UserDirectory users_;
  core::Router router_;
  core::EngineChain engines_;
  std::unique_ptr<rc::RealtimeClient> client_;
  std::function<void(const rc::LinkStatus&)> status_observer_;
  std::string state_path_;
  net::Timer save_timer_;
  std::vector<std::unique_ptr<net::Timer>> retry_timers_;
  std::uint64_t saved_revision_ = 0;
  bool running_ = false;
};

// A room or subscription document (rooms-changed, subscriptions-changed, subscriptions.get) as
// the device registry wants it.
core::RoomInfo room_info_from_json(const nlohmann::json& doc);

}  // namespace rcgate::app
