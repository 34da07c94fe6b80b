#pragma once
// The rcgate binary run as a daemon against rcgate-sim, with a configuration written for the test.
#include <signal.h>

#include <fstream>
#include <string>

#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace rcgate::test {

using namespace std::chrono_literals;

// A household configuration: alice mapped (role adult), bob denied, a few rules.
inline std::string household_config(const std::string& url, const std::string& state_dir,
                                    const std::string& extra = {}) {
  return "rocketchat:\n"
         "  url: " + url + "\n"
         "  auth:\n"
         "    username: camera-bot\n"
         "    password: bot-password\n"
         "  reconnect:\n"
         "    initial_delay: 100ms\n"
         "    max_delay: 400ms\n"
         "state_dir: " + state_dir + "\n"
         "log:\n"
         "  level: debug\n"
         "users:\n"
         "  - username: alice\n"
         "    role: adult\n"
         "  - username: bob\n"
         "    interactions: deny\n"
         "interactions:\n"
         "  engines: [rules]\n"
         "  rate_limit: {messages: 20, per: 1m}\n"
         "plugins:\n"
         "  rules:\n"
         "    rules:\n"
         "      - name: garage\n"
         "        keywords: garage\n"
         "        reply: \"The garage door is closed, {{display_name}}.\"\n"
         "      - name: lights\n"
         "        keywords: lights\n"
         "        reply: \"Which room?\"\n"
         "        followup: true\n"
         "      - name: kitchen\n"
         "        keywords: kitchen\n"
         "        reply: \"Kitchen lights on.\"\n" +
         extra;
}

class Daemon {
 public:
  Daemon(TempDir& dir, const std::string& config_text) : dir_(dir) {
    config_ = dir.file("rcgate.yaml");
    std::ofstream(config_) << config_text;
  }
  void start() {
    ++runs_;
    process_ = Process({rcgate_binary(), "run", "--config", config_},
                       dir_.file("rcgate-" + std::to_string(runs_) + ".log"));
  }
  bool wait_online(std::chrono::milliseconds limit = 10s) {
    return eventually([&] { return log().find("online as 'camera-bot'") != std::string::npos; },
                      limit);
  }
  // Waits until the log contains `text` (at least `times` times).
  bool wait_log(const std::string& text, std::chrono::milliseconds limit = 10s, int times = 1) {
    return eventually([&] { return count(log(), text) >= times; }, limit);
  }
  int stop() {
    process_.signal(SIGTERM);
    return process_.wait(10s);
  }
  void kill9() {
    process_.signal(SIGKILL);
    process_.wait(5s);
  }
  std::string log() const { return process_.log(); }
  Process& process() { return process_; }
  static int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + needle.size()))
      ++n;
    return n;
  }

 private:
  TempDir& dir_;
  std::string config_;
  Process process_;
  int runs_ = 0;
};

// The bot's messages in a room of the simulator.
inline std::vector<nlohmann::json> bot_messages(Sim& sim, const std::string& room) {
  std::vector<nlohmann::json> out;
  auto all = sim.get("messages?room=" + room);
  for (const auto& m : all["messages"])
    if (m["u"]["username"] == "camera-bot" && !m.contains("t")) out.push_back(m);
  return out;
}

}  // namespace rcgate::test
