// The fault campaign (issue 7, point 3): randomized faults through rcgate-sim's control API while
// an automation sends alerts through rcgate's local API and people send DMs that the rules
// engine answers. Afterwards, with the faults off, counts per alert and per DM what reached the
// simulator: lost, duplicated, out of order; crashes; and how long each broken link took to come
// back after its fault ended (checked against the reconnect cap + 1 s).
//
//   rcgate-fault-campaign [--faults N] [--seed S] [--time-limit SECONDS]
// Exit 0 only when nothing was lost, duplicated, reordered or crashed and every recovery was in
// time.
#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <random>
#include <thread>

#include "chaos_util.hpp"

namespace rcgate::chaos {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2025-01-31 12:30:05.123 info: ..." -> epoch ms (the daemon logs local time).
std::int64_t log_line_ms(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000 + ms;
}

struct Alert {
  std::string text;
  std::string room;  // sim room name
  std::string ack;   // "sent", "queued", or "refused <status>"
};

struct Dm {
  std::string user;
  std::string text;
  std::string rid;
};

struct FaultKind {
  FaultKind(const char* name, int weight) : name(name), weight(weight) {}
  const char* name;
  int weight;
  int applied = 0;
  std::vector<double> recoveries;
  int late = 0;
  double worst = 0;
};

class Campaign {
 public:
  Campaign(long faults, unsigned seed, long time_limit_s)
      : faults_(faults), seed_(seed), time_limit_s_(time_limit_s), rng_(seed) {}

  int run() {
    ::unsetenv("JOURNAL_STREAM");  // the log needs its timestamps
    sim_ = std::make_unique<SimProcess>(dir_.path());
    sim_port_ = sim_->http_port();
    state_dir_ = dir_.file("state");
    config_ = dir_.file("rcgate.yaml");
    std::ofstream(config_) << daemon_config(sim_->url(), state_dir_);
    std::printf("fault campaign: %ld faults, seed %u, simulator on port %d, work dir %s\n", faults_, seed_, sim_port_,
                dir_.path().c_str());
    start_daemon();
    if (!wait_online(15s)) return fail("the daemon did not come online:\n" + tail_of(daemon_.log()));

    const auto started = Clock::now();
    long done = 0;
    for (; done < faults_; ++done) {
      if (ms_since(started) > static_cast<double>(time_limit_s_) * 1000) {
        std::printf("time limit of %ld s reached after %ld faults\n", time_limit_s_, done);
        break;
      }
      one_fault();
      check_alive();
      if ((done + 1) % 100 == 0) {
        std::printf("  %ld faults, %zu alerts, %zu DMs, %d crashes, %.0f s\n", done + 1, alerts_.size(), dms_.size(),
                    crashes_, ms_since(started) / 1000);
        std::fflush(stdout);
      }
    }
    const double campaign_s = ms_since(started) / 1000;
    clear_faults();
    return finish(done, campaign_s);
  }

 private:
  // ---- the daemon

  void start_daemon() {
    ++runs_;
    fs::remove(state_dir_ + "/api.port");
    const std::string log = dir_.file("rcgate-" + std::to_string(runs_) + ".log");
    daemon_ = test::Process({daemon_binary(), "run", "--config", config_}, log);
    tail_.reset(log);
    online_lines_.clear();
    test::eventually([&] { return fs::exists(state_dir_ + "/api.port"); }, 15s);
    api_port_ = std::stoi("0" + read_text(state_dir_ + "/api.port"));
  }

  static std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  static std::string tail_of(const std::string& log, std::size_t n = 3000) {
    return log.size() > n ? log.substr(log.size() - n) : log;
  }

  // Reads new log lines; remembers when each "online as" was written.
  void scan_log() {
    const std::string& text = tail_.poll();
    if (text.empty()) return;
    pending_ += text;
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      const std::string line = pending_.substr(start, nl - start);
      if (line.find("rocketchat: online as '") != std::string::npos) online_lines_.push_back(log_line_ms(line));
      if (has_crash_report(line)) sanitizer_reports_ = true;
      start = nl + 1;
    }
    pending_.erase(0, start);
  }

  bool connected() {
    auto r = api(api_port_, "GET", "/api/v1/health");
    auto j = parse(r.body);
    return r.status == 200 && j.is_object() && j["data"].value("connected", false);
  }

