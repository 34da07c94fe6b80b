#include "rest_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "http_util.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "sim.hpp"
#include "uploads.hpp"
#include "world.hpp"

namespace rcgate::sim {
namespace {

using json = nlohmann::json;
using net::ServerRequest;
using net::ServerResponse;

// REST bodies are plain JSON: dates are ISO 8601 strings there, not EJSON {"$date":ms}.
json rest_dates(json value) {
  if (value.is_object()) {
    if (value.size() == 1 && value.contains("$date") && value["$date"].is_number()) {
      return to_iso8601(value["$date"].get<std::int64_t>());
    }
    for (auto& [key, item] : value.items()) item = rest_dates(std::move(item));
  } else if (value.is_array()) {
    for (auto& item : value) item = rest_dates(std::move(item));
  }
  return value;
}

ServerResponse success(json body = json::object()) {
  body["success"] = true;
  return json_response(200, rest_dates(std::move(body)));
}

// API.v1.failure(error): {"success":false,"error":"<reason> [<code>]","errorType":"<code>"}.
ServerResponse failure(const std::string& code, const std::string& reason, int status = 400) {
  return json_response(status, {{"success", false}, {"error", reason + " [" + code + "]"}, {"errorType", code}});
}

ServerResponse failure(const WorldError& e) { return failure(e.code, e.what()); }

ServerResponse unauthorized() {
  return json_response(401, {{"status", "error"}, {"error", "Unauthorized"}, {"message", "Unauthorized"}});
}

ServerResponse bad_body() { return failure("error-invalid-body", "The request body is not a JSON object"); }

std::string str(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string too_many_text(std::int64_t ms) {
  return "Error, too many requests. Please slow down. You must wait " + std::to_string((ms + 999) / 1000) +
         " seconds before trying this endpoint again. [error-too-many-requests]";
}

ServerResponse too_many(int limit, std::int64_t reset_at, std::int64_t now) {
  return json_response(429, {{"success", false}, {"error", too_many_text(std::max<std::int64_t>(reset_at - now, 0))}},
                       {{"X-RateLimit-Limit", std::to_string(limit)},
                        {"X-RateLimit-Remaining", "0"},
                        {"X-RateLimit-Reset", std::to_string(reset_at)}});
}

}  // namespace

const RestApi::Route RestApi::kRoutes[] = {
    {"POST", "/api/v1/logout", &RestApi::logout},
    {"GET", "/api/v1/me", &RestApi::me},
    {"POST", "/api/v1/chat.sendMessage", &RestApi::chat_send_message},
    {"POST", "/api/v1/chat.postMessage", &RestApi::chat_post_message},
    {"POST", "/api/v1/chat.update", &RestApi::chat_update},
    {"POST", "/api/v1/chat.react", &RestApi::chat_react},
    {"GET", "/api/v1/subscriptions.get", &RestApi::subscriptions_get},
    {"GET", "/api/v1/rooms.get", &RestApi::rooms_get},
    {"GET", "/api/v1/rooms.info", &RestApi::rooms_info},
    {"POST", "/api/v1/im.create", &RestApi::im_create},
    {"POST", "/api/v1/dm.create", &RestApi::im_create},
    {"GET", "/api/v1/users.info", &RestApi::users_info},
    {"POST", "/api/v1/users.setStatus", &RestApi::users_set_status},
    {"GET", "/api/v1/channels.history", &RestApi::channels_history},
    {"GET", "/api/v1/groups.history", &RestApi::groups_history},
    {"GET", "/api/v1/im.history", &RestApi::im_history},
    {"GET", "/api/v1/dm.history", &RestApi::im_history},
};

const RestApi::Route RestApi::kPrefixRoutes[] = {
    {"POST", "/api/v1/rooms.media/", &RestApi::rooms_media},
    {"POST", "/api/v1/rooms.mediaConfirm/", &RestApi::rooms_media_confirm},
    {"POST", "/api/v1/rooms.upload/", &RestApi::rooms_upload},
};

bool RestApi::available(const Route& route) const {
  const SimSettings& settings = sim_.settings();
  const std::string path = route.path;
  // rooms.upload was removed in 8.0; rooms.media is missing on early 6.x (a switch).
  if (path == "/api/v1/rooms.upload/") return settings.flavour < 8;
  if (path == "/api/v1/rooms.media/" || path == "/api/v1/rooms.mediaConfirm/") {
    return settings.rooms_media;
  }
  return true;
}

ServerResponse RestApi::handle(const ServerRequest& request) {
  const std::string& path = request.path;
  if (path == "/api/info" && request.method == "GET") {
    const int flavour = sim_.settings().flavour;
    return json_response(200, {{"version", flavour == 6 ? "6.13" : flavour == 7 ? "7.13" : "8.8"}, {"success", true}});
  }
  if (path == "/api/v1/login" && request.method == "POST") return login(request);
  if (path == "/api/v1/settings.public" && request.method == "GET") return settings_public(request);

  const Route* route = nullptr;
  for (const auto& r : kRoutes) {
    if (path == r.path && request.method == r.method) route = &r;
  }
  for (const auto& r : kPrefixRoutes) {
    const std::string prefix = r.path;
    if (route == nullptr && path.size() > prefix.size() && path.rfind(prefix, 0) == 0 &&
        request.method == r.method) {
      route = &r;
      // "/api/v1/rooms.media/" -> "rooms.media": what clients tried, for tests of fallbacks.
      sim_.uploads().count_attempt(prefix.substr(8, prefix.size() - 9));
    }
  }
  if (route != nullptr && !available(*route)) route = nullptr;
  if (route == nullptr) {
    return json_response(404, {{"status", "error"}, {"message", "API endpoint does not exist"}});
  }

  // Authentication: X-User-Id + X-Auth-Token (a login token or a personal access token).
  const std::string uid(request.header("X-User-Id"));
  const std::string token(request.header("X-Auth-Token"));
  World& world = sim_.world();
  const LoginToken* record = token.empty() ? nullptr : world.find_token(token);
  User* user = record != nullptr && record->user_id == uid ? world.user_by_id(uid) : nullptr;
  if (user == nullptr || World::expired(*record, now_ms())) {
    return json_response(401, {{"status", "error"}, {"message", "You must be logged in to do this."}});
  }
  Caller caller{user, token};

  // The default limiter: N calls per window per route and user, unless the user may bypass it
  // (api-bypass-rate-limit: the bot role, admin).
  net::Headers limit_headers;
  if (!user->has_role("bot") && !user->has_role("admin")) {
    const SimSettings& settings = sim_.settings();
    const std::int64_t now = now_ms();
    Window& window = windows_[{route->path, user->id}];
    if (window.start == 0 || now - window.start >= settings.rest_limit_window_ms) window = Window{now, 0};
    ++window.calls;
    const std::int64_t reset_at = window.start + settings.rest_limit_window_ms;
    if (window.calls > settings.rest_limit_calls) {
      spdlog::debug("sim rest: {} over the rate limit on {}", user->username, route->path);
      return too_many(settings.rest_limit_calls, reset_at, now);
    }
    limit_headers = {{"X-RateLimit-Limit", std::to_string(settings.rest_limit_calls)},
                     {"X-RateLimit-Remaining", std::to_string(settings.rest_limit_calls - window.calls)},
                     {"X-RateLimit-Reset", std::to_string(reset_at)}};
  }
  ServerResponse response = (this->*(route->handler))(request, caller);
  response.headers.insert(response.headers.end(), limit_headers.begin(), limit_headers.end());
  return response;
}

// ---------------------------------------------------------------------------------------------
// Login

ServerResponse RestApi::login(const ServerRequest& request) {
  Faults& faults = sim_.faults();
  Stats& stats = sim_.stats();
  World& world = sim_.world();
  const auto body = body_object(request);
  if (!body) return bad_body();
  if (faults.rest_login_429 > 0) {
    --faults.rest_login_429;
    ++stats.refused_logins;
    const std::int64_t now = now_ms();
    return too_many(10, now + faults.rest_reset_ms, now);
  }
  if (body->contains("resume")) {
    const std::string token = str(*body, "resume");
    const LoginToken* record = token.empty() ? nullptr : world.find_token(token);
    User* user = record == nullptr ? nullptr : world.user_by_id(record->user_id);
    if (user == nullptr || World::expired(*record, now_ms())) {
      ++stats.failed_logins;
      return unauthorized();
    }
    ++stats.resume_logins;
    return json_response(200, {{"status", "success"},
                               {"data", {{"authToken", token}, {"userId", user->id}, {"me", rest_dates(world.user_json(*user, true))}}}});
  }
  std::string name = str(*body, "user");
  if (name.empty()) name = str(*body, "username");
  if (name.empty() && body->contains("user") && (*body)["user"].is_object()) {
    // The DDP-style selector is accepted too.
    const json& selector = (*body)["user"];
    name = str(selector, "username");
    if (name.empty()) name = str(selector, "email");
  }
  const json password = body->value("password", json());
  if (name.empty() || password.is_null()) {
    ++stats.failed_logins;
    return unauthorized();
  }
  User* user = world.user_by_login_name(name);
  std::string digest;
  if (password.is_string()) {
    digest = sha256_hex(password.get<std::string>());
  } else if (password.is_object()) {
    digest = str(password, "digest");
    std::transform(digest.begin(), digest.end(), digest.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (user == nullptr || user->password.empty() || digest != sha256_hex(user->password)) {
    ++stats.failed_logins;
    return unauthorized();
  }
  if (user->totp) {
    const std::string code = str(*body, "code");
    if (code.empty()) {
      ++stats.failed_logins;
      return json_response(401, {{"status", "error"},
                                 {"error", "totp-required"},
                                 {"message", "TOTP Required"},
                                 {"details", {{"method", "totp"}, {"codeGenerated", false}, {"availableMethods", {"totp"}}}}});
    }
    if (code != World::kTotpCode) {
      ++stats.failed_logins;
      return json_response(401, {{"status", "error"},
                                 {"error", "totp-invalid"},
                                 {"message", "TOTP Invalid"},
                                 {"details", {{"method", "totp"}}}});
    }
  }
  const std::string token = world.issue_login_token(user->id);
  ++stats.password_logins;
  spdlog::debug("sim rest: {} logged in with a password", user->username);
  return json_response(200, {{"status", "success"},
                             {"data", {{"authToken", token}, {"userId", user->id}, {"me", rest_dates(world.user_json(*user, true))}}}});
}

ServerResponse RestApi::logout(const ServerRequest&, Caller& caller) {
  sim_.world().remove_token(caller.token);
  return json_response(200, {{"status", "success"}, {"data", {{"message", "You've been logged out!"}}}});
}

ServerResponse RestApi::me(const ServerRequest&, Caller& caller) {
  return success(sim_.world().user_json(*caller.user, true));
}

ServerResponse RestApi::settings_public(const ServerRequest& request) {
  const SimSettings& settings = sim_.settings();
  const json all = json::array({
      {{"_id", "FileUpload_Enabled"}, {"value", settings.upload_enabled}},
      {{"_id", "FileUpload_MaxFileSize"}, {"value", settings.upload_max_bytes}},
      {{"_id", "FileUpload_MediaTypeWhiteList"}, {"value", settings.upload_media_types}},
      {{"_id", "Message_MaxAllowedSize"}, {"value", World::kMaxMessageSize}},
      {{"_id", "Threads_enabled"}, {"value", true}},
      {{"_id", "Site_Name"}, {"value", "rcgate-sim"}},
  });
  // 7.x+: ?_id=A or ?_id=A,B ; older: ?query={"_id":"A"} or {"_id":{"$in":["A","B"]}}.
  std::vector<std::string> wanted;
  const std::string ids = request.query_param("_id");
  for (std::size_t start = 0; !ids.empty() && start <= ids.size();) {
    const std::size_t comma = std::min(ids.find(',', start), ids.size());
    if (comma > start) wanted.push_back(ids.substr(start, comma - start));
    start = comma + 1;
  }
  if (const std::string query = request.query_param("query"); !query.empty()) {
    const json q = json::parse(query, nullptr, false);
    if (q.is_discarded() || !q.is_object()) {
      return failure("error-invalid-query", "Invalid query parameter provided");
    }
    if (const auto id = q.find("_id"); id != q.end()) {
      if (id->is_string()) {
        wanted.push_back(id->get<std::string>());
      } else if (id->is_object() && id->contains("$in") && (*id)["$in"].is_array()) {
        for (const auto& v : (*id)["$in"]) {
          if (v.is_string()) wanted.push_back(v.get<std::string>());
        }
      }
    }
  }
  json out = json::array();
  for (const auto& setting : all) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), setting["_id"].get<std::string>()) != wanted.end()) {
      out.push_back(setting);
    }
  }
  const std::size_t n = out.size();
  return success({{"settings", std::move(out)}, {"count", n}, {"offset", 0}, {"total", n}});
}

