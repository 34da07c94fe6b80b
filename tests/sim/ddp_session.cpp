#include "ddp_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "http_util.hpp"
#include "loadgen.hpp"
#include "net/http_server.hpp"
#include "sim.hpp"
#include "world.hpp"

namespace rcgate::sim {
namespace {

using json = nlohmann::json;

constexpr std::array<const char*, 3> kServerVersions = {"1", "pre2", "pre1"};
constexpr std::int64_t kLoginWindowMs = 10000;
constexpr int kLoginCallsPerWindow = 5;

// The check() failure every Meteor method reports to clients (Match.Error is sanitised).
ddp::Error match_failed() { return ddp::make_error(400, "Match failed"); }

ddp::Error too_many_requests(std::int64_t time_to_reset_ms) {
  const std::int64_t seconds = (time_to_reset_ms + 999) / 1000;
  return ddp::make_error("too-many-requests",
                         "Error, too many requests. Please slow down. You must wait " + std::to_string(seconds) +
                             " seconds before trying again.",
                         {{"timeToReset", time_to_reset_ms}});
}

bool is_string(const json& v, const char* key) {
  const auto it = v.find(key);
  return it != v.end() && it->is_string();
}

// The keys DDP sendMessage accepts (PROTOCOL.md §4.1); anything else is a Match error.
bool send_message_key_allowed(const std::string& key) {
  static const std::array<const char*, 15> kKeys = {"_id",  "rid",     "msg",        "tmid",         "tshow",
                                                    "ts",   "t",       "bot",        "content",      "e2e",
                                                    "e2eMentions", "customFields", "federation", "groupable",
                                                    "sentByEmail"};
  return std::any_of(kKeys.begin(), kKeys.end(), [&](const char* k) { return key == k; });
}

bool valid_status(const std::string& status) {
  return status == "online" || status == "away" || status == "busy" || status == "offline";
}

}  // namespace

DdpSession::DdpSession(Sim& sim, std::shared_ptr<net::WsServerConnection> connection)
    : sim_(sim),
      connection_(std::move(connection)),
      id_(connection_->id()),
      idle_timer_(sim.loop()),
      timeout_timer_(sim.loop()) {}

DdpSession::~DdpSession() = default;

void DdpSession::start() {
  // The EE ddp-streamer (and Meteor < 2.3) greet before anything else (handshake.json).
  if (sim_.settings().greeting) send(R"({"server_id":"0"})");
}

void DdpSession::send(std::string frame) {
  if (closed_) return;
  spdlog::trace("sim ddp #{} <- {}", id_, frame);
  connection_->send(std::move(frame));
}

bool DdpSession::try_send(std::string frame) {
  if (closed_) return false;
  return connection_->send(std::move(frame));
}

bool DdpSession::has_my_messages() const {
  for (const auto& sub : subscriptions_) {
    if (sub.name == "stream-room-messages" && sub.event == "__my_messages__") return true;
  }
  return false;
}

void DdpSession::mark_closed() {
  closed_ = true;
  idle_timer_.cancel();
  timeout_timer_.cancel();
  // Gone at once, not when the socket's close completes: stats must not show a dead session's
  // subscriptions next to those of the client's new connection.
  subscriptions_.clear();
}

void DdpSession::close(std::uint16_t code, std::string reason) {
  if (closed_) return;
  mark_closed();
  connection_->close(code, std::move(reason));
}

void DdpSession::drop() {
  mark_closed();
  connection_->drop();
}

void DdpSession::on_closed(const std::string& reason) {
  spdlog::debug("sim ddp #{} closed: {}", id_, reason);
  mark_closed();
  sim_.session_closed(id_);
}

// ---------------------------------------------------------------------------------------------
// Frames

void DdpSession::on_text(std::string_view text) {
  if (closed_) return;
  spdlog::trace("sim ddp #{} -> {}", id_, text);
  // Any frame from the client proves it is alive (Meteor counts every frame as a pong).
  if (connected_) arm_heartbeat();
  json frame = json::parse(text, nullptr, false);
  if (frame.is_discarded()) {
    send(ddp::encode_protocol_error("Parse error"));
    return;
  }
  if (!frame.is_object() || !is_string(frame, "msg")) {
    send(ddp::encode_protocol_error("Bad request", frame));
    return;
  }
  const std::string msg = frame["msg"].get<std::string>();
  if (msg == "connect") {
    if (connected_) {
      send(ddp::encode_protocol_error("Already connected", frame));
    } else {
      on_connect(frame);
    }
    return;
  }
  if (!connected_) {
    send(ddp::encode_protocol_error("Must connect first", frame));
    return;
  }
  if (msg == "ping") {
    on_ping(frame);
  } else if (msg == "pong") {
    // Nothing to do: the heartbeat was re-armed above.
  } else if (msg == "method") {
    on_method(frame);
  } else if (msg == "sub") {
    on_sub(frame);
  } else if (msg == "unsub") {
    on_unsub(frame);
  } else {
    send(ddp::encode_protocol_error("Bad request", frame));
  }
}

void DdpSession::on_connect(const json& frame) {
  // Meteor's strict version negotiation (PROTOCOL.md §1.2).
  const auto version = frame.find("version");
  const auto support = frame.find("support");
  bool valid = version != frame.end() && version->is_string() && support != frame.end() && support->is_array();
  if (valid) {
    valid = std::all_of(support->begin(), support->end(), [](const json& s) { return s.is_string(); }) &&
            std::find(support->begin(), support->end(), *version) != support->end();
  }
  if (!valid) {
    send(ddp::encode_failed(kServerVersions[0]));
    close(1000, "");
    return;
  }
  std::string best = kServerVersions[0];
  for (const auto& s : *support) {
    const auto it = std::find(kServerVersions.begin(), kServerVersions.end(), s.get<std::string>());
    if (it != kServerVersions.end()) {
      best = *it;
      break;
    }
  }
  if (best != version->get<std::string>()) {
    send(ddp::encode_failed(best));
    close(1000, "");
    return;
  }
  connected_ = true;
  session_id_ = ddp::random_id();
  send(ddp::encode_connected(session_id_));
  arm_heartbeat();
}

void DdpSession::on_ping(const json& frame) {
  ++sim_.stats().pings_received;
  if (!sim_.faults().answer_pings) return;
  const auto id = frame.find("id");
  send(ddp::encode_pong(id != frame.end() && id->is_string() ? id->get<std::string>() : std::string()));
}

// ---------------------------------------------------------------------------------------------
// Heartbeat: a ping after `heartbeat` ms of client silence, a close after as much again.

void DdpSession::arm_heartbeat() {
  if (closed_ || !connected_) return;
  timeout_timer_.cancel();
  if (!sim_.faults().answer_pings) {
    idle_timer_.cancel();  // a silent server neither pings nor times out
    return;
  }
  idle_timer_.start(sim_.heartbeat(), [this] { on_idle(); });
}

void DdpSession::on_idle() {
  if (closed_ || !sim_.faults().answer_pings) return;
  send(ddp::encode_ping());
  timeout_timer_.start(sim_.heartbeat(), [this] { on_heartbeat_timeout(); });
}

void DdpSession::on_heartbeat_timeout() {
  spdlog::info("sim ddp #{}: no answer to the heartbeat ping, closing", id_);
  close(1000, "");
}

// ---------------------------------------------------------------------------------------------
// Methods

void DdpSession::reply(const std::string& id, const json& result) {
  send(ddp::encode_result(id, result));
  send(ddp::encode_updated({id}));
}

void DdpSession::reply_empty(const std::string& id) {
  send(ddp::encode_result_empty(id));
  send(ddp::encode_updated({id}));
}

void DdpSession::reply_error(const std::string& id, const ddp::Error& error) {
  send(ddp::encode_result_error(id, error));
  send(ddp::encode_updated({id}));
}

bool DdpSession::require_login(const std::string& id, const std::string& method) {
  if (!user_id_.empty() && sim_.world().user_by_id(user_id_) != nullptr) return true;
  reply_error(id, ddp::make_error("error-invalid-user", "Invalid user", {{"method", method}}));
  return false;
}

void DdpSession::on_method(const json& frame) {
  const auto params_it = frame.find("params");
  const bool params_ok = params_it == frame.end() || params_it->is_array();
  const auto seed = frame.find("randomSeed");
  if (!is_string(frame, "id") || !is_string(frame, "method") || !params_ok ||
      (seed != frame.end() && !seed->is_string())) {
    send(ddp::encode_protocol_error("Malformed method invocation", frame));
    return;
  }
  const std::string id = frame["id"].get<std::string>();
  const std::string method = frame["method"].get<std::string>();
  const json params = params_it == frame.end() ? json::array() : *params_it;
  try {
    if (method == "login") {
      do_login(id, params);
    } else if (method == "logout") {
      do_logout(id);
    } else if (method == "sendMessage") {
      do_send_message(id, params);
    } else if (method == "updateMessage") {
      do_update_message(id, params);
    } else if (method == "setReaction") {
      do_set_reaction(id, params);
    } else if (method == "rooms/get") {
      do_rooms_get(id, params);
    } else if (method == "subscriptions/get") {
      do_subscriptions_get(id, params);
    } else if (method == "createDirectMessage") {
      do_create_direct_message(id, params);
    } else if (method == "getSingleMessage") {
      do_get_single_message(id, params);
    } else if (method == "getRoomIdByNameOrId") {
      do_get_room_id(id, params);
    } else if (method == "joinRoom") {
      do_join_room(id, params);
    } else if (method == "readMessages") {
      if (require_login(id, method)) reply_empty(id);
    } else if (method == "UserPresence:setDefaultStatus" || method == "UserPresence:online" ||
               method == "UserPresence:away" || method == "setUserStatus") {
      do_set_status(id, method, params);
    } else {
      reply_error(id, ddp::make_error(404, "Method '" + method + "' not found"));
    }
  } catch (const std::exception& e) {
    // What Meteor does with an exception that is not a Meteor.Error.
    spdlog::warn("sim ddp #{}: method {} failed: {}", id_, method, e.what());
    reply_error(id, ddp::make_error(500, "Internal server error"));
  }
}

bool DdpSession::login_rate_limited(std::int64_t* time_to_reset_ms) {
  const std::int64_t now = now_ms();
  if (login_window_start_ == 0 || now - login_window_start_ >= kLoginWindowMs) {
    login_window_start_ = now;
    login_window_calls_ = 0;
  }
  ++login_window_calls_;
  *time_to_reset_ms = kLoginWindowMs - (now - login_window_start_);
  return login_window_calls_ > kLoginCallsPerWindow;
}

void DdpSession::do_login(const std::string& id, const json& params) {
  Faults& faults = sim_.faults();
  Stats& stats = sim_.stats();
  World& world = sim_.world();
  std::int64_t time_to_reset = 0;
  const bool limited = login_rate_limited(&time_to_reset);
  if (faults.refuse_logins > 0) {
    --faults.refuse_logins;
    ++stats.refused_logins;
    reply_error(id, too_many_requests(faults.time_to_reset_ms));
    return;
  }
  if (limited) {
    ++stats.refused_logins;
    reply_error(id, too_many_requests(time_to_reset));
    return;
  }
  if (params.empty() || !params[0].is_object()) {
    reply_error(id, match_failed());
    return;
  }
  const json& options = params[0];
  const int flavour = sim_.settings().flavour;
  const auto credentials_error = [&](const char* specific) {
    ++stats.failed_logins;
    // Meteor 3.0.4+ (Rocket.Chat 7.1+) hides which part was wrong.
    reply_error(id, ddp::make_error(403, flavour >= 7 ? "Something went wrong. Please check your credentials." : specific));
  };

  if (options.contains("resume")) {
    if (!options["resume"].is_string()) {
      reply_error(id, match_failed());
      return;
    }
    const std::string token = options["resume"].get<std::string>();
    const LoginToken* record = world.find_token(token);
    const User* user = record == nullptr ? nullptr : world.user_by_id(record->user_id);
    if (record == nullptr || user == nullptr) {
      ++stats.failed_logins;
      reply_error(id, ddp::make_error(403, "You've been logged out by the server. Please log in again."));
      return;
    }
    if (World::expired(*record, now_ms())) {
      ++stats.failed_logins;
      reply_error(id, ddp::make_error(403, "Your session has expired. Please log in again."));
      return;
    }
    ++stats.resume_logins;
    user_id_ = user->id;
    login_token_ = token;
    json result = {{"id", user->id}, {"token", token}, {"type", "resume"}};
    if (const auto expires = World::expires_at(*record)) {
      result["tokenExpires"] = ddp::make_ejson_date(*expires);
    } else if (sim_.settings().pat_expires_null) {
      result["tokenExpires"] = {{"$date", nullptr}};
    }
    spdlog::debug("sim ddp #{}: {} resumed a session", id_, user->username);
    reply(id, result);
    return;
  }

  json login = options;
  std::optional<std::string> code;
  if (options.contains("totp")) {
    const json& totp = options["totp"];
    if (!totp.is_object() || !totp.contains("login") || !totp["login"].is_object() || !is_string(totp, "code")) {
      reply_error(id, match_failed());
      return;
    }
    login = totp["login"];
    code = totp["code"].get<std::string>();
  }
  if (!login.contains("user") || !login.contains("password")) {
    reply_error(id, ddp::make_error(400, "Unrecognized options for login request"));
    return;
  }
  // The selector names exactly one of id, username, email; the password is plain text or
  // {digest, algorithm:"sha-256"} (Meteor's passwordValidator).
  const json& selector = login["user"];
  const json& password = login["password"];
  if (!selector.is_object() || selector.size() != 1) {
    reply_error(id, match_failed());
    return;
  }
  const std::string key = selector.begin().key();
  if ((key != "id" && key != "username" && key != "email") || !selector.begin()->is_string()) {
    reply_error(id, match_failed());
    return;
  }
  std::string digest;
  if (password.is_string() && password.get<std::string>().size() <= 256) {
    digest = sha256_hex(password.get<std::string>());
  } else if (password.is_object() && password.size() == 2 && is_string(password, "digest") &&
             password["digest"].get<std::string>().size() == 64 && password.value("algorithm", "") == "sha-256") {
    digest = password["digest"].get<std::string>();
    std::transform(digest.begin(), digest.end(), digest.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  } else {
    reply_error(id, match_failed());
    return;
  }
  const std::string who = selector.begin()->get<std::string>();
  User* user = key == "id" ? world.user_by_id(who) : key == "username" ? world.user_by_username(who) : world.user_by_login_name(who);
  if (user == nullptr) {
    credentials_error("User not found");
    return;
  }
  if (user->password.empty()) {
    credentials_error("User has no password set");
    return;
  }
  if (sha256_hex(user->password) != digest) {
    credentials_error("Incorrect password");
    return;
  }
  // Two-factor is checked after the password (Rocket.Chat's login validator).
  if (user->totp) {
    if (!code) {
      ++stats.failed_logins;
      reply_error(id, ddp::make_error("totp-required", "TOTP Required",
                                      {{"method", "totp"}, {"codeGenerated", false}, {"availableMethods", {"totp"}}}));
      return;
    }
    if (*code != World::kTotpCode) {
      ++stats.failed_logins;
      reply_error(id, ddp::make_error("totp-invalid", "TOTP Invalid", {{"method", "totp"}}));
      return;
    }
  }
  const std::string token = world.issue_login_token(user->id);
  ++stats.password_logins;
  user_id_ = user->id;
  login_token_ = token;
  spdlog::debug("sim ddp #{}: {} logged in with a password", id_, user->username);
  const LoginToken* record = world.find_token(token);
  reply(id, {{"id", user->id},
             {"token", token},
             {"tokenExpires", ddp::make_ejson_date(*World::expires_at(*record))},
             {"type", "password"}});
}

void DdpSession::do_logout(const std::string& id) {
  // Meteor deletes the token this connection logged in with, whatever kind it is.
  if (!login_token_.empty()) sim_.world().remove_token(login_token_);
  user_id_.clear();
  login_token_.clear();
  reply_empty(id);
}

void DdpSession::do_send_message(const std::string& id, const json& params) {
  if (params.empty() || !params[0].is_object()) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "sendMessage")) return;
  const json& message = params[0];
  for (const auto& [key, value] : message.items()) {
    if (!send_message_key_allowed(key)) {
      spdlog::debug("sim ddp #{}: sendMessage: Match error: Unknown key in field {}", id_, key);
      reply_error(id, match_failed());
      return;
    }
  }
  for (const char* key : {"_id", "rid", "msg", "tmid", "t", "e2e"}) {
    if (message.contains(key) && !message[key].is_string()) {
      reply_error(id, match_failed());
      return;
    }
  }
  if (message.contains("tshow") && !message["tshow"].is_boolean()) {
    reply_error(id, match_failed());
    return;
  }
  if (message.contains("t") && message["t"] != "e2e") {
    reply_error(id, ddp::make_error(500, "Internal server error"));  // a plain Error server-side
    return;
  }
  World::NewMessage m;
  m.id = message.value("_id", "");
  m.rid = message.value("rid", "");
  m.text = message.value("msg", "");
  m.tmid = message.value("tmid", "");
  m.tshow = message.value("tshow", false);
  for (const char* key : {"t", "bot", "content", "e2e", "e2eMentions", "customFields", "federation", "groupable"}) {
    if (message.contains(key)) m.extra[key] = message[key];
  }
  try {
    bool duplicate = false;
    const json& stored = sim_.world().post_message(user_id_, std::move(m), &duplicate);
    if (duplicate) {
      reply_empty(id);  // an insert with an existing _id does nothing and returns nothing
    } else {
      reply(id, stored);
    }
  } catch (const WorldError& e) {
    if (e.code == "error-not-allowed") {
      reply_error(id, ddp::make_error(e.code, e.what(), {{"method", "sendMessage"}}));
      return;
    }
    // Every other failure is swallowed: an empty result plus an ephemeral explanation.
    sim_.send_ephemeral(user_id_, message.value("rid", ""), e.what());
    reply_empty(id);
  }
}

