#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/fixtures.hpp"

extern char** environ;

namespace rcgate::test {

std::string sim_binary() { return RCGATE_SIM_BINARY; }
std::string rcgate_binary() { return RCGATE_BINARY; }

Process::Process(const std::vector<std::string>& argv, const std::string& log_file,
                 const std::map<std::string, std::string>& extra_env)
    : log_file_(log_file) {
  if (!std::filesystem::exists(argv.at(0)))
    throw std::runtime_error("test peer missing: " + argv[0] + " does not exist (build it first)");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    for (const auto& [k, v] : extra_env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
  }
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_), status_(o.status_), log_file_(std::move(o.log_file_)) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && running()) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::milliseconds(5000));
    }
    pid_ = o.pid_;
    status_ = o.status_;
    log_file_ = std::move(o.log_file_);
    o.pid_ = -1;
  }
  return *this;
}

bool Process::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (pid_ > 0 && running()) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (status_ == -1) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string Process::log() const {
  try {
    return read_file(log_file_);
  } catch (...) {
    return {};
  }
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rcgate-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

nlohmann::json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body, const std::map<std::string, std::string>& headers) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  std::ostringstream req;
  req << method << " " << target << " HTTP/1.1\r\nHost: 127.0.0.1:" << port
      << "\r\nConnection: close\r\nContent-Length: " << body.size() << "\r\n";
  if (!body.empty()) req << "Content-Type: application/json\r\n";
  for (const auto& [k, v] : headers) req << k << ": " << v << "\r\n";
  req << "\r\n" << body;
  std::string out = req.str();
  ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto sp = in.find(' ');
  if (sp != std::string::npos) reply.status = std::atoi(in.c_str() + sp + 1);
  auto hdr_end = in.find("\r\n\r\n");
  if (hdr_end != std::string::npos) {
    std::string head = in.substr(0, hdr_end);
    reply.body = in.substr(hdr_end + 4);
    // Undo chunked transfer encoding if the server used it.
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      std::string decoded, b = reply.body;
      size_t pos = 0;
      while (pos < b.size()) {
        size_t eol = b.find("\r\n", pos);
        if (eol == std::string::npos) break;
        size_t len = std::stoul(b.substr(pos, eol - pos), nullptr, 16);
        if (len == 0) break;
        decoded += b.substr(eol + 2, len);
        pos = eol + 2 + len + 2;
      }
      reply.body = decoded;
    }
  }
  return reply;
}

Sim::Sim(std::vector<std::string> extra, bool tls) {
  std::vector<std::string> argv = {sim_binary(), "--port", "0", "--ports-file",
                                   dir_.file("ports.json")};
  if (tls) {
    argv.insert(argv.end(), {"--tls-port", "0", "--cert-out", dir_.file("cert.pem")});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = Process(argv, dir_.file("sim.log"));
  bool up = eventually([&] { return std::filesystem::exists(dir_.file("ports.json")); },
                       std::chrono::milliseconds(15000));
  if (!up) {
    throw std::runtime_error("rcgate-sim did not start within 15 s; its log:\n" + log());
  }
  auto ports = nlohmann::json::parse(read_file(dir_.file("ports.json")));
  http_port_ = ports.at("http").get<int>();
  if (tls) {
    https_port_ = ports.at("https").get<int>();
    cert_file_ = ports.at("cert_file").get<std::string>();
  }
}

Sim::~Sim() {
  process_.signal(SIGTERM);
  if (process_.wait(std::chrono::milliseconds(5000)) < 0) process_.signal(SIGKILL);
}

nlohmann::json Sim::post(const std::string& path, const nlohmann::json& body) {
  auto r = http_request(http_port_, "POST", "/_sim/" + path, body.dump());
  EXPECT_TRUE(r.status >= 200 && r.status < 300)
      << "POST /_sim/" << path << " -> " << r.status << " " << r.body;
  return r.json();
}

nlohmann::json Sim::get(const std::string& path) {
  auto r = http_request(http_port_, "GET", "/_sim/" + path);
  EXPECT_TRUE(r.status >= 200 && r.status < 300)
      << "GET /_sim/" << path << " -> " << r.status << " " << r.body;
  return r.json();
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(step);
  }
}

}  // namespace rcgate::test