// ---------------------------------------------------------------------------------------------
// Messages

ServerResponse RestApi::chat_send_message(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  // 8.x validates the body with additionalProperties:false at the top level only.
  if (sim_.settings().flavour >= 8) {
    for (const auto& [key, value] : body->items()) {
      if (key != "message" && key != "previewUrls") {
        return json_response(400, {{"success", false},
                                   {"error", "must NOT have additional properties [invalid-params]"},
                                   {"errorType", "invalid-params"}});
      }
    }
  }
  const auto message_it = body->find("message");
  if (message_it == body->end() || !message_it->is_object()) {
    return json_response(400, {{"success", false},
                               {"error", "must have required property 'message' [invalid-params]"},
                               {"errorType", "invalid-params"}});
  }
  const json& message = *message_it;
  if (message.contains("t") && message["t"] != "e2e") {
    return failure("error-invalid-params", "Cannot send system messages using 'chat.sendMessage'");
  }
  for (const char* key : {"_id", "rid", "msg", "tmid"}) {
    if (message.contains(key) && !message[key].is_string()) {
      return failure("invalid-params", std::string("message.") + key + " must be a string");
    }
  }
  World::NewMessage m;
  m.id = str(message, "_id");
  m.rid = str(message, "rid");
  m.text = str(message, "msg");
  m.tmid = str(message, "tmid");
  m.tshow = message.value("tshow", false) == true;
  for (const auto& [key, value] : message.items()) {
    if (key != "_id" && key != "rid" && key != "msg" && key != "tmid" && key != "tshow" && key != "ts" &&
        key != "u") {
      m.extra[key] = value;
    }
  }
  try {
    const json& stored = sim_.world().post_message(caller.user->id, std::move(m));
    return success({{"message", stored}});
  } catch (const WorldError& e) {
    return failure(e);
  }
}