void DdpSession::do_update_message(const std::string& id, const json& params) {
  if (params.empty() || !params[0].is_object()) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "updateMessage")) return;
  const json& message = params[0];
  if (!is_string(message, "_id") || !is_string(message, "rid") || !is_string(message, "msg")) {
    reply_error(id, match_failed());
    return;
  }
  World& world = sim_.world();
  const json* original = world.message(message["_id"].get<std::string>());
  if (original == nullptr || (*original)["rid"] != message["rid"]) {
    reply_error(id, ddp::make_error("error-action-not-allowed", "Not allowed", {{"method", "updateMessage"}}));
    return;
  }
  const User* user = world.user_by_id(user_id_);
  if ((*original)["u"]["_id"] != user_id_ && !user->has_role("admin")) {
    reply_error(id, ddp::make_error("error-action-not-allowed", "Message editing not allowed",
                                    {{"method", "updateMessage"}, {"action", "Message_editing"}}));
    return;
  }
  world.edit_message(message["_id"].get<std::string>(), message["msg"].get<std::string>(), user_id_);
  reply_empty(id);
}

void DdpSession::do_set_reaction(const std::string& id, const json& params) {
  if (params.size() < 2 || !params[0].is_string() || !params[1].is_string() ||
      (params.size() > 2 && !params[2].is_boolean() && !params[2].is_null())) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "setReaction")) return;
  World& world = sim_.world();
  const json* message = world.message(params[1].get<std::string>());
  const Room* room = message == nullptr ? nullptr : world.room_by_id((*message)["rid"].get<std::string>());
  if (room == nullptr || !world.can_access(*room, user_id_)) {
    reply_error(id, ddp::make_error("error-not-allowed", "Not allowed", {{"method", "setReaction"}}));
    return;
  }
  std::optional<bool> should;
  if (params.size() > 2 && params[2].is_boolean()) should = params[2].get<bool>();
  world.react(params[1].get<std::string>(), user_id_, params[0].get<std::string>(), should);
  reply_empty(id);
}

