#pragma once
// Camera snapshots for uploads (`upload` with camera: <name>): a still image fetched over
// HTTP(S) from the camera's snapshot URL with Basic or Digest auth (RFC 7616), streamed to a file
// in the snapshot directory (never whole in memory, size capped), within the camera's timeout.
// Runs on the loop thread; one fetch at a time per camera (later ones wait their turn).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "net/http.hpp"

namespace rcgate::net {
class HttpClient;
class Loop;
}  // namespace rcgate::net

namespace rcgate::app {

struct Snapshot {
  std::string path;          // the image file; the caller removes it once used
  std::string file_name;     // for the room: "front-door-20260310-101500.jpg"
  std::string content_type;  // as the camera said ("image/jpeg")
  std::uint64_t size = 0;
};

struct SnapshotResult {
  std::optional<Snapshot> snapshot;
  // Why there is none, naming the camera and what to check, e.g.
  // "camera 'front': HTTP 401 after digest auth — check cameras.front.username/password".
  std::string error;
  bool ok() const { return snapshot.has_value(); }
};

class Camera {
 public:
  using Callback = std::function<void(SnapshotResult)>;

  // snapshot_dir: where images are written (created when missing, mode 0700).
  Camera(net::Loop& loop, config::CameraSettings settings, std::string snapshot_dir);
  ~Camera();  // a fetch in progress is abandoned: its callback is not called, its file removed
  Camera(const Camera&) = delete;
  Camera& operator=(const Camera&) = delete;

  // Fetches one snapshot; the callback runs later on the loop, exactly once.
  void snapshot(Callback cb);

  const config::CameraSettings& settings() const { return settings_; }

 private:
  struct Fetch;
  void send(std::shared_ptr<Fetch> fetch, std::string authorization);
  void on_response(std::shared_ptr<Fetch> fetch, net::HttpResponse response);
  void finish(std::shared_ptr<Fetch> fetch, SnapshotResult result);
  std::string fail_text(const std::string& what) const;

  net::Loop& loop_;
  config::CameraSettings settings_;
  std::string dir_;
  std::string where_;  // the URL without its query (which may hold credentials), for messages
  std::unique_ptr<net::HttpClient> http_;
  std::uint64_t counter_ = 0;
};

// The file extension for an image type: "image/jpeg" -> "jpg"; "jpg" when unknown.
std::string image_extension(const std::string& content_type);

}  // namespace rcgate::app