ServerResponse RestApi::chat_post_message(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  World& world = sim_.world();
  std::string target = str(*body, "roomId");
  const std::string channel = str(*body, "channel");
  Room* room = nullptr;
  if (!target.empty()) {
    room = world.room_by_id(target);
  } else if (!channel.empty()) {
    target = channel;
    if (channel.front() == '@') {
      User* other = world.user_by_username(channel.substr(1));
      if (other != nullptr) room = &world.direct_room(caller.user->id, other->id);
    } else {
      room = world.room_by_id_or_name(channel);
    }
  } else {
    return failure("error-room-not-found", "The required \"roomId\" or \"channel\" param provided does not match any channel");
  }
  if (room == nullptr) return failure("error-invalid-channel", "Invalid channel");
  const bool impersonates = body->contains("alias") || body->contains("avatar");
  if (impersonates && !caller.user->has_role("bot") && !caller.user->has_role("admin")) {
    return failure("error-action-not-allowed", "Not enough permission");
  }
  if (body->contains("text") && !(*body)["text"].is_string()) return failure("invalid-params", "text must be a string");
  World::NewMessage m;
  m.rid = room->id;
  m.text = str(*body, "text");
  m.tmid = str(*body, "tmid");
  for (const char* key : {"alias", "emoji", "avatar", "attachments", "customFields"}) {
    if (body->contains(key)) m.extra[key] = (*body)[key];
  }
  try {
    const json& stored = world.post_message(caller.user->id, std::move(m));
    return success({{"ts", now_ms()}, {"channel", target}, {"message", stored}});
  } catch (const WorldError& e) {
    return failure(e);
  }
}

