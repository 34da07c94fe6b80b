// The rcgate binary as an operator runs it: `rcgate check`, `rcgate run`, configuration errors.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <vector>

#include "support/fixtures.hpp"
#include "support/notify_listener.hpp"
#include "support/process.hpp"

namespace rcgate::test {
namespace {

using namespace std::chrono_literals;

struct Run {
  int code;
  std::string output;
};

Run run_rcgate(const std::vector<std::string>& args, TempDir& dir,
               std::chrono::milliseconds limit = 30s,
               const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {rcgate_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  static int n = 0;
  Process p(argv, dir.file("rcgate-" + std::to_string(++n) + ".log"), env);
  int code = p.wait(limit);
  if (code < 0) p.signal(SIGKILL);
  return {code, p.log()};
}

std::string write_config(TempDir& dir, const std::string& url, const std::string& auth,
                         const std::string& extra = {}) {
  std::string path = dir.file("rcgate.yaml");
  std::ofstream f(path);
  f << "rocketchat:\n  url: " << url << "\n  auth:\n" << auth
    << "  reconnect:\n    initial_delay: 100ms\n    max_delay: 400ms\n"
    << extra << "state_dir: " << dir.file("state") << "\n";
  return path;
}

const char* kPasswordAuth = "    username: camera-bot\n    password: bot-password\n";

TEST(Cli, CheckPassesAgainstTheSimulator) {
  Sim sim;
  TempDir dir;
  auto cfg = write_config(dir, sim.url(), kPasswordAuth);
  auto r = run_rcgate({"check", "--config", cfg}, dir);
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* line : {"OK    config", "OK    dns: 127.0.0.1", "OK    tcp", "OK    server: Rocket.Chat 8.8",
                           "OK    login: logged in as camera-bot", "OK    realtime", "OK    roles",
                           "OK    rooms: member of 2 rooms", "OK    uploads", "result: 0 failures, 0 warnings"})
    EXPECT_NE(r.output.find(line), std::string::npos) << "missing '" << line << "' in\n" << r.output;
  // check logs out again: no token is left behind on the server.
  EXPECT_EQ(sim.stats()["tokens"]["camera-bot"], 0) << sim.stats().dump();
}

TEST(Cli, CheckReportsAWrongPassword) {
  Sim sim;
  TempDir dir;
  auto cfg = write_config(dir, sim.url(), "    username: camera-bot\n    password: wrong\n");
  auto r = run_rcgate({"check", "--config", cfg}, dir);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL  login: the server refused 'camera-bot'"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Fix: check rocketchat.auth.username and the password"),
            std::string::npos);
  EXPECT_NE(r.output.find("SKIP  realtime"), std::string::npos) << r.output;
}

TEST(Cli, CheckReportsASelfSignedCertificate) {
  Sim sim({}, /*tls=*/true);
  TempDir dir;
  auto cfg = write_config(dir, sim.tls_url(), kPasswordAuth);
  auto r = run_rcgate({"check", "--config", cfg}, dir);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL  tls: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("self-signed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rocketchat.tls.ca_file"), std::string::npos) << r.output;

  // With the server's certificate trusted, the same check passes.
  auto trusted = write_config(dir, sim.tls_url(), kPasswordAuth,
                              "  tls:\n    ca_file: " + sim.cert_file() + "\n");
  auto ok = run_rcgate({"check", "--config", trusted}, dir);
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("OK    tls: certificate verified for localhost"), std::string::npos)
      << ok.output;
}

TEST(Cli, CheckWarnsWhenTheBotRoleIsMissing) {
  Sim sim;
  TempDir dir;
  sim.post("users/update", {{"username", "camera-bot"}, {"roles", {"user"}}});
  auto cfg = write_config(dir, sim.url(), kPasswordAuth);
  auto r = run_rcgate({"check", "--config", cfg}, dir);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("WARN  roles: camera-bot lacks the 'bot' role"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("result: 0 failures, 1 warning"), std::string::npos) << r.output;
}

TEST(Cli, CheckReportsAnUnreachableServer) {
  TempDir dir;
  auto cfg = write_config(dir, "http://127.0.0.1:1", kPasswordAuth);  // nothing listens on port 1
  auto r = run_rcgate({"check", "--config", cfg}, dir);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL  tcp: cannot connect to port 1"), std::string::npos) << r.output;
}

