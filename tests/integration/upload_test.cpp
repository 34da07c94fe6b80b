// Uploads end to end over real sockets: rcgate's RestClient against the rcgate-sim process
// (rooms.media + rooms.mediaConfirm, the rooms.upload fallback, size limits checked before
// sending, the server's refusals explained), and camera snapshots from a loopback camera that
// asks for Digest (or Basic) auth, uploaded to the simulator.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/camera.hpp"
#include "config/loader.hpp"
#include "net/http_auth.hpp"
#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "rocketchat/rest_client.hpp"
#include "loopback_camera.hpp"
#include "support/process.hpp"
#include "support/run_loop.hpp"

namespace rcgate::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kBotId = "BCmeyJm2r6b8hJiie";
constexpr const char* kBotPat = "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb";
constexpr const char* kCameraAlerts = "c3f8a6a80a707dc9ce744b9d";

std::string bytes(std::size_t n, unsigned seed = 1) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

std::string write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A port on 127.0.0.1 where nothing listens (bound, then released).
std::uint16_t refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<rc::RestClient> bot_client(net::Loop& loop, const Sim& sim) {
  auto rest = std::make_unique<rc::RestClient>(loop, *parse_url(sim.url()), net::TlsClientOptions{});
  rest->set_credentials(kBotId, kBotPat);
  return rest;
}

// Runs one upload to the end; checks that the callback never runs inside upload().
rc::RestResult upload(net::Loop& loop, rc::RestClient& rest, const std::string& room, rc::UploadSpec spec) {
  std::optional<rc::RestResult> result;
  rest.upload(room, std::move(spec), [&](rc::RestResult r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value()) << "the callback must not run inside upload()";
  EXPECT_TRUE(run_until(loop, [&] { return result.has_value(); }, 60s));
  return result.value_or(rc::RestResult{});
}

HttpReply download(const Sim& sim, const json& message) {
  return http_request(sim.http_port(), "GET", message["attachments"][0]["title_link"].get<std::string>(), "",
                      {{"X-User-Id", kBotId}, {"X-Auth-Token", kBotPat}});
}

// ----- uploads to rcgate-sim

TEST(Upload, MediaThenConfirmDeliversTheFileByteForByte) {
  Sim sim;
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const std::string content = bytes(3 * 1024 * 1024 + 77);
  const std::string path = write_file(dir.file("garage-door.mp4"), content);

  const auto r = upload(loop, *rest, kCameraAlerts,
                        {path, "", "", "Garage door opened at 10:15", "motion in the garage", ""});
  ASSERT_TRUE(r.ok()) << r.error << "\n" << sim.log();
  EXPECT_EQ(rest->server_major(), 8);
  const json& message = r.body["message"];
  EXPECT_EQ(message["rid"], kCameraAlerts);
  EXPECT_EQ(message["msg"], "motion in the garage");
  EXPECT_EQ(message["file"]["name"], "garage-door.mp4");
  EXPECT_EQ(message["file"]["type"], "video/mp4");
  EXPECT_EQ(message["file"]["size"], content.size());
  EXPECT_EQ(message["attachments"][0]["description"], "Garage door opened at 10:15");
  EXPECT_EQ(message["attachments"][0]["video_type"], "video/mp4");

  const json uploads = sim.get("uploads")["uploads"];
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0]["endpoint"], "rooms.media");
  EXPECT_EQ(uploads[0]["confirmed"], true);
  EXPECT_EQ(uploads[0]["sha256"], net::sha256_hex(content));
  EXPECT_EQ(uploads[0]["message_id"], message["_id"]);
  const HttpReply file = download(sim, message);
  EXPECT_EQ(file.status, 200);
  EXPECT_TRUE(file.body == content) << "the file that came back differs from the one sent";

  // The room shows it; a second upload reuses what was learnt (no new version lookup needed).
  const json room = sim.get("messages?room=camera-alerts")["messages"];
  ASSERT_FALSE(room.empty());
  EXPECT_EQ(room.back()["_id"], message["_id"]);
  const auto again = upload(loop, *rest, kCameraAlerts, {path, "renamed.bin", "application/octet-stream", "", "", ""});
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.body["message"]["file"]["name"], "renamed.bin");
  EXPECT_EQ(again.body["message"]["file"]["type"], "application/octet-stream");
  EXPECT_FALSE(again.body["message"]["attachments"][0].contains("description"));
}

