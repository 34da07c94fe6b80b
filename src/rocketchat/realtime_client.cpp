#include "rocketchat/realtime_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "net/ws_client.hpp"

namespace rcgate::rc {

using json = nlohmann::json;
using namespace std::chrono;

const char* to_string(LinkState state) {
  switch (state) {
    case LinkState::Stopped: return "stopped";
    case LinkState::Connecting: return "connecting";
    case LinkState::Online: return "online";
    case LinkState::BackingOff: return "backing off";
  }
  return "?";
}

namespace {

std::string seconds_text(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// What the operator must do when the server refuses the credentials for good.
std::string password_refused_text(const std::string& username, const std::string& detail) {
  return "the server refused the login of '" + username + "' (" + detail +
         "). Check rocketchat.auth.username and the password (rocketchat.auth.password, "
         "password_file or RCGATE_PASSWORD), then restart rcgate";
}

std::string totp_text(const std::string& username) {
  return "the account '" + username +
         "' has two-factor authentication turned on, which a bot cannot answer. Turn 2FA off for "
         "the bot account (Administration > Users), or log in with a personal access token "
         "(rocketchat.auth.user_id + rocketchat.auth.token)";
}

}  // namespace

RealtimeClient::RealtimeClient(net::Loop& loop, RealtimeOptions options, RealtimeHandlers handlers)
    : loop_(loop),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      sessions_(options_.state_dir),
      backoff_(options_.backoff_initial, options_.backoff_max),
      retry_timer_(loop),
      heartbeat_timer_(loop),
      step_timer_(loop) {
  ws_url_ = options_.server.as_websocket();
  ws_url_.path = options_.server.join("/websocket");  // exactly /websocket (PROTOCOL.md §1.1)
  RestOptions rest_options;
  rest_options.timeout = options_.request_timeout;
  rest_ = std::make_unique<RestClient>(loop_, options_.server, options_.tls, rest_options);
}

RealtimeClient::~RealtimeClient() {
  running_ = false;
  teardown_connection();
}

void RealtimeClient::start() {
  if (running_) return;
  running_ = true;
  status_ = {};
  const auto& c = options_.credentials;
  if (!c.uses_password()) {
    identity_ = {c.user_id, c.username, c.token};
    rest_->set_credentials(c.user_id, c.token);
  } else if (auto stored = sessions_.load(options_.server.to_string(), c.username)) {
    identity_ = {stored->user_id, c.username, stored->token};
    token_from_store_ = true;
    rest_->set_credentials(stored->user_id, stored->token);
    spdlog::info("rocketchat: resuming the saved session of '{}' (token {})", c.username,
                 log::redact(stored->token));
  } else {
    identity_ = {"", c.username, ""};
  }
  if (!options_.tls.verify && options_.server.secure()) {
    spdlog::warn(
        "rocketchat: TLS certificate verification is OFF (rocketchat.tls.verify: false): anyone "
        "between rcgate and {} can read and change the traffic, passwords included",
        options_.server.host);
  }
  begin_attempt();
}

void RealtimeClient::stop(const std::string& reason) {
  if (!running_ && status_.state == LinkState::Stopped) return;
  running_ = false;
  retry_timer_.cancel();
  teardown_connection();
  fail_pending("rcgate is stopping");
  set_status(LinkState::Stopped, reason);
}

void RealtimeClient::begin_attempt() {
  if (!running_) return;
  ++status_.attempt;
  set_status(LinkState::Connecting);
  if (options_.credentials.uses_password() && identity_.token.empty()) {
    do_password_login();
  } else {
    do_open();
  }
}

// ---- password login (REST), once; afterwards the token is resumed -------------------------

void RealtimeClient::do_password_login() {
  phase_ = Phase::PasswordLogin;
  ++counters_.password_logins;
  const auto& c = options_.credentials;
  spdlog::info("rocketchat: logging in to {} as '{}' with the password", options_.server.host,
               c.username);
  rest_->clear_credentials();
  rest_->login_password(c.username, c.password,
                        [this](RestResult r) { on_password_login(std::move(r)); });
}

void RealtimeClient::on_password_login(RestResult r) {
  if (!running_ || phase_ != Phase::PasswordLogin) return;
  const auto& username = options_.credentials.username;
  if (r.ok()) {
    const json* data = r.body.is_object() && r.body.contains("data") ? &r.body["data"] : nullptr;
    if (!data || !data->is_object() || !(*data).contains("authToken") ||
        !(*data)["authToken"].is_string() || !(*data).contains("userId") ||
        !(*data)["userId"].is_string()) {
      link_lost("the server's login answer has no authToken/userId");
      return;
    }
    identity_.user_id = (*data)["userId"].get<std::string>();
    identity_.token = (*data)["authToken"].get<std::string>();
    identity_.username = username;
    token_from_store_ = false;
    rest_->set_credentials(identity_.user_id, identity_.token);
    auto err = sessions_.save({options_.server.to_string(), username, identity_.user_id,
                               identity_.token});
    if (!err.empty()) {
      spdlog::warn("rocketchat: cannot keep the session token ({}); every restart will log in "
                   "again with the password",
                   err);
    }
    do_open();
    return;
  }
  if (r.error_type == "totp-required" || r.error_type == "totp-invalid") {
    stop_fatal(totp_text(username));
  } else if (r.status == 401 || r.status == 403) {
    stop_fatal(password_refused_text(username, r.error));
  } else if (r.status == 429) {
    link_lost("password login rate-limited by the server (" + r.error + ")",
              milliseconds(r.retry_after_ms.value_or(0)));
  } else {
    link_lost("password login failed: " + r.error);
  }
}

// ---- WebSocket + DDP handshake ---------------------------------------------------------------

void RealtimeClient::do_open() {
  phase_ = Phase::Opening;
  net::WsClientOptions o;
  o.connect_timeout = options_.connect_timeout;
  o.tls = options_.tls;
  net::WsClientHandlers h;
  h.on_open = [this] { on_open(); };
  h.on_message = [this](std::string_view text) { on_text(text); };
  h.on_close = [this](const std::string& reason) { on_closed(reason); };
  ws_ = net::WsClient::create(loop_, ws_url_, o, std::move(h));
  ++counters_.connects;
  spdlog::debug("rocketchat: connecting to {}", ws_url_.to_string());
  step_timer_.start(options_.connect_timeout + milliseconds(1000),
                    [this] { link_lost("timed out opening the WebSocket"); });
  ws_->connect();
}

void RealtimeClient::on_open() {
  phase_ = Phase::Handshake;
  last_inbound_ = steady_clock::now();
  ping_outstanding_ = false;
  send_frame(ddp::encode_connect());
  step_timer_.start(options_.connect_timeout,
                    [this] { link_lost("the server did not answer the DDP connect"); });
  arm_heartbeat();
}

void RealtimeClient::on_closed(const std::string& reason) {
  ws_.reset();  // it is finished; do not close() it again
  link_lost("connection closed: " + reason);
}

void RealtimeClient::on_text(std::string_view text) {
  last_inbound_ = steady_clock::now();
  ping_outstanding_ = false;
  ++counters_.frames_in;
  // Most frames are chat messages: those are read without building the frame's DOM, which cost
  // most of the time per message (fast_message.hpp). Anything it is unsure of comes back here.
  if (FastMessageParser::worth_trying(text)) {
    if (auto message = fast_messages_.parse(text)) {
      on_room_message(*message);
      return;
    }
  }
  std::string why;
  auto frame = ddp::parse(text, &why);
  if (!frame) {
    ++counters_.malformed_frames;
    spdlog::warn("rocketchat: skipped a malformed frame ({}): {:.200}", why, text);
    return;
  }
  on_frame(*frame);
}

void RealtimeClient::on_frame(const ddp::Frame& f) {
  switch (f.type) {
    case ddp::Type::Greeting:  // {"server_id":"0"} from the ddp-streamer: nothing to do
      break;
    case ddp::Type::Connected:
      if (phase_ == Phase::Handshake) do_login();
      break;
    case ddp::Type::Failed:
      link_lost("the server does not speak DDP version 1 (it offered '" + f.version + "')");
      break;
    case ddp::Type::Ping:
      ++counters_.pongs_sent;
      send_frame(ddp::encode_pong(f.id));
      break;
    case ddp::Type::Result: {
      auto it = pending_.find(f.id);
      if (it == pending_.end()) break;
      auto cb = std::move(it->second);
      pending_.erase(it);
      MethodOutcome out;
      out.ok = !f.error.has_value();
      out.result = f.has_result ? f.result : json();
      out.error = f.error;
      cb(out);
      break;
    }
    case ddp::Type::Ready:
      for (const auto& id : f.ids) subs_waiting_.erase(id);
      if (phase_ == Phase::Subscribing && subs_waiting_.empty()) {
        phase_ = Phase::Online;
        step_timer_.cancel();
        online_since_ = steady_clock::now();
        ++counters_.sessions;
        status_.attempt = 0;
        set_status(LinkState::Online);
        if (handlers_.on_online) handlers_.on_online(identity_);
      }
      break;
    case ddp::Type::NoSub:
      on_nosub(f);
      break;
    case ddp::Type::Changed:
      on_stream_event(f);
      break;
    case ddp::Type::Error:
      spdlog::warn("rocketchat: the server reported a protocol error: {}", f.reason);
      break;
    default:  // pong, updated, added, removed, unknown: nothing to do
      break;
  }
}

// ---- login (resume) and subscriptions ---------------------------------------------------------

void RealtimeClient::do_login() {
  phase_ = Phase::LoggingIn;
  step_timer_.start(options_.request_timeout,
                    [this] { link_lost("the server did not answer the login"); });
  call("login", json::array({{{"resume", identity_.token}}}),
       [this](MethodOutcome out) { on_login(out); });
}

void RealtimeClient::on_login(const MethodOutcome& out) {
  if (!running_ || phase_ != Phase::LoggingIn) return;
  if (out.ok) {
    const auto& r = out.result;
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string()) {
      link_lost("the server's login result has no user id");
      return;
    }
    std::string id = r["id"].get<std::string>();
    if (!identity_.user_id.empty() && id != identity_.user_id) {
      spdlog::warn("rocketchat: the token belongs to user id {}, not {} (rocketchat.auth.user_id)",
                   id, identity_.user_id);
    }
    identity_.user_id = id;
    if (r.contains("token") && r["token"].is_string()) identity_.token = r["token"];
    rest_->set_credentials(identity_.user_id, identity_.token);
    classifier_.set_bot_user_id(identity_.user_id);
    fresh_token_refused_ = false;
    // Learn the account's username (token auth does not configure it) before going online.
    phase_ = Phase::Subscribing;
    rest_->me([this](RestResult me) {
      if (!running_ || phase_ != Phase::Subscribing) return;
      if (me.ok() && me.body.is_object() && me.body.contains("username") &&
          me.body["username"].is_string()) {
        identity_.username = me.body["username"].get<std::string>();
      } else if (!me.ok()) {
        spdlog::warn("rocketchat: /api/v1/me failed ({}); continuing", me.error);
      }
      do_subscribe();
    });
    return;
  }
  if (!out.error) return;  // no answer: the link is already being handled
  const auto& e = *out.error;
  if (e.code == "too-many-requests") {
    link_lost("login rate-limited by the server (" + e.describe() + ")",
              milliseconds(e.time_to_reset_ms().value_or(0)));
    return;
  }
  if (e.code == "totp-required") {
    stop_fatal(totp_text(identity_.username));
    return;
  }
  if (options_.credentials.uses_password()) {
    // The saved or fresh token is no longer accepted (expired after 90 days, logged out, server
    // reset): forget it and log in with the password again, once.
    sessions_.forget();
    identity_.token.clear();
    rest_->clear_credentials();
    if (token_from_store_) {
      token_from_store_ = false;
      spdlog::info("rocketchat: the saved session is no longer valid ({}); logging in again",
                   e.describe());
      link_lost("saved session expired", std::nullopt, /*immediate=*/true);
    } else if (!fresh_token_refused_) {
      fresh_token_refused_ = true;
      link_lost("the server refused a token it has just issued (" + e.describe() + ")");
    } else {
      stop_fatal("the server keeps refusing the tokens it issues to '" + identity_.username +
                 "' (" + e.describe() + "); check the account on the server");
    }
    return;
  }
  stop_fatal("the server refused the personal access token of user id " +
             options_.credentials.user_id + " (" + e.describe() +
             "). Create a new token in the bot's profile (My Account > Personal Access Tokens) "
             "and set rocketchat.auth.token and rocketchat.auth.user_id");
}

void RealtimeClient::do_subscribe() {
  phase_ = Phase::Subscribing;
  subs_.clear();
  subs_waiting_.clear();
  auto sub = [this](const std::string& name, const std::string& event) {
    std::string id = "s" + std::to_string(next_id_++);
    subs_[id] = name + " " + event;
    subs_waiting_.insert(id);
    send_frame(ddp::encode_sub(id, name, json::array({event, false})));
  };
  // One subscription for every room's messages (PROTOCOL.md §3.2, §2.5: not one per room).
  sub("stream-room-messages", "__my_messages__");
  const std::string& uid = identity_.user_id;
  sub("stream-notify-user", uid + "/rooms-changed");
  sub("stream-notify-user", uid + "/subscriptions-changed");
  sub("stream-notify-user", uid + "/message");
  step_timer_.start(options_.request_timeout,
                    [this] { link_lost("the server did not confirm the subscriptions"); });
}

void RealtimeClient::on_nosub(const ddp::Frame& f) {
  auto it = subs_.find(f.id);
  if (it == subs_.end()) return;
  std::string what = it->second;
  if (f.error && f.error->code == "too-many-requests") {
    link_lost("subscription '" + what + "' rate-limited (" + f.error->describe() + ")",
              milliseconds(f.error->time_to_reset_ms().value_or(0)));
    return;
  }
  if (f.error) {
    // Refused for good (permissions): carry on without it, loudly.
    spdlog::error("rocketchat: the server refused the subscription '{}': {}", what,
                  f.error->describe());
    subs_.erase(it);
    subs_waiting_.erase(f.id);
    if (phase_ == Phase::Subscribing && subs_waiting_.empty()) {
      ddp::Frame ready;
      ready.type = ddp::Type::Ready;
      on_frame(ready);
    }
    return;
  }
  // The server ended a live subscription: start over so nothing is missed.
  link_lost("the server ended the subscription '" + what + "'");
}

void RealtimeClient::on_stream_event(const ddp::Frame& f) {
  if (f.collection == "stream-room-messages") {
    std::string why;
    auto message = parse_stream_args(f.args, &why);
    if (!message) {
      ++counters_.malformed_frames;
      spdlog::warn("rocketchat: skipped a message event ({})", why);
      return;
    }
    on_room_message(*message);
    return;
  }
  if (f.collection != "stream-notify-user") return;
  auto slash = f.event_name.find('/');
  std::string event = slash == std::string::npos ? f.event_name : f.event_name.substr(slash + 1);
  const json& a = f.args;
  if (event == "message") {
    if (a.is_array() && !a.empty() && a[0].is_object() && handlers_.on_ephemeral)
      handlers_.on_ephemeral(a[0]);
    return;
  }
  if (!a.is_array() || a.size() < 2 || !a[0].is_string() || !a[1].is_object()) {
    ++counters_.malformed_frames;
    spdlog::warn("rocketchat: skipped a '{}' event with unexpected arguments", event);
    return;
  }
  if (event == "rooms-changed" && handlers_.on_room_changed) {
    handlers_.on_room_changed(a[0].get<std::string>(), a[1]);
  } else if (event == "subscriptions-changed" && handlers_.on_subscription_changed) {
    handlers_.on_subscription_changed(a[0].get<std::string>(), a[1]);
  }
}

void RealtimeClient::on_room_message(const Message& message) {
  auto c = classifier_.classify(message);
  if (handlers_.on_message) handlers_.on_message(message, c);
}

// ---- heartbeat ----------------------------------------------------------------------------------

void RealtimeClient::arm_heartbeat() {
  auto due = last_inbound_ + (ping_outstanding_ ? options_.dead_after : options_.ping_interval);
  auto wait = duration_cast<milliseconds>(due - steady_clock::now());
  heartbeat_timer_.start(std::max(wait, milliseconds(1)), [this] { on_heartbeat_tick(); });
}

void RealtimeClient::on_heartbeat_tick() {
  if (!ws_) return;
  auto silent = duration_cast<milliseconds>(steady_clock::now() - last_inbound_);
  if (silent >= options_.dead_after) {
    link_lost("no data from the server for " + seconds_text(silent));
    return;
  }
  if (silent >= options_.ping_interval && !ping_outstanding_) {
    ping_outstanding_ = true;
    ++counters_.pings_sent;
    send_frame(ddp::encode_ping("rcgate-" + std::to_string(next_id_++)));
  }
  arm_heartbeat();
}

// ---- calls, sending, teardown ----------------------------------------------------------------

void RealtimeClient::call(const std::string& method, json params,
                          std::function<void(MethodOutcome)> callback) {
  if (!ws_ || phase_ < Phase::LoggingIn) {
    loop_.post([callback = std::move(callback)] {
      MethodOutcome out;
      out.failure = "not connected";
      callback(out);
    });
    return;
  }
  std::string id = std::to_string(next_id_++);
  pending_[id] = std::move(callback);
  send_frame(ddp::encode_method(id, method, params));
}

void RealtimeClient::send_frame(std::string text) {
  if (!ws_) return;
  if (!ws_->send(std::move(text))) {
    // Only a stuck connection fills the queue: start over rather than grow without bound.
    loop_.post([this] { link_lost("the send queue is full"); });
  }
}

void RealtimeClient::teardown_connection() {
  phase_ = Phase::Idle;
  step_timer_.cancel();
  heartbeat_timer_.cancel();
  if (ws_) {
    auto ws = std::move(ws_);
    ws->close();
  }
  subs_.clear();
  subs_waiting_.clear();
  ping_outstanding_ = false;
}

void RealtimeClient::fail_pending(const std::string& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, cb] : pending) {
    MethodOutcome out;
    out.failure = why;
    cb(out);
  }
}

