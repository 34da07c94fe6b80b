#pragma once
// Rocket.Chat's REST API (PROTOCOL.md §2.6, §2.7, §7): JSON over one keep-alive HTTP(S)
// connection, X-User-Id/X-Auth-Token authentication, and the server's rate limits honoured:
// after a 429 every request waits until X-RateLimit-Reset before it is sent (or retried).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/url.hpp"
#include "net/http.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"

namespace rcgate::net {
class HttpClient;
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
};

class RestClient {
 public:
  using Callback = std::function<void(RestResult)>;

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
  // Messages of a room since `oldest_ms` (inclusive), newest first, as the server returns them.
  // room_type picks the endpoint: "c" channels, "p" groups, "d" im.
  void history(const std::string& room_type, const std::string& room_id, std::int64_t oldest_ms,
               int count, Callback cb);

  // Milliseconds since epoch until which requests are held back after a 429 (0 when none).
  std::int64_t paused_until_ms() const { return paused_until_ms_; }

 private:
  struct Pending;
  void submit(std::shared_ptr<Pending> p);
  void send_now(std::shared_ptr<Pending> p);
  void on_response(std::shared_ptr<Pending> p, net::HttpResponse response);

  net::Loop& loop_;
  Url server_;
  RestOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  net::Timer pause_timer_;
  std::int64_t paused_until_ms_ = 0;
  std::vector<std::shared_ptr<Pending>> held_;  // waiting for the rate-limit pause to end
  std::string user_id_;
  std::string token_;
};

// Turns an HTTP response into a RestResult (exposed for tests).
RestResult interpret_response(const net::HttpResponse& response, std::int64_t now_ms);

std::int64_t now_epoch_ms();

}  // namespace rcgate::rc