void DdpSession::do_rooms_get(const std::string& id, const json& params) {
  if (user_id_.empty()) {
    reply(id, json::array());
    return;
  }
  World& world = sim_.world();
  const auto since = params.empty() ? std::nullopt : ddp::ejson_date(params[0]);
  // Only an EJSON date selects the {update, remove} shape; a plain number is "everything".
  const bool dated = since && params[0].is_object();
  json rooms = json::array();
  for (const Room* room : world.rooms_of(user_id_)) {
    if (!dated || room->updated_at > *since) rooms.push_back(world.room_json(*room));
  }
  if (dated) {
    reply(id, {{"update", rooms}, {"remove", json::array()}});
  } else {
    reply(id, rooms);
  }
}

void DdpSession::do_subscriptions_get(const std::string& id, const json& params) {
  if (user_id_.empty()) {
    reply(id, json::array());
    return;
  }
  World& world = sim_.world();
  const auto since = params.empty() ? std::nullopt : ddp::ejson_date(params[0]);
  const bool dated = since && params[0].is_object();
  json subs = json::array();
  for (const Room* room : world.rooms_of(user_id_)) {
    json sub = world.subscription_json(*room, user_id_);
    if (!dated || ddp::ejson_date(sub["_updatedAt"]).value_or(0) > *since) subs.push_back(std::move(sub));
  }
  if (dated) {
    reply(id, {{"update", subs}, {"remove", world.removed_subscriptions_since(user_id_, *since)}});
  } else {
    reply(id, subs);
  }
}