void RealtimeClient::link_lost(const std::string& reason,
                               std::optional<milliseconds> at_least, bool immediate) {
  if (!running_) return;
  if (phase_ == Phase::Online) {
    // A session that held for a while earns a fresh backoff; one that drops at once does not,
    // so a server that accepts and immediately drops us is not hammered.
    auto lived = steady_clock::now() - online_since_;
    if (lived >= std::min<milliseconds>(milliseconds(10000), options_.backoff_max)) backoff_.reset();
  }
  teardown_connection();
  fail_pending("connection lost");
  milliseconds delay = immediate ? milliseconds(0) : backoff_.next();
  if (at_least && *at_least > delay) delay = *at_least;
  auto retry_at = now_epoch_ms() + delay.count();
  spdlog::warn("rocketchat: {}; reconnecting in {}", reason, seconds_text(delay));
  set_status(LinkState::BackingOff, reason, retry_at);
  retry_timer_.start(delay, [this] { begin_attempt(); });
}

void RealtimeClient::stop_fatal(const std::string& reason) {
  spdlog::error("rocketchat: giving up: {}", reason);
  running_ = false;
  retry_timer_.cancel();
  teardown_connection();
  fail_pending("stopped");
  status_.fatal = true;
  set_status(LinkState::Stopped, reason);
}

void RealtimeClient::set_status(LinkState state, std::string reason, std::int64_t retry_at) {
  bool changed = state != status_.state;
  status_.state = state;
  status_.reason = std::move(reason);
  status_.retry_at_ms = retry_at;
  if (state != LinkState::Stopped) status_.fatal = false;
  if (state == LinkState::Online) {
    spdlog::info("rocketchat: online as '{}' ({}) on {}", identity_.username, identity_.user_id,
                 options_.server.host);
  } else if (changed && state == LinkState::Connecting) {
    spdlog::debug("rocketchat: connecting (attempt {})", status_.attempt);
  }
  if (handlers_.on_status) handlers_.on_status(status_);
}

}  // namespace rcgate::rc
