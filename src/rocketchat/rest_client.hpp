#pragma once
// Rocket.Chat's REST API (PROTOCOL.md §2.6, §2.7, §7): JSON over one keep-alive HTTP(S)
// connection, X-User-Id/X-Auth-Token authentication, and the server's rate limits honoured:
// after a 429 every request waits until X-RateLimit-Reset before it is sent (or retried).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/url.hpp"
#include "net/http.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"

namespace rcgate::net {
class HttpClient;
struct FormField;
}

namespace rcgate::rc {

struct RestResult {
  int status = 0;                 // HTTP status; 0 when no response arrived
  nlohmann::json body;            // parsed JSON body (null when empty or not JSON)
  net::FailStage stage = net::FailStage::None;
  std::string error;              // empty on success; else a sentence for logs and operators
  std::string error_type;         // Rocket.Chat's code: errorType / error ("totp-required",
                                  // "error-too-many-requests", "Unauthorized", ...)
  std::optional<std::int64_t> retry_after_ms;  // for 429: how long the server asked us to wait

  bool ok() const { return error.empty(); }
};

struct RestOptions {
  std::chrono::milliseconds timeout{30000};
  int max_rate_limit_retries = 3;                 // 429s absorbed before the caller sees one
  std::chrono::milliseconds max_rate_limit_wait{120000};  // never wait longer than this at once
  // An upload may take longer than `timeout`: it gets timeout + its size at this rate.
  std::uint64_t upload_min_bytes_per_second = 128 * 1024;
  // How long the server's FileUpload_MaxFileSize is trusted before it is asked again.
  std::chrono::milliseconds upload_limit_ttl{300000};
};

// A file to post in a room (RestClient::upload).
struct UploadSpec {
  std::string path;          // the local file, read while it is sent (never whole in memory)
  std::string file_name;     // the name shown in the room; empty: the file's own name
  std::string content_type;  // empty: from the extension (content_type_for)
  std::string description;   // caption shown with the file
  std::string msg;           // message text posted with the file
  std::string tmid;          // thread to post it in (root message id); empty: the room
};

class RestClient {
 public:
  using Callback = std::function<void(RestResult)>;
  // Background requests (history pages) go one at a time: when no other request waits, or once
  // this many others were answered since the last one went (so a flood cannot starve them).
  static constexpr int kForegroundBurst = 8;

  RestClient(net::Loop& loop, Url server, net::TlsClientOptions tls, RestOptions options = {});
  ~RestClient();

  void set_credentials(std::string user_id, std::string token);
  void clear_credentials();
  const std::string& user_id() const { return user_id_; }

  // path is relative to the server URL's path, e.g. "/api/v1/me" (a sub-path prefix is kept).
  void get(const std::string& path, Callback cb);
  void post(const std::string& path, nlohmann::json body, Callback cb);

  // Typed calls used by rcgate (responses are the server's JSON bodies).
  void info(Callback cb) { get("/api/info", std::move(cb)); }
  void me(Callback cb) { get("/api/v1/me", std::move(cb)); }
  void login_password(const std::string& username, const std::string& password, Callback cb);
  void logout(Callback cb) { post("/api/v1/logout", nlohmann::json::object(), std::move(cb)); }
  // message: {"_id"?, "rid", "msg", "tmid"?, ...}; a client-chosen _id makes retries idempotent.
  void send_message(nlohmann::json message, Callback cb);
  void subscriptions(Callback cb) { get("/api/v1/subscriptions.get", std::move(cb)); }
  void room_info(const std::string& room_id, Callback cb);
  void im_create(const std::string& username, Callback cb);
  void public_setting(const std::string& id, Callback cb);
  // One page of a room's messages between `oldest_ms` and `latest_ms` (both inclusive; latest 0:
  // up to now), newest first as the server returns them, skipping the `offset` newest.
  // room_type picks the endpoint: "c" channels, "p" groups, "d" im.
  // A background request (see kForegroundBurst): a catch-up reading pages of a busy room does
  // not hold up the messages rcgate posts meanwhile.
  struct HistoryPage {
    std::int64_t oldest_ms = 0;
    std::int64_t latest_ms = 0;
    int offset = 0;
    int count = 100;
  };
  void history(const std::string& room_type, const std::string& room_id, HistoryPage page,
               Callback cb);