TEST(Cli, ConfigWithThreeMistakesPrintsAllThreeAndExits78) {
  TempDir dir;
  std::string path = dir.file("bad.yaml");
  {
    std::ofstream f(path);
    f << "rocketchat:\n"
         "  url: chat.example.org\n"
         "  auth:\n"
         "    username: camera-bot\n"
         "    password: secret-value\n"
         "  heartbeat:\n"
         "    ping_intervall: 10s\n"
         "  reconnect:\n"
         "    initial_delay: soon\n";
  }
  for (const char* command : {"run", "check", "config"}) {
    auto r = run_rcgate({command, "--config", path}, dir);
    EXPECT_EQ(r.code, 78) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("has 3 errors"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("rocketchat.url"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("rocketchat.heartbeat: unknown key 'ping_intervall'"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("rocketchat.reconnect.initial_delay"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("secret-value"), std::string::npos) << "secret leaked:\n" << r.output;
  }
}

TEST(Cli, UsageErrorsExit64) {
  TempDir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--no-such-flag"}, {"no-such-command"}, {"run", "--config"},
        {"check", "extra"}}) {
    auto r = run_rcgate(args, dir);
    EXPECT_EQ(r.code, 64) << args[0] << "\n" << r.output;
    EXPECT_NE(r.output.find("(see rcgate help)"), std::string::npos) << r.output;
  }
  // --config without its value names the option.
  EXPECT_NE(run_rcgate({"run", "--config"}, dir).output.find("--config needs a value"),
            std::string::npos);
}

TEST(Cli, RunStopsWith78OnAWrongPassword) {
  Sim sim;
  TempDir dir;
  auto cfg = write_config(dir, sim.url(), "    username: camera-bot\n    password: wrong\n");
  auto r = run_rcgate({"run", "--config", cfg}, dir, 15s);
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("giving up"), std::string::npos) << r.output;
  EXPECT_EQ(sim.stats()["failed_logins"], 1);
}

TEST(Cli, RunLogsInAndStopsCleanlyOnSigterm) {
  Sim sim;
  TempDir dir;
  auto cfg = write_config(dir, sim.url(), kPasswordAuth);
  Process p({rcgate_binary(), "run", "--config", cfg}, dir.file("run.log"));
  ASSERT_TRUE(eventually([&] { return p.log().find("online as 'camera-bot'") != std::string::npos; },
                         10s))
      << p.log();
  sim.post("messages", {{"room", "general"}, {"user", "alice"}, {"text", "@camera-bot hello"}});
  EXPECT_TRUE(eventually([&] { return p.log().find("#general alice: refused") !=
                                      std::string::npos; }))
      << "alice is not in users: rcgate must refuse her\n" << p.log();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0) << p.log();
  EXPECT_NE(p.log().find("rcgate stopped"), std::string::npos);
  EXPECT_EQ(p.log().find("bot-password"), std::string::npos) << "password in the log";
}

// Under a service manager (Type=notify, WatchdogSec=): READY=1, the link's STATUS=, WATCHDOG=1
// from the loop at half the interval, STOPPING=1 on SIGTERM, each one datagram on $NOTIFY_SOCKET.
TEST(Cli, RunTellsTheServiceManagerReadyStatusWatchdogAndStopping) {
  Sim sim;
  TempDir dir;
  const std::string socket = dir.file("notify");
  NotifyListener manager(socket);
  ASSERT_TRUE(manager.bound());
  auto cfg = write_config(dir, sim.url(), kPasswordAuth);
  Process p({rcgate_binary(), "run", "--config", cfg}, dir.file("run.log"),
            {{"NOTIFY_SOCKET", socket}, {"WATCHDOG_USEC", "200000"}});
  std::vector<std::string> told;
  auto count = [&](const std::string& what) {
    return std::count(told.begin(), told.end(), what);
  };
  auto listen_until = [&](const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (auto d = manager.receive(100ms)) told.push_back(*d);
    }
    return done();
  };
  ASSERT_TRUE(listen_until([&] { return count("STATUS=Rocket.Chat online") == 1; }, 10s))
      << p.log();
  EXPECT_EQ(count("READY=1"), 1);
  // 200 ms watchdog: fed every 100 ms; about 10 feeds in a second, at least 5 on a loaded machine.
  const auto feeds = count("WATCHDOG=1");
  listen_until([] { return false; }, 1s);
  EXPECT_GE(count("WATCHDOG=1") - feeds, 5);
  p.signal(SIGTERM);
  EXPECT_TRUE(listen_until([&] { return count("STOPPING=1") == 1; }, 5s)) << p.log();
  EXPECT_EQ(p.wait(5s), 0) << p.log();
  EXPECT_EQ(p.log().find("service manager"), std::string::npos) << p.log();
  // Nothing but the protocol's assignments was sent.
  for (const auto& d : told)
    EXPECT_TRUE(d == "READY=1" || d == "WATCHDOG=1" || d == "STOPPING=1" ||
                d.rfind("STATUS=Rocket.Chat ", 0) == 0)
        << d;
}

}  // namespace
}  // namespace rcgate::test