void DdpSession::do_create_direct_message(const std::string& id, const json& params) {
  if (!std::all_of(params.begin(), params.end(), [](const json& p) { return p.is_string(); })) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "createDirectMessage")) return;
  World& world = sim_.world();
  const User* me = world.user_by_id(user_id_);
  std::vector<std::string> others;
  for (const auto& p : params) {
    const User* other = world.user_by_username(p.get<std::string>());
    if (other == nullptr) {
      reply_error(id, ddp::make_error("error-invalid-user", "Invalid user", {{"method", "createDirectMessage"}}));
      return;
    }
    if (other->id != me->id && std::find(others.begin(), others.end(), other->id) == others.end()) {
      others.push_back(other->id);
    }
  }
  const Room* room = nullptr;
  if (others.size() <= 1) {
    room = &world.direct_room(me->id, others.empty() ? me->id : others.front());
  } else {
    Room group;
    group.type = "d";
    group.id = ddp::random_id();
    group.member_ids.push_back(me->id);
    group.member_ids.insert(group.member_ids.end(), others.begin(), others.end());
    room = &world.add_room(std::move(group));
  }
  json result = world.room_json(*room);
  result.erase("_id");
  result["rid"] = room->id;
  reply(id, result);
}

void DdpSession::do_get_single_message(const std::string& id, const json& params) {
  if (params.empty() || !params[0].is_string()) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "getSingleMessage")) return;
  World& world = sim_.world();
  const json* message = world.message(params[0].get<std::string>());
  if (message == nullptr) {
    reply_empty(id);
    return;
  }
  const Room* room = world.room_by_id((*message)["rid"].get<std::string>());
  if (room == nullptr || !world.can_access(*room, user_id_)) {
    reply_error(id, ddp::make_error("error-action-not-allowed", "Not allowed"));
    return;
  }
  reply(id, *message);
}

