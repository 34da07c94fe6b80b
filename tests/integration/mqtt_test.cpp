// The MQTT bridge end to end: a real mosquitto broker on a free loopback port, the rcgate binary
// against rcgate-sim, and a test client (libmosquitto with its own thread) watching and
// publishing: retained state and availability, Home Assistant discovery (and its removal when
// the bot leaves a room), sends and asks through MQTT, the last will when rcgate is killed, and
// recovery after the broker restarts.
#include <mosquitto.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <mutex>
#include <thread>
#include <optional>

#include "daemon.hpp"

namespace rcgate::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kCameraAlerts = "c3f8a6a80a707dc9ce744b9d";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// mosquitto on 127.0.0.1:<port>, restartable on the same port.
class Broker {
 public:
  // tls: serve TLS with a certificate for 127.0.0.1 made here (cert_file() is its CA).
  explicit Broker(bool tls = false) : port_(free_port()) {
    if (!fs::exists(RCGATE_MOSQUITTO_BINARY))
      throw std::runtime_error(std::string("the mosquitto broker is needed for these tests and '") +
                               RCGATE_MOSQUITTO_BINARY +
                               "' does not exist: install the 'mosquitto' package "
                               "(tests/scripts/deps.sh)");
    std::ofstream(dir_.file("mosquitto.conf"))
        << "listener " << port_ << " 127.0.0.1\n"
        << (tls ? tls_lines() : std::string())
        << "allow_anonymous true\n"
        << "persistence false\n"
        << "user root\n"
        << "log_dest stdout\n";
    start();
  }
  void start() {
    ++runs_;
    process_ = Process({RCGATE_MOSQUITTO_BINARY, "-c", dir_.file("mosquitto.conf")},
                       dir_.file("mosquitto-" + std::to_string(runs_) + ".log"));
    if (!eventually([&] { return accepts(port_); }, 10s))
      throw std::runtime_error("mosquitto did not start:\n" + process_.log());
  }
  void stop() {
    process_.signal(SIGTERM);
    process_.wait(5s);
  }
  int port() const { return port_; }
  std::string log() const { return process_.log(); }
  std::string cert_file() const { return dir_.file("cert.pem"); }

 private:
  std::string tls_lines() {
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir_.file("key.pem") + " -out " +
        cert_file() + " 2>" + dir_.file("openssl.log");
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("openssl could not make the broker's certificate: " +
                               read_file(dir_.file("openssl.log")));
    return "certfile " + cert_file() + "\nkeyfile " + dir_.file("key.pem") + "\n";
  }

  TempDir dir_;
  int port_;
  int runs_ = 0;
  Process process_;
};

struct Message {
  std::string topic;
  std::string payload;
  bool retained = false;
};

// A test-side client on its own thread: records everything under "#".
class Watcher {
 public:
  explicit Watcher(int port) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "#", 1);
      static_cast<Watcher*>(self)->connected_ = rc == 0;
    });
    mosquitto_disconnect_callback_set(
        mosq_, [](mosquitto*, void* self, int) { static_cast<Watcher*>(self)->connected_ = false; });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* w = static_cast<Watcher*>(self);
      std::lock_guard<std::mutex> lock(w->mutex_);
      w->messages_.push_back(
          {m->topic, std::string(static_cast<const char*>(m->payload), m->payloadlen), m->retain});
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    EXPECT_EQ(mosquitto_connect(mosq_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    EXPECT_EQ(mosquitto_loop_start(mosq_), MOSQ_ERR_SUCCESS);
    EXPECT_TRUE(eventually([&] { return connected_.load(); }, 5s));
  }
  ~Watcher() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  void publish(const std::string& topic, const std::string& payload, bool retain = false) {
    ASSERT_EQ(mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                payload.data(), 1, retain),
              MOSQ_ERR_SUCCESS);
  }
  std::vector<Message> on(const std::string& topic) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Message> out;
    for (const auto& m : messages_)
      if (m.topic == topic) out.push_back(m);
    return out;
  }
  std::optional<Message> last(const std::string& topic) {
    auto all = on(topic);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  // Waits for a message on `topic` for which pred holds; returns it.
  std::optional<Message> wait(const std::string& topic, const std::function<bool(const Message&)>& pred,
                              std::chrono::milliseconds limit = 10s) {
    std::optional<Message> found;
    eventually([&] {
      for (const auto& m : on(topic))
        if (pred(m)) {
          found = m;
          return true;
        }
      return false;
    }, limit);
    return found;
  }
  std::optional<Message> wait_payload(const std::string& topic, const std::string& payload,
                                      std::chrono::milliseconds limit = 10s) {
    return wait(topic, [&](const Message& m) { return m.payload == payload; }, limit);
  }
  std::optional<json> wait_json(const std::string& topic, const std::function<bool(const json&)>& pred,
                                std::chrono::milliseconds limit = 10s) {
    auto m = wait(topic, [&](const Message& msg) {
      auto j = json::parse(msg.payload, nullptr, false);
      return !j.is_discarded() && pred(j);
    }, limit);
    if (!m) return std::nullopt;
    return json::parse(m->payload);
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.clear();
  }
  std::string dump() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const auto& m : messages_)
      out += m.topic + (m.retained ? " (retained) " : " ") + m.payload.substr(0, 300) + "\n";
    return out;
  }
  bool connected() const { return connected_; }

 private:
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::mutex mutex_;
  std::vector<Message> messages_;
};

