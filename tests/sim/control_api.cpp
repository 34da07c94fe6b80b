#include "control_api.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>

#include "chaos.hpp"
#include "http_util.hpp"
#include "loadgen.hpp"
#include "sim.hpp"
#include "world.hpp"

namespace rcgate::sim {
namespace {

using json = nlohmann::json;
using net::ServerRequest;
using net::ServerResponse;

struct ControlError : std::runtime_error {
  ControlError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
  int status;
};

ServerResponse ok(json body = json::object()) {
  body["ok"] = true;
  return json_response(200, body);
}

std::optional<std::string> opt_string(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw ControlError(400, std::string("'") + key + "' must be a string");
  return it->get<std::string>();
}

std::string req_string(const json& body, const char* key) {
  auto value = opt_string(body, key);
  if (!value || value->empty()) throw ControlError(400, std::string("'") + key + "' is required");
  return *value;
}

std::optional<bool> opt_bool(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw ControlError(400, std::string("'") + key + "' must be true or false");
  return it->get<bool>();
}

std::optional<std::int64_t> opt_int(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) throw ControlError(400, std::string("'") + key + "' must be an integer");
  return it->get<std::int64_t>();
}

std::optional<std::vector<std::string>> opt_strings(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) throw ControlError(400, std::string("'") + key + "' must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) throw ControlError(400, std::string("'") + key + "' must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

User& need_user(World& world, const std::string& username) {
  User* user = world.user_by_username(username);
  if (user == nullptr) user = world.user_by_id(username);
  if (user == nullptr) throw ControlError(404, "no user '" + username + "'");
  return *user;
}

Room& need_room(World& world, const std::string& id_or_name) {
  Room* room = world.room_by_id_or_name(id_or_name);
  if (room == nullptr) throw ControlError(404, "no room '" + id_or_name + "'");
  return *room;
}

std::string actor_id(World& world, const json& body) {
  const auto by = opt_string(body, "by");
  return by ? need_user(world, *by).id : std::string();
}

json room_summary(World& world, const Room& room) {
  json out = world.room_json(room);
  json members = json::array();
  for (const auto& uid : room.member_ids) {
    if (const User* user = world.user_by_id(uid)) members.push_back(user->username);
  }
  out["members"] = members;
  return out;
}

}  // namespace

ServerResponse ControlApi::handle(const ServerRequest& request) {
  try {
    World& world = sim_.world();
    const std::string& path = request.path;
    const bool post = request.method == "POST";
    const bool get = request.method == "GET";
    json body = json::object();
    if (post) {
      auto parsed = body_object(request);
      if (!parsed) throw ControlError(400, "the body must be a JSON object");
      body = std::move(*parsed);
    }

    if (path == "/_sim/stats" && get) return ok(sim_.stats_json());

    // Every file received (size and sha256, so tests compare without downloading), and how many
    // uploads were refused (size, type, uploads disabled).
    if (path == "/_sim/uploads" && get) return ok(sim_.uploads().to_json());

    if (path == "/_sim/messages" && get) {
      const std::string room_name = request.query_param("room");
      if (room_name.empty()) throw ControlError(400, "'room' query parameter is required");
      const Room& room = need_room(world, room_name);
      json messages = json::array();
      for (const json* m : world.room_messages(room.id)) messages.push_back(*m);
      return ok({{"messages", std::move(messages)}});
    }

    if (path == "/_sim/messages" && post) {
      User& user = need_user(world, req_string(body, "user"));
      World::NewMessage m;
      if (const auto to = opt_string(body, "to")) {
        m.rid = world.direct_room(user.id, need_user(world, *to).id).id;
      } else {
        m.rid = need_room(world, req_string(body, "room")).id;
      }
      const auto text = opt_string(body, "text");
      m.text = text.value_or("");
      m.tmid = opt_string(body, "tmid").value_or("");
      m.id = opt_string(body, "id").value_or("");
      m.tshow = opt_bool(body, "tshow").value_or(false);
      for (const char* key : {"attachments", "alias", "emoji", "avatar", "customFields", "file", "files",
                              "groupable", "t", "e2e", "content", "bot"}) {
        if (body.contains(key)) m.extra[key] = body[key];
      }
      try {
        bool duplicate = false;
        const json& message = world.post_message(user.id, std::move(m), &duplicate);
        return ok({{"message", message}, {"duplicate", duplicate}});
      } catch (const WorldError& e) {
        throw ControlError(400, std::string(e.what()) + " [" + e.code + "]");
      }
    }

    if (path == "/_sim/messages/edit" && post) {
      const std::string id = req_string(body, "id");
      const json* original = world.message(id);
      if (original == nullptr) throw ControlError(404, "no message '" + id + "'");
      const auto by = opt_string(body, "user");
      const std::string editor = by ? need_user(world, *by).id : (*original)["u"]["_id"].get<std::string>();
      const auto text = opt_string(body, "text");
      if (!text) throw ControlError(400, "'text' is required");
      try {
        return ok({{"message", world.edit_message(id, *text, editor)}});
      } catch (const WorldError& e) {
        throw ControlError(400, std::string(e.what()) + " [" + e.code + "]");
      }
    }

    if (path == "/_sim/messages/react" && post) {
      const std::string id = req_string(body, "id");
      if (world.message(id) == nullptr) throw ControlError(404, "no message '" + id + "'");
      User& user = need_user(world, req_string(body, "user"));
      const bool remove = opt_bool(body, "remove").value_or(false);
      try {
        return ok({{"message", world.react(id, user.id, req_string(body, "emoji"), !remove)}});
      } catch (const WorldError& e) {
        throw ControlError(400, std::string(e.what()) + " [" + e.code + "]");
      }
    }

    if (path == "/_sim/rooms" && get) {
      json rooms = json::array();
      for (const Room* room : world.all_rooms()) rooms.push_back(room_summary(world, *room));
      return ok({{"rooms", std::move(rooms)}});
    }

    if (path == "/_sim/rooms" && post) {
      Room room;
      room.name = req_string(body, "name");
      room.fname = opt_string(body, "fname").value_or(room.name);
      room.type = opt_string(body, "type").value_or("c");
      if (room.type != "c" && room.type != "p") throw ControlError(400, "'type' must be \"c\" or \"p\"");
      room.id = opt_string(body, "id").value_or("");
      for (const auto& username : opt_strings(body, "members").value_or(std::vector<std::string>{})) {
        room.member_ids.push_back(need_user(world, username).id);
      }
      try {
        return ok({{"room", room_summary(world, world.add_room(std::move(room)))}});
      } catch (const WorldError& e) {
        throw ControlError(400, std::string(e.what()) + " [" + e.code + "]");
      }
    }

    if (path == "/_sim/rooms/rename" && post) {
      Room& room = need_room(world, req_string(body, "room"));
      try {
        world.rename_room(room, req_string(body, "name"), actor_id(world, body));
      } catch (const WorldError& e) {
        throw ControlError(400, std::string(e.what()) + " [" + e.code + "]");
      }
      return ok({{"room", room_summary(world, room)}});
    }

    if ((path == "/_sim/rooms/add-member" || path == "/_sim/rooms/remove-member") && post) {
      Room& room = need_room(world, req_string(body, "room"));
      User& user = need_user(world, req_string(body, "user"));
      try {
        if (path == "/_sim/rooms/add-member") {
          world.add_member(room, user.id, actor_id(world, body));
        } else {
          world.remove_member(room, user.id, actor_id(world, body));
        }
      } catch (const WorldError& e) {
        throw ControlError(409, std::string(e.what()) + " [" + e.code + "]");
      }
      return ok({{"room", room_summary(world, room)}});
    }

    if (path == "/_sim/users" && post) {
      User user;
      user.username = req_string(body, "username");
      user.id = opt_string(body, "id").value_or("");
      user.name = opt_string(body, "name").value_or(user.username);
      user.password = opt_string(body, "password").value_or("");
      user.roles = opt_strings(body, "roles").value_or(std::vector<std::string>{"user"});
      user.totp = opt_bool(body, "totp").value_or(false);
      try {
        User& added = world.add_user(std::move(user));
        if (const auto pat = opt_string(body, "pat")) world.add_personal_access_token(added.id, *pat);
        return ok({{"user", world.user_json(added, false)}});
      } catch (const WorldError& e) {
        throw ControlError(409, std::string(e.what()) + " [" + e.code + "]");
      }
    }

    if (path == "/_sim/users/update" && post) {
      User& user = need_user(world, req_string(body, "username"));
      if (const auto v = opt_string(body, "password")) user.password = *v;
      if (const auto v = opt_string(body, "name")) user.name = *v;
      if (const auto v = opt_strings(body, "roles")) user.roles = *v;
      if (const auto v = opt_bool(body, "totp")) user.totp = *v;
      if (const auto v = opt_string(body, "pat")) world.add_personal_access_token(user.id, *v);
      return ok({{"user", world.user_json(user, false)}});
    }

    if (path == "/_sim/tokens" && post) {
      User& user = need_user(world, req_string(body, "user"));
      if (opt_bool(body, "pat").value_or(false)) {
        const std::string token = opt_string(body, "token").value_or(World::secret_token());
        world.add_personal_access_token(user.id, token);
        return ok({{"token", token}, {"userId", user.id}});
      }
      return ok({{"token", world.issue_login_token(user.id)}, {"userId", user.id}});
    }

    if (path == "/_sim/tokens/expire" && post) {
      User& user = need_user(world, req_string(body, "user"));
      return ok({{"expired", world.expire_login_tokens(user.id)}});
    }

    if (path == "/_sim/frames" && post) {
      // {"frame": {...}} (a JSON frame) or {"raw": "text"} (sent as it is, even if malformed).
      std::string frame;
      if (body.contains("raw") && body["raw"].is_string()) {
        frame = body["raw"].get<std::string>();
      } else if (body.contains("frame")) {
        frame = body["frame"].dump();
      } else {
        throw ControlError(400, "'frame' (JSON) or 'raw' (text) is required");
      }
      return ok({{"sent", sim_.inject_frame(frame)}});
    }

    // The benchmark's load generator (loadgen.hpp).
    if (path.rfind("/_sim/load", 0) == 0) {
      LoadGen& load = sim_.load();
      try {
        if (path == "/_sim/load" && get) return ok({{"load", load.stats()}});
        if (path == "/_sim/load/rate" && post) return ok({{"load", load.start_rate(body)}});
        if (path == "/_sim/load/burst" && post) return ok({{"load", load.start_burst(body)}});
        if (path == "/_sim/load/stop" && post) return ok({{"load", load.stop()}});
        if (path == "/_sim/load/reset" && post) return ok({{"load", load.reset()}});
      } catch (const std::invalid_argument& e) {
        throw ControlError(400, e.what());
      }
    }

    if (path.rfind("/_sim/chaos", 0) == 0) {
      try {
        return sim_.chaos().handle(request, body);
      } catch (const std::invalid_argument& e) {
        throw ControlError(400, e.what());
      }
    }

    if (path == "/_sim/connections/drop" && post) return ok({{"dropped", sim_.drop_connections()}});

    if (path == "/_sim/faults" && post) {
      Faults& f = sim_.faults();
      if (const auto v = opt_int(body, "refuse_logins")) f.refuse_logins = static_cast<int>(*v);
      if (const auto v = opt_int(body, "time_to_reset_ms")) f.time_to_reset_ms = *v;
      if (const auto v = opt_int(body, "rest_login_429")) f.rest_login_429 = static_cast<int>(*v);
      if (const auto v = opt_int(body, "reset_ms")) f.rest_reset_ms = *v;
      if (const auto v = opt_bool(body, "answer_pings")) f.answer_pings = *v;
      if (const auto v = opt_bool(body, "refuse_connections")) f.refuse_connections = *v;
      spdlog::info("sim: faults refuse_logins={} rest_login_429={} answer_pings={} refuse_connections={}",
                   f.refuse_logins, f.rest_login_429, f.answer_pings, f.refuse_connections);
      return ok({{"faults",
                  {{"refuse_logins", f.refuse_logins},
                   {"time_to_reset_ms", f.time_to_reset_ms},
                   {"rest_login_429", f.rest_login_429},
                   {"reset_ms", f.rest_reset_ms},
                   {"answer_pings", f.answer_pings},
                   {"refuse_connections", f.refuse_connections}}}});
    }

    if (path == "/_sim/settings" && post) {
      SimSettings& s = sim_.settings();
      if (const auto v = opt_int(body, "flavour")) {
        if (*v != 6 && *v != 7 && *v != 8) throw ControlError(400, "'flavour' must be 6, 7 or 8");
        s.flavour = static_cast<int>(*v);
      }
      if (const auto v = opt_int(body, "upload_max_bytes")) s.upload_max_bytes = *v;
      if (const auto v = opt_bool(body, "greeting")) s.greeting = *v;
      if (const auto v = opt_string(body, "pat_token_expires")) {
        if (*v != "null" && *v != "absent") throw ControlError(400, "'pat_token_expires' must be \"null\" or \"absent\"");
        s.pat_expires_null = *v == "null";
      }
      if (const auto v = opt_int(body, "rest_limit_calls")) s.rest_limit_calls = static_cast<int>(*v);
      if (const auto v = opt_int(body, "rest_limit_window_ms")) s.rest_limit_window_ms = *v;
      if (const auto v = opt_bool(body, "rooms_media")) s.rooms_media = *v;
      if (const auto v = opt_bool(body, "upload_enabled")) s.upload_enabled = *v;
      if (const auto v = opt_string(body, "upload_media_types")) s.upload_media_types = *v;
      return ok({{"settings",
                  {{"flavour", s.flavour},
                   {"upload_max_bytes", s.upload_max_bytes},
                   {"greeting", s.greeting},
                   {"pat_token_expires", s.pat_expires_null ? "null" : "absent"},
                   {"rest_limit_calls", s.rest_limit_calls},
                   {"rest_limit_window_ms", s.rest_limit_window_ms},
                   {"rooms_media", s.rooms_media},
                   {"upload_enabled", s.upload_enabled},
                   {"upload_media_types", s.upload_media_types}}}});
    }

    throw ControlError(404, "no control route " + request.method + " " + path);
  } catch (const ControlError& e) {
    return json_response(e.status, {{"ok", false}, {"error", e.what()}});
  }
}

}  // namespace rcgate::sim