  bool wait_online(std::chrono::milliseconds limit) {
    return test::eventually([&] { return connected(); }, limit, 10ms) &&
           test::eventually(
               [&] {
                 auto j = parse(api(api_port_, "GET", "/api/v1/devices").body);
                 return j.is_object() && j["data"]["devices"].size() >= 2;
               },
               limit);
  }

  void check_alive() {
    if (daemon_.running()) return;
    ++crashes_;
    const int code = daemon_.wait(1s);
    std::printf("CRASH: the daemon exited (code %d); its log ends with:\n%s\n", code, tail_of(daemon_.log()).c_str());
    start_daemon();
    wait_online(15s);
  }

  // ---- traffic

  void send_alert() {
    Alert a;
    a.room = (alerts_.size() % 2 == 0) ? "camera-alerts" : "general";
    char text[96];
    std::snprintf(text, sizeof text, "chaos alert %06zu seed %u", alerts_.size(), seed_);
    a.text = text;
    auto r = api(api_port_, "POST", "/api/v1/send", {{"room", a.room}, {"text", a.text}});
    auto j = parse(r.body);
    if (r.status >= 200 && r.status < 300 && j.is_object()) {
      a.ack = j["data"].value("status", "?");
    } else {
      a.ack = "refused " + std::to_string(r.status) + " " + r.body.substr(0, 200);
    }
    alerts_.push_back(a);
  }

  void send_dm() {
    Dm d;
    d.user = (dms_.size() % 3 == 2) ? "bob" : "alice";
    char text[64];
    std::snprintf(text, sizeof text, "chaosdm dm-%06zu", dms_.size());
    d.text = text;
    auto m = sim_call(sim_port_, "POST", "messages", {{"user", d.user}, {"to", "camera-bot"}, {"text", d.text}});
    d.rid = m["message"].value("rid", "");
    dm_rooms_.insert(d.rid);
    dms_.push_back(d);
  }