json say(Sim& sim, const std::string& user, const std::string& room, const std::string& text) {
  return sim.post("messages", {{"user", user}, {"room", room}, {"text", text}})["message"];
}

std::vector<json> bot_posts(Sim& sim, const std::string& room, const std::string& text) {
  std::vector<json> out;
  for (const auto& m : bot_messages(sim, room))
    if (m.value("msg", "").find(text) != std::string::npos) out.push_back(m);
  return out;
}

class Mqtt : public ::testing::Test {
 protected:
  Broker broker;
  Sim sim;
  TempDir dir;
  std::unique_ptr<Daemon> daemon;
  std::unique_ptr<Watcher> watcher;

  void SetUp() override { watcher = std::make_unique<Watcher>(broker.port()); }
  void start() {
    const std::string config = household_config(
        sim.url(), dir.file("state"),
        "mqtt:\n"
        "  host: 127.0.0.1\n"
        "  port: " + std::to_string(broker.port()) + "\n"
        "  client_id: rcgate-test\n"
        "  keepalive: 5s\n"
        "  reconnect: {initial_delay: 100ms, max_delay: 500ms}\n");
    daemon = std::make_unique<Daemon>(dir, config);
    daemon->start();
  }
  void TearDown() override {
    if (daemon) daemon->stop();
  }
  std::string context() { return daemon->log() + "\n--- mqtt:\n" + watcher->dump(); }
};