void DdpSession::do_get_room_id(const std::string& id, const json& params) {
  if (params.empty() || !params[0].is_string()) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "getRoomIdByNameOrId")) return;
  World& world = sim_.world();
  const Room* room = world.room_by_id_or_name(params[0].get<std::string>());
  if (room == nullptr || !world.can_access(*room, user_id_)) {
    reply_error(id, ddp::make_error("error-not-allowed", "Not allowed", {{"method", "getRoomIdByNameOrId"}}));
    return;
  }
  reply(id, room->id);
}

void DdpSession::do_join_room(const std::string& id, const json& params) {
  if (params.empty() || !params[0].is_string()) {
    reply_error(id, match_failed());
    return;
  }
  if (!require_login(id, "joinRoom")) return;
  World& world = sim_.world();
  Room* room = world.room_by_id(params[0].get<std::string>());
  if (room == nullptr) {
    reply_error(id, ddp::make_error("error-invalid-room", "Invalid room", {{"method", "joinRoom"}}));
    return;
  }
  if (room->type != "c") {
    reply_error(id, ddp::make_error("error-not-allowed", "Not allowed", {{"method", "joinRoom"}}));
    return;
  }
  if (!world.is_member(*room, user_id_)) world.add_member(*room, user_id_);
  reply(id, true);
}

