#pragma once
// rcgate-sim as a library: one object serving DDP (/websocket), the REST API and the /_sim/
// control API on a plain port and, optionally, a TLS port. Runs on one net::Loop.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "household.hpp"
#include "net/http_server.hpp"
#include "uploads.hpp"
#include "world.hpp"

namespace rcgate::net {
class Loop;
}

namespace rcgate::sim {

class Chaos;
class DdpSession;
class LoadGen;

struct SimOptions {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 0;
  std::optional<std::uint16_t> tls_port;  // serve https/wss too (self-signed certificate)
  std::string cert_out;                   // where to write the certificate PEM (TLS only)
  int flavour = 8;
  std::chrono::milliseconds heartbeat{15000};
  // ROOT_URL_PATH_PREFIX: serve /api and /websocket under this sub-path ("/chat"); "" for none.
  // The control API stays at /_sim.
  std::string root_prefix;
  // Largest request body read at all (uploads included); larger ones get 413 from the HTTP
  // layer. Files over SimSettings::upload_max_bytes but under this get Rocket.Chat's
  // error-file-too-large.
  std::size_t max_request_bytes = 129 * 1024 * 1024;
};

// Behaviour switches changeable at run time through POST /_sim/settings.
struct SimSettings {
  int flavour = 8;  // 6, 7 or 8
  bool greeting = false;  // send {"server_id":"0"} before anything else
  std::int64_t upload_max_bytes = 104857600;  // FileUpload_MaxFileSize
  // A PAT has no creation time, so the monolith's tokenExpires is an invalid Date, which EJSON
  // writes as {"$date":null}; the ddp-streamer leaves the field out ("absent").
  bool pat_expires_null = true;
  int rest_limit_calls = 10;  // REST calls per window per route per user without the bot role
  std::int64_t rest_limit_window_ms = 60000;
  // Uploads (PROTOCOL.md §7.3): rooms.media/mediaConfirm exist (false: an early 6.x server
  // without them, so clients must fall back to rooms.upload); FileUpload_Enabled;
  // FileUpload_MediaTypeWhiteList ("image/*,application/pdf"; "" accepts every type).
  bool rooms_media = true;
  bool upload_enabled = true;
  std::string upload_media_types;
};

// Failures injected through POST /_sim/faults.
struct Faults {
  int refuse_logins = 0;  // next N DDP logins get too-many-requests
  std::int64_t time_to_reset_ms = 10000;
  int rest_login_429 = 0;  // next N REST logins get HTTP 429
  std::int64_t rest_reset_ms = 60000;
  bool answer_pings = true;  // false: a silent server (no pongs, no server pings)
  bool refuse_connections = false;
};

struct Stats {
  std::uint64_t connections_total = 0;
  std::uint64_t password_logins = 0;
  std::uint64_t resume_logins = 0;
  std::uint64_t failed_logins = 0;
  std::uint64_t refused_logins = 0;  // rate-limited (real limiter or injected fault)
  std::uint64_t pings_received = 0;
};

class Sim {
 public:
  Sim(net::Loop& loop, SimOptions options, const Household& household);
  ~Sim();
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  // Binds the ports (throws std::runtime_error with a readable message) and starts serving.
  void start();
  void stop();

  std::uint16_t http_port() const;
  std::optional<std::uint16_t> https_port() const;
  const std::string& cert_pem() const { return cert_pem_; }
  // {"http":P,"https":Q|null,"cert_file":"..."|null,"pid":N}
  nlohmann::json ports_json() const;

  net::Loop& loop() { return loop_; }
  World& world() { return world_; }
  SimSettings& settings() { return settings_; }
  Faults& faults() { return faults_; }
  Stats& stats() { return stats_; }
  UploadStore& uploads() { return uploads_; }
  std::chrono::milliseconds heartbeat() const { return options_.heartbeat; }
  const std::string& bot_username() const { return bot_username_; }

  nlohmann::json stats_json() const;
  int drop_connections();  // TCP drop of every DDP connection; returns how many
  // Sends a raw frame to every logged-in DDP connection (replaying recorded server frames).
  int inject_frame(const std::string& frame);
  // The fault campaign's faults (chaos.hpp): REST errors and delays, mid-frame drops, restarts.
  Chaos& chaos() { return *chaos_; }

  // The benchmark's load generator (loadgen.hpp) and what it needs from the server layer: the
  // bot's live connection subscribed to __my_messages__ (null when none), and a switch that keeps
  // World's next message from being fanned out (the generator sends it itself, timed).
  LoadGen& load() { return *load_; }
  std::shared_ptr<DdpSession> bot_session() const;
  void set_quiet_fanout(bool quiet) { quiet_fanout_ = quiet; }


  // Called by sessions and routers.
  void session_closed(std::uint64_t id);
  // An ephemeral message from rocket.cat on <uid>/message (how the server explains a failure
  // it otherwise swallows, PROTOCOL.md §4.1).
  void send_ephemeral(const std::string& uid, const std::string& rid, const std::string& text);

 private:
  void on_request(const net::ServerRequest& request, net::Respond respond);
  bool on_websocket(const net::ServerRequest& request, std::shared_ptr<net::WsServerConnection> connection,
                    net::WsServerHandlers& handlers);
  void fan_out_message(const nlohmann::json& message, const Room& room);
  void fan_out_user_event(const std::string& uid, const std::string& event, const nlohmann::json& args);
  void fan_out_logged_event(const std::string& event, const nlohmann::json& args);

  net::Loop& loop_;
  SimOptions options_;
  SimSettings settings_;
  Faults faults_;
  Stats stats_;
  World world_;
  UploadStore uploads_;
  std::string bot_username_;
  std::string cert_pem_, key_pem_;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<net::HttpServer> https_;
  std::map<std::uint64_t, std::shared_ptr<DdpSession>> sessions_;
  struct RestRoutes;
  std::unique_ptr<RestRoutes> routes_;
  std::unique_ptr<Chaos> chaos_;
  std::unique_ptr<LoadGen> load_;
  bool quiet_fanout_ = false;
  std::string bot_id_;
  // Lambdas handed to the servers hold a weak reference to this: they do nothing once the Sim
  // is gone, whatever the servers do with them afterwards.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rcgate::sim