TEST_F(Mqtt, StateAvailabilityAndDiscovery) {
  start();
  ASSERT_TRUE(watcher->wait_payload("rcgate/bridge/state", "online")) << context();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();

  // Every room the bot is in: retained state and availability.
  ASSERT_TRUE(watcher->wait_payload("rcgate/general/availability", "online")) << context();
  ASSERT_TRUE(watcher->wait_payload("rcgate/camera-alerts/availability", "online")) << context();
  auto state = watcher->wait_json("rcgate/general", [](const json& j) { return j["id"] == "GENERAL"; });
  ASSERT_TRUE(state) << context();
  EXPECT_EQ((*state)["availability"], "online");
  EXPECT_EQ((*state)["room_name"], "general");

  // A message updates the state, and is an event.
  say(sim, "alice", "general", "The washing machine is done");
  state = watcher->wait_json("rcgate/general", [](const json& j) {
    return j["last_message"] == "The washing machine is done";
  });
  ASSERT_TRUE(state) << context();
  EXPECT_EQ((*state)["last_sender"], "alice");
  EXPECT_FALSE((*state)["last_message_at"].get<std::string>().empty());
  EXPECT_FALSE((*state)["last_message_id"].get<std::string>().empty());
  auto event = watcher->wait_json("rcgate/general/event", [](const json& j) {
    return j["text"] == "The washing machine is done";
  });
  ASSERT_TRUE(event) << context();
  EXPECT_EQ((*event)["event_type"], "message");
  EXPECT_EQ((*event)["sender"]["username"], "alice");
  EXPECT_TRUE(watcher->wait_json("rcgate/event/message", [](const json& j) {
    return j["text"] == "The washing machine is done" && j["room_id"] == "GENERAL";
  })) << context();

  // A retained state is what a new subscriber gets first.
  {
    Watcher late(broker.port());
    auto m = late.wait("rcgate/general", [](const Message& m) { return m.retained; });
    ASSERT_TRUE(m) << late.dump();
    EXPECT_EQ(json::parse(m->payload)["last_message"], "The washing machine is done");
    EXPECT_TRUE(late.wait_payload("rcgate/bridge/state", "online"));
  }

  // Home Assistant discovery: one device per room, one for the gateway.
  auto room = watcher->wait_json("homeassistant/device/rcgate_GENERAL/config",
                                 [](const json& j) { return j.contains("cmps"); });
  ASSERT_TRUE(room) << context();
  EXPECT_EQ((*room)["dev"]["ids"][0], "rcgate_GENERAL");
  EXPECT_EQ((*room)["cmps"]["send"]["cmd_t"], "rcgate/general/send");
  EXPECT_EQ((*room)["avty"][0]["t"], "rcgate/bridge/state");
  EXPECT_EQ((*room)["avty"][1]["t"], "rcgate/general/availability");
  ASSERT_TRUE(watcher->wait_json("homeassistant/device/rcgate_rcgate-test/config",
                                 [](const json& j) { return j.contains("cmps"); }))
      << context();
  auto info = watcher->wait_json("rcgate/bridge/info", [](const json& j) {
    return j.value("connected", false) && j.value("server_version", "") != "";
  });
  ASSERT_TRUE(info) << context();
  EXPECT_EQ((*info)["server_version"], "8.8");
  EXPECT_TRUE((*info)["queue_depth"].is_number());

  // Home Assistant announcing itself gets the discovery again.
  const auto before = watcher->on("homeassistant/device/rcgate_GENERAL/config").size();
  watcher->publish("homeassistant/status", "online");
  EXPECT_TRUE(eventually([&] {
    return watcher->on("homeassistant/device/rcgate_GENERAL/config").size() > before;
  })) << context();

  // A renamed room moves to its new topic; the old retained topics are cleared; Home Assistant
  // keeps the device (same identifiers) with the new topics.
  sim.post("rooms/rename", {{"room", "general"}, {"name", "family-room"}});
  auto renamed = watcher->wait_json("rcgate/family-room", [](const json& j) { return j["id"] == "GENERAL"; });
  ASSERT_TRUE(renamed) << context();
  EXPECT_EQ((*renamed)["last_message"], "The washing machine is done");
  EXPECT_TRUE(watcher->wait_payload("rcgate/general", "")) << context();
  EXPECT_TRUE(watcher->wait_payload("rcgate/general/availability", "")) << context();
  EXPECT_TRUE(watcher->wait_json("homeassistant/device/rcgate_GENERAL/config", [](const json& j) {
    return j.contains("cmps") && j["cmps"]["send"]["cmd_t"] == "rcgate/family-room/send" &&
           j["dev"]["ids"][0] == "rcgate_GENERAL";
  })) << context();
  watcher->publish("rcgate/family-room/send", "Renamed and reachable");
  EXPECT_TRUE(eventually([&] { return bot_posts(sim, "family-room", "Renamed and reachable").size() == 1; }, 8s))
      << context();

  // The bot leaves a room: HA's device is removed (empty retained config), availability off.
  sim.post("rooms/remove-member", {{"room", kCameraAlerts}, {"user", "camera-bot"}});
  EXPECT_TRUE(watcher->wait_payload("homeassistant/device/rcgate_" + std::string(kCameraAlerts) + "/config", ""))
      << context();
  EXPECT_TRUE(watcher->wait_payload("rcgate/camera-alerts/availability", "offline")) << context();

  // An orderly stop says offline itself.
  EXPECT_EQ(daemon->stop(), 0);
  daemon.reset();
  EXPECT_TRUE(watcher->wait(
      "rcgate/bridge/state",
      [&](const Message& m) { return m.payload == "offline"; }, 5s))
      << watcher->dump();
}

