#pragma once
// The bot's connection to Rocket.Chat's realtime API: DDP over WebSocket (PROTOCOL.md §1-3).
// It logs in (resuming a stored token whenever it can), subscribes to the streams rcgate needs,
// keeps the link alive with pings, and reconnects with backoff whenever anything breaks. It only
// *receives* over DDP; rcgate acts over REST (RestClient), which this class keeps authenticated.
//
// Lifecycle: start() -> Connecting -> Online -> (link lost) -> BackingOff -> Connecting -> ...
// A problem only the operator can fix (bad credentials, two-factor on the bot account) ends in
// Stopped with a reason that says what to change; nothing is retried then.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/backoff.hpp"
#include "core/url.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "rocketchat/classifier.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/fast_message.hpp"
#include "rocketchat/message.hpp"
#include "rocketchat/rest_client.hpp"
#include "rocketchat/session_store.hpp"

namespace rcgate::net {
class WsClient;
}

namespace rcgate::rc {

struct Credentials {
  // Token auth (personal access token): user_id + token. Password auth: username + password.
  std::string user_id, token;
  std::string username, password;
  bool uses_password() const { return token.empty(); }
};

struct RealtimeOptions {
  Url server;  // http(s) or ws(s) base URL with optional sub-path
  Credentials credentials;
  net::TlsClientOptions tls;
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds dead_after{60000};
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::string state_dir;  // where the session token is kept; empty: memory only
};

enum class LinkState { Stopped, Connecting, Online, BackingOff };
const char* to_string(LinkState state);

struct LinkStatus {
  LinkState state = LinkState::Stopped;
  std::string reason;            // why we are backing off or stopped
  std::int64_t retry_at_ms = 0;  // BackingOff: epoch ms of the next attempt
  unsigned attempt = 0;          // connection attempts since the last stable session
  bool fatal = false;            // Stopped because the operator must fix something
};

struct Identity {
  std::string user_id;
  std::string username;
  std::string token;  // secret
};

struct RealtimeHandlers {
  std::function<void(const LinkStatus&)> on_status;
  // Logged in and every subscription is ready (after each (re)connect).
  std::function<void(const Identity&)> on_online;
  // Every message event from __my_messages__, parsed and classified.
  std::function<void(const Message&, const Classification&)> on_message;
  // stream-notify-user: rooms-changed / subscriptions-changed (action, document).
  std::function<void(const std::string& action, const nlohmann::json& room)> on_room_changed;
  std::function<void(const std::string& action, const nlohmann::json& sub)> on_subscription_changed;
  // Ephemeral notices the server sends only to the bot (e.g. why a message was refused).
  std::function<void(const nlohmann::json& message)> on_ephemeral;
};

struct MethodOutcome {
  bool ok = false;
  nlohmann::json result;           // null when the method returned nothing
  std::optional<ddp::Error> error;  // set when the server answered with an error
  std::string failure;             // set when no answer came (disconnected, timeout)
};

class RealtimeClient {
 public:
  RealtimeClient(net::Loop& loop, RealtimeOptions options, RealtimeHandlers handlers);
  ~RealtimeClient();
  RealtimeClient(const RealtimeClient&) = delete;
  RealtimeClient& operator=(const RealtimeClient&) = delete;

  void start();
  // Orderly stop: closes the WebSocket (without logging out: the token stays valid for the next
  // start), cancels timers, fails pending calls. Handlers are not called afterwards except
  // on_status(Stopped).
  void stop(const std::string& reason = "stopped");

  const LinkStatus& status() const { return status_; }
  const Identity& identity() const { return identity_; }
  RestClient& rest() { return *rest_; }
  Classifier& classifier() { return classifier_; }

  // Calls a DDP method. The callback runs once: with the result, the error, or a failure when the
  // link drops first.
  void call(const std::string& method, nlohmann::json params,
            std::function<void(MethodOutcome)> callback);

  // Counters for tests and the benchmark.
  struct Counters {
    std::uint64_t connects = 0;            // WebSocket connections opened
    std::uint64_t sessions = 0;            // times Online was reached
    std::uint64_t password_logins = 0;     // REST password logins performed
    std::uint64_t frames_in = 0;
    std::uint64_t malformed_frames = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_sent = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  enum class Phase { Idle, PasswordLogin, Opening, Handshake, LoggingIn, Subscribing, Online };

  void begin_attempt();
  void do_password_login();
  void on_password_login(RestResult result);
  void do_open();
  void on_open();
  void on_text(std::string_view text);
  void on_closed(const std::string& reason);
  void do_login();
  void on_login(const MethodOutcome& outcome);
  void do_subscribe();
  void on_frame(const ddp::Frame& frame);
  void on_stream_event(const ddp::Frame& frame);
  void on_room_message(const Message& message);
  void on_nosub(const ddp::Frame& frame);
  void arm_heartbeat();
  void on_heartbeat_tick();
  void send_frame(std::string text);

  // Ends the current connection and schedules the next attempt (after `at_least` if given).
  void link_lost(const std::string& reason,
                 std::optional<std::chrono::milliseconds> at_least = std::nullopt,
                 bool immediate = false);
  void stop_fatal(const std::string& reason);
  void teardown_connection();
  void fail_pending(const std::string& why);
  void set_status(LinkState state, std::string reason = {}, std::int64_t retry_at = 0);

  net::Loop& loop_;
  RealtimeOptions options_;
  RealtimeHandlers handlers_;
  Url ws_url_;
  std::unique_ptr<RestClient> rest_;
  SessionStore sessions_;
  Classifier classifier_;
  FastMessageParser fast_messages_;
  Backoff backoff_;

  std::shared_ptr<net::WsClient> ws_;
  net::Timer retry_timer_;
  net::Timer heartbeat_timer_;
  net::Timer step_timer_;  // connect/login/subscribe deadlines

  Phase phase_ = Phase::Idle;
  bool running_ = false;
  LinkStatus status_;
  Identity identity_;
  bool token_from_store_ = false;  // the token in use came from session.json (may be stale)
  bool fresh_token_refused_ = false;

  std::chrono::steady_clock::time_point last_inbound_{};
  std::chrono::steady_clock::time_point online_since_{};
  bool ping_outstanding_ = false;

  std::uint64_t next_id_ = 1;
  std::map<std::string, std::function<void(MethodOutcome)>> pending_;
  std::map<std::string, std::string> subs_;  // sub id -> "name event"
  std::set<std::string> subs_waiting_;
  Counters counters_;
};

}  // namespace rcgate::rc
