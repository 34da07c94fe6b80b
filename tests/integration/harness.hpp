#pragma once
// Runs rcgate's realtime client in-process on a real loop against a rcgate-sim child process.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "net/loop.hpp"
#include "rocketchat/realtime_client.hpp"
#include "support/process.hpp"

namespace rcgate::test {

using namespace std::chrono_literals;

struct Received {
  rc::Message message;
  rc::Classification classification;
};

class ClientHarness {
 public:
  ClientHarness(rc::RealtimeOptions options) {
    rc::RealtimeHandlers h;
    h.on_status = [this](const rc::LinkStatus& st) {
      statuses.push_back(st);
      if (st.state == rc::LinkState::Online) ++online_count;
    };
    h.on_message = [this](const rc::Message& m, const rc::Classification& c) {
      received.push_back({m, c});
    };
    h.on_room_changed = [this](const std::string& action, const nlohmann::json& room) {
      room_events.emplace_back(action, room);
    };
    h.on_subscription_changed = [this](const std::string& action, const nlohmann::json& sub) {
      subscription_events.emplace_back(action, sub);
    };
    client = std::make_unique<rc::RealtimeClient>(loop, std::move(options), h);
  }
  ~ClientHarness() { client->stop(); }

  // Runs the loop until pred() holds or the time is up; returns pred().
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return pred();
      loop.restart();
      loop.run_for(10ms);
    }
    return true;
  }
  // Keeps the loop running for a while (to show that something does NOT happen).
  void run_for(std::chrono::milliseconds d) {
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      loop.restart();
      loop.run_for(10ms);
    }
  }
  bool online() const { return client->status().state == rc::LinkState::Online; }
  bool wait_online(std::chrono::milliseconds limit = 10s) {
    return run_until([this] { return online(); }, limit);
  }
  const Received* find(const std::string& id) const {
    for (const auto& r : received)
      if (r.message.id == id) return &r;
    return nullptr;
  }

  net::Loop loop;
  std::unique_ptr<rc::RealtimeClient> client;
  std::vector<rc::LinkStatus> statuses;
  std::vector<Received> received;
  std::vector<std::pair<std::string, nlohmann::json>> room_events;
  std::vector<std::pair<std::string, nlohmann::json>> subscription_events;
  int online_count = 0;
};

inline constexpr const char* kBotId = "BCmeyJm2r6b8hJiie";
inline constexpr const char* kBotPat = "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb";

// Options for a fast test: short heartbeat and backoff.
inline rc::RealtimeOptions fast_options(const std::string& url) {
  rc::RealtimeOptions o;
  o.server = *parse_url(url);
  o.ping_interval = 2000ms;
  o.dead_after = 5000ms;
  o.connect_timeout = 3000ms;
  o.request_timeout = 3000ms;
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  return o;
}

inline rc::RealtimeOptions pat_options(const std::string& url) {
  auto o = fast_options(url);
  o.credentials.user_id = kBotId;
  o.credentials.token = kBotPat;
  return o;
}

inline rc::RealtimeOptions password_options(const std::string& url, const std::string& state_dir,
                                            const std::string& password = "bot-password") {
  auto o = fast_options(url);
  o.credentials.username = "camera-bot";
  o.credentials.password = password;
  o.state_dir = state_dir;
  return o;
}

}  // namespace rcgate::test
