#include "app/camera.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

#include "net/http_auth.hpp"
#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "core/text.hpp"

namespace rcgate::app {

namespace {

using Clock = std::chrono::steady_clock;

// "image/jpeg; charset=binary" -> "image/jpeg".
std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  return core::ascii_lower(type);
}

// 20260310-101500, local time: what a person expects in a file name.
std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

}  // namespace

std::string image_extension(const std::string& content_type) {
  const std::string type = media_type(content_type);
  if (type == "image/png") return "png";
  if (type == "image/gif") return "gif";
  if (type == "image/webp") return "webp";
  if (type == "image/bmp") return "bmp";
  if (type == "image/heic") return "heic";
  return "jpg";
}

struct Camera::Fetch {
  Callback callback;
  std::string part_path;  // where the body is streamed; renamed once complete
  Clock::time_point deadline;
  std::string scheme_used;  // "" (none yet), "basic" or "digest"
};

Camera::Camera(net::Loop& loop, config::CameraSettings settings, std::string snapshot_dir)
    : loop_(loop), settings_(std::move(settings)), dir_(std::move(snapshot_dir)) {
  Url without_query = settings_.url;
  without_query.path = without_query.path.substr(0, without_query.path.find('?'));
  where_ = without_query.to_string();
  http_ = std::make_unique<net::HttpClient>(
      loop_, settings_.url, net::TlsClientOptions{settings_.tls.verify, settings_.tls.ca_file});
}

Camera::~Camera() = default;

std::string Camera::fail_text(const std::string& what) const {
  return "camera '" + settings_.name + "': " + what;
}

void Camera::snapshot(Callback cb) {
  auto fetch = std::make_shared<Fetch>();
  fetch->callback = std::move(cb);
  fetch->deadline = Clock::now() + settings_.timeout;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (!ec) ::chmod(dir_.c_str(), 0700);
  if (ec) {
    SnapshotResult result;
    result.error = fail_text("cannot create " + dir_ + " for snapshots: " + ec.message());
    loop_.post([fetch, result = std::move(result)]() mutable {
      if (fetch->callback) fetch->callback(std::move(result));
    });
    return;
  }
  std::random_device device;
  fetch->part_path = dir_ + "/" + settings_.name + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(++counter_) + "-" + std::to_string(device() % 100000) +
                     ".part";
  std::string authorization;
  if (settings_.auth == config::CameraAuth::Basic) {
    // Asked for explicitly: sent at once, saving the round trip to learn the scheme.
    authorization = net::basic_authorization(settings_.username, settings_.password);
    fetch->scheme_used = "basic";
  }
  send(std::move(fetch), std::move(authorization));
}

void Camera::send(std::shared_ptr<Fetch> fetch, std::string authorization) {
  net::HttpRequest request;
  request.target = settings_.url.path;
  request.headers = {{"Accept", "image/*"}};
  if (!authorization.empty()) request.headers.emplace_back("Authorization", std::move(authorization));
  request.response_file = fetch->part_path;
  request.response_file_max = static_cast<std::uint64_t>(settings_.max_size_mb) * 1024 * 1024;
  // The camera's timeout covers the whole fetch, the second (authenticated) request included.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(fetch->deadline - Clock::now());
  request.timeout = std::max(left, std::chrono::milliseconds(1));
  http_->request(std::move(request),
                 [this, fetch](net::HttpResponse response) { on_response(fetch, std::move(response)); });
}