  // Posts a file in a room (PROTOCOL.md §7.3), streamed from disk on a connection of its own
  // (a long upload does not hold up messages): rooms.media then rooms.mediaConfirm; on servers
  // older than 8.0 that answer 404 to rooms.media, rooms.upload instead (remembered). The size
  // is checked against the server's FileUpload_MaxFileSize first, and the server's refusals are
  // turned into sentences a person can act on (error_type keeps the server's code, e.g.
  // "error-file-too-large"). On success, body is the server's {"message":{...}}.
  void upload(const std::string& room_id, UploadSpec spec, Callback cb);

  // The server's major version from /api/info (asked once, by upload()); 0 while unknown.
  int server_major() const { return server_major_; }

  // Milliseconds since epoch until which requests are held back after a 429 (0 when none).
  std::int64_t paused_until_ms() const { return paused_until_ms_; }

 private:
  struct Pending;
  struct UploadJob;
  std::shared_ptr<Pending> make_get(const std::string& path, Callback cb);
  void submit(std::shared_ptr<Pending> p);
  void submit_background(std::shared_ptr<Pending> p);
  void pump_background();
  void send_now(std::shared_ptr<Pending> p);
  void on_response(std::shared_ptr<Pending> p, net::HttpResponse response);
  void upload_learn_version(std::shared_ptr<UploadJob> job);
  void upload_check_size(std::shared_ptr<UploadJob> job);
  void upload_send(std::shared_ptr<UploadJob> job);
  // The multipart POST of the job's file to endpoint + room id, `fields` before the file; nullptr
  // (the failure already reported) when the file cannot be opened.
  std::shared_ptr<Pending> upload_request(const std::shared_ptr<UploadJob>& job,
                                          const std::string& endpoint,
                                          std::vector<net::FormField> fields);
  void upload_media(std::shared_ptr<UploadJob> job);
  void upload_confirm(std::shared_ptr<UploadJob> job, const std::string& file_id);
  void upload_legacy(std::shared_ptr<UploadJob> job);
  // explain: the result came from the server (its refusals are put into words).
  void upload_done(std::shared_ptr<UploadJob> job, RestResult result, bool explain = true);
  net::HttpClient& upload_http();

  net::Loop& loop_;
  Url server_;
  RestOptions options_;
  net::TlsClientOptions tls_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::HttpClient> upload_http_;  // made on the first upload
  net::Timer pause_timer_;
  std::int64_t paused_until_ms_ = 0;
  std::vector<std::shared_ptr<Pending>> held_;  // waiting for the rate-limit pause to end
  std::deque<std::shared_ptr<Pending>> background_;  // not sent yet
  bool background_busy_ = false;   // one of them is sent and not answered yet
  int foreground_since_ = 0;       // requests answered since the last background one went
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted work checks it
  std::string user_id_;
  std::string token_;
  // What uploads learnt about the server.
  int server_major_ = 0;
  bool media_missing_ = false;  // rooms.media answered 404: use rooms.upload from now on
  std::optional<std::int64_t> max_file_size_;  // FileUpload_MaxFileSize; -1: unlimited
  std::chrono::steady_clock::time_point max_file_size_at_;
};

// The MIME type for a file name's extension (jpg, png, gif, webp, mp4, pdf, txt, ...);
// "application/octet-stream" when unknown.
std::string content_type_for(std::string_view file_name);
// "512 bytes", "12.0 KiB", "52.4 MiB", "1.5 GiB".
std::string format_size(std::uint64_t bytes);

// Turns an HTTP response into a RestResult (exposed for tests).
RestResult interpret_response(const net::HttpResponse& response, std::int64_t now_ms);

std::int64_t now_epoch_ms();

}  // namespace rcgate::rc
