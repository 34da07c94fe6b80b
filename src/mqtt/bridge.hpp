#pragma once
// The MQTT bridge: rcgate's devices, events and verbs on an MQTT broker (topic grammar in
// discovery.hpp), and Home Assistant discovery.
//
// Requests on <base>/bridge/request/<verb> go to the same ApiService as the local HTTP API, and
// are answered with the same envelope plus the caller's "transaction". An ask is answered once,
// when it ends (answered, timed out, cancelled); {"wait": 0} answers at once with the open ask.
//
// The broker being away never holds up Rocket.Chat: retained state (bridge, devices,
// discovery) is republished in full on every connection; events are dropped while disconnected;
// answers to requests (an ask may end while the broker is away) are kept, up to
// mqtt.max_pending, the oldest dropped first, and published after the reconnection.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "app/api.hpp"
#include "app/events.hpp"
#include "config/settings.hpp"
#include "mqtt/client.hpp"
#include "mqtt/discovery.hpp"
#include "net/loop.hpp"

namespace rcgate::net {
class HttpClient;
}

namespace rcgate::mqtt {

class Bridge {
 public:
  // settings: the whole configuration (mqtt, and rocketchat for the server's version).
  Bridge(net::Loop& loop, const config::Settings& settings, app::ApiService& service,
         app::EventBus& events);
  ~Bridge();  // stop()
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  void start();
  // Publishes "offline" on <base>/bridge/state and disconnects (blocks up to a second).
  void stop();

  bool connected() const { return client_.connected(); }
  const TopicContext& topics() const { return topics_; }

 private:
  struct DeviceView {
    nlohmann::json device;       // the API's device view
    std::string topic;           // its <device> level
    std::string last_thread_id;  // the thread of its last message, when known
    std::string published_state;
    std::string published_discovery;
    std::string published_availability;
  };

  void on_connected();
  void on_message(const std::string& topic, const std::string& payload);
  void on_event(const app::Event& event);
  void on_request(const std::string& verb, const std::string& payload);
  void on_send(const std::string& device_level, const std::string& payload);

  void sync_devices(bool force);
  void upsert(const nlohmann::json& device, bool force);
  void publish_device(DeviceView& view, bool force);
  std::string topic_for(const std::string& id, const nlohmann::json& device);
  void publish_discovery_all(bool force);
  void publish_gateway(bool force);
  void device_event(const std::string& room_id, const std::string& type, nlohmann::json data);

  void respond(const std::string& verb, const app::ApiReply& reply,
               const nlohmann::json& transaction);
  void refresh_info();
  void schedule_info();
  void arm_info_timer();
  void fetch_server_version();

  // Retained state: published when connected (and republished on the next connection anyway).
  void publish_retained(const std::string& topic, const std::string& payload);
  // Events: dropped while disconnected.
  void publish_event(const std::string& topic, const nlohmann::json& payload);
  // Answers: kept while disconnected, up to max_pending.
  void publish_answer(const std::string& topic, const std::string& payload);

  net::Loop& loop_;
  const config::Settings& settings_;
  const config::MqttSettings& mqtt_;
  app::ApiService& service_;
  app::EventBus& events_;
  TopicContext topics_;
  Client client_;
  std::uint64_t subscription_ = 0;
  std::map<std::string, DeviceView> devices_;     // by room id
  std::map<std::string, std::string> topic_owner_;  // <device> level -> room id
  std::map<std::string, nlohmann::json> pending_asks_;  // ask id -> transaction
  std::deque<std::pair<std::string, std::string>> pending_answers_;
  std::size_t dropped_answers_ = 0;
  std::size_t dropped_events_ = 0;
  nlohmann::json info_;
  std::string published_info_;
  std::string server_version_;
  std::string published_gateway_;
  net::Timer info_timer_;
  net::Timer info_refresh_;
  std::unique_ptr<net::HttpClient> rest_;
  bool stopped_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rcgate::mqtt