TEST_F(Mqtt, SendAndRequestsThroughMqtt) {
  start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(watcher->wait_payload("rcgate/general/availability", "online")) << context();

  // Plain text, and JSON with the API's fields, on the device's send topic.
  watcher->publish("rcgate/general/send", "Dinner is ready");
  EXPECT_TRUE(eventually([&] { return bot_posts(sim, "general", "Dinner is ready").size() == 1; }, 8s))
      << context();
  watcher->publish("rcgate/camera-alerts/send", json({{"text", "Motion in the garden"}}).dump());
  EXPECT_TRUE(eventually([&] {
    return bot_posts(sim, "camera-alerts", "Motion in the garden").size() == 1;
  }, 8s)) << context();

  // A request with a transaction: the HTTP API's envelope and the transaction back.
  watcher->publish("rcgate/bridge/request/send",
                   json({{"room", "general"}, {"text", "Via a request"}, {"transaction", "tx-1"}}).dump());
  auto answer = watcher->wait_json("rcgate/bridge/response/send",
                                   [](const json& j) { return j.value("transaction", "") == "tx-1"; });
  ASSERT_TRUE(answer) << context();
  EXPECT_EQ((*answer)["status"], "ok") << *answer;
  EXPECT_EQ((*answer)["data"]["status"], "sent") << *answer;
  EXPECT_EQ(bot_posts(sim, "general", "Via a request").size(), 1u);

  watcher->publish("rcgate/bridge/request/devices", json({{"transaction", 7}}).dump());
  answer = watcher->wait_json("rcgate/bridge/response/devices",
                              [](const json& j) { return j.value("transaction", 0) == 7; });
  ASSERT_TRUE(answer) << context();
  EXPECT_GE((*answer)["data"]["devices"].size(), 2u);

  // Mistakes get the API's error envelope.
  watcher->publish("rcgate/bridge/request/send",
                   json({{"device", "attic"}, {"text", "x"}, {"transaction", "tx-2"}}).dump());
  answer = watcher->wait_json("rcgate/bridge/response/send",
                              [](const json& j) { return j.value("transaction", "") == "tx-2"; });
  ASSERT_TRUE(answer) << context();
  EXPECT_EQ((*answer)["status"], "error");
  EXPECT_EQ((*answer)["code"], "not_found");
  watcher->publish("rcgate/bridge/request/send", "not json");
  answer = watcher->wait_json("rcgate/bridge/response/send",
                              [](const json& j) { return j.value("code", "") == "bad_request"; });
  ASSERT_TRUE(answer) << context();
}

TEST_F(Mqtt, AskThroughMqttIsAnsweredWithTheTransaction) {
  start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(watcher->wait_payload("rcgate/general/availability", "online")) << context();

  watcher->publish("rcgate/bridge/request/ask",
                   json({{"device", "general"},
                         {"question", "Open the gate?"},
                         {"answers", {"Yes", "No"}},
                         {"transaction", "gate-42"}})
                       .dump());
  ASSERT_TRUE(eventually([&] { return !bot_posts(sim, "general", "Open the gate?").empty(); }, 8s))
      << context();
  // Nothing is answered while the ask is open.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(watcher->on("rcgate/bridge/response/ask").empty()) << context();

  say(sim, "alice", "general", "Yes");
  auto answer = watcher->wait_json("rcgate/bridge/response/ask",
                                   [](const json& j) { return j.value("transaction", "") == "gate-42"; });
  ASSERT_TRUE(answer) << context();
  EXPECT_EQ((*answer)["status"], "ok") << *answer;
  EXPECT_EQ((*answer)["data"]["status"], "answered") << *answer;
  EXPECT_EQ((*answer)["data"]["answer"], "Yes");
  EXPECT_EQ((*answer)["data"]["answered_by"]["username"], "alice");
  // And it is an event, on the bus's topic and on the room's event entity.
  EXPECT_TRUE(watcher->wait_json("rcgate/event/ask", [](const json& j) { return j["answer"] == "Yes"; }))
      << context();
  EXPECT_TRUE(watcher->wait_json("rcgate/general/event",
                                 [](const json& j) { return j["event_type"] == "answer"; }))
      << context();

  // A timeout is an answer too.
  watcher->publish("rcgate/bridge/request/ask", json({{"device", "general"},
                                                      {"question", "Still there?"},
                                                      {"answers", {"Yes"}},
                                                      {"timeout", "1s"},
                                                      {"transaction", "late"}})
                                                    .dump());
  answer = watcher->wait_json("rcgate/bridge/response/ask",
                              [](const json& j) { return j.value("transaction", "") == "late"; });
  ASSERT_TRUE(answer) << context();
  EXPECT_EQ((*answer)["data"]["status"], "timed_out") << *answer;
}

