#include "core/state.hpp"

#include <utility>

namespace rcgate::core {

using json = nlohmann::json;

namespace {

json person_to_json(const Person& p) {
  return {{"user_id", p.user_id},
          {"username", p.username},
          {"display_name", p.display_name},
          {"first_seen", p.first_seen_ms},
          {"last_seen", p.last_seen_ms}};
}

json device_to_json(const Device& d) {
  json persons = json::array();
  for (const auto& p : d.persons) persons.push_back(person_to_json(p));
  json settings = json::object();
  settings["mention_commands"] =
      d.mention_commands_override ? json(*d.mention_commands_override) : json(nullptr);
  return {{"id", d.id},
          {"name", d.name},
          {"room_name", d.room_name},
          {"type", d.type},
          {"parent_id", d.parent_id},
          {"team_id", d.team_id},
          {"team_main", d.team_main},
          {"available", d.available},
          {"settings", std::move(settings)},
          {"last",
           {{"id", d.last.id},
            {"text", d.last.text},
            {"sender_id", d.last.sender_id},
            {"sender_username", d.last.sender_username},
            {"sender_name", d.last.sender_name},
            {"at", d.last.at_ms}}},
          {"persons", std::move(persons)}};
}

// Reads fields of one JSON object, taking defaults for what is missing and noting what has the
// wrong type. `where` names the object in warnings ("devices[2]").
class Reader {
 public:
  Reader(const json& object, std::string where, std::vector<std::string>* warnings)
      : object_(object), where_(std::move(where)), warnings_(warnings) {}

  void read(const char* key, std::string& out) {
    if (const json* v = find(key)) {
      if (v->is_string()) {
        out = v->get<std::string>();
      } else {
        warn(key, "expected a string");
      }
    }
  }
  void read(const char* key, std::int64_t& out) {
    if (const json* v = find(key)) {
      if (v->is_number_integer()) {
        out = v->get<std::int64_t>();
      } else {
        warn(key, "expected an integer");
      }
    }
  }
  void read(const char* key, std::uint64_t& out) {
    if (const json* v = find(key)) {
      if (v->is_number_unsigned()) {
        out = v->get<std::uint64_t>();
      } else {
        warn(key, "expected a count");
      }
    }
  }
  void read(const char* key, bool& out) {
    if (const json* v = find(key)) {
      if (v->is_boolean()) {
        out = v->get<bool>();
      } else {
        warn(key, "expected true or false");
      }
    }
  }
  void read(const char* key, std::optional<bool>& out) {
    if (const json* v = find(key)) {
      if (v->is_boolean()) {
        out = v->get<bool>();
      } else {
        warn(key, "expected true, false or null");
      }
    }
  }
  // The array or object under key, or nullptr (missing, null, or of the wrong type: noted).
  const json* array(const char* key) { return container(key, true); }
  const json* object(const char* key) { return container(key, false); }
  std::string child(const char* key) const { return where_ + (where_.empty() ? "" : ".") + key; }
  void warn(const std::string& key, const std::string& what) {
    if (warnings_) warnings_->push_back(child(key.c_str()) + ": " + what + "; ignored");
  }

 private:
  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  const json* container(const char* key, bool want_array) {
    const json* v = find(key);
    if (!v) return nullptr;
    if (want_array ? v->is_array() : v->is_object()) return v;
    warn(key, want_array ? "expected a list" : "expected an object");
    return nullptr;
  }

  const json& object_;
  std::string where_;
  std::vector<std::string>* warnings_;
};

void skip(std::vector<std::string>* warnings, const std::string& where, const std::string& why) {
  if (warnings) warnings->push_back(where + ": " + why + "; skipped");
}

std::optional<Person> person_from_json(const json& j, const std::string& where,
                                       std::vector<std::string>* warnings) {
  if (!j.is_object()) return skip(warnings, where, "not an object"), std::nullopt;
  Person p;
  Reader r(j, where, warnings);
  r.read("user_id", p.user_id);
  r.read("username", p.username);
  r.read("display_name", p.display_name);
  r.read("first_seen", p.first_seen_ms);
  r.read("last_seen", p.last_seen_ms);
  if (p.user_id.empty()) return skip(warnings, where, "no user_id"), std::nullopt;
  return p;
}

std::optional<Device> device_from_json(const json& j, const std::string& where,
                                       std::vector<std::string>* warnings) {
  if (!j.is_object()) return skip(warnings, where, "not an object"), std::nullopt;
  Device d;
  Reader r(j, where, warnings);
  r.read("id", d.id);
  if (d.id.empty()) return skip(warnings, where, "no id"), std::nullopt;
  r.read("name", d.name);
  r.read("room_name", d.room_name);
  r.read("type", d.type);
  r.read("parent_id", d.parent_id);
  r.read("team_id", d.team_id);
  r.read("team_main", d.team_main);
  r.read("available", d.available);
  if (d.name.empty()) d.name = d.room_name.empty() ? d.id : d.room_name;
  if (const json* settings = r.object("settings")) {
    Reader s(*settings, r.child("settings"), warnings);
    s.read("mention_commands", d.mention_commands_override);
  }
  if (const json* last = r.object("last")) {
    Reader l(*last, r.child("last"), warnings);
    l.read("id", d.last.id);
    l.read("text", d.last.text);
    l.read("sender_id", d.last.sender_id);
    l.read("sender_username", d.last.sender_username);
    l.read("sender_name", d.last.sender_name);
    l.read("at", d.last.at_ms);
  }
  if (const json* persons = r.array("persons")) {
    for (std::size_t i = 0; i < persons->size(); ++i) {
      auto p = person_from_json((*persons)[i], r.child("persons") + "[" + std::to_string(i) + "]",
                                warnings);
      if (p) d.persons.push_back(std::move(*p));
    }
  }
  return d;
}

std::optional<SeenUser> user_from_json(const json& j, const std::string& where,
                                       std::vector<std::string>* warnings) {
  if (!j.is_object()) return skip(warnings, where, "not an object"), std::nullopt;
  SeenUser u;
  Reader r(j, where, warnings);
  r.read("user_id", u.user_id);
  r.read("username", u.username);
  r.read("display_name", u.display_name);
  r.read("first_seen", u.first_seen_ms);
  r.read("last_seen", u.last_seen_ms);
  r.read("count", u.count);
  if (u.user_id.empty()) return skip(warnings, where, "no user_id"), std::nullopt;
  return u;
}

// A list of strings; other entries are skipped.
std::vector<std::string> strings_from_json(const json* list, const std::string& where,
                                           std::vector<std::string>* warnings) {
  std::vector<std::string> out;
  if (!list) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& v = (*list)[i];
    if (v.is_string() && !v.get_ref<const std::string&>().empty()) {
      out.push_back(v.get<std::string>());
    } else {
      skip(warnings, where + "[" + std::to_string(i) + "]", "not an id");
    }
  }
  return out;
}

}  // namespace