ServerResponse RestApi::chat_update(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  World& world = sim_.world();
  const std::string rid = str(*body, "roomId");
  const std::string id = str(*body, "msgId");
  if (rid.empty() || id.empty() || !body->contains("text") || !(*body)["text"].is_string()) {
    return failure("error-invalid-params", "roomId, msgId and text are required");
  }
  const json* original = world.message(id);
  if (original == nullptr) return failure("error-invalid-message", "No message found with the id of \"" + id + "\".");
  if ((*original)["rid"] != rid) return failure("error-invalid-params", "The room id provided does not match where the message is from.");
  if ((*original)["u"]["_id"] != caller.user->id && !caller.user->has_role("admin")) {
    return failure("error-action-not-allowed", "Message editing not allowed");
  }
  try {
    const json& edited = world.edit_message(id, (*body)["text"].get<std::string>(), caller.user->id);
    return success({{"message", edited}});
  } catch (const WorldError& e) {
    return failure(e);
  }
}

ServerResponse RestApi::chat_react(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  World& world = sim_.world();
  const std::string id = str(*body, "messageId");
  std::string emoji = str(*body, "emoji");
  if (emoji.empty()) emoji = str(*body, "reaction");
  const json* message = world.message(id);
  const Room* room = message == nullptr ? nullptr : world.room_by_id((*message)["rid"].get<std::string>());
  if (room == nullptr || !world.can_access(*room, caller.user->id)) return failure("error-not-allowed", "Not allowed");
  std::optional<bool> should;
  if (const auto it = body->find("shouldReact"); it != body->end() && it->is_boolean()) should = it->get<bool>();
  try {
    world.react(id, caller.user->id, emoji, should);
    return success();
  } catch (const WorldError& e) {
    return failure(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Rooms, subscriptions, users

ServerResponse RestApi::subscriptions_get(const ServerRequest& request, Caller& caller) {
  World& world = sim_.world();
  std::optional<std::int64_t> since;
  if (const std::string text = request.query_param("updatedSince"); !text.empty()) {
    since = parse_iso8601(text);
    if (!since) return failure("error-roomId-param-invalid", "The \"updatedSince\" query parameter must be a valid date.");
  }
  json update = json::array();
  for (const Room* room : world.rooms_of(caller.user->id)) {
    json sub = world.subscription_json(*room, caller.user->id);
    if (!since || ddp::ejson_date(sub["_updatedAt"]).value_or(0) > *since) update.push_back(std::move(sub));
  }
  json remove = since ? world.removed_subscriptions_since(caller.user->id, *since) : json::array();
  return success({{"update", std::move(update)}, {"remove", std::move(remove)}});
}

ServerResponse RestApi::rooms_get(const ServerRequest& request, Caller& caller) {
  World& world = sim_.world();
  std::optional<std::int64_t> since;
  if (const std::string text = request.query_param("updatedSince"); !text.empty()) {
    since = parse_iso8601(text);
    if (!since) return failure("error-updatedSince-param-invalid", "The \"updatedSince\" query parameter must be a valid date.");
  }
  json update = json::array();
  for (const Room* room : world.rooms_of(caller.user->id)) {
    if (!since || room->updated_at > *since) update.push_back(world.room_json(*room));
  }
  return success({{"update", std::move(update)}, {"remove", json::array()}});
}

ServerResponse RestApi::rooms_info(const ServerRequest& request, Caller& caller) {
  World& world = sim_.world();
  const std::string id = request.query_param("roomId");
  const std::string name = request.query_param("roomName");
  const Room* room = !id.empty() ? world.room_by_id(id) : !name.empty() ? world.room_by_name(name) : nullptr;
  if (room == nullptr || !world.can_access(*room, caller.user->id)) {
    return json_response(400, {{"success", false}, {"error", "not-allowed"}, {"errorType", "Not Allowed"}});
  }
  return success({{"room", world.room_json(*room)}});
}

ServerResponse RestApi::im_create(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  World& world = sim_.world();
  std::vector<std::string> names;
  if (const std::string one = str(*body, "username"); !one.empty()) names.push_back(one);
  const std::string many = str(*body, "usernames");
  for (std::size_t start = 0; !many.empty() && start <= many.size();) {
    const std::size_t comma = std::min(many.find(',', start), many.size());
    std::string n = many.substr(start, comma - start);
    n.erase(0, n.find_first_not_of(' '));
    if (!n.empty()) names.push_back(n);
    start = comma + 1;
  }
  if (names.empty()) {
    return failure("error-invalid-params", "Body param \"username\" or \"usernames\" is required");
  }
  std::vector<std::string> others;
  for (const auto& n : names) {
    const User* other = world.user_by_username(n);
    if (other == nullptr) return failure("error-invalid-user", "Invalid user");
    if (other->id != caller.user->id && std::find(others.begin(), others.end(), other->id) == others.end()) {
      others.push_back(other->id);
    }
  }
  const Room* room = nullptr;
  if (others.size() <= 1) {
    room = &world.direct_room(caller.user->id, others.empty() ? caller.user->id : others.front());
  } else {
    Room group;
    group.type = "d";
    group.id = ddp::random_id();
    group.member_ids.push_back(caller.user->id);
    group.member_ids.insert(group.member_ids.end(), others.begin(), others.end());
    room = &world.add_room(std::move(group));
  }
  json out = world.room_json(*room);
  out["rid"] = room->id;
  return success({{"room", std::move(out)}});
}

ServerResponse RestApi::users_info(const ServerRequest& request, Caller&) {
  World& world = sim_.world();
  const std::string id = request.query_param("userId");
  const std::string username = request.query_param("username");
  if (id.empty() && username.empty()) {
    return failure("error-user-param-not-provided", "The required \"userId\" or \"username\" param was not provided");
  }
  const User* user = !id.empty() ? world.user_by_id(id) : world.user_by_username(username);
  if (user == nullptr) return failure("error-invalid-user", "User not found.");
  return success({{"user", world.user_json(*user, false)}});
}

ServerResponse RestApi::users_set_status(const ServerRequest& request, Caller& caller) {
  const auto body = body_object(request);
  if (!body) return bad_body();
  const std::string status = str(*body, "status");
  if (status != "online" && status != "away" && status != "busy" && status != "offline") {
    return failure("error-invalid-status", "Valid status types include online, away, offline, and busy.");
  }
  sim_.world().set_status(*caller.user, status, str(*body, "message"));
  return success();
}

ServerResponse RestApi::channels_history(const ServerRequest& request, Caller& caller) {
  return history(request, caller, "c");
}
ServerResponse RestApi::groups_history(const ServerRequest& request, Caller& caller) {
  return history(request, caller, "p");
}
ServerResponse RestApi::im_history(const ServerRequest& request, Caller& caller) {
  return history(request, caller, "d");
}

ServerResponse RestApi::history(const ServerRequest& request, Caller& caller, const char* type) {
  World& world = sim_.world();
  const std::string id = request.query_param("roomId");
  const std::string name = request.query_param("roomName");
  if (id.empty() && name.empty()) {
    return failure("error-room-param-not-provided", "The parameter \"roomId\" or \"roomName\" is required");
  }
  const Room* room = !id.empty() ? world.room_by_id(id) : world.room_by_name(name);
  if (room == nullptr || room->type != type) {
    return failure("error-room-not-found", "The required \"roomId\" or \"roomName\" param provided does not match any room");
  }
  if (!world.can_access(*room, caller.user->id)) return failure("error-not-allowed", "Not allowed");
  std::optional<std::int64_t> oldest;
  std::optional<std::int64_t> latest;
  if (const std::string t = request.query_param("oldest"); !t.empty()) {
    oldest = parse_iso8601(t);
    if (!oldest) return failure("error-invalid-date", "Invalid date for `oldest`");
  }
  if (const std::string t = request.query_param("latest"); !t.empty()) {
    latest = parse_iso8601(t);
    if (!latest) return failure("error-invalid-date", "Invalid date for `latest`");
  }
  const bool inclusive = request.query_param("inclusive") == "true";
  long count = 20;
  long offset = 0;
  try {
    if (const std::string c = request.query_param("count"); !c.empty()) count = std::stol(c);
    if (const std::string o = request.query_param("offset"); !o.empty()) offset = std::max(0L, std::stol(o));
  } catch (const std::exception&) {
    return failure("error-invalid-params", "count and offset must be numbers");
  }
  json messages = json::array();
  const auto all = world.room_messages(room->id);
  long skipped = 0;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {  // newest first, like the server
    const std::int64_t ts = ddp::ejson_date((**it)["ts"]).value_or(0);
    if (oldest && (inclusive ? ts < *oldest : ts <= *oldest)) continue;
    if (latest && (inclusive ? ts > *latest : ts >= *latest)) continue;
    if (skipped < offset) {
      ++skipped;
      continue;
    }
    if (count > 0 && static_cast<long>(messages.size()) >= count) break;
    messages.push_back(**it);
  }
  return success({{"messages", std::move(messages)}});
}

// ---------------------------------------------------------------------------------------------
// Uploads (PROTOCOL.md §7.3)

namespace {

// The rest of the path after a prefix route, split at '/': "<rid>" or "<rid>/<fileId>".
std::vector<std::string> path_args(const std::string& path, const char* prefix) {
  std::vector<std::string> out;
  std::string_view rest = std::string_view(path).substr(std::string_view(prefix).size());
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    out.push_back(url_decode(rest.substr(0, slash)));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return out;
}

std::string percent_encode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct ReceivedUpload {
  const FormPart* file = nullptr;
  std::map<std::string, std::string> fields;  // text parts
};

}  // namespace

// The checks a server makes before it keeps a file, in its order: uploads on, a well-formed
// body with exactly one file in the part `file`, the size limit, the media type white list.
static std::optional<ServerResponse> check_upload(Sim& sim, const ServerRequest& request,
                                                  std::vector<FormPart>& parts,
                                                  ReceivedUpload& out) {
  const SimSettings& settings = sim.settings();
  if (!settings.upload_enabled) {
    sim.uploads().count_rejected();
    return failure("error-file-upload-disabled", "File upload is disabled");
  }
  std::string error;
  auto parsed = parse_multipart(request.header("Content-Type"), request.body, error);
  if (!parsed) return failure("error-invalid-body", "Invalid multipart body: " + error);
  parts = std::move(*parsed);
  for (const auto& part : parts) {
    if (part.is_file) {
      if (part.name != "file" || out.file != nullptr) {
        return failure("invalid-field", "Only one file, in the field 'file', is accepted");
      }
      out.file = &part;
    } else {
      out.fields[part.name] = std::string(part.data);
    }
  }
  if (out.file == nullptr) return failure("invalid-field", "No file uploaded");
  if (settings.upload_max_bytes >= 0 &&
      out.file->data.size() > static_cast<std::uint64_t>(settings.upload_max_bytes)) {
    sim.uploads().count_rejected();
    spdlog::info("sim: refusing upload '{}' of {} bytes (FileUpload_MaxFileSize {})",
                 out.file->file_name, out.file->data.size(), settings.upload_max_bytes);
    return failure("error-file-too-large", "File size exceeds the allowed limit");
  }
  const std::string type = out.file->content_type.empty() ? "application/octet-stream"
                                                          : out.file->content_type;
  if (!media_type_allowed(settings.upload_media_types, type)) {
    sim.uploads().count_rejected();
    return failure("error-invalid-file-type", "File type is not accepted");
  }
  return std::nullopt;
}

static const Room* upload_room(World& world, const std::string& rid, const User& user) {
  const Room* room = world.room_by_id(rid);
  return room != nullptr && world.can_access(*room, user.id) ? room : nullptr;
}

ServerResponse RestApi::rooms_media(const ServerRequest& request, Caller& caller) {
  const auto args = path_args(request.path, "/api/v1/rooms.media/");
  if (args.size() != 1) return failure("error-invalid-params", "Expected /api/v1/rooms.media/:rid");
  const Room* room = upload_room(sim_.world(), args[0], *caller.user);
  if (room == nullptr) return failure("error-not-allowed", "Not allowed", 403);
  std::vector<FormPart> parts;
  ReceivedUpload upload;
  if (auto refused = check_upload(sim_, request, parts, upload)) return *refused;
  const std::string type = upload.file->content_type.empty() ? "application/octet-stream"
                                                             : upload.file->content_type;
  const StoredFile& file = sim_.uploads().add(room->id, caller.user->id, upload.file->file_name,
                                              type, upload.file->data, "rooms.media");
  return success({{"file", {{"_id", file.id}, {"url", "/file-upload/" + file.id + "/" + file.name}}}});
}

ServerResponse RestApi::rooms_media_confirm(const ServerRequest& request, Caller& caller) {
  const auto args = path_args(request.path, "/api/v1/rooms.mediaConfirm/");
  if (args.size() != 2) {
    return failure("error-invalid-params", "Expected /api/v1/rooms.mediaConfirm/:rid/:fileId");
  }
  const Room* room = upload_room(sim_.world(), args[0], *caller.user);
  if (room == nullptr) return failure("error-not-allowed", "Not allowed", 403);
  StoredFile* file = sim_.uploads().find(args[1]);
  if (file == nullptr || file->rid != room->id || file->uid != caller.user->id ||
      !file->message_id.empty()) {
    return failure("invalid-file", "Invalid file");
  }
  const auto body = body_object(request);
  if (!body) return bad_body();
  if (sim_.settings().flavour >= 8) {
    static const std::vector<std::string> kKnown = {"msg",   "description", "tmid",         "alias",
                                                    "emoji", "avatar",      "groupable",    "customFields",
                                                    "t",     "content",     "fileName",     "fileContent"};
    for (const auto& [key, value] : body->items()) {
      if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
        return json_response(400, {{"success", false},
                                   {"error", "must NOT have additional properties [invalid-params]"},
                                   {"errorType", "invalid-params"}});
      }
    }
  }
  for (const char* key : {"msg", "description", "tmid"}) {
    if (body->contains(key) && !(*body)[key].is_string()) {
      return failure("invalid-params", std::string(key) + " must be a string");
    }
  }
  World::NewMessage m;
  m.rid = room->id;
  m.text = str(*body, "msg");
  m.tmid = str(*body, "tmid");
  m.extra = file_message_fields(*file, str(*body, "description"), sim_.settings().flavour >= 8);
  try {
    const json& stored = sim_.world().post_message(caller.user->id, std::move(m));
    file->message_id = stored["_id"].get<std::string>();
    return success({{"message", stored}});
  } catch (const WorldError& e) {
    return failure(e);
  }
}

ServerResponse RestApi::rooms_upload(const ServerRequest& request, Caller& caller) {
  const auto args = path_args(request.path, "/api/v1/rooms.upload/");
  if (args.size() != 1) return failure("error-invalid-params", "Expected /api/v1/rooms.upload/:rid");
  const Room* room = upload_room(sim_.world(), args[0], *caller.user);
  if (room == nullptr) return failure("error-not-allowed", "Not allowed", 403);
  std::vector<FormPart> parts;
  ReceivedUpload upload;
  if (auto refused = check_upload(sim_, request, parts, upload)) return *refused;
  const std::string type = upload.file->content_type.empty() ? "application/octet-stream"
                                                             : upload.file->content_type;
  StoredFile& file = sim_.uploads().add(room->id, caller.user->id, upload.file->file_name, type,
                                        upload.file->data, "rooms.upload");
  World::NewMessage m;
  m.rid = room->id;
  m.text = upload.fields["msg"];
  m.tmid = upload.fields["tmid"];
  m.extra = file_message_fields(file, upload.fields["description"], false);
  try {
    const json& stored = sim_.world().post_message(caller.user->id, std::move(m));
    file.message_id = stored["_id"].get<std::string>();
    return success({{"message", stored}});
  } catch (const WorldError& e) {
    return failure(e);
  }
}

ServerResponse RestApi::file_upload(const ServerRequest& request) {
  std::string uid(request.header("X-User-Id"));
  std::string token(request.header("X-Auth-Token"));
  if (token.empty()) {
    uid = request.query_param("rc_uid");
    token = request.query_param("rc_token");
  }
  World& world = sim_.world();
  const LoginToken* record = token.empty() ? nullptr : world.find_token(token);
  if (record == nullptr || record->user_id != uid || World::expired(*record, now_ms())) {
    return json_response(403, {{"success", false}, {"error", "Forbidden"}});
  }
  const auto args = path_args(request.path, "/file-upload/");
  StoredFile* file = args.empty() ? nullptr : sim_.uploads().find(args[0]);
  const Room* room = file == nullptr ? nullptr : world.room_by_id(file->rid);
  if (file == nullptr || room == nullptr || !world.can_access(*room, uid)) {
    return json_response(404, {{"success", false}, {"error", "File not found"}});
  }
  auto bytes = sim_.uploads().read(*file);
  if (!bytes) return json_response(500, {{"success", false}, {"error", "the stored file is gone"}});
  net::ServerResponse response;
  response.status = 200;
  response.headers = {{"Content-Type", file->type},
                      {"Content-Disposition", "attachment; filename*=UTF-8''" + percent_encode(file->name)}};
  response.body = std::move(*bytes);
  return response;
}

}  // namespace rcgate::sim