void DdpSession::do_set_status(const std::string& id, const std::string& method, const json& params) {
  if (!require_login(id, method)) return;
  World& world = sim_.world();
  User* user = world.user_by_id(user_id_);
  if (method == "UserPresence:online" || method == "UserPresence:away") {
    world.set_status(*user, method == "UserPresence:online" ? "online" : "away", user->status_text);
    reply_empty(id);
    return;
  }
  if (params.empty() || !params[0].is_string() || !valid_status(params[0].get<std::string>())) {
    reply_error(id, match_failed());
    return;
  }
  if (method == "UserPresence:setDefaultStatus") {
    world.set_status(*user, params[0].get<std::string>(), user->status_text);
    reply(id, true);
    return;
  }
  const std::string text = params.size() > 1 && params[1].is_string() ? params[1].get<std::string>() : std::string();
  world.set_status(*user, params[0].get<std::string>(), text);
  reply_empty(id);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

void DdpSession::on_sub(const json& frame) {
  const auto params_it = frame.find("params");
  if (!is_string(frame, "id") || !is_string(frame, "name") ||
      (params_it != frame.end() && !params_it->is_array())) {
    send(ddp::encode_protocol_error("Malformed subscription", frame));
    return;
  }
  const std::string id = frame["id"].get<std::string>();
  const std::string name = frame["name"].get<std::string>();
  // Meteor ignores a sub whose id is already in use on this connection.
  if (std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const Subscription& s) { return s.id == id; })) {
    return;
  }
  static const std::array<const char*, 5> kPublications = {"stream-room-messages", "stream-notify-user",
                                                           "stream-notify-logged", "stream-notify-room",
                                                           "stream-notify-all"};
  if (std::none_of(kPublications.begin(), kPublications.end(), [&](const char* p) { return name == p; })) {
    send(ddp::encode_nosub(id, ddp::make_error(404, "Subscription '" + name + "' not found")));
    return;
  }
  const json params = params_it == frame.end() ? json::array() : *params_it;
  if (params.empty() || !params[0].is_string() || params[0].get<std::string>().empty()) {
    send(ddp::encode_nosub(id, ddp::make_error("invalid-event-name")));
    return;
  }
  const std::string event = params[0].get<std::string>();
  World& world = sim_.world();
  const bool logged_in = !user_id_.empty() && world.user_by_id(user_id_) != nullptr;
  bool allowed = false;
  if (name == "stream-room-messages") {
    const Room* room = world.room_by_id(event);
    allowed = event == "__my_messages__" || (logged_in && room != nullptr && world.can_access(*room, user_id_));
  } else if (name == "stream-notify-user") {
    allowed = logged_in && event.rfind(user_id_ + "/", 0) == 0;
  } else if (name == "stream-notify-logged") {
    allowed = logged_in;
  } else if (name == "stream-notify-room") {
    const Room* room = world.room_by_id(event.substr(0, event.find('/')));
    allowed = logged_in && room != nullptr && world.can_access(*room, user_id_);
  } else {
    allowed = true;  // stream-notify-all
  }
  if (!allowed) {
    send(ddp::encode_nosub(id, ddp::make_error("not-allowed")));
    return;
  }
  subscriptions_.push_back({id, name, event});
  send(ddp::encode_ready({id}));
  if (name == "stream-room-messages" && event == "__my_messages__" && !user_id_.empty()) {
    const User* user = world.user_by_id(user_id_);
    if (user != nullptr && user->username == sim_.bot_username()) sim_.load().on_bot_subscribed();
  }
}