void Camera::on_response(std::shared_ptr<Fetch> fetch, net::HttpResponse response) {
  SnapshotResult result;
  const std::string name = settings_.name;
  if (!response.ok()) {
    if (response.stage == net::FailStage::Timeout) {
      result.error = fail_text("no snapshot within " + std::to_string(settings_.timeout.count()) +
                               " ms from " + where_ + " (cameras." + name + ".timeout)");
    } else if (response.error.rfind("response body larger than", 0) == 0) {
      result.error = fail_text("the snapshot is larger than " + std::to_string(settings_.max_size_mb) +
                               " MiB (cameras." + name + ".max_size_mb)");
    } else {
      result.error = fail_text(response.error + " (" + where_ + ")");
    }
    return finish(fetch, std::move(result));
  }

  if (response.status == 401) {
    std::vector<std::string> values;
    for (const auto& [key, value] : response.headers) {
      if (core::ascii_lower(key) == "www-authenticate") values.push_back(value);
    }
    const auto challenges = net::parse_challenges(values);
    const net::AuthChallenge* digest = net::pick_digest(challenges);
    bool basic_offered = false;
    std::string offered;
    for (const auto& c : challenges) {
      basic_offered = basic_offered || c.is("Basic");
      offered += (offered.empty() ? "" : ", ") + c.scheme;
    }
    if (!fetch->scheme_used.empty()) {
      result.error = fail_text("HTTP 401 after " + fetch->scheme_used + " auth — check cameras." +
                               name + ".username/password");
      return finish(fetch, std::move(result));
    }
    if (settings_.username.empty()) {
      result.error = fail_text("the camera asks for a login (" +
                               (offered.empty() ? std::string("HTTP 401") : offered) +
                               ") — set cameras." + name + ".username and password");
      return finish(fetch, std::move(result));
    }
    if (digest) {
      net::DigestRequest request;
      request.method = "GET";
      request.uri = settings_.url.path;
      request.username = settings_.username;
      request.password = settings_.password;
      std::string error;
      auto header = net::digest_authorization(*digest, request, error);
      if (header) {
        fetch->scheme_used = "digest";
        return send(fetch, std::move(*header));
      }
      result.error = fail_text("cannot answer the camera's Digest challenge: " + error);
      return finish(fetch, std::move(result));
    }
    if (basic_offered && settings_.auth == config::CameraAuth::Auto) {
      fetch->scheme_used = "basic";
      return send(fetch, net::basic_authorization(settings_.username, settings_.password));
    }
    if (basic_offered) {
      result.error = fail_text("the camera offers only Basic auth but cameras." + name +
                               ".auth is digest; set it to basic (or auto) to allow Basic");
      return finish(fetch, std::move(result));
    }
    std::string why;
    for (const auto& c : challenges) {
      if (c.is("Digest")) net::digest_supported(c, &why);
    }
    result.error = fail_text(
        why.empty() ? "HTTP 401 without an auth scheme rcgate knows (" +
                          (offered.empty() ? std::string("no WWW-Authenticate") : offered) + ")"
                    : "cannot answer the camera's Digest challenge: " + why);
    return finish(fetch, std::move(result));
  }

  if (response.status < 200 || response.status >= 300) {
    std::string text = fail_text("HTTP " + std::to_string(response.status) + " from " + where_);
    if (response.status == 403) text += " — the camera refused the login's access; check its user's rights";
    result.error = std::move(text);
    return finish(fetch, std::move(result));
  }

  const std::string type = media_type(response.header("Content-Type"));
  if (type.rfind("text/", 0) == 0 || type == "application/json" || type == "application/xml") {
    result.error = fail_text("answered " + type + " instead of an image — check cameras." + name +
                             ".url (" + where_ + ")");
    return finish(fetch, std::move(result));
  }
  if (!response.body_in_file || response.file_size == 0) {
    result.error = fail_text("sent an empty snapshot (" + where_ + ")");
    return finish(fetch, std::move(result));
  }
  Snapshot snapshot;
  snapshot.content_type = type.empty() || type == "application/octet-stream" ? "image/jpeg" : type;
  snapshot.file_name = name + "-" + timestamp() + "." + image_extension(snapshot.content_type);
  snapshot.path = fetch->part_path.substr(0, fetch->part_path.size() - 5) + "." +
                  image_extension(snapshot.content_type);
  snapshot.size = response.file_size;
  if (std::rename(fetch->part_path.c_str(), snapshot.path.c_str()) != 0) {
    result.error = fail_text("cannot rename " + fetch->part_path + ": " + std::strerror(errno));
    return finish(fetch, std::move(result));
  }
  spdlog::debug("camera '{}': snapshot of {} bytes ({}) in {}", name, snapshot.size,
                snapshot.content_type, snapshot.path);
  result.snapshot = std::move(snapshot);
  finish(fetch, std::move(result));
}

void Camera::finish(std::shared_ptr<Fetch> fetch, SnapshotResult result) {
  if (!result.ok()) {
    std::error_code ec;
    std::filesystem::remove(fetch->part_path, ec);
    spdlog::warn("{}", result.error);
  }
  auto cb = std::move(fetch->callback);
  if (cb) cb(std::move(result));
}

}  // namespace rcgate::app
