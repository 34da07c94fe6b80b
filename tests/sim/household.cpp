#include "household.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rcgate::sim {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string get_string(const json& obj, const char* key, const std::string& where, bool required,
                       std::string fallback = {}) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) fail(where + "." + key, "missing");
    return fallback;
  }
  if (!it->is_string()) fail(where + "." + key, std::string("expected a string, got ") + it->type_name());
  return it->get<std::string>();
}

std::vector<std::string> get_strings(const json& obj, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) fail(where + "." + key, "expected an array of strings");
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      fail(where + "." + key + "[" + std::to_string(i) + "]", "expected a string");
    }
    out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

bool get_bool(const json& obj, const char* key, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) fail(where + "." + key, "expected true or false");
  return it->get<bool>();
}

}  // namespace

Household generated_household(int rooms, int users) {
  Household h;
  h.bot = "camera-bot";
  h.users.push_back({"BCmeyJm2r6b8hJiie", "camera-bot", "Camera Bot", "bot-password", {"bot"},
                     "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb", false});
  char name[32];
  for (int j = 0; j < users; ++j) {
    std::snprintf(name, sizeof name, "user%03d", j + 1);
    h.users.push_back({"", name, std::string("User ") + (name + 4), "user-password", {"user"}, "", false});
  }
  for (int r = 0; r < rooms; ++r) {
    HouseholdRoom room;
    std::snprintf(name, sizeof name, "room%03d", r + 1);
    room.name = room.fname = name;
    room.members.push_back("camera-bot");
    for (int j = r; j < users; j += rooms) room.members.push_back(h.users[static_cast<std::size_t>(j) + 1].username);
    if (room.members.size() == 1 && users > 0) {
      room.members.push_back(h.users[static_cast<std::size_t>(r % users) + 1].username);
    }
    h.rooms.push_back(std::move(room));
  }
  return h;
}

Household default_household() {
  Household h;
  h.bot = "camera-bot";
  h.users = {
      {"BCmeyJm2r6b8hJiie", "camera-bot", "Camera Bot", "bot-password", {"bot"},
       "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb", false},
      {"t7EgqqFfkzCDKZrLg", "alice", "Alice Example", "alice-password", {"user"}, "", false},
      {"DPhWaXqgdLBFjrF2q", "bob", "Bob Example", "bob-password", {"user"}, "", false},
  };
  h.rooms = {
      {"GENERAL", "c", "general", "general", {"camera-bot", "alice", "bob"}, true},
      {"c3f8a6a80a707dc9ce744b9d", "p", "camera-alerts", "camera-alerts", {"camera-bot", "alice"}, false},
      {"6650a1b2c3d4e5f60718293a", "c", "lobby", "lobby", {"alice", "bob"}, false},
  };
  return h;
}

Household parse_household(const json& doc) {
  if (!doc.is_object()) fail("household", "expected a JSON object");
  Household h;
  const auto users = doc.find("users");
  if (users == doc.end() || !users->is_array()) fail("users", "expected an array");
  for (std::size_t i = 0; i < users->size(); ++i) {
    const std::string where = "users[" + std::to_string(i) + "]";
    const json& u = (*users)[i];
    if (!u.is_object()) fail(where, "expected an object");
    HouseholdUser user;
    user.id = get_string(u, "id", where, false);
    user.username = get_string(u, "username", where, true);
    user.name = get_string(u, "name", where, false, user.username);
    user.password = get_string(u, "password", where, false);
    user.roles = get_strings(u, "roles", where);
    if (user.roles.empty()) user.roles = {"user"};
    user.pat = get_string(u, "pat", where, false);
    user.totp = get_bool(u, "totp", where);
    h.users.push_back(std::move(user));
  }
  if (const auto rooms = doc.find("rooms"); rooms != doc.end() && !rooms->is_null()) {
    if (!rooms->is_array()) fail("rooms", "expected an array");
    for (std::size_t i = 0; i < rooms->size(); ++i) {
      const std::string where = "rooms[" + std::to_string(i) + "]";
      const json& r = (*rooms)[i];
      if (!r.is_object()) fail(where, "expected an object");
      HouseholdRoom room;
      room.id = get_string(r, "id", where, false);
      room.type = get_string(r, "type", where, false, "c");
      if (room.type != "c" && room.type != "p" && room.type != "d") {
        fail(where + ".type", "expected \"c\", \"p\" or \"d\"");
      }
      room.name = get_string(r, "name", where, room.type != "d");
      room.fname = get_string(r, "fname", where, false, room.name);
      room.members = get_strings(r, "members", where);
      if (room.type == "d" && room.members.size() < 2) fail(where + ".members", "a direct room needs two members");
      room.is_default = get_bool(r, "default", where) || room.id == "GENERAL";
      h.rooms.push_back(std::move(room));
    }
  }
  h.bot = get_string(doc, "bot", "household", false);
  return h;
}

Household load_household(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read household file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  try {
    return parse_household(doc);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace rcgate::sim