json to_json(const State& state) {
  json devices = json::array();
  for (const auto& d : state.devices) devices.push_back(device_to_json(d));
  json users = json::array();
  for (const auto& u : state.users) {
    users.push_back({{"user_id", u.user_id},
                     {"username", u.username},
                     {"display_name", u.display_name},
                     {"first_seen", u.first_seen_ms},
                     {"last_seen", u.last_seen_ms},
                     {"count", u.count}});
  }
  json positions = json::object();
  for (const auto& [room, ts] : state.router.read_positions) positions[room] = ts;
  return {{"version", kStateVersion},
          {"devices", std::move(devices)},
          {"users", std::move(users)},
          {"handled", state.router.handled_ids},
          {"read_positions", std::move(positions)},
          {"encrypted_noticed", state.router.encrypted_noticed}};
}

State state_from_json(const json& document, std::vector<std::string>* warnings) {
  State state;
  if (!document.is_object()) return state;
  Reader r(document, "", warnings);
  if (const json* devices = r.array("devices")) {
    for (std::size_t i = 0; i < devices->size(); ++i) {
      auto d = device_from_json((*devices)[i], "devices[" + std::to_string(i) + "]", warnings);
      if (d) state.devices.push_back(std::move(*d));
    }
  }
  if (const json* users = r.array("users")) {
    for (std::size_t i = 0; i < users->size(); ++i) {
      auto u = user_from_json((*users)[i], "users[" + std::to_string(i) + "]", warnings);
      if (u) state.users.push_back(std::move(*u));
    }
  }
  state.router.handled_ids = strings_from_json(r.array("handled"), "handled", warnings);
  state.router.encrypted_noticed =
      strings_from_json(r.array("encrypted_noticed"), "encrypted_noticed", warnings);
  if (const json* positions = r.object("read_positions")) {
    for (const auto& [room, ts] : positions->items()) {
      if (ts.is_number_integer()) {
        state.router.read_positions[room] = ts.get<std::int64_t>();
      } else {
        skip(warnings, "read_positions." + room, "expected a message time");
      }
    }
  }
  return state;
}

StateLoad load_state(std::string_view text) {
  StateLoad result;
  json document;
  try {
    document = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    result.status = StateLoad::Status::Corrupt;
    result.error = std::string("not valid JSON: ") + e.what();
    return result;
  }
  if (!document.is_object()) {
    result.status = StateLoad::Status::Corrupt;
    result.error =
        "not a state document: expected a JSON object, got " + std::string(document.type_name());
    return result;
  }
  const auto version = document.find("version");
  if (version == document.end()) {
    // Files from before the format was versioned hold the same fields.
    result.warnings.push_back("no format version; read as version " +
                              std::to_string(kStateVersion));
  } else if (!version->is_number_integer() || version->get<std::int64_t>() < 1) {
    result.status = StateLoad::Status::Corrupt;
    result.error =
        "not a state document: 'version' must be a positive integer, got " + version->dump();
    return result;
  } else if (version->get<std::int64_t>() > kStateVersion) {
    result.status = StateLoad::Status::Newer;
    result.error = "written by a newer rcgate (state format " + version->dump() +
                   "; this one reads up to " + std::to_string(kStateVersion) + ")";
    return result;
  }
  result.state = state_from_json(document, &result.warnings);
  return result;
}

std::string dump_state(const State& state) {
  // Replace rather than throw on invalid UTF-8: a message text must never stop a save.
  return to_json(state).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace rcgate::core
