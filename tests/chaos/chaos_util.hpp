#pragma once
// Shared by the fault campaign and the crash-safety run: the daemon's configuration, its local API,
// the simulator's control API, the log, and counting what reached the simulator.
#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace rcgate::chaos {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline constexpr const char* kKey = "chaos-key-3b9d27c4e81f4a06";
inline constexpr const char* kCameraAlerts = "c3f8a6a80a707dc9ce744b9d";
inline constexpr const char* kAliceDm = "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg";

// Reconnect cap used by both runs; the campaign checks recoveries against it + 1 s.
inline constexpr int kBackoffMaxMs = 1000;

// The daemon to run: $RCGATE_DAEMON (another build, an ASan one for instance) or this build's.
inline std::string daemon_binary() {
  const char* env = std::getenv("RCGATE_DAEMON");
  return env != nullptr && *env != '\0' ? env : test::rcgate_binary();
}

// rcgate-sim on a free port: $RCGATE_SIM or this build's. Its control API is at the port.
class SimProcess {
 public:
  explicit SimProcess(const std::string& dir) {
    const char* env = std::getenv("RCGATE_SIM");
    const std::string binary = env != nullptr && *env != '\0' ? env : test::sim_binary();
    const std::string ports = dir + "/sim-ports.json";
    process_ = test::Process({binary, "--port", "0", "--ports-file", ports, "--log-level", "warn"}, dir + "/sim.log");
    if (!test::eventually([&] { return fs::exists(ports); }, 15s))
      throw std::runtime_error("rcgate-sim did not start within 15 s: " + process_.log());
    std::ifstream in(ports);
    port_ = json::parse(in).at("http").get<int>();
  }
  ~SimProcess() {
    process_.signal(SIGTERM);
    if (process_.wait(5s) < 0) process_.signal(SIGKILL);
  }
  int http_port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  test::Process& process() { return process_; }

 private:
  test::Process process_;
  int port_ = 0;
};

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Fast timings so that a thousand faults fit in minutes; a rule that echoes each DM; alice and
// bob both allowed; a rate limit that a campaign never reaches.
inline std::string daemon_config(const std::string& url, const std::string& state_dir,
                                 const std::string& log_level = "info") {
  return "rocketchat:\n"
         "  url: " + url + "\n"
         "  auth:\n"
         "    username: camera-bot\n"
         "    password: bot-password\n"
         "  heartbeat:\n"
         "    ping_interval: 400ms\n"
         "    dead_after: 1s\n"
         "  connect_timeout: 2s\n"
         "  request_timeout: 2s\n"
         "  reconnect:\n"
         "    initial_delay: 100ms\n"
         "    max_delay: " + std::to_string(kBackoffMaxMs) + "ms\n"
         "state_dir: " + state_dir + "\n"
         "log:\n"
         "  level: " + log_level + "\n"
         "users:\n"
         "  - username: alice\n"
         "    role: adult\n"
         "  - username: bob\n"
         "    role: adult\n"
         "interactions:\n"
         "  engines: [rules]\n"
         "  rate_limit: {messages: 10000, per: 1m}\n"
         "outbox:\n"
         "  retry: {initial_delay: 100ms, max_delay: 500ms}\n"
         "api:\n"
         "  port: 0\n"
         "  key: " + std::string(kKey) + "\n"
         "  send_wait: 300ms\n"
         "plugins:\n"
         "  rules:\n"
         "    rules:\n"
         "      - name: echo\n"
         "        keywords: chaosdm\n"
         "        reply: \"echo {{text}}\"\n";
}

// The daemon's log, read incrementally (it grows to megabytes over a campaign).
class LogTail {
 public:
  void reset(const std::string& path) {
    path_ = path;
    offset_ = 0;
    text_.clear();
  }
  // New text since the last call.
  const std::string& poll() {
    text_.clear();
    std::ifstream in(path_, std::ios::binary);
    if (!in) return text_;
    in.seekg(0, std::ios::end);
    const auto end = static_cast<std::uint64_t>(in.tellg());
    if (end <= offset_) return text_;
    in.seekg(static_cast<std::streamoff>(offset_));
    text_.resize(end - offset_);
    in.read(text_.data(), static_cast<std::streamsize>(text_.size()));
    text_.resize(static_cast<std::size_t>(in.gcount()));
    offset_ += text_.size();
    return text_;
  }

 private:
  std::string path_;
  std::uint64_t offset_ = 0;
  std::string text_;
};

inline int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size())) ++n;
  return n;
}

inline json parse(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

// rcgate's local API.
inline test::HttpReply api(int port, const std::string& method, const std::string& target,
                           const json& body = nullptr) {
  std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kKey}};
  return test::http_request(port, method, target, body.is_null() ? std::string() : body.dump(), headers);
}

// The simulator's control API; a failure is the simulator's fault, so it stops the run.
inline json sim_call(int sim_port, const std::string& method, const std::string& path, const json& body = nullptr) {
  auto r = test::http_request(sim_port, method, "/_sim/" + path, body.is_null() ? std::string() : body.dump());
  if (r.status < 200 || r.status >= 300) {
    throw std::runtime_error(method + " /_sim/" + path + " -> " + std::to_string(r.status) + " " + r.body);
  }
  return parse(r.body);
}

// The bot's messages (not system ones) in a room, oldest first: their texts.
inline std::vector<std::string> bot_texts(int sim_port, const std::string& room) {
  std::vector<std::string> out;
  auto all = sim_call(sim_port, "GET", "messages?room=" + room);
  for (const auto& m : all["messages"]) {
    if (m["u"]["username"] == "camera-bot" && !m.contains("t") && m.contains("msg") && m["msg"].is_string())
      out.push_back(m["msg"].get<std::string>());
  }
  return out;
}

// Sanitizer reports or a crash message in a log.
inline bool has_crash_report(const std::string& log) {
  return log.find("AddressSanitizer") != std::string::npos || log.find("runtime error:") != std::string::npos ||
         log.find("LeakSanitizer") != std::string::npos || log.find("terminate called") != std::string::npos;
}

// Percentile of a sorted vector (nearest rank).
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.5);
  if (rank == 0) rank = 1;
  if (rank > v.size()) rank = v.size();
  return v[rank - 1];
}

inline long arg_long(int argc, char** argv, const std::string& flag, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == flag) return std::stol(argv[i + 1]);
  return fallback;
}

}  // namespace rcgate::chaos