TEST(Upload, IntoAThread) {
  Sim sim;
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const json root = sim.post("messages", {{"room", "general"}, {"user", "alice"}, {"text", "who is at the door?"}})["message"];
  const auto r = upload(loop, *rest, "GENERAL",
                        {write_file(dir.file("door.png"), bytes(5000)), "", "", "the door", "", root["_id"]});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body["message"]["tmid"], root["_id"]);
  EXPECT_EQ(r.body["message"]["file"]["type"], "image/png");
  EXPECT_EQ(r.body["message"]["attachments"][0]["image_type"], "image/png");
}

TEST(Upload, FallsBackToRoomsUploadOnAServerWithoutRoomsMedia) {
  Sim sim({"--flavour", "6"});
  sim.post("settings", {{"rooms_media", false}});
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const std::string content = bytes(700 * 1024, 2);
  const std::string path = write_file(dir.file("report.pdf"), content);
  const auto r = upload(loop, *rest, kCameraAlerts, {path, "", "", "weekly report", "here it is", ""});
  ASSERT_TRUE(r.ok()) << r.error << "\n" << sim.log();
  EXPECT_EQ(rest->server_major(), 6);
  const json& message = r.body["message"];
  EXPECT_EQ(message["msg"], "here it is");
  EXPECT_EQ(message["attachments"][0]["description"], "weekly report");
  EXPECT_EQ(message["file"]["type"], "application/pdf");
  EXPECT_EQ(sim.get("uploads")["attempts"],
            json({{"rooms.media", 1}, {"rooms.mediaConfirm", 0}, {"rooms.upload", 1}}));
  const auto second = upload(loop, *rest, kCameraAlerts, {path, "", "", "", "", ""});
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(sim.get("uploads")["attempts"]["rooms.media"], 1) << "the 404 was remembered";
  const json uploads = sim.get("uploads")["uploads"];
  ASSERT_EQ(uploads.size(), 2u);
  for (const auto& u : uploads) {
    EXPECT_EQ(u["endpoint"], "rooms.upload");
    EXPECT_EQ(u["sha256"], net::sha256_hex(content));
  }
  EXPECT_TRUE(download(sim, message).body == content);
}

TEST(Upload, A6xServerWithRoomsMediaUsesIt) {
  Sim sim({"--flavour", "6"});
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const auto r = upload(loop, *rest, kCameraAlerts, {write_file(dir.file("a.jpg"), bytes(1000)), "", "", "", "", ""});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(sim.get("uploads")["uploads"][0]["endpoint"], "rooms.media");
}

TEST(Upload, An8xServerNeverFallsBackToRoomsUpload) {
  Sim sim;
  sim.post("settings", {{"rooms_media", false}});
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const auto r = upload(loop, *rest, kCameraAlerts, {write_file(dir.file("a.jpg"), bytes(1000)), "", "", "", "", ""});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error, "uploading a.jpg: HTTP 404: API endpoint does not exist");
  const json uploads = sim.get("uploads");
  EXPECT_TRUE(uploads["uploads"].empty());
  EXPECT_EQ(uploads["attempts"]["rooms.media"], 1);
  EXPECT_EQ(uploads["attempts"]["rooms.upload"], 0) << "8.x has no rooms.upload: never tried";
}