TEST_F(Mqtt, KilledRcgateIsAnnouncedOfflineByItsLastWill) {
  start();
  ASSERT_TRUE(watcher->wait_payload("rcgate/bridge/state", "online")) << context();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  watcher->clear();
  daemon->kill9();
  daemon.reset();
  auto will = watcher->wait_payload("rcgate/bridge/state", "offline", 10s);
  ASSERT_TRUE(will) << watcher->dump() << broker.log();
  // And it stays: a new subscriber learns rcgate is offline.
  Watcher late(broker.port());
  auto m = late.wait("rcgate/bridge/state", [](const Message& m) { return m.retained; });
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "offline");
}

TEST_F(Mqtt, RecoversAfterTheBrokerRestarts) {
  start();
  ASSERT_TRUE(daemon->wait_online()) << daemon->log();
  ASSERT_TRUE(watcher->wait_payload("rcgate/general/availability", "online")) << context();

  broker.stop();
  // Rocket.Chat traffic goes on while the broker is away.
  say(sim, "alice", "general", "@camera-bot garage");
  EXPECT_TRUE(eventually([&] { return !bot_posts(sim, "general", "The garage door is closed").empty(); }, 8s))
      << daemon->log();
  EXPECT_TRUE(daemon->wait_log("mqtt: lost the connection")) << daemon->log();

  watcher.reset();
  broker.start();  // no persistence: every retained message is gone
  watcher = std::make_unique<Watcher>(broker.port());
  // rcgate reconnects and publishes its retained state again.
  ASSERT_TRUE(watcher->wait_payload("rcgate/bridge/state", "online", 15s)) << context();
  auto state = watcher->wait_json("rcgate/general", [](const json& j) {
    return j["last_message"] == "@camera-bot garage";
  }, 10s);
  EXPECT_TRUE(state) << context();
  EXPECT_TRUE(watcher->wait_json("homeassistant/device/rcgate_GENERAL/config",
                                 [](const json& j) { return j.contains("cmps"); }))
      << context();
  // And takes commands again.
  watcher->publish("rcgate/general/send", "Back online");
  EXPECT_TRUE(eventually([&] { return bot_posts(sim, "general", "Back online").size() == 1; }, 8s))
      << context();
}

// TLS: verified against the broker's CA; without it, rcgate says why it cannot connect.
TEST(MqttTls, ConnectsWithTheBrokersCaAndRefusesAnUnknownCertificate) {
  Broker broker(/*tls=*/true);
  Sim sim;
  TempDir dir;
  auto config = [&](const std::string& tls) {
    return household_config(sim.url(), dir.file("state"),
                            "mqtt:\n"
                            "  host: 127.0.0.1\n"
                            "  port: " + std::to_string(broker.port()) + "\n"
                            "  reconnect: {initial_delay: 100ms, max_delay: 300ms}\n"
                            "  tls:\n"
                            "    enabled: true\n" + tls);
  };
  {
    // The system CAs do not know the broker's self-signed certificate.
    Daemon daemon(dir, config(""));
    daemon.start();
    EXPECT_TRUE(daemon.wait_log("mqtt: cannot connect to mqtts://127.0.0.1:")) << daemon.log();
    EXPECT_TRUE(daemon.wait_log("TLS failed")) << daemon.log();
    EXPECT_EQ(daemon.stop(), 0);
  }
  TempDir second;  // its own log file
  Daemon daemon(second, config("    ca_file: " + broker.cert_file() + "\n"));
  daemon.start();
  EXPECT_TRUE(daemon.wait_log("mqtt: connected to mqtts://127.0.0.1:")) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace rcgate::test
