// Streamed bodies: MultipartFileBody byte for byte, HttpClient sending it over real sockets
// (plain and TLS, keep-alive, reconnect, failures), a 30 MB upload whose heap use is measured,
// and responses streamed to a file.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "alloc_tracker.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "net/multipart.hpp"
#include "support/process.hpp"
#include "test_util.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;
namespace fs = std::filesystem;

// The generated file's bytes: position i holds pattern_byte(i), so a receiver can check every
// byte without having the file.
unsigned char pattern_byte(std::uint64_t i) {
  std::uint64_t x = (i / 8) * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 32;
  return static_cast<unsigned char>(x >> ((i % 8) * 8));
}

// Writes `size` pattern bytes to `path` a block at a time.
void write_pattern_file(const std::string& path, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  char block[8192];
  for (std::uint64_t done = 0; done < size;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof block, size - done));
    for (std::size_t k = 0; k < n; ++k) block[k] = static_cast<char>(pattern_byte(done + k));
    out.write(block, static_cast<std::streamsize>(n));
    done += n;
  }
  ASSERT_TRUE(out.good());
}

std::string pattern_string(std::uint64_t size) {
  std::string out(size, '\0');
  for (std::uint64_t i = 0; i < size; ++i) out[i] = static_cast<char>(pattern_byte(i));
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The exact bytes RFC 7578 asks for, written out independently of MultipartFileBody.
std::string expected_head(const std::string& boundary,
                          const std::vector<std::pair<std::string, std::string>>& fields,
                          const std::string& file_name, const std::string& type) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
           value + "\r\n";
  }
  out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
         file_name + "\"\r\nContent-Type: " + type + "\r\n\r\n";
  return out;
}

std::string expected_tail(const std::string& boundary) { return "\r\n--" + boundary + "--\r\n"; }

// Everything a source produces, read `step` bytes at a time.
std::string drain(BodySource& source, std::size_t step) {
  std::string out, error;
  std::vector<char> buffer(step);
  while (true) {
    const std::size_t n = source.read(buffer.data(), buffer.size(), error);
    EXPECT_EQ(error, "");
    if (n == 0) break;
    out.append(buffer.data(), n);
  }
  return out;
}

HttpResponse exchange(Loop& loop, HttpClient& client, HttpRequest request,
                      std::chrono::milliseconds limit = 30000ms) {
  std::optional<HttpResponse> got;
  client.request(std::move(request), [&](HttpResponse r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value()) << "the callback must not run inside request()";
  EXPECT_TRUE(run_until(loop, [&] { return got.has_value(); }, limit));
  return got.value_or(HttpResponse{});
}

HttpServerOptions server_options(bool tls, std::size_t max_body = 16 * 1024 * 1024) {
  HttpServerOptions options;
  options.max_body_bytes = max_body;
  if (tls) {
    options.tls = true;
    options.cert_pem = test::localhost_cert().cert_pem;
    options.key_pem = test::localhost_cert().key_pem;
  }
  return options;
}

Url url_for(bool tls, std::uint16_t port) {
  return *parse_url(std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port));
}

HttpRequest upload_request(const std::shared_ptr<MultipartFileBody>& body) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/upload";
  request.headers = {{"Content-Type", body->content_type()}};
  request.body_source = body;
  request.timeout = 30000ms;
  return request;
}

// ----- MultipartFileBody on its own