TEST(Upload, OverTheServerLimitIsRefusedBeforeSending) {
  Sim sim;
  sim.post("settings", {{"upload_max_bytes", 1024 * 1024}});
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const auto r = upload(loop, *rest, kCameraAlerts,
                        {write_file(dir.file("big.bin"), bytes(1536 * 1024)), "", "", "", "", ""});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, "big.bin is 1.5 MiB; the server accepts at most 1.0 MiB (FileUpload_MaxFileSize)");
  EXPECT_EQ(r.error_type, "error-file-too-large");
  const json uploads = sim.get("uploads");
  EXPECT_TRUE(uploads["uploads"].empty());
  EXPECT_EQ(uploads["rejected"], 0);
  EXPECT_EQ(uploads["attempts"], json({{"rooms.media", 0}, {"rooms.mediaConfirm", 0}, {"rooms.upload", 0}}))
      << "nothing was sent";
  // Exactly at the limit goes through.
  const auto fits = upload(loop, *rest, kCameraAlerts,
                           {write_file(dir.file("fits.bin"), bytes(1024 * 1024)), "", "", "", "", ""});
  EXPECT_TRUE(fits.ok()) << fits.error;
}

TEST(Upload, TheServersRefusalsAreExplained) {
  Sim sim;
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const std::string small = write_file(dir.file("notes.txt"), bytes(5000));
  ASSERT_TRUE(upload(loop, *rest, kCameraAlerts, {small, "", "", "", "", ""}).ok());

  // The limit was lowered after rcgate read it: the server refuses, and rcgate reads it again.
  sim.post("settings", {{"upload_max_bytes", 1000}});
  auto r = upload(loop, *rest, kCameraAlerts, {small, "", "", "", "", ""});
  EXPECT_EQ(r.error_type, "error-file-too-large");
  EXPECT_EQ(r.error,
            "notes.txt (4.9 KiB) is larger than the Rocket.Chat server accepts (FileUpload_MaxFileSize): send a "
            "smaller file, or ask an administrator to raise Administration > Settings > File Upload > Maximum "
            "File Upload Size");
  EXPECT_EQ(sim.get("uploads")["rejected"], 1);
  r = upload(loop, *rest, kCameraAlerts, {small, "", "", "", "", ""});
  EXPECT_EQ(r.error, "notes.txt is 4.9 KiB; the server accepts at most 1000 bytes (FileUpload_MaxFileSize)");
  EXPECT_EQ(sim.get("uploads")["rejected"], 1) << "checked before sending this time";

  sim.post("settings", {{"upload_max_bytes", -1}, {"upload_media_types", "image/*"}});
  rest = bot_client(loop, sim);  // forget the cached limit
  r = upload(loop, *rest, kCameraAlerts, {small, "", "", "", "", ""});
  EXPECT_EQ(r.error_type, "error-invalid-file-type");
  EXPECT_EQ(r.error,
            "the Rocket.Chat server does not accept text/plain files (notes.txt): an administrator can add the "
            "type to Administration > Settings > File Upload > Accepted Media Types "
            "(FileUpload_MediaTypeWhiteList)");
  sim.post("settings", {{"upload_media_types", ""}, {"upload_enabled", false}});
  r = upload(loop, *rest, kCameraAlerts, {small, "", "", "", "", ""});
  EXPECT_EQ(r.error_type, "error-file-upload-disabled");
  EXPECT_EQ(r.error.rfind("file uploads are turned off on the Rocket.Chat server (notes.txt was not sent)", 0), 0u)
      << r.error;
  // A room the bot is not in.
  sim.post("settings", {{"upload_enabled", true}});
  sim.post("rooms", {{"name", "secret"}, {"type", "p"}, {"members", {"alice"}}, {"id", "SECRETROOM"}});
  r = upload(loop, *rest, "SECRETROOM", {small, "", "", "", "", ""});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error, "uploading notes.txt: HTTP 403: Not allowed [error-not-allowed]");
}