void DdpSession::on_unsub(const json& frame) {
  if (!is_string(frame, "id")) {
    send(ddp::encode_protocol_error("Bad request", frame));
    return;
  }
  const std::string id = frame["id"].get<std::string>();
  subscriptions_.erase(std::remove_if(subscriptions_.begin(), subscriptions_.end(),
                                      [&](const Subscription& s) { return s.id == id; }),
                       subscriptions_.end());
  send(ddp::encode_nosub(id));
}

// ---------------------------------------------------------------------------------------------
// Fan-out

void DdpSession::deliver_message(const json& message, const Room& room) {
  if (closed_ || user_id_.empty()) return;
  World& world = sim_.world();
  bool checked = false;
  bool access = false;
  for (const auto& sub : subscriptions_) {
    if (sub.name != "stream-room-messages") continue;
    if (sub.event != "__my_messages__" && sub.event != room.id) continue;
    if (!checked) {
      access = world.can_access(room, user_id_);
      checked = true;
    }
    if (!access) return;
    if (sub.event == "__my_messages__") {
      json meta = {{"roomParticipant", world.is_member(room, user_id_)}, {"roomType", room.type}};
      if (!room.is_dm()) meta["roomName"] = room.name;
      send(ddp::encode_stream_event("stream-room-messages", sub.event, json::array({message, meta})));
    } else {
      send(ddp::encode_stream_event("stream-room-messages", sub.event, json::array({message})));
    }
  }
}

void DdpSession::deliver_user_event(const std::string& uid, const std::string& event, const json& args) {
  if (closed_ || uid != user_id_) return;
  const std::string event_name = uid + "/" + event;
  for (const auto& sub : subscriptions_) {
    if (sub.name == "stream-notify-user" && sub.event == event_name) {
      send(ddp::encode_stream_event("stream-notify-user", event_name, args));
    }
  }
}

void DdpSession::deliver_logged_event(const std::string& event, const json& args) {
  if (closed_ || user_id_.empty()) return;
  for (const auto& sub : subscriptions_) {
    if (sub.name == "stream-notify-logged" && sub.event == event) {
      send(ddp::encode_stream_event("stream-notify-logged", event, args));
    }
  }
}

void DdpSession::describe_subscriptions(json& out) const {
  for (const auto& sub : subscriptions_) {
    out.push_back({{"connection", id_}, {"name", sub.name}, {"event", sub.event}});
  }
}

}  // namespace rcgate::sim
