// bench_daemon_upload: the whole path an automation uses — the rcgate daemon (a child process,
// logged in to a rcgate-sim child) is asked through its local API to upload a generated 50 MB
// file from api.upload_dirs; prints the daemon's peak RSS (VmHWM of its /proc entry) before and
// after, and the time until the API answered "sent". Issue 4: "a 50 MB upload does not raise the
// daemon's peak RSS by more than a few MB". Exit status 0 when the growth stays under
// --max-growth-mb (default 8) and the simulator holds a byte-exact copy, 1 otherwise.
//
//   bench_daemon_upload [--size-mb N] [--max-growth-mb M]
//
// The peak is reset (/proc/<pid>/clear_refs) after a small warm-up upload through the same API.
// Files sent as the request body itself (rcgate upload FILE, content_base64) are held in memory
// up to api.max_upload_mb by design; this measures the streamed path (`path`).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using namespace rcgate::bench;
using rcgate::test::Process;
using rcgate::test::Sim;
using rcgate::test::TempDir;
using nlohmann::json;

constexpr const char* kKey = "bench-key-0a1b2c3d4e5f6789";

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t size_mb = 50;
  double max_growth_mb = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--size-mb" && i + 1 < argc) {
      size_mb = std::stoull(argv[++i]);
    } else if (arg == "--max-growth-mb" && i + 1 < argc) {
      max_growth_mb = std::stod(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--size-mb N] [--max-growth-mb M]\n", argv[0]);
      return 2;
    }
  }
  TempDir dir;
  const std::string files = dir.file("files");
  std::filesystem::create_directories(files);
  const std::string warmup = files + "/warmup.bin";
  const std::string big = files + "/upload-" + std::to_string(size_mb) + "MB.bin";
  if (!make_file(warmup, 64 * 1024) || !make_file(big, size_mb * 1000 * 1000)) {
    std::fprintf(stderr, "cannot write the test files in %s\n", files.c_str());
    return 1;
  }

  Sim sim;
  std::ofstream(dir.file("rcgate.yaml"))
      << "rocketchat:\n  url: " << sim.url()
      << "\n  auth:\n    username: camera-bot\n    password: bot-password\n"
         "state_dir: " << dir.file("state") << "\nlog:\n  level: warn\n"
         "api:\n  port: 0\n  key: " << kKey << "\n  send_wait: 10m\n  upload_dirs: [" << files
      << "]\n";
  Process daemon({rcgate::test::rcgate_binary(), "run", "--config", dir.file("rcgate.yaml")},
                 dir.file("rcgate.log"));
  int port = 0;
  if (!rcgate::test::eventually(
          [&] {
            std::ifstream in(dir.file("state/api.port"));
            return static_cast<bool>(in >> port);
          },
          10s)) {
    std::fprintf(stderr, "the daemon did not start its API:\n%s\n", daemon.log().c_str());
    return 1;
  }
  auto upload = [&](const std::string& path) {
    return rcgate::test::http_request(
        port, "POST", "/api/v1/upload",
        json{{"device", "camera-alerts"}, {"path", path}, {"caption", "benchmark"}}.dump(),
        {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}});
  };
  // Logged in, the REST connection open, the server's limits learnt.
  auto first = upload(warmup);
  for (int i = 0; i < 100 && first.status != 200; ++i) {  // until logged in, devices known
    std::this_thread::sleep_for(100ms);
    first = upload(warmup);
  }
  if (first.status != 200) {
    std::fprintf(stderr, "warm-up upload failed: %d %s\n%s\n", first.status, first.body.c_str(),
                 daemon.log().c_str());
    return 1;
  }

  const pid_t pid = daemon.pid();
  const bool reset = reset_peak(pid);
  const long rss_before = status_kib(pid, "VmRSS");
  const long hwm_before = status_kib(pid, "VmHWM");
  const auto start = std::chrono::steady_clock::now();
  const auto result = upload(big);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long hwm_after = status_kib(pid, "VmHWM");
  const long rss_after = status_kib(pid, "VmRSS");
  daemon.signal(SIGTERM);
  daemon.wait(10s);
  if (result.status != 200) {
    std::fprintf(stderr, "upload failed: %d %s\n", result.status, result.body.c_str());
    return 1;
  }
  const auto uploads = sim.get("uploads")["uploads"];
  const std::string expected = sha256_of(big);
  const bool intact = !uploads.empty() && uploads.back().value("sha256", "") == expected;
  const double growth = mib(hwm_after - hwm_before);
  std::printf("bench_daemon_upload: %llu MB through the local API (path, streamed) to rcgate-sim\n",
              static_cast<unsigned long long>(size_mb));
  std::printf("  daemon peak RSS before  %8.1f MiB%s\n", mib(hwm_before),
              reset ? "" : "  (peak reset not allowed: growth is an upper bound)");
  std::printf("  daemon peak RSS after   %8.1f MiB\n", mib(hwm_after));
  std::printf("  peak growth             %8.2f MiB (limit %.0f)\n", growth, max_growth_mb);
  std::printf("  RSS before/after        %8.1f / %.1f MiB\n", mib(rss_before), mib(rss_after));
  std::printf("  time to \"sent\"          %8.2f s (%.1f MB/s)\n", seconds,
              static_cast<double>(size_mb) / seconds);
  std::printf("  copy in the simulator   %s\n", intact ? "byte-exact (sha256)" : "DIFFERENT");
  return intact && growth <= max_growth_mb ? 0 : 1;
}