TEST(Upload, AProxyBodyLimitIsExplained) {
  // A web server in front of Rocket.Chat with a 1 KiB body limit (HttpServer answers 413).
  net::Loop loop;
  net::HttpServerOptions options;
  options.max_body_bytes = 1024;
  net::HttpServer proxy(loop, options);
  proxy.on_request([](const net::ServerRequest& req, net::Respond respond) {
    if (req.path == "/api/info") return respond({200, {}, R"({"version":"8.8","success":true})"});
    if (req.path == "/api/v1/settings.public") {
      return respond({200, {}, R"({"settings":[{"_id":"FileUpload_MaxFileSize","value":-1}],"success":true})"});
    }
    respond({404, {}, "{}"});
  });
  proxy.start();
  rc::RestClient rest(loop, *parse_url("http://127.0.0.1:" + std::to_string(proxy.port())), {});
  rest.set_credentials(kBotId, kBotPat);
  TempDir dir;
  const auto r = upload(loop, rest, kCameraAlerts, {write_file(dir.file("clip.mp4"), bytes(300 * 1024)), "", "", "", "", ""});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.error,
            "uploading clip.mp4 (300.0 KiB): HTTP 413: the web server in front of Rocket.Chat refuses requests this "
            "large; raise its limit (nginx: client_max_body_size) to at least FileUpload_MaxFileSize");
}

TEST(Upload, AMissingFileFailsAtOnceWithTheReason) {
  Sim sim;
  net::Loop loop;
  auto rest = bot_client(loop, sim);
  TempDir dir;
  const auto r = upload(loop, *rest, kCameraAlerts, {dir.file("nope.jpg"), "", "", "", "", ""});
  EXPECT_EQ(r.error, "cannot read " + dir.file("nope.jpg") + ": No such file or directory");
  EXPECT_EQ(r.status, 0);
}

