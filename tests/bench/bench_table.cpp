// bench_table: rcgate and a reference bot written on @rocket.chat/sdk, one after the other,
// against the same rcgate-sim (a generated household), and one table with each figure for both
// and the ratio (issue 7). Not a test: it measures and prints; run it through
// tests/scripts/bench.sh, which builds what it needs and installs the reference bot's packages.
//
//   bench_table --reference-bot DIR [--rooms 100] [--users 500] [--rate 1000] [--seconds 10]
//               [--mention-every 20] [--upload-mb 20] [--bot-cpu 0] [--sim-cpu 1] [--json FILE]
//               [--rcgate PATH]   (another rcgate binary, e.g. to compare two builds)
//               [--state-parent DIR]  (rcgate's state_dir under DIR, e.g. /dev/shm: no disk
//                                      flushes, to separate the CPU path from fsync latency)
//               [--rcgate-only]  (no reference bot and no curl: rcgate's column alone, to
//                                 compare two builds or profile; not the comparison the
//                                 issue asks for)
//   bench_table --rss-breakdown [--rooms 100] [--users 500] [--rcgate PATH]
//               (only rcgate, idle and connected: VmRSS, RssAnon, RssFile and each mapping's Rss
//                from /proc/<pid>/smaps, largest first; no reference bot needed)
//
// Both bots are pinned (taskset) to --bot-cpu, the simulator to --sim-cpu. Latencies and the
// routed rate are measured by the simulator on its own clock (POST /_sim/load/...); memory from
// /proc/<pid>/status; curl's from wait4()'s rusage.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using namespace rcgate::bench;
using nlohmann::json;
using rcgate::test::Process;
using rcgate::test::Sim;
using rcgate::test::TempDir;

constexpr const char* kKey = "bench-key-0a1b2c3d4e5f6789";

struct Options {
  int rooms = 100;
  int users = 500;
  int rate = 1000;
  int seconds = 10;
  int mention_every = 20;
  int upload_mb = 20;
  int bot_cpu = 0;
  int sim_cpu = 1;
  std::string reference_dir;
  std::string json_out;
  std::string rcgate = rcgate::test::rcgate_binary();
  std::string state_parent;  // where rcgate's state_dir goes (e.g. /dev/shm: no disk flushes)
  bool rss_breakdown = false;  // only rcgate idle, and where its resident memory is
  bool rcgate_only = false;    // no reference bot and no curl: rcgate's column alone (profiling)
};

// One bot's figures; negative means "not measured".
struct Figures {
  double startup_ms = -1;
  double idle_rss_kib = -1;
  double idle_anon_kib = -1;  // RssAnon: the process's own memory, without mapped library pages
  double p50_us = -1, p99_us = -1, max_us = -1;
  std::uint64_t latency_samples = 0;
  double routed_per_s = -1;
  double sim_send_per_s = -1;  // how fast the simulator handed the burst over (the ceiling)
  std::uint64_t burst = 0;
  double own_count = -1;       // messages the bot says it read (reference bot only)
  double upload_mb_s = -1, upload_growth_kib = -1;
  std::string notes;
};

// What one journal flush costs where rcgate keeps its state: a 40-byte append and fdatasync,
// `times` times (the floor under rcgate's added latency for a message it acts on).
std::string flush_latency(const std::string& parent, int times = 2000) {
  const std::string path = parent + "/rcgate-bench-flush-" + std::to_string(::getpid());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open " + path;
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(times));
  const std::string line = "{\"handled\":\"0123456789abcdefg\"}\n";
  for (int i = 0; i < times; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fdatasync(fd) != 0) break;
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (us.empty()) return "append + fdatasync failed";
  std::sort(us.begin(), us.end());
  char buf[160];
  std::snprintf(buf, sizeof buf, "p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu flushes)", us[us.size() / 2] / 1000,
                us[us.size() * 99 / 100] / 1000, us.back() / 1000, us.size());
  return buf;
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void pin(pid_t pid, int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(pid, sizeof set, &set) != 0) std::perror("sched_setaffinity");
}

std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

json load_stats(Sim& sim) { return sim.get("load")["load"]; }