TEST(MultipartFileBody, ProducesTheExactBytesInAnyChunkSize) {
  test::TempDir dir;
  const std::string path = dir.file("snapshot.jpg");
  write_pattern_file(path, 200'003);
  std::string error;
  auto body = MultipartFileBody::open({{"msg", "Front door"}, {"description", "motion: 2 people"}},
                                      {"file", path, "front door.jpg", "image/jpeg"}, error,
                                      "XyZ-boundary");
  ASSERT_TRUE(body) << error;
  const std::string expected =
      expected_head("XyZ-boundary", {{"msg", "Front door"}, {"description", "motion: 2 people"}},
                    "front door.jpg", "image/jpeg") +
      pattern_string(200'003) + expected_tail("XyZ-boundary");
  EXPECT_EQ(body->size(), expected.size());
  EXPECT_EQ(body->file_size(), 200'003u);
  EXPECT_EQ(body->content_type(), "multipart/form-data; boundary=XyZ-boundary");
  for (const std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{65536}}) {
    SCOPED_TRACE(step);
    ASSERT_TRUE(body->rewind(error)) << error;
    if (step == 1) {
      // One byte at a time through the whole body would be slow; the head and tail suffice.
      std::string head, tail;
      char c;
      for (std::size_t i = 0; i < 300; ++i) {
        ASSERT_EQ(body->read(&c, 1, error), 1u);
        head += c;
      }
      EXPECT_EQ(head, expected.substr(0, 300));
      continue;
    }
    EXPECT_EQ(drain(*body, step), expected);
  }
}

TEST(MultipartFileBody, RandomBoundaryAndDefaultFileName) {
  test::TempDir dir;
  const std::string path = dir.file("garage.png");
  write_pattern_file(path, 10);
  std::string error;
  FormFile file;
  file.path = path;
  file.content_type = "";
  auto a = MultipartFileBody::open({}, file, error);
  auto b = MultipartFileBody::open({}, file, error);
  ASSERT_TRUE(a && b) << error;
  EXPECT_NE(a->boundary(), b->boundary());
  EXPECT_GE(a->boundary().size(), 30u);
  EXPECT_EQ(a->file_name(), "garage.png");
  EXPECT_EQ(drain(*a, 1000), expected_head(a->boundary(), {}, "garage.png", "application/octet-stream") +
                                 pattern_string(10) + expected_tail(a->boundary()));
}

TEST(MultipartFileBody, QuotesAndLineBreaksInNamesAreEscaped) {
  test::TempDir dir;
  const std::string path = dir.file("x");
  write_pattern_file(path, 1);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", path, "a\"b\r\nc.txt", "text/plain"}, error, "B");
  ASSERT_TRUE(body) << error;
  EXPECT_NE(drain(*body, 100).find("filename=\"a%22b%0D%0Ac.txt\""), std::string::npos);
}

TEST(MultipartFileBody, UnreadableFilesAreRefusedWithTheReason) {
  test::TempDir dir;
  std::string error;
  EXPECT_FALSE(MultipartFileBody::open({}, {"file", dir.file("missing.jpg"), "", ""}, error));
  EXPECT_EQ(error, "cannot read " + dir.file("missing.jpg") + ": No such file or directory");
  EXPECT_FALSE(MultipartFileBody::open({}, {"file", dir.path(), "", ""}, error));
  EXPECT_EQ(error, "cannot send " + dir.path() + ": not a regular file");
}