TEST(Upload, ContentTypesAndSizes) {
  EXPECT_EQ(rc::content_type_for("a.JPG"), "image/jpeg");
  EXPECT_EQ(rc::content_type_for("snapshot.jpeg"), "image/jpeg");
  EXPECT_EQ(rc::content_type_for("x.png"), "image/png");
  EXPECT_EQ(rc::content_type_for("x.webp"), "image/webp");
  EXPECT_EQ(rc::content_type_for("clip.mp4"), "video/mp4");
  EXPECT_EQ(rc::content_type_for("r.pdf"), "application/pdf");
  EXPECT_EQ(rc::content_type_for("notes.txt"), "text/plain");
  EXPECT_EQ(rc::content_type_for("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(rc::content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(rc::content_type_for("x.unknownext"), "application/octet-stream");
  EXPECT_EQ(rc::format_size(1), "1 byte");
  EXPECT_EQ(rc::format_size(1023), "1023 bytes");
  EXPECT_EQ(rc::format_size(1024), "1.0 KiB");
  EXPECT_EQ(rc::format_size(54945382), "52.4 MiB");
  EXPECT_EQ(rc::format_size(52428800), "50.0 MiB");
  EXPECT_EQ(rc::format_size(3ULL * 1024 * 1024 * 1024 / 2), "1.5 GiB");
}

// ----- camera snapshots

config::CameraSettings camera_settings(const std::string& url, config::CameraAuth auth = config::CameraAuth::Auto) {
  config::CameraSettings c;
  c.name = "front";
  c.url = *parse_url(url);
  c.username = "admin";
  c.password = "cam-secret";
  c.auth = auth;
  c.timeout = 5000ms;
  return c;
}

app::SnapshotResult take(net::Loop& loop, app::Camera& camera) {
  std::optional<app::SnapshotResult> result;
  camera.snapshot([&](app::SnapshotResult r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value()) << "the callback must not run inside snapshot()";
  EXPECT_TRUE(run_until(loop, [&] { return result.has_value(); }));
  return result.value_or(app::SnapshotResult{});
}

std::size_t files_in(const std::string& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

TEST(CameraSnapshot, DigestCameraSnapshotUploadedToTheSimulator) {
  for (const auto mode : {LoopbackCamera::Mode::Digest, LoopbackCamera::Mode::DigestSha256}) {
    SCOPED_TRACE(mode == LoopbackCamera::Mode::Digest ? "MD5" : "SHA-256");
    Sim sim;
    net::Loop loop;
    const std::string image = bytes(180 * 1024 + 3, 7);
    LoopbackCamera cam(loop, mode, image);
    TempDir state;
    app::Camera camera(loop, camera_settings(cam.url()), state.file("snapshots"));
    const auto shot = take(loop, camera);
    ASSERT_TRUE(shot.ok()) << shot.error;
    EXPECT_EQ(cam.requests, 2) << "one challenge, one authenticated request";
    EXPECT_EQ(cam.authorizations[0], "");
    EXPECT_EQ(cam.authorizations[1].rfind("Digest username=\"admin\"", 0), 0u) << cam.authorizations[1];
    EXPECT_EQ(shot.snapshot->content_type, "image/jpeg");
    EXPECT_EQ(shot.snapshot->size, image.size());
    EXPECT_EQ(fs::path(shot.snapshot->path).parent_path(), fs::path(state.file("snapshots")));
    EXPECT_TRUE(std::regex_match(shot.snapshot->file_name, std::regex(R"(front-\d{8}-\d{6}\.jpg)")))
        << shot.snapshot->file_name;
    EXPECT_TRUE(read_file(shot.snapshot->path) == image);
    EXPECT_EQ(fs::status(state.file("snapshots")).permissions() & fs::perms::all, fs::perms::owner_all);

    auto rest = bot_client(loop, sim);
    const auto r = upload(loop, *rest, kCameraAlerts,
                          {shot.snapshot->path, shot.snapshot->file_name, shot.snapshot->content_type,
                           "Front door, motion detected", "", ""});
    ASSERT_TRUE(r.ok()) << r.error;
    const json uploads = sim.get("uploads")["uploads"];
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_EQ(uploads[0]["sha256"], net::sha256_hex(image));
    EXPECT_EQ(uploads[0]["name"], shot.snapshot->file_name);
    EXPECT_EQ(r.body["message"]["attachments"][0]["image_type"], "image/jpeg");
    EXPECT_TRUE(download(sim, r.body["message"]).body == image);
  }
}

TEST(CameraSnapshot, BasicAuthWhenAskedOrConfigured) {
  net::Loop loop;
  LoopbackCamera cam(loop, LoopbackCamera::Mode::Basic, "JPEGDATA");
  TempDir state;
  {
    app::Camera camera(loop, camera_settings(cam.url()), state.path());
    const auto shot = take(loop, camera);
    ASSERT_TRUE(shot.ok()) << shot.error;
    EXPECT_EQ(cam.requests, 2);
    EXPECT_EQ(read_file(shot.snapshot->path), "JPEGDATA");
  }
  {
    app::Camera camera(loop, camera_settings(cam.url(), config::CameraAuth::Basic), state.path());
    const auto shot = take(loop, camera);
    ASSERT_TRUE(shot.ok()) << shot.error;
    EXPECT_EQ(cam.requests, 3) << "auth: basic sends the login with the first request";
    EXPECT_EQ(cam.authorizations.back(), "Basic " + net::base64_encode("admin:cam-secret"));
  }
  {
    app::Camera camera(loop, camera_settings(cam.url(), config::CameraAuth::Digest), state.path());
    const auto shot = take(loop, camera);
    EXPECT_EQ(shot.error,
              "camera 'front': the camera offers only Basic auth but cameras.front.auth is digest; set it to "
              "basic (or auto) to allow Basic");
  }
}

TEST(CameraSnapshot, ReadableErrors) {
  net::Loop loop;
  TempDir state;
  const std::string dir = state.file("snapshots");
  LoopbackCamera digest(loop, LoopbackCamera::Mode::Digest, "IMG");
  digest.password = "changed-on-the-camera";
  {
    app::Camera camera(loop, camera_settings(digest.url()), dir);
    EXPECT_EQ(take(loop, camera).error,
              "camera 'front': HTTP 401 after digest auth — check cameras.front.username/password");
  }
  {
    auto settings = camera_settings(digest.url());
    settings.username.clear();
    settings.password.clear();
    app::Camera camera(loop, settings, dir);
    EXPECT_EQ(take(loop, camera).error,
              "camera 'front': the camera asks for a login (Digest) — set cameras.front.username and password");
  }
  {
    auto settings = camera_settings(digest.url());
    settings.url = *parse_url("http://127.0.0.1:" + std::to_string(parse_url(digest.url())->port) +
                              "/wrong.jpg?user=admin&pwd=secret");
    app::Camera camera(loop, settings, dir);
    const std::string error = take(loop, camera).error;
    EXPECT_EQ(error, "camera 'front': HTTP 404 from " + settings.url.to_string().substr(0, settings.url.to_string().find('?')));
    EXPECT_EQ(error.find("secret"), std::string::npos) << "the query may hold credentials";
  }
  {
    LoopbackCamera hang(loop, LoopbackCamera::Mode::Hang, "");
    auto settings = camera_settings(hang.url());
    settings.timeout = 300ms;
    app::Camera camera(loop, settings, dir);
    const std::string error = take(loop, camera).error;
    EXPECT_EQ(error.rfind("camera 'front': no snapshot within 300 ms from http://127.0.0.1:", 0), 0u) << error;
    EXPECT_NE(error.find("(cameras.front.timeout)"), std::string::npos) << error;
  }
  {
    LoopbackCamera big(loop, LoopbackCamera::Mode::Open, bytes(2 * 1024 * 1024 + 1));
    auto settings = camera_settings(big.url());
    settings.max_size_mb = 2;
    app::Camera camera(loop, settings, dir);
    EXPECT_EQ(take(loop, camera).error,
              "camera 'front': the snapshot is larger than 2 MiB (cameras.front.max_size_mb)");
  }
  {
    LoopbackCamera html(loop, LoopbackCamera::Mode::Html, "");
    app::Camera camera(loop, camera_settings(html.url()), dir);
    const std::string error = take(loop, camera).error;
    EXPECT_EQ(error.rfind("camera 'front': answered text/html instead of an image — check cameras.front.url", 0), 0u)
        << error;
  }
  {
    auto settings = camera_settings("http://127.0.0.1:" + std::to_string(refused_port()) + "/snap.jpg");
    app::Camera camera(loop, settings, dir);
    const std::string error = take(loop, camera).error;
    EXPECT_EQ(error, "camera 'front': connect: Connection refused (" + settings.url.to_string() + ")");
  }
  EXPECT_EQ(files_in(dir), 0u) << "failed fetches leave no file behind";
}

TEST(CameraSnapshot, FromTheConfigurationFile) {
  net::Loop loop;
  LoopbackCamera cam(loop, LoopbackCamera::Mode::DigestSha256, "FROM-CONFIG");
  TempDir dir;
  const std::string yaml = "rocketchat:\n  url: http://127.0.0.1:1\n  auth:\n    username: camera-bot\n"
                           "    password: x\n"
                           "cameras:\n  porch:\n    url: " + cam.url() + "\n    username: admin\n"
                           "    password_file: " + write_file(dir.file("pw"), "cam-secret\n") +
                           "\n    auth: digest\n    timeout: 3s\n";
  const auto loaded = config::load_text(yaml, dir.file("rcgate.yaml"), {});
  ASSERT_TRUE(loaded.ok()) << config::format_problems("rcgate.yaml", loaded.problems);
  app::Camera camera(loop, *loaded.settings.camera("porch"), dir.file("snapshots"));
  const auto shot = take(loop, camera);
  ASSERT_TRUE(shot.ok()) << shot.error;
  EXPECT_EQ(read_file(shot.snapshot->path), "FROM-CONFIG");
  EXPECT_EQ(shot.snapshot->file_name.rfind("porch-", 0), 0u);
}

}  // namespace
}  // namespace rcgate::test