// Start-up: from the spawn to the simulator seeing the bot subscribe to __my_messages__.
bool wait_subscribed(Sim& sim, std::uint64_t before, std::int64_t spawned_at, Figures& f, Process& bot) {
  const bool ok = rcgate::test::eventually(
      [&] {
        const json s = load_stats(sim);
        return s["bot_subscriptions"].get<std::uint64_t>() > before && s["bot_connected"].get<bool>();
      },
      60s, 2ms);
  if (!ok) {
    std::fprintf(stderr, "the bot never subscribed; its log:\n%s\n", bot.log().c_str());
    return false;
  }
  f.startup_ms = static_cast<double>(load_stats(sim)["bot_subscribed_at_ms"].get<std::int64_t>() - spawned_at);
  return true;
}

void measure_latency(Sim& sim, const Options& o, Figures& f) {
  sim.post("load/reset");
  sim.post("load/rate", {{"rate", o.rate}, {"seconds", o.seconds}, {"mention_every", o.mention_every}});
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  rcgate::test::eventually(
      [&] {
        const json s = load_stats(sim);
        return !s["running"].get<bool>() && s["pending"].get<int>() == 0 && s["waiting"].get<int>() == 0;
      },
      20s, 20ms);
  const json s = load_stats(sim);
  f.p50_us = s["latency_us"]["p50"].get<double>();
  f.p99_us = s["latency_us"]["p99"].get<double>();
  f.max_us = s["latency_us"]["max"].get<double>();
  f.latency_samples = s["latency_us"]["count"].get<std::uint64_t>();
  const auto mentions = s["mentions"].get<std::uint64_t>();
  if (f.latency_samples < mentions) {
    f.notes += "latency: " + std::to_string(mentions - f.latency_samples) + " of " + std::to_string(mentions) +
               " mentions unanswered within 20 s; ";
  }
}

// One burst of `count` messages and a final mention; the bot has routed them all when it
// answers that mention (one connection, one ordered stream).
bool burst(Sim& sim, std::uint64_t count, double& rate, double& send_rate) {
  sim.post("load/reset");
  sim.post("load/burst", {{"count", count}});
  const bool done = rcgate::test::eventually(
      [&] { return load_stats(sim)["burst"]["state"] == "done"; }, 120s, 5ms);
  if (!done) return false;
  const json b = load_stats(sim)["burst"];
  rate = b["rate"].get<double>();
  send_rate = b["send_rate"].get<double>();
  return true;
}

void measure_throughput(Sim& sim, Figures& f, const std::function<double()>& own_count) {
  double rate = 0, send_rate = 0;
  const double before = own_count();
  if (!burst(sim, 20000, rate, send_rate)) {
    f.notes += "throughput: the first burst was never answered; ";
    return;
  }
  // A second burst sized for about 4 s at the rate just seen.
  const auto count = static_cast<std::uint64_t>(std::clamp(rate * 4.0, 20000.0, 2000000.0));
  const double mid = own_count();
  if (!burst(sim, count, rate, send_rate)) {
    f.notes += "throughput: the second burst was never answered; ";
    return;
  }
  f.burst = count;
  f.routed_per_s = rate;
  f.sim_send_per_s = send_rate;
  const double after = own_count();
  if (before >= 0 && after >= 0) f.own_count = after - mid;
}

// rcgate's own upload path: the local API asked to post a file from upload_dirs.
void measure_rcgate_upload(Sim& sim, int api_port, const std::string& file, pid_t pid, Figures& f) {
  auto upload = [&](const std::string& path) {
    return rcgate::test::http_request(
        api_port, "POST", "/api/v1/upload", json{{"device", "room001"}, {"path", path}, {"caption", "benchmark"}}.dump(),
        {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}});
  };
  const std::string warm = file + ".warm";
  make_file(warm, 64 * 1024);
  if (upload(warm).status != 200) {
    f.notes += "upload: the warm-up upload failed; ";
    return;
  }
  reset_peak(pid);
  const long hwm_before = status_kib(pid, "VmHWM");
  const auto start = std::chrono::steady_clock::now();
  const auto r = upload(file);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long hwm_after = status_kib(pid, "VmHWM");
  if (r.status != 200) {
    f.notes += "upload: " + std::to_string(r.status) + " " + r.body + "; ";
    return;
  }
  const json uploads = sim.get("uploads")["uploads"];
  if (uploads.empty() || uploads.back().value("sha256", "") != sha256_of(file)) {
    f.notes += "upload: the simulator's copy differs; ";
    return;
  }
  f.upload_mb_s = static_cast<double>(std::filesystem::file_size(file)) / 1e6 / s;
  f.upload_growth_kib = static_cast<double>(hwm_after - hwm_before);
}