TEST(MultipartFileBody, AFileThatShrinksIsAnErrorNotAShortBody) {
  test::TempDir dir;
  const std::string path = dir.file("shrinking.bin");
  write_pattern_file(path, 100'000);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", path, "", ""}, error, "B");
  ASSERT_TRUE(body) << error;
  fs::resize_file(path, 1000);
  std::vector<char> buffer(65536);
  std::size_t total = 0;
  while (true) {
    const std::size_t n = body->read(buffer.data(), buffer.size(), error);
    if (n == 0) break;
    total += n;
  }
  EXPECT_EQ(error, path + " shrank while it was being sent (1000 of 100000 bytes)");
  EXPECT_LT(total, body->size());
}

// ----- HttpClient sending a streamed body

class StreamedUpload : public ::testing::TestWithParam<bool> {};

TEST_P(StreamedUpload, ArrivesByteForByteWithContentLength) {
  const bool tls = GetParam();
  Loop loop;
  HttpServer server(loop, server_options(tls));
  ServerRequest seen;
  int requests = 0;
  std::vector<std::uint16_t> ports;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    seen = req;
    ++requests;
    ports.push_back(req.remote_port);
    respond({201, {{"Content-Type", "application/json"}}, "{\"stored\":true}"});
  });
  server.start();
  test::TempDir dir;
  // Not a multiple of the 64 KiB chunk, so the last chunk is a short one.
  const std::uint64_t size = 1024 * 1024 + 123;
  write_pattern_file(dir.file("clip.mp4"), size);
  const std::string ca = dir.file("ca.pem");
  std::ofstream(ca) << test::localhost_cert().cert_pem;
  HttpClient client(loop, url_for(tls, server.port()), TlsClientOptions{true, ca});

  std::string error;
  auto body = MultipartFileBody::open({{"msg", "hello"}}, {"file", dir.file("clip.mp4"), "", "video/mp4"},
                                      error, "b0undary");
  ASSERT_TRUE(body) << error;
  const HttpResponse response = exchange(loop, client, upload_request(body));
  ASSERT_TRUE(response.ok()) << to_string(response.stage) << ": " << response.error;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "{\"stored\":true}");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.header("Content-Type"), "multipart/form-data; boundary=b0undary");
  EXPECT_EQ(seen.header("Content-Length"), std::to_string(body->size()));
  EXPECT_EQ(seen.header("Transfer-Encoding"), "");
  EXPECT_EQ(seen.body, expected_head("b0undary", {{"msg", "hello"}}, "clip.mp4", "video/mp4") +
                           pattern_string(size) + expected_tail("b0undary"));

  // The connection stays usable: an ordinary request follows on it, and the same body can be
  // sent again (it is rewound).
  HttpRequest plain;
  plain.target = "/after";
  const HttpResponse after = exchange(loop, client, plain);
  ASSERT_TRUE(after.ok()) << after.error;
  EXPECT_EQ(seen.path, "/after");
  const HttpResponse again = exchange(loop, client, upload_request(body));
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(seen.body.size(), body->size());
  EXPECT_EQ(requests, 3);
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0], ports[1]) << "keep-alive after a streamed body";
  EXPECT_EQ(ports[1], ports[2]);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, StreamedUpload, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

TEST(StreamedUploadFailures, EmptyFileIsHeadAndTailOnly) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  std::string seen;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    seen = req.body;
    respond({200, {}, "ok"});
  });
  server.start();
  test::TempDir dir;
  std::ofstream(dir.file("empty.txt")).close();
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", dir.file("empty.txt"), "", "text/plain"}, error, "B");
  ASSERT_TRUE(body) << error;
  HttpClient client(loop, url_for(false, server.port()));
  const HttpResponse response = exchange(loop, client, upload_request(body));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(seen, expected_head("B", {}, "empty.txt", "text/plain") + expected_tail("B"));
}