  // Alerts and DMs for about `window`; at least one of each.
  void traffic(std::chrono::milliseconds window) {
    const auto until = Clock::now() + window;
    int n = 0;
    do {
      send_alert();
      if (n++ % 2 == 0) send_dm();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 60)(rng_)));
    } while (Clock::now() < until);
  }

  // ---- faults

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  void clear_faults() {
    sim_call(sim_port_, "POST", "chaos/clear", json::object());
    sim_call(sim_port_, "POST", "faults", {{"answer_pings", true}, {"refuse_connections", false}, {"refuse_logins", 0}});
  }

  void one_fault() {
    int total = 0;
    for (const auto& k : kinds_) total += k.weight;
    int roll = pick(0, total - 1);
    std::size_t idx = 0;
    while (roll >= kinds_[idx].weight) roll -= kinds_[idx++].weight;
    FaultKind& kind = kinds_[idx];
    ++kind.applied;

    scan_log();
    const std::size_t online_before = online_lines_.size();
    std::int64_t fault_end = 0;
    std::int64_t extra_ms = 0;  // a wait the server asked for, on top of the reconnect cap
    bool breaks = true;
    const std::string name = kind.name;
    static const char* const kPaths[] = {"/api/v1/chat.sendMessage", "/api/v1/im.create", ""};

    if (name == "drop") {
      sim_call(sim_port_, "POST", "connections/drop", json::object());
      fault_end = wall_ms();
      traffic(std::chrono::milliseconds(pick(50, 250)));
    } else if (name == "drop-mid-frame") {
      sim_call(sim_port_, "POST", "chaos/drop-mid-frame", {{"bytes", pick(256 * 1024, 8 * 1024 * 1024)}, {"after_ms", pick(0, 3)}});
      fault_end = wall_ms() + 3;
      traffic(std::chrono::milliseconds(pick(50, 250)));
    } else if (name == "restart" || name == "restart+5xx") {
      const int down = pick(100, 1500);
      sim_call(sim_port_, "POST", "chaos/restart", {{"down_ms", down}});
      // A server coming back behind a proxy: its first REST answers are 502/503 (the rule only
      // counts requests that get past the refusal, so it hits the first calls after the return).
      if (name == "restart+5xx") sim_call(sim_port_, "POST", "chaos/rest", {{"path", ""}, {"status", 503}, {"count", pick(1, 4)}});
      const auto t0 = Clock::now();
      traffic(std::chrono::milliseconds(down));
      // The simulator ends the restart on its own timer; wait for it to be surely over.
      const auto left = std::chrono::milliseconds(down) - (Clock::now() - t0);
      if (left.count() > 0) std::this_thread::sleep_for(left);
      while (sim_call(sim_port_, "GET", "chaos").value("restarting", false)) std::this_thread::sleep_for(5ms);
      fault_end = wall_ms();
      if (name == "restart+5xx") {
        traffic(std::chrono::milliseconds(pick(200, 600)));
        sim_call(sim_port_, "POST", "chaos/clear", json::object());
      }
    } else if (name == "silent-pings") {
      // A hung server: no pongs, no pings and, since nothing is posted meanwhile, no messages
      // either. The link is dead once the silence outlasts dead_after (1 s).
      sim_call(sim_port_, "POST", "faults", {{"answer_pings", false}});
      std::this_thread::sleep_for(std::chrono::milliseconds(pick(300, 2000)));
      sim_call(sim_port_, "POST", "faults", {{"answer_pings", true}});
      fault_end = wall_ms();
      traffic(std::chrono::milliseconds(pick(50, 200)));
      breaks = false;  // only when the silence outlasts dead_after
    } else if (name == "ddp-rate-limit") {
      const int reset = pick(100, 1500);
      sim_call(sim_port_, "POST", "faults", {{"refuse_logins", pick(1, 3)}, {"time_to_reset_ms", reset}});
      sim_call(sim_port_, "POST", "connections/drop", json::object());
      fault_end = wall_ms();
      extra_ms = 3 * reset;
      traffic(std::chrono::milliseconds(pick(100, 400)));
      sim_call(sim_port_, "POST", "faults", {{"refuse_logins", 0}});
    } else if (name == "rest-5xx" || name == "rest-429" || name == "rest-slow") {
      json rule = {{"path", kPaths[pick(0, 2)]}, {"count", pick(1, 6)}};
      if (name == "rest-5xx") {
        static const int kStatus[] = {500, 502, 503, 504};
        rule["status"] = kStatus[pick(0, 3)];
        rule["after"] = pick(0, 3) == 0;  // done by the server, but the answer says it failed
      } else if (name == "rest-429") {
        rule["status"] = 429;
        rule["reset_ms"] = pick(100, 1500);
      } else {
        rule["delay_ms"] = pick(100, 2500);  // over request_timeout (2 s) now and then
      }
      sim_call(sim_port_, "POST", "chaos/rest", rule);
      traffic(std::chrono::milliseconds(pick(100, 500)));
      sim_call(sim_port_, "POST", "chaos/clear", json::object());
      fault_end = wall_ms();
      breaks = false;
    }

    // Recovery: wait for the link to be up (and, after a silence, for it to stay up past
    // dead_after), then take the last reconnection since the fault began.
    const std::int64_t bound = kBackoffMaxMs + 1000 + extra_ms;
    const auto wait_start = Clock::now();
    for (;;) {
      const bool up = connected();
      scan_log();
      const bool reconnected = online_lines_.size() > online_before;
      const double waited = ms_since(wait_start);
      const bool settled = name != "silent-pings" || waited > 1300;
      if (up && settled && (reconnected || !breaks)) break;
      if (waited > static_cast<double>(bound + 8000)) {
        std::printf("fault %s: the link did not come back within %lld ms\n", kind.name,
                    static_cast<long long>(bound + 8000));
        ++kind.late;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (online_lines_.size() > online_before) {
      const double rec = std::max<double>(0, static_cast<double>(online_lines_.back() - fault_end));
      kind.recoveries.push_back(rec);
      kind.worst = std::max(kind.worst, rec);
      if (rec > static_cast<double>(bound)) {
        ++kind.late;
        std::printf("fault %s: recovery took %.0f ms (bound %lld ms)\n", kind.name, rec, static_cast<long long>(bound));
      }
    }
  }

  // ---- the count

  int finish(long done, double campaign_s) {
    // Drain: every alert and every DM's answer in the simulator, or a minute and a half.
    std::map<std::string, std::vector<std::string>> rooms;
    auto load = [&] {
      rooms.clear();
      for (const auto& room : {std::string("camera-alerts"), std::string("general")}) rooms[room] = bot_texts(sim_port_, room);
      for (const auto& rid : dm_rooms_) rooms[rid] = bot_texts(sim_port_, rid);
    };
    auto all_there = [&] {
      load();
      std::map<std::string, std::set<std::string>> present;
      for (const auto& [room, texts] : rooms) present[room] = std::set<std::string>(texts.begin(), texts.end());
      for (const auto& a : alerts_)
        if (a.ack.rfind("refused", 0) != 0 && !present[a.room].count(a.text)) return false;
      for (const auto& d : dms_)
        if (!present[d.rid].count("echo " + d.text)) return false;
      return true;
    };
    const auto drain_start = Clock::now();
    const bool drained = test::eventually(all_there, 90s, 500ms);
    const double drain_s = ms_since(drain_start) / 1000;
    load();

    int lost = 0, duplicated = 0, out_of_order = 0, refused = 0, acked_sent = 0, acked_queued = 0;
    int dm_lost = 0, dm_duplicated = 0;
    std::map<std::string, std::map<std::string, int>> counts;
    for (const auto& [room, texts] : rooms)
      for (const auto& t : texts) ++counts[room][t];
    std::map<std::string, std::vector<std::size_t>> order;  // per room: our alerts' send index, in sim order
    std::map<std::string, std::map<std::string, std::size_t>> index;
    for (std::size_t i = 0; i < alerts_.size(); ++i) {
      const auto& a = alerts_[i];
      index[a.room][a.text] = i;
      if (a.ack.rfind("refused", 0) == 0) {
        ++refused;
        if (refused <= 5) std::printf("refused by the API: %s: %s\n", a.text.c_str(), a.ack.c_str());
        continue;
      }
      (a.ack == "sent" ? acked_sent : acked_queued)++;
      const int n = counts[a.room][a.text];
      if (n == 0) {
        ++lost;
        if (lost <= 10) std::printf("LOST: '%s' (%s, answered %s)\n", a.text.c_str(), a.room.c_str(), a.ack.c_str());
      }
      if (n > 1) {
        ++duplicated;
        if (duplicated <= 10) std::printf("DUPLICATED x%d: '%s' (%s)\n", n, a.text.c_str(), a.room.c_str());
      }
    }
    for (const auto& room : {std::string("camera-alerts"), std::string("general")}) {
      std::size_t highest = 0;
      bool any = false;
      for (const auto& t : rooms[room]) {
        auto it = index[room].find(t);
        if (it == index[room].end()) continue;
        if (any && it->second < highest) {
          ++out_of_order;
          if (out_of_order <= 10) std::printf("OUT OF ORDER in %s: '%s'\n", room.c_str(), t.c_str());
        }
        if (!any || it->second > highest) highest = it->second;
        any = true;
      }
    }
    for (const auto& d : dms_) {
      const int n = counts[d.rid]["echo " + d.text];
      if (n == 0 && ++dm_lost <= 10) std::printf("DM UNANSWERED: %s from %s\n", d.text.c_str(), d.user.c_str());
      if (n > 1 && ++dm_duplicated <= 10) std::printf("DM ANSWERED x%d: %s\n", n, d.text.c_str());
    }

    // The daemon stops cleanly, with no sanitizer report.
    auto health = parse(api(api_port_, "GET", "/api/v1/health").body);
    const auto depth = health.is_object() ? health["data"].value("queue_depth", -1) : -1;
    check_alive();
    daemon_.signal(SIGTERM);
    const int code = daemon_.wait(15s);
    scan_log();
    if (code != 0) {
      ++crashes_;
      std::printf("CRASH: the daemon's exit on SIGTERM was %d; its log ends with:\n%s\n", code,
                  tail_of(daemon_.log()).c_str());
    }
    if (sanitizer_reports_) {
      ++crashes_;
      std::printf("CRASH: a sanitizer report is in the daemon's log (%s)\n", daemon_.log_file().c_str());
    }

    std::vector<double> all;
    int late = 0;
    std::printf("\n== fault campaign: %ld faults in %.0f s (seed %u), drain %.1f s%s ==\n", done, campaign_s, seed_, drain_s,
                drained ? "" : " (NOT DRAINED)");
    std::printf("%-16s %7s %9s %9s %9s %9s %6s\n", "fault", "applied", "recovered", "p50 ms", "p99 ms", "max ms", "late");
    for (const auto& k : kinds_) {
      all.insert(all.end(), k.recoveries.begin(), k.recoveries.end());
      late += k.late;
      std::printf("%-16s %7d %9zu %9.0f %9.0f %9.0f %6d\n", k.name, k.applied, k.recoveries.size(),
                  percentile(k.recoveries, 50), percentile(k.recoveries, 99), k.worst, k.late);
    }
    std::printf("recoveries: %zu, p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (bound: reconnect cap %d ms + 1 s,\n"
                "  plus 3x the wait a DDP rate limit asked for); late: %d\n",
                all.size(), percentile(all, 50), percentile(all, 90), percentile(all, 99), percentile(all, 100),
                kBackoffMaxMs, late);
    std::printf("alerts: %zu sent through the API (%d answered sent, %d queued, %d refused)\n", alerts_.size(), acked_sent,
                acked_queued, refused);
    std::printf("DMs:    %zu sent by alice and bob\n", dms_.size());
    std::printf("lost: %d   duplicated: %d   out-of-order: %d   DMs unanswered: %d   DMs answered twice: %d\n", lost,
                duplicated, out_of_order, dm_lost, dm_duplicated);
    std::printf("crashes: %d   daemon restarts after a crash: %d   queue depth at the end: %lld\n", crashes_, runs_ - 1,
                static_cast<long long>(depth));
    const bool ok = lost == 0 && duplicated == 0 && out_of_order == 0 && dm_lost == 0 && dm_duplicated == 0 &&
                    crashes_ == 0 && late == 0 && refused == 0;
    std::printf("RESULT: %s\n", ok ? "PASS" : "FAIL");
    if (!ok) std::printf("logs kept in %s\n", keep_dir().c_str());
    return ok ? 0 : 1;
  }

  // The work directory is removed at exit; a failed run keeps a copy of the logs.
  std::string keep_dir() {
    const std::string keep = "/tmp/rcgate-fault-campaign-" + std::to_string(::getpid());
    std::error_code ec;
    fs::create_directories(keep, ec);
    for (const auto& e : fs::directory_iterator(dir_.path(), ec))
      if (e.path().extension() == ".log") fs::copy_file(e.path(), keep + "/" + e.path().filename().string(), ec);
    fs::copy_file(sim_->process().log_file(), keep + "/sim.log", ec);
    return keep;
  }

  int fail(const std::string& why) {
    std::printf("FAIL: %s\n", why.c_str());
    return 2;
  }

  long faults_;
  unsigned seed_;
  long time_limit_s_;
  std::mt19937 rng_;
  test::TempDir dir_;
  std::unique_ptr<SimProcess> sim_;
  int sim_port_ = 0;
  std::string state_dir_, config_;
  test::Process daemon_;
  int api_port_ = 0;
  int runs_ = 0;
  LogTail tail_;
  std::string pending_;
  std::vector<std::int64_t> online_lines_;
  bool sanitizer_reports_ = false;
  int crashes_ = 0;
  std::vector<Alert> alerts_;
  std::vector<Dm> dms_;
  std::set<std::string> dm_rooms_;
  std::vector<FaultKind> kinds_ = {
      {"drop", 12},      {"drop-mid-frame", 12}, {"restart", 8},   {"restart+5xx", 6}, {"silent-pings", 10},
      {"ddp-rate-limit", 8}, {"rest-5xx", 16},   {"rest-429", 14}, {"rest-slow", 14},
  };
};

}  // namespace
}  // namespace rcgate::chaos

int main(int argc, char** argv) {
  using namespace rcgate::chaos;
  const long faults = arg_long(argc, argv, "--faults", 1000);
  const auto seed = static_cast<unsigned>(arg_long(argc, argv, "--seed", static_cast<long>(std::random_device{}() % 1000000)));
  const long limit = arg_long(argc, argv, "--time-limit", 1500);
  try {
    Campaign campaign(faults, seed, limit);
    return campaign.run();
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 2;
  }
}