struct Measured {
  int status = -1;
  long maxrss_kib = -1;
  double seconds = 0;
};

// Runs argv (stdout to /dev/null) and returns its exit status and peak RSS (wait4's rusage).
Measured run_measured(const std::vector<std::string>& argv, int cpu) {
  Measured m;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull != nullptr) ::dup2(::fileno(devnull), 1);
    if (cpu >= 0) pin(0, cpu);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (::wait4(pid, &status, 0, &usage) == pid) {
    m.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    m.maxrss_kib = usage.ru_maxrss;
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

// curl posting the same file to the same endpoint rcgate uses first (rooms.media), logged in
// as the bot. Growth: its peak RSS for the file minus its peak for a 1 KB file.
void measure_curl(Sim& sim, const std::string& file, const std::string& small, const Options& o, Figures& f) {
  const auto login = rcgate::test::http_request(sim.http_port(), "POST", "/api/v1/login",
                                                json{{"user", "camera-bot"}, {"password", "bot-password"}}.dump(),
                                                {{"Content-Type", "application/json"}});
  const json data = login.json()["data"];
  const std::string user_id = data.value("userId", "");
  const std::string token = data.value("authToken", "");
  const auto info = rcgate::test::http_request(sim.http_port(), "GET", "/api/v1/rooms.info?roomName=room001", {},
                                               {{"X-User-Id", user_id}, {"X-Auth-Token", token}});
  const json room = info.json();
  const std::string rid = room.contains("room") ? room["room"].value("_id", "") : "";
  const std::string curl = which("curl");
  if (curl.empty()) {
    f.notes += "curl: not installed; ";
    return;
  }
  if (rid.empty()) {
    f.notes += "curl: room001 not found (" + std::to_string(info.status) + " " + info.body.substr(0, 200) + "); ";
    return;
  }
  auto run = [&](const std::string& path) {
    // "Expect:" off: curl would otherwise wait up to 1 s for a 100 Continue before a large body.
    return run_measured({curl, "-sS", "--fail", "-o", "/dev/null", "-H", "Expect:", "-H",
                         "X-User-Id: " + user_id, "-H",
                         "X-Auth-Token: " + token, "-F", "file=@" + path + ";type=image/jpeg",
                         sim.url() + "/api/v1/rooms.media/" + rid},
                        o.bot_cpu);
  };
  const Measured base = run(small);
  const Measured big = run(file);
  if (base.status != 0 || big.status != 0) {
    f.notes += "curl: exit " + std::to_string(big.status) + "; ";
    return;
  }
  f.upload_mb_s = static_cast<double>(std::filesystem::file_size(file)) / 1e6 / big.seconds;
  f.upload_growth_kib = static_cast<double>(std::max(0L, big.maxrss_kib - base.maxrss_kib));
  f.notes += "curl peak RSS " + std::to_string(big.maxrss_kib / 1024) + " MiB; ";
}

std::string rcgate_config(const std::string& url, const TempDir& dir, const Options& o) {
  std::ostringstream c;
  c << "rocketchat:\n  url: " << url
    << "\n  auth:\n    username: camera-bot\n    password: bot-password\n"
       "state_dir: "
    << (o.state_parent.empty() ? dir.file("state") : o.state_parent + "/rcgate-bench-state-" + std::to_string(::getpid()))
    << "\nlog:\n  level: warn\nusers:\n";
  for (int j = 1; j <= o.users; ++j) {
    char name[16];
    std::snprintf(name, sizeof name, "user%03d", j);
    c << "  - username: " << name << "\n";
  }
  c << "interactions:\n  engines: [rules]\n  fallback: \"\"\n  rate_limit: {messages: 10000, per: 1m}\n"
       "  catch_up: 0\n"
       "plugins:\n  rules:\n    rules:\n      - name: ping\n        keywords: ping\n        reply: pong\n"
       "api:\n  port: 0\n  key: "
    << kKey << "\n  upload_dirs: [" << dir.file("files") << "]\n";
  return c.str();
}

// Starts rcgate on the household, waits until it subscribed and has settled (catch-up done,
// nothing pending), and takes its idle memory figures. An empty Process when it never subscribed.
Process start_rcgate_idle(Sim& sim, const TempDir& dir, const Options& o, Figures& f) {
  std::ofstream(dir.file("rcgate.yaml")) << rcgate_config(sim.url(), dir, o);
  const std::uint64_t subs = load_stats(sim)["bot_subscriptions"].get<std::uint64_t>();
  const std::int64_t spawned = epoch_ms();
  Process bot({"/usr/bin/taskset", "-c", std::to_string(o.bot_cpu), o.rcgate, "run", "--config",
               dir.file("rcgate.yaml")},
              dir.file("rcgate.log"));
  if (!wait_subscribed(sim, subs, spawned, f, bot)) return {};
  std::this_thread::sleep_for(3s);
  f.idle_rss_kib = static_cast<double>(status_kib(bot.pid(), "VmRSS"));
  f.idle_anon_kib = static_cast<double>(status_kib(bot.pid(), "RssAnon"));
  return bot;
}

bool run_rcgate(Sim& sim, const TempDir& dir, const Options& o, const std::string& big, Figures& f) {
  Process bot = start_rcgate_idle(sim, dir, o, f);
  if (bot.pid() <= 0) return false;
  measure_latency(sim, o, f);
  measure_throughput(sim, f, [] { return -1.0; });
  int api_port = 0;
  const std::string state_dir =
      o.state_parent.empty() ? dir.file("state") : o.state_parent + "/rcgate-bench-state-" + std::to_string(::getpid());
  std::ifstream(state_dir + "/api.port") >> api_port;
  measure_rcgate_upload(sim, api_port, big, bot.pid(), f);
  bot.signal(SIGTERM);
  if (bot.wait(10s) != 0) f.notes += "rcgate did not exit 0 on SIGTERM; ";
  if (bot.log().find("error") != std::string::npos) f.notes += "errors in rcgate's log; ";
  if (!o.state_parent.empty()) std::filesystem::remove_all(state_dir);
  return true;
}

// Where an idle rcgate's resident memory is (issue 7: idle RSS <= 8 MiB): VmRSS, RssAnon and
// RssFile from /proc/<pid>/status, then /proc/<pid>/smaps summed per mapped file (and per kind
// of anonymous mapping: [heap], [stack], anonymous), largest first. "of which anon" is the part
// of a file's Rss that is the process's own copy (relocated data, .bss): it counts in RssAnon.
void print_rss_breakdown(pid_t pid) {
  struct Use {
    long rss = 0, pss = 0, anon = 0, text = 0;
  };
  std::map<std::string, Use> by_name;
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line, name;
  bool exec = false;
  while (std::getline(smaps, line)) {
    const auto colon = line.find(':');
    const bool field = colon != std::string::npos && line.find(' ') > colon;
    if (!field) {  // a mapping's header: start-end perms offset dev inode [path]
      std::istringstream h(line);
      std::string range, perms, offset, dev, inode;
      h >> range >> perms >> offset >> dev >> inode;
      std::getline(h >> std::ws, name);
      if (name.empty()) name = "[anonymous]";
      exec = perms.size() > 2 && perms[2] == 'x';
      continue;
    }
    const std::string key = line.substr(0, colon);
    const long kib = std::strtol(line.c_str() + colon + 1, nullptr, 10);
    Use& u = by_name[name];
    if (key == "Rss") {
      u.rss += kib;
      if (exec) u.text += kib;
    } else if (key == "Pss") {
      u.pss += kib;
    } else if (key == "Anonymous") {
      u.anon += kib;
    }
  }
  std::vector<std::pair<std::string, Use>> rows(by_name.begin(), by_name.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.rss != b.second.rss ? a.second.rss > b.second.rss : a.first < b.first;
  });
  Use total;
  for (const auto& [n, u] : rows) {
    total.rss += u.rss;
    total.pss += u.pss;
    total.anon += u.anon;
    total.text += u.text;
  }
  std::printf("VmRSS %ld KiB = RssAnon %ld + RssFile %ld + RssShmem %ld KiB\n\n", status_kib(pid, "VmRSS"),
              status_kib(pid, "RssAnon"), status_kib(pid, "RssFile"), status_kib(pid, "RssShmem"));
  std::printf("| %8s | %8s | %8s | %13s | %s\n", "Rss KiB", "Pss KiB", "code KiB", "of which anon", "mapping");
  std::printf("|%s|%s|%s|%s|%s\n", std::string(10, '-').c_str(), std::string(10, '-').c_str(),
              std::string(10, '-').c_str(), std::string(15, '-').c_str(), std::string(40, '-').c_str());
  for (const auto& [n, u] : rows) {
    if (u.rss == 0) continue;
    std::printf("| %8ld | %8ld | %8ld | %13ld | %s\n", u.rss, u.pss, u.text, u.anon, n.c_str());
  }
  std::printf("| %8ld | %8ld | %8ld | %13ld | total (smaps)\n", total.rss, total.pss, total.text, total.anon);
}