TEST(StreamedUploadFailures, ResentWholeAfterTheServerClosedTheIdleConnection) {
  Loop loop;
  auto options = server_options(false);
  options.idle_timeout = 100ms;
  HttpServer server(loop, options);
  std::vector<std::string> bodies;
  std::vector<std::uint16_t> ports;
  server.on_request([&](const ServerRequest& req, Respond respond) {
    bodies.push_back(req.body);
    ports.push_back(req.remote_port);
    respond({200, {}, "ok"});
  });
  server.start();
  test::TempDir dir;
  write_pattern_file(dir.file("a.bin"), 300'000);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", dir.file("a.bin"), "", ""}, error, "B");
  ASSERT_TRUE(body) << error;
  HttpClient client(loop, url_for(false, server.port()));
  ASSERT_TRUE(exchange(loop, client, upload_request(body)).ok());
  ASSERT_TRUE(run_until(loop, [&] { return server.connection_count() == 0; }));
  const HttpResponse second = exchange(loop, client, upload_request(body));
  ASSERT_TRUE(second.ok()) << to_string(second.stage) << ": " << second.error;
  ASSERT_EQ(bodies.size(), 2u) << "each upload reached the server exactly once";
  EXPECT_NE(ports[0], ports[1]);
  EXPECT_EQ(bodies[0], bodies[1]);
  EXPECT_EQ(bodies[1].size(), body->size());
}

TEST(StreamedUploadFailures, AFileThatShrinksMidUploadFailsTheExchange) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  int requests = 0;
  server.on_request([&](const ServerRequest&, Respond respond) {
    ++requests;
    respond({200, {}, "ok"});
  });
  server.start();
  test::TempDir dir;
  write_pattern_file(dir.file("a.bin"), 500'000);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", dir.file("a.bin"), "", ""}, error, "B");
  ASSERT_TRUE(body) << error;
  fs::resize_file(dir.file("a.bin"), 100'000);
  HttpClient client(loop, url_for(false, server.port()));
  const HttpResponse response = exchange(loop, client, upload_request(body));
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.stage, FailStage::Write);
  EXPECT_EQ(response.error, "request body: " + dir.file("a.bin") +
                                " shrank while it was being sent (100000 of 500000 bytes)");
  EXPECT_EQ(requests, 0) << "a truncated body never reaches the handler";
  // The client recovers on a new connection.
  HttpRequest plain;
  EXPECT_EQ(exchange(loop, client, plain).status, 200);
}

TEST(StreamedUploadFailures, ServerThatStopsReadingTimesOut) {
  test::SilentListener silent;
  Loop loop;
  test::TempDir dir;
  // Larger than the socket buffers, so the write itself blocks.
  write_pattern_file(dir.file("big.bin"), 16 * 1024 * 1024);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", dir.file("big.bin"), "", ""}, error);
  ASSERT_TRUE(body) << error;
  HttpClient client(loop, url_for(false, silent.port()));
  auto request = upload_request(body);
  request.timeout = 400ms;
  const HttpResponse response = exchange(loop, client, request);
  EXPECT_EQ(response.stage, FailStage::Timeout);
  EXPECT_EQ(response.error, "timeout after 400 ms");
}

TEST(StreamedUploadFailures, AServerThatRefusesTheBodyEarlyIsHeard) {
  // Like a proxy over its body size limit: answer 413 after the header and close soon after,
  // leaving most of the body unread (the client's write then fails with a reset).
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread proxy([fd] {
    const int conn = ::accept(fd, nullptr, nullptr);
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(conn, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      head.append(buffer, static_cast<std::size_t>(n));
    }
    const std::string answer =
        "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/html\r\nContent-Length: 26\r\n"
        "Connection: close\r\n\r\n<h1>413 Too Large</h1>\r\n\r\n";
    ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
    // A short lingering close, as proxies do, then the reset: the client is still writing.
    ::shutdown(conn, SHUT_WR);
    std::size_t drained = 0;
    while (drained < 512 * 1024) {
      const auto n = ::recv(conn, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
    ::close(conn);
  });
  test::TempDir dir;
  write_pattern_file(dir.file("big.bin"), 64 * 1024 * 1024);
  std::string error;
  auto body = MultipartFileBody::open({}, {"file", dir.file("big.bin"), "", ""}, error);
  ASSERT_TRUE(body) << error;
  Loop loop;
  HttpClient client(loop, url_for(false, ntohs(addr.sin_port)));
  const HttpResponse response = exchange(loop, client, upload_request(body));
  proxy.join();
  ::close(fd);
  // The proxy stopped reading after 512 KiB of 64 MiB, so the write must have failed: the 413 can
  // only have come from reading after that failure.
  ASSERT_TRUE(response.ok()) << to_string(response.stage) << ": " << response.error;
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, "<h1>413 Too Large</h1>\r\n\r\n");
}

// ----- 30 MB through the client, heap measured

// Accepts one connection, reads one request and checks its body against the expected multipart
// stream byte by byte as it arrives, storing nothing; answers "<bytes> <first mismatch or -1>".
class CheckingSink {
 public:
  CheckingSink(std::string head, std::uint64_t file_size, std::string tail)
      : head_(std::move(head)), file_size_(file_size), tail_(std::move(tail)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CheckingSink() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::uint64_t received() const { return received_; }

 private:
  unsigned char expected(std::uint64_t i) const {
    if (i < head_.size()) return static_cast<unsigned char>(head_[i]);
    i -= head_.size();
    if (i < file_size_) return pattern_byte(i);
    i -= file_size_;
    return i < tail_.size() ? static_cast<unsigned char>(tail_[i]) : 0;
  }

  void serve() {
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    timeval tv{20, 0};
    ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buffer[65536];
    std::string header;
    std::size_t end = std::string::npos;
    std::uint64_t length = 0;
    std::int64_t mismatch = -1;
    std::uint64_t got = 0;
    auto take_body = [&](const char* data, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k, ++got) {
        if (mismatch < 0 && static_cast<unsigned char>(data[k]) != expected(got)) {
          mismatch = static_cast<std::int64_t>(got);
        }
      }
    };
    while (end == std::string::npos) {
      const auto n = ::recv(conn, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      header.append(buffer, static_cast<std::size_t>(n));
      end = header.find("\r\n\r\n");
    }
    if (end != std::string::npos) {
      std::string lowered = header.substr(0, end);
      for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto cl = lowered.find("content-length:");
      if (cl != std::string::npos) length = std::stoull(lowered.substr(cl + 15));
      take_body(header.data() + end + 4, header.size() - end - 4);
      while (got < length) {
        const auto n = ::recv(conn, buffer, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer, length - got)), 0);
        if (n <= 0) break;
        take_body(buffer, static_cast<std::size_t>(n));
      }
    }
    received_ = got;
    const std::string answer = std::to_string(got) + " " + std::to_string(mismatch);
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                                 "\r\n\r\n" + answer;
    ::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(conn);
  }

  std::string head_;
  std::uint64_t file_size_;
  std::string tail_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> received_{0};
  std::thread thread_;
};

TEST(LargeUpload, ThirtyMegabytesWithoutEverHoldingTheFileInMemory) {
  test::TempDir dir;
  const std::uint64_t size = 30ULL * 1024 * 1024 + 17;
  const std::string path = dir.file("recording.bin");
  write_pattern_file(path, size);
  std::string error;
  auto body = MultipartFileBody::open({{"description", "garage, last night"}},
                                      {"file", path, "", "application/octet-stream"}, error, "LargeB");
  ASSERT_TRUE(body) << error;
  CheckingSink sink(expected_head("LargeB", {{"description", "garage, last night"}}, "recording.bin",
                                  "application/octet-stream"),
                    size, expected_tail("LargeB"));
  Loop loop;
  HttpClient client(loop, url_for(false, sink.port()));
  auto request = upload_request(body);
  request.timeout = 120000ms;

  test::HeapWatch watch;
  const HttpResponse response = exchange(loop, client, request, 120000ms);
  const std::size_t largest = watch.largest_allocation();
  const std::size_t growth = watch.peak_growth();
  std::printf("30 MB upload: largest allocation %zu bytes, peak heap growth %zu bytes\n", largest,
              growth);

  ASSERT_TRUE(response.ok()) << to_string(response.stage) << ": " << response.error;
  EXPECT_EQ(response.body, std::to_string(body->size()) + " -1") << "bytes received, first mismatch";
  // One 64 KiB chunk plus Asio/Beast's small buffers: nothing near the file's 30 MB.
  EXPECT_LT(largest, 256u * 1024) << "largest single allocation while uploading";
  EXPECT_LT(growth, 1024u * 1024) << "peak heap growth while uploading";
}

// ----- responses streamed to a file

TEST(ResponseToFile, BodyGoesToTheFileNotToMemory) {
  for (const bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "https" : "http");
    Loop loop;
    HttpServer server(loop, server_options(tls));
    const std::string image = pattern_string(3 * 1024 * 1024 + 5);
    server.on_request([&](const ServerRequest& req, Respond respond) {
      if (req.path == "/missing") return respond({404, {{"Content-Type", "text/plain"}}, "no such camera"});
      respond({200, {{"Content-Type", "image/jpeg"}}, image});
    });
    server.start();
    test::TempDir dir;
    const std::string ca = dir.file("ca.pem");
    std::ofstream(ca) << test::localhost_cert().cert_pem;
    HttpClient client(loop, url_for(tls, server.port()), TlsClientOptions{true, ca});

    HttpRequest request;
    request.target = "/snapshot.jpg";
    request.response_file = dir.file("out.jpg");
    const HttpResponse response = exchange(loop, client, request);
    ASSERT_TRUE(response.ok()) << response.error;
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(response.body_in_file);
    EXPECT_EQ(response.file_size, image.size());
    EXPECT_EQ(response.body, "");
    EXPECT_EQ(response.header("Content-Type"), "image/jpeg");
    EXPECT_EQ(read_all(dir.file("out.jpg")), image);
    EXPECT_EQ(fs::status(dir.file("out.jpg")).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);

    // An error keeps its (short) body in memory and leaves no file.
    request.target = "/missing";
    request.response_file = dir.file("missing.jpg");
    const HttpResponse missing = exchange(loop, client, request);
    ASSERT_TRUE(missing.ok()) << missing.error;
    EXPECT_EQ(missing.status, 404);
    EXPECT_FALSE(missing.body_in_file);
    EXPECT_EQ(missing.body, "no such camera");
    EXPECT_FALSE(fs::exists(dir.file("missing.jpg")));

    // Same connection, ordinary request afterwards.
    HttpRequest plain;
    plain.target = "/again";
    const HttpResponse again = exchange(loop, client, plain);
    EXPECT_EQ(again.body, image);
  }
}

