#pragma once
// Real processes for integration tests: spawn, wait, signal; and the simulator as a child.
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rcgate::test {

class Process {
 public:
  Process() = default;
  // Starts argv[0] with the arguments; stdout and stderr go to log_file (appended).
  Process(const std::vector<std::string>& argv, const std::string& log_file,
          const std::map<std::string, std::string>& extra_env = {});
  ~Process();  // SIGKILLs a process that is still running
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for the exit; returns the exit code, 128+signal when killed, -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  const std::string& log_file() const { return log_file_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_file_;
};

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct HttpReply {
  int status = 0;
  std::string body;
  nlohmann::json json() const;
};
// A blocking HTTP/1.1 request to 127.0.0.1:port with "Connection: close" (test helper only).
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

// rcgate-sim as a child process on free ports.
class Sim {
 public:
  // extra: more command-line flags, e.g. {"--flavour", "6", "--heartbeat-ms", "300"}.
  explicit Sim(std::vector<std::string> extra = {}, bool tls = false);
  ~Sim();

  int http_port() const { return http_port_; }
  int https_port() const { return https_port_; }
  const std::string& cert_file() const { return cert_file_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string tls_url() const { return "https://localhost:" + std::to_string(https_port_); }
  Process& process() { return process_; }
  std::string log() const { return process_.log(); }

  // Control API: POST/GET /_sim/<path>; fails the test unless the answer is 2xx.
  nlohmann::json post(const std::string& path, const nlohmann::json& body = nlohmann::json::object());
  nlohmann::json get(const std::string& path);
  nlohmann::json stats() { return get("stats"); }

 private:
  TempDir dir_;
  Process process_;
  int http_port_ = 0;
  int https_port_ = 0;
  std::string cert_file_;
};

std::string sim_binary();
std::string rcgate_binary();

// Polls `pred` until it is true or `timeout` passes. Returns the last value of pred.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

}  // namespace rcgate::test
