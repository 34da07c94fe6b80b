#pragma once
// An MQTT client for the bridge: libmosquitto driven by the loop. Its socket is watched with
// net::FdWatch (read when readable, write while libmosquitto has output queued) and a timer runs
// libmosquitto's keepalive; no thread of libmosquitto's own, no polling.
//
// Connection: started by start(), retried with backoff (core/backoff.hpp) whenever it fails or
// drops, until stop(). Subscriptions are remembered and renewed on every connection. A last will
// (retained) is set before connecting, so the broker announces rcgate's death by itself.
//
// While disconnected, publish() drops the message and returns false: whoever publishes decides
// what is worth keeping (the bridge republishes its retained state on every connection).
// Host names are resolved by libmosquitto with a blocking lookup; give an address when the
// name server may be slow.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace rcgate::net {
class Loop;
}

namespace rcgate::mqtt {

struct ClientOptions {
  std::string host = "localhost";
  int port = 1883;
  std::string client_id = "rcgate";
  std::string username;  // empty: no login
  std::string password;  // secret: never logged
  bool tls = false;
  bool tls_verify = true;
  std::string ca_file;  // empty: the system's CAs
  std::chrono::seconds keepalive{60};
  std::string will_topic;  // empty: no last will
  std::string will_payload;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds connect_timeout{15000};  // TCP + TLS + CONNACK
};

struct ClientHandlers {
  std::function<void()> on_connected;                         // CONNACK accepted
  std::function<void(const std::string& reason)> on_disconnected;  // after on_connected only
  std::function<void(const std::string& topic, const std::string& payload, bool retained)>
      on_message;
};

class Client {
 public:
  Client(net::Loop& loop, ClientOptions options, ClientHandlers handlers);
  // Disconnects without the final message (stop() is the orderly way).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();
  // The orderly end: publishes `final_topic` (retained) when connected, sends DISCONNECT and
  // waits up to `flush` for them to leave. Blocks (it runs at shutdown, when the loop may be
  // stopped already). No reconnection afterwards.
  void stop(const std::string& final_topic = {}, const std::string& final_payload = {},
            std::chrono::milliseconds flush = std::chrono::milliseconds(1000));

  bool connected() const;
  // Queues a message; false (dropped) while not connected.
  bool publish(const std::string& topic, const std::string& payload, bool retain, int qos = 1);
  // Subscribes now when connected and again after every reconnection.
  void subscribe(const std::string& pattern, int qos = 1);
  // Where the client connects, for messages: "mqtt://host:port" or "mqtts://host:port".
  std::string where() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rcgate::mqtt
