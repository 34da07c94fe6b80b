// bench_upload_rss: uploads a generated file (50 MB by default) through rcgate's RestClient to a
// rcgate-sim child process and prints this process's peak RSS (VmHWM) before and after the upload,
// and the throughput. Issue 4 asks that a 50 MB upload does not raise the daemon's peak RSS by
// more than a few MB: the exit status is 0 when the growth stays under --max-growth-mb (default 8)
// and the simulator holds a byte-exact copy (sha256), 1 otherwise.
//
//   bench_upload_rss [--size-mb N] [--tls] [--max-growth-mb M] [--naive]
//
// --naive sends the same file the way a client without streaming would (read whole into a string
// body, through net::HttpClient to rooms.media), as a control: the benchmark must see that.
//
// Not a ctest test: its numbers depend on the machine. The peak is reset just before the upload
// (/proc/self/clear_refs), after a small warm-up upload has opened the connections.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "rocketchat/rest_client.hpp"
#include "bench_common.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using namespace rcgate::bench;
using rcgate::test::Sim;
using rcgate::test::TempDir;

constexpr const char* kBotId = "BCmeyJm2r6b8hJiie";
constexpr const char* kBotPat = "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb";
constexpr const char* kRoom = "c3f8a6a80a707dc9ce744b9d";

rcgate::rc::RestResult upload(rcgate::net::Loop& loop, rcgate::rc::RestClient& rest, const std::string& path) {
  std::optional<rcgate::rc::RestResult> result;
  rest.upload(kRoom, {path, "", "", "benchmark", "", ""}, [&](rcgate::rc::RestResult r) { result = std::move(r); });
  const auto deadline = std::chrono::steady_clock::now() + 600s;
  while (!result && std::chrono::steady_clock::now() < deadline) {
    loop.restart();
    loop.run_for(50ms);
  }
  if (!result) {
    rcgate::rc::RestResult timeout;
    timeout.error = "no answer within 600 s";
    return timeout;
  }
  return *result;
}

// The control: the whole file in a string body.
rcgate::rc::RestResult naive_upload(rcgate::net::Loop& loop, const std::string& url, const std::string& ca,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  rcgate::net::HttpClient client(loop, *rcgate::parse_url(url), rcgate::net::TlsClientOptions{true, ca});
  rcgate::net::HttpRequest request;
  request.method = "POST";
  request.target = std::string("/api/v1/rooms.media/") + kRoom;
  request.timeout = 600s;
  request.headers = {{"X-User-Id", kBotId},
                     {"X-Auth-Token", kBotPat},
                     {"Content-Type", "multipart/form-data; boundary=naive"}};
  request.body = "--naive\r\nContent-Disposition: form-data; name=\"file\"; filename=\"naive.bin\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n" +
                 content + "\r\n--naive--\r\n";
  content.clear();
  content.shrink_to_fit();
  std::optional<rcgate::net::HttpResponse> response;
  client.request(std::move(request), [&](rcgate::net::HttpResponse r) { response = std::move(r); });
  while (!response) {
    loop.restart();
    loop.run_for(50ms);
  }
  rcgate::rc::RestResult result = rcgate::rc::interpret_response(*response, rcgate::rc::now_epoch_ms());
  return result;
}

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t size_mb = 50;
  double max_growth_mb = 8;
  bool tls = false;
  bool naive = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--size-mb" && i + 1 < argc) {
      size_mb = std::stoull(argv[++i]);
    } else if (arg == "--max-growth-mb" && i + 1 < argc) {
      max_growth_mb = std::stod(argv[++i]);
    } else if (arg == "--tls") {
      tls = true;
    } else if (arg == "--naive") {
      naive = true;
    } else {
      std::fprintf(stderr, "usage: %s [--size-mb N] [--tls] [--max-growth-mb M] [--naive]\n", argv[0]);
      return 2;
    }
  }
  const std::uint64_t size = size_mb * 1000 * 1000;  // "50 MB", as the issue says

  TempDir dir;
  const std::string warmup = dir.file("warmup.bin");
  const std::string big = dir.file("upload-" + std::to_string(size_mb) + "MB.bin");
  if (!make_file(warmup, 64 * 1024) || !make_file(big, size)) {
    std::fprintf(stderr, "cannot write the test files in %s\n", dir.path().c_str());
    return 1;
  }

  Sim sim({}, tls);
  rcgate::net::Loop loop;
  const std::string url = tls ? sim.tls_url() : sim.url();
  rcgate::rc::RestClient rest(loop, *rcgate::parse_url(url),
                              rcgate::net::TlsClientOptions{true, tls ? sim.cert_file() : std::string()});
  rest.set_credentials(kBotId, kBotPat);

  // Connections open, TLS session up, server version and size limit learnt, buffers allocated.
  const auto first = upload(loop, rest, warmup);
  if (!first.ok()) {
    std::fprintf(stderr, "warm-up upload failed: %s\n", first.error.c_str());
    return 1;
  }

  const bool reset = reset_peak(0);
  const long rss_before = status_kib(0, "VmRSS");
  const long hwm_before = status_kib(0, "VmHWM");
  const auto start = std::chrono::steady_clock::now();
  const auto result = naive ? naive_upload(loop, url, tls ? sim.cert_file() : std::string(), big)
                            : upload(loop, rest, big);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long hwm_after = status_kib(0, "VmHWM");
  const long rss_after = status_kib(0, "VmRSS");
  if (!result.ok()) {
    std::fprintf(stderr, "upload failed: %s\n", result.error.c_str());
    return 1;
  }

  const auto uploads = sim.get("uploads")["uploads"];
  const std::string expected = sha256_of(big);
  const bool same = !uploads.empty() && uploads.back()["sha256"] == expected &&
                    uploads.back()["size"] == size;
  const double growth = mib(hwm_after - hwm_before);

  std::printf("bench_upload_rss: %llu MB (%.1f MiB) via %s over %s\n",
              static_cast<unsigned long long>(size_mb), static_cast<double>(size) / (1024.0 * 1024.0),
              naive ? "rooms.media, whole file in memory (--naive control)"
                    : "RestClient::upload (rooms.media + rooms.mediaConfirm, streamed)",
              tls ? "https" : "http");
  std::printf("  peak RSS (VmHWM) before: %.1f MiB, after: %.1f MiB, growth: %.2f MiB%s\n", mib(hwm_before),
              mib(hwm_after), growth, reset ? "" : " (peak could not be reset: before = process peak so far)");
  std::printf("  RSS before: %.1f MiB, after: %.1f MiB\n", mib(rss_before), mib(rss_after));
  std::printf("  time: %.2f s, throughput: %.1f MiB/s\n", seconds,
              static_cast<double>(size) / (1024.0 * 1024.0) / seconds);
  std::printf("  simulator's copy: %s\n", same ? "byte-exact (sha256 matches)" : "DIFFERENT");
  const bool ok = same && growth <= max_growth_mb;
  std::printf("  %s (limit %.1f MiB of peak growth)\n", ok ? "PASS" : "FAIL", max_growth_mb);
  return ok ? 0 : 1;
}