// --rss-breakdown: only rcgate, idle on the household, and where its memory is; no reference bot.
int rss_breakdown(const Options& o) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("files"));
  Sim sim({"--generate-household", std::to_string(o.rooms), std::to_string(o.users), "--log-level", "error"});
  pin(sim.process().pid(), o.sim_cpu);
  Figures f;
  Process bot = start_rcgate_idle(sim, dir, o, f);
  if (bot.pid() <= 0) return 1;
  std::printf("rcgate %s idle on rcgate-sim (%d rooms, %d users), 3 s after it subscribed (start-up %.0f ms)\n\n",
              o.rcgate.c_str(), o.rooms, o.users, f.startup_ms);
  print_rss_breakdown(bot.pid());
  bot.signal(SIGTERM);
  const int code = bot.wait(10s);
  if (code != 0) std::printf("\nrcgate exited %d on SIGTERM; its log:\n%s\n", code, bot.log().c_str());
  if (!o.state_parent.empty())
    std::filesystem::remove_all(o.state_parent + "/rcgate-bench-state-" + std::to_string(::getpid()));
  return code == 0 ? 0 : 1;
}

double read_count(const std::string& file) {
  std::ifstream in(file);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("messages")) return -1;
  return j["messages"].get<double>();
}

bool run_reference(Sim& sim, const TempDir& dir, const Options& o, Figures& f) {
  const std::string node = which("node");
  if (node.empty()) {
    std::fprintf(stderr, "node is not installed: the reference bot needs Node.js >= 20\n");
    return false;
  }
  const std::string counts = dir.file("reference-counts.json");
  const std::uint64_t subs = load_stats(sim)["bot_subscriptions"].get<std::uint64_t>();
  const std::int64_t spawned = epoch_ms();
  Process bot({"/usr/bin/taskset", "-c", std::to_string(o.bot_cpu), node, o.reference_dir + "/bot.mjs", "--url",
               sim.url(), "--user", "camera-bot", "--password", "bot-password", "--keyword", "ping", "--reply", "pong",
               "--count-file", counts},
              dir.file("reference.log"));
  if (!wait_subscribed(sim, subs, spawned, f, bot)) return false;
  std::this_thread::sleep_for(3s);
  f.idle_rss_kib = static_cast<double>(status_kib(bot.pid(), "VmRSS"));
  f.idle_anon_kib = static_cast<double>(status_kib(bot.pid(), "RssAnon"));
  measure_latency(sim, o, f);
  measure_throughput(sim, f, [&] {
    std::this_thread::sleep_for(300ms);  // the bot writes its count every 100 ms
    return read_count(counts);
  });
  bot.signal(SIGTERM);
  bot.wait(10s);
  return true;
}