TEST(ResponseToFile, OverTheCapFailsAndRemovesThePartialFile) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([&](const ServerRequest&, Respond respond) {
    respond({200, {}, std::string(2 * 1024 * 1024, 'x')});
  });
  server.start();
  test::TempDir dir;
  HttpClient client(loop, url_for(false, server.port()));
  HttpRequest request;
  request.response_file = dir.file("big.jpg");
  request.response_file_max = 1024 * 1024;
  const HttpResponse response = exchange(loop, client, request);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.stage, FailStage::Read);
  EXPECT_EQ(response.error, "response body larger than the limit of 1048576 bytes");
  EXPECT_FALSE(fs::exists(dir.file("big.jpg")));
  // Exactly at the cap is fine.
  request.response_file_max = 2 * 1024 * 1024;
  const HttpResponse fits = exchange(loop, client, request);
  ASSERT_TRUE(fits.ok()) << fits.error;
  EXPECT_EQ(fits.file_size, 2u * 1024 * 1024);
}

TEST(ResponseToFile, UnwritableFileIsAReadFailureWithTheReason) {
  Loop loop;
  HttpServer server(loop, server_options(false));
  server.on_request([&](const ServerRequest&, Respond respond) { respond({200, {}, "data"}); });
  server.start();
  test::TempDir dir;
  HttpClient client(loop, url_for(false, server.port()));
  HttpRequest request;
  request.response_file = dir.file("no/such/dir/out.jpg");
  const HttpResponse response = exchange(loop, client, request);
  EXPECT_EQ(response.stage, FailStage::Read);
  EXPECT_EQ(response.error, "cannot write " + dir.file("no/such/dir/out.jpg") + ": No such file or directory");
}

TEST(ResponseToFile, ConnectionLostMidBodyLeavesNoFile) {
  // A raw server announcing 1 MB and sending 10 bytes before closing.
  Loop loop;
  test::TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread peer([fd] {
    const int conn = ::accept(fd, nullptr, nullptr);
    char buffer[4096];
    ::recv(conn, buffer, sizeof buffer, 0);
    const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n0123456789";
    ::send(conn, partial.data(), partial.size(), MSG_NOSIGNAL);
    ::close(conn);
  });
  HttpClient client(loop, url_for(false, ntohs(addr.sin_port)));
  HttpRequest request;
  request.response_file = dir.file("cut.jpg");
  const HttpResponse response = exchange(loop, client, request);
  peer.join();
  ::close(fd);
  EXPECT_EQ(response.stage, FailStage::Read);
  EXPECT_EQ(response.error, "read: partial message");
  EXPECT_FALSE(fs::exists(dir.file("cut.jpg")));
}

}  // namespace
}  // namespace rcgate::net