std::string fmt(double v, const char* format) {
  if (v < 0) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// How many times better rcgate is: reference/rcgate for costs, rcgate/reference for rates.
std::string ratio(double ours, double theirs, bool higher_better) {
  if (ours <= 0 || theirs <= 0) return "n/a";
  const double r = higher_better ? ours / theirs : theirs / ours;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fx", r);
  return buf;
}

void row(const char* what, const std::string& a, const std::string& b, const std::string& r, const char* target) {
  std::printf("| %-44s | %14s | %14s | %8s | %-22s |\n", what, a.c_str(), b.c_str(), r.c_str(), target);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--rooms") o.rooms = std::stoi(next());
    else if (a == "--users") o.users = std::stoi(next());
    else if (a == "--rate") o.rate = std::stoi(next());
    else if (a == "--seconds") o.seconds = std::stoi(next());
    else if (a == "--mention-every") o.mention_every = std::stoi(next());
    else if (a == "--upload-mb") o.upload_mb = std::stoi(next());
    else if (a == "--bot-cpu") o.bot_cpu = std::stoi(next());
    else if (a == "--sim-cpu") o.sim_cpu = std::stoi(next());
    else if (a == "--reference-bot") o.reference_dir = next();
    else if (a == "--json") o.json_out = next();
    else if (a == "--rcgate") o.rcgate = next();
    else if (a == "--state-parent") o.state_parent = next();
    else if (a == "--rss-breakdown") o.rss_breakdown = true;
    else if (a == "--rcgate-only") o.rcgate_only = true;
    else {
      std::fprintf(stderr,
                   "usage: %s --reference-bot DIR [--rooms N] [--users M] [--rate R] [--seconds S]\n"
                   "       [--mention-every K] [--upload-mb MB] [--bot-cpu C] [--sim-cpu C] [--json FILE]\n"
                   "       [--rcgate PATH] [--state-parent DIR] [--rcgate-only]\n"
                   "       %s --rss-breakdown [--rooms N] [--users M] [--rcgate PATH] [--state-parent DIR]\n",
                   argv[0], argv[0]);
      return 64;
    }
  }
  if (o.rss_breakdown) return rss_breakdown(o);
  if (!o.rcgate_only && (o.reference_dir.empty() || !std::filesystem::exists(o.reference_dir + "/node_modules/@rocket.chat/sdk"))) {
    std::fprintf(stderr, "--reference-bot DIR: the reference bot with its packages installed (npm ci) is required\n");
    return 64;
  }

  TempDir dir;
  std::filesystem::create_directories(dir.file("files"));
  const std::string big = dir.file("files") + "/snapshot-" + std::to_string(o.upload_mb) + "MB.jpg";
  const std::string small = dir.file("files") + "/small.jpg";
  if (!make_file(big, static_cast<std::uint64_t>(o.upload_mb) * 1000 * 1000) || !make_file(small, 1000)) {
    std::fprintf(stderr, "cannot write the upload files in %s\n", dir.path().c_str());
    return 1;
  }
  Sim sim({"--generate-household", std::to_string(o.rooms), std::to_string(o.users), "--log-level", "error"});
  pin(sim.process().pid(), o.sim_cpu);
  sim.post("settings", {{"upload_max_bytes", 200 * 1000 * 1000}});

  Figures ours, theirs, curl;
  std::fprintf(stderr, "bench: rcgate...\n");
  const bool ok1 = run_rcgate(sim, dir, o, big, ours);
  bool ok2 = true;
  if (o.rcgate_only) {
    theirs.notes = "not run (--rcgate-only)";
  } else {
    std::fprintf(stderr, "bench: reference bot...\n");
    ok2 = run_reference(sim, dir, o, theirs);
    std::fprintf(stderr, "bench: curl...\n");
    measure_curl(sim, big, small, o, curl);
  }

  const std::string flush_parent = o.state_parent.empty() ? dir.path() : o.state_parent;
  const std::string flush = flush_latency(flush_parent);
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("\nrcgate vs the @rocket.chat/sdk reference bot on rcgate-sim: %d rooms, %d users; bots on cpu %d, "
              "simulator on cpu %d; rcgate's state on %s; load average %.2f %.2f %.2f; nproc %ld\n\n",
              o.rooms, o.users, o.bot_cpu, o.sim_cpu, o.state_parent.empty() ? "the temp dir's disk" : o.state_parent.c_str(),
              load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("| %-44s | %14s | %14s | %8s | %-22s |\n", "figure", "rcgate", "reference", "ratio", "target");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(16, '-').c_str(),
              std::string(16, '-').c_str(), std::string(10, '-').c_str(), std::string(24, '-').c_str());
  row("idle RSS, connected (MiB)", fmt(ours.idle_rss_kib / 1024, "%.1f"), fmt(theirs.idle_rss_kib / 1024, "%.1f"),
      ratio(ours.idle_rss_kib, theirs.idle_rss_kib, false), "<= 8 MiB, >= 6x");
  const std::string lat = "added latency p50 at " + std::to_string(o.rate) + " msg/s (ms)";
  row(lat.c_str(), fmt(ours.p50_us / 1000, "%.3f"), fmt(theirs.p50_us / 1000, "%.3f"),
      ratio(ours.p50_us, theirs.p50_us, false), "");
  const std::string lat99 = "added latency p99 at " + std::to_string(o.rate) + " msg/s (ms)";
  row(lat99.c_str(), fmt(ours.p99_us / 1000, "%.3f"), fmt(theirs.p99_us / 1000, "%.3f"),
      ratio(ours.p99_us, theirs.p99_us, false), "<= 1 ms, >= 10x");
  row("inbound messages routed on one core (msg/s)", fmt(ours.routed_per_s, "%.0f"),
      fmt(theirs.routed_per_s, "%.0f"), ratio(ours.routed_per_s, theirs.routed_per_s, true),
      ">= 100k/s, >= 10x");
  row("start-up to logged in and subscribed (ms)", fmt(ours.startup_ms, "%.0f"), fmt(theirs.startup_ms, "%.0f"),
      ratio(ours.startup_ms, theirs.startup_ms, false), "");
  const std::string up = std::to_string(o.upload_mb) + " MB upload, rcgate API vs curl (MB/s)";
  row(up.c_str(), fmt(ours.upload_mb_s, "%.1f"), fmt(curl.upload_mb_s, "%.1f"),
      ratio(ours.upload_mb_s, curl.upload_mb_s, true), "");
  const std::string growth = std::to_string(o.upload_mb) + " MB upload peak-RSS growth (MiB)";
  row(growth.c_str(), fmt(ours.upload_growth_kib / 1024, "%.2f"), fmt(curl.upload_growth_kib / 1024, "%.2f"),
      ratio(std::max(1.0, ours.upload_growth_kib), std::max(1.0, curl.upload_growth_kib), false), "");
  std::printf("\nidle RSS split: rcgate %s MiB anonymous + %s MiB library/file pages; reference %s + %s MiB\n",
              fmt(ours.idle_anon_kib / 1024, "%.1f").c_str(),
              fmt((ours.idle_rss_kib - ours.idle_anon_kib) / 1024, "%.1f").c_str(),
              fmt(theirs.idle_anon_kib / 1024, "%.1f").c_str(),
              fmt((theirs.idle_rss_kib - theirs.idle_anon_kib) / 1024, "%.1f").c_str());
  std::printf("latency samples: rcgate %llu, reference %llu (every %dth message mentions the bot; max %s / %s ms)\n",
              static_cast<unsigned long long>(ours.latency_samples),
              static_cast<unsigned long long>(theirs.latency_samples), o.mention_every,
              fmt(ours.max_us / 1000, "%.2f").c_str(), fmt(theirs.max_us / 1000, "%.2f").c_str());
  std::printf("routed: bursts of %llu (rcgate) / %llu (reference) messages; the simulator handed them over at "
              "%s / %s msg/s (a bot at that figure was limited by the simulator)\n",
              static_cast<unsigned long long>(ours.burst), static_cast<unsigned long long>(theirs.burst),
              fmt(ours.sim_send_per_s, "%.0f").c_str(), fmt(theirs.sim_send_per_s, "%.0f").c_str());
  if (theirs.own_count >= 0) {
    std::printf("reference bot's own count for its last burst: %.0f messages read\n", theirs.own_count);
  }
  std::printf("journal flush where rcgate's state is (40-byte append + fdatasync): %s\n", flush.c_str());
  if (!ours.notes.empty()) std::printf("rcgate notes: %s\n", ours.notes.c_str());
  if (!theirs.notes.empty()) std::printf("reference notes: %s\n", theirs.notes.c_str());
  if (!curl.notes.empty()) std::printf("curl notes: %s\n", curl.notes.c_str());

  if (!o.json_out.empty()) {
    auto fig = [](const Figures& f) {
      return json{{"startup_ms", f.startup_ms},      {"idle_rss_kib", f.idle_rss_kib}, {"idle_anon_kib", f.idle_anon_kib},
                  {"p50_us", f.p50_us},              {"p99_us", f.p99_us},
                  {"max_us", f.max_us},              {"latency_samples", f.latency_samples},
                  {"routed_per_s", f.routed_per_s},  {"sim_send_per_s", f.sim_send_per_s},
                  {"burst", f.burst},                {"upload_mb_s", f.upload_mb_s},
                  {"upload_growth_kib", f.upload_growth_kib}, {"notes", f.notes}};
    };
    std::ofstream(o.json_out) << json{{"rcgate", fig(ours)}, {"reference", fig(theirs)}, {"curl", fig(curl)},
                                      {"load", {load[0], load[1], load[2]}}, {"journal_flush", flush}}
                                     .dump(2);
  }
  return ok1 && ok2 ? 0 : 1;
}
