#include "world.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "household.hpp"
#include "markup.hpp"
#include "rocketchat/ddp/codec.hpp"

namespace rcgate::sim {
namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

json date(std::int64_t ms) { return ddp::make_ejson_date(ms); }

int status_number(const std::string& status) {
  if (status == "online") return 1;
  if (status == "away") return 2;
  if (status == "busy") return 3;
  return 0;
}

// ":eyes:" from "eyes" or ":eyes:".
std::string normalise_emoji(std::string emoji) {
  if (emoji.empty()) return emoji;
  if (emoji.front() != ':') emoji.insert(emoji.begin(), ':');
  if (emoji.size() == 1 || emoji.back() != ':') emoji.push_back(':');
  return emoji;
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool User::has_role(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

World::World(Events events) : events_(std::move(events)) {}

std::string World::object_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(24, '0');
  for (auto& c : id) c = kHex[rng()() % 16];
  return id;
}

std::string World::secret_token() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token(43, 'A');
  for (auto& c : token) c = kAlphabet[rng()() % 64];
  return token;
}

// ---------------------------------------------------------------------------------------------
// Seeding

void World::seed(const Household& household) {
  for (const auto& u : household.users) {
    User user;
    user.id = u.id;
    user.username = u.username;
    user.name = u.name.empty() ? u.username : u.name;
    user.password = u.password;
    user.roles = u.roles;
    user.totp = u.totp;
    User& added = add_user(std::move(user));
    if (!u.pat.empty()) add_personal_access_token(added.id, u.pat);
  }
  if (!household.bot.empty() && user_by_username(household.bot) == nullptr) {
    throw WorldError("invalid-household", "bot '" + household.bot + "' is not among the users");
  }
  for (const auto& r : household.rooms) {
    Room room;
    room.id = r.id;
    room.type = r.type;
    room.name = r.name;
    room.fname = r.fname.empty() ? r.name : r.fname;
    room.is_default = r.is_default;
    if (room.type == "d") room.name = room.fname = {};
    for (const auto& username : r.members) {
      const User* member = user_by_username(username);
      if (member == nullptr) {
        throw WorldError("invalid-household",
                         "room '" + r.name + "': member '" + username + "' is not among the users");
      }
      room.member_ids.push_back(member->id);
    }
    if (room.type == "d" && room.id.empty() && room.member_ids.size() == 2) {
      // 1:1 DM ids are the two user ids, sorted and concatenated.
      const auto& a = room.member_ids[0];
      const auto& b = room.member_ids[1];
      room.id = a < b ? a + b : b + a;
    }
    add_room(std::move(room));
  }
}

// ---------------------------------------------------------------------------------------------
// Users

User& World::add_user(User user) {
  if (user.username.empty()) throw WorldError("error-invalid-username", "username is empty");
  if (user_by_username(user.username) != nullptr) {
    throw WorldError("error-field-unavailable", user.username + " is already in use");
  }
  if (user.id.empty()) user.id = ddp::random_id();
  if (users_.count(user.id) != 0) throw WorldError("error-field-unavailable", "user id " + user.id + " is already in use");
  if (user.name.empty()) user.name = user.username;
  if (user.roles.empty()) user.roles = {"user"};
  user.created_at = now_ms();
  const std::string id = user.id;
  user_order_.push_back(id);
  return users_.emplace(id, std::move(user)).first->second;
}

User* World::user_by_id(const std::string& id) {
  const auto it = users_.find(id);
  return it == users_.end() ? nullptr : &it->second;
}

User* World::user_by_username(const std::string& username) {
  for (auto& [id, user] : users_) {
    if (user.username == username) return &user;
  }
  return nullptr;
}

User* World::user_by_login_name(const std::string& name) {
  if (User* user = user_by_username(name)) return user;
  for (auto& [id, user] : users_) {
    if (user.username + "@example.org" == name) return &user;
  }
  return nullptr;
}

json World::user_brief(const User& user, bool with_name) const {
  json out = {{"_id", user.id}, {"username", user.username}};
  if (with_name) out["name"] = user.name;
  return out;
}

json World::user_json(const User& user, bool me) const {
  json out = {
      {"_id", user.id},
      {"type", user.has_role("bot") ? "bot" : "user"},
      {"status", user.status},
      {"active", true},
      {"name", user.name},
      {"username", user.username},
      {"roles", user.roles},
      {"utcOffset", 0},
      {"createdAt", date(user.created_at)},
      {"emails", json::array({{{"address", user.username + "@example.org"}, {"verified", true}}})},
  };
  if (!user.status_text.empty()) out["statusText"] = user.status_text;
  if (me) {
    out["statusConnection"] = user.status == "offline" ? "offline" : "online";
    out["settings"] = {{"preferences", json::object()}};
  }
  return out;
}

void World::set_status(User& user, const std::string& status, const std::string& text) {
  user.status = status;
  user.status_text = text;
  if (events_.logged_event) {
    events_.logged_event("user-status",
                         json::array({json::array({user.id, user.username, status_number(status),
                                                   user.status_text, user.name, user.roles})}));
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens

std::string World::issue_login_token(const std::string& uid) {
  const std::int64_t now = now_ms();
  std::string token = secret_token();
  tokens_[token] = LoginToken{token, uid, now, false};
  // Prune the oldest login tokens beyond the limit, like the server does (PATs excluded).
  std::vector<const LoginToken*> mine;
  for (const auto& [t, record] : tokens_) {
    if (record.user_id == uid && !record.pat) mine.push_back(&record);
  }
  if (mine.size() > kMaxLoginTokens) {
    std::sort(mine.begin(), mine.end(),
              [](const LoginToken* a, const LoginToken* b) { return a->when < b->when; });
    std::vector<std::string> doomed;
    for (std::size_t i = 0; i + kMaxLoginTokens < mine.size(); ++i) doomed.push_back(mine[i]->token);
    for (const auto& t : doomed) tokens_.erase(t);
  }
  return token;
}

void World::add_personal_access_token(const std::string& uid, const std::string& token) {
  tokens_[token] = LoginToken{token, uid, 0, true};
}

const LoginToken* World::find_token(const std::string& token) const {
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? nullptr : &it->second;
}

bool World::expired(const LoginToken& token, std::int64_t now) {
  return !token.pat && token.when + kTokenLifetimeMs < now;
}

std::optional<std::int64_t> World::expires_at(const LoginToken& token) {
  if (token.pat) return std::nullopt;
  return token.when + kTokenLifetimeMs;
}

bool World::remove_token(const std::string& token) { return tokens_.erase(token) != 0; }

int World::expire_login_tokens(const std::string& uid) {
  int n = 0;
  for (auto& [t, record] : tokens_) {
    if (record.user_id == uid && !record.pat) {
      record.when = now_ms() - kTokenLifetimeMs - 1000;
      ++n;
    }
  }
  return n;
}

std::map<std::string, int> World::login_token_counts() const {
  std::map<std::string, int> counts;
  for (const auto& id : user_order_) counts[users_.at(id).username] = 0;
  for (const auto& [t, record] : tokens_) {
    if (record.pat) continue;
    if (const auto it = users_.find(record.user_id); it != users_.end()) ++counts[it->second.username];
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Rooms

Room& World::add_room(Room room) {
  if (room.type != "c" && room.type != "p" && room.type != "d") {
    throw WorldError("error-invalid-room-type", "room type must be c, p or d");
  }
  if (room.id.empty()) room.id = object_id();
  if (rooms_.count(room.id) != 0) throw WorldError("error-duplicate-channel-name", "room id " + room.id + " exists");
  if (!room.is_dm()) {
    if (room.name.empty()) throw WorldError("error-invalid-room-name", "room name is empty");
    if (room_by_name(room.name) != nullptr) {
      throw WorldError("error-duplicate-channel-name", "A channel with name '" + room.name + "' exists");
    }
    if (room.fname.empty()) room.fname = room.name;
  }
  for (const auto& uid : room.member_ids) {
    if (users_.count(uid) == 0) throw WorldError("error-invalid-user", "no user with id " + uid);
  }
  if (room.creator_id.empty() && !room.is_dm()) {
    // The creator is the first human member (like a person who made the room), else anyone.
    for (const auto& uid : room.member_ids) {
      if (!users_.at(uid).has_role("bot")) {
        room.creator_id = uid;
        break;
      }
    }
    if (room.creator_id.empty() && !room.member_ids.empty()) room.creator_id = room.member_ids.front();
  }
  const std::int64_t now = now_ms();
  room.ts = room.updated_at = now;
  std::vector<std::string> members;
  members.swap(room.member_ids);
  const std::string id = room.id;
  room_order_.push_back(id);
  Room& stored = rooms_.emplace(id, std::move(room)).first->second;
  for (const auto& uid : members) {
    if (!is_member(stored, uid)) subscribe(stored, uid, now);
  }
  for (const auto& uid : stored.member_ids) emit_subscription("inserted", stored, uid);
  return stored;
}

Room* World::room_by_id(const std::string& id) {
  const auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : &it->second;
}

Room* World::room_by_name(const std::string& name) {
  for (auto& [id, room] : rooms_) {
    if (!room.is_dm() && room.name == name) return &room;
  }
  return nullptr;
}

Room* World::room_by_id_or_name(const std::string& id_or_name) {
  if (Room* room = room_by_id(id_or_name)) return room;
  std::string name = id_or_name;
  if (!name.empty() && name.front() == '#') name.erase(0, 1);
  return room_by_name(name);
}

bool World::is_member(const Room& room, const std::string& uid) const {
  return memberships_.count({room.id, uid}) != 0;
}

bool World::can_access(const Room& room, const std::string& uid) const {
  if (users_.count(uid) == 0) return false;
  return room.type == "c" || is_member(room, uid);
}

void World::subscribe(Room& room, const std::string& uid, std::int64_t now) {
  memberships_[{room.id, uid}] = Membership{ddp::random_id(), now, now};
  room.member_ids.push_back(uid);
  room.updated_at = now;
}

void World::emit_subscription(const std::string& event, const Room& room, const std::string& uid) {
  if (!events_.user_event) return;
  // The subscription event comes first: the server reacts to it by watching the room and
  // pushing the room document (PROTOCOL.md §3.3).
  events_.user_event(uid, "subscriptions-changed", json::array({event, subscription_json(room, uid)}));
  events_.user_event(uid, "rooms-changed", json::array({event, room_json(room)}));
}

Room& World::direct_room(const std::string& uid_a, const std::string& uid_b) {
  if (users_.count(uid_a) == 0 || users_.count(uid_b) == 0) {
    throw WorldError("error-invalid-user", "Invalid user");
  }
  const std::string id = uid_a < uid_b ? uid_a + uid_b : uid_b + uid_a;
  if (Room* existing = room_by_id(id)) return *existing;
  Room room;
  room.id = id;
  room.type = "d";
  room.member_ids = {uid_a};
  if (uid_b != uid_a) room.member_ids.push_back(uid_b);
  return add_room(std::move(room));
}

void World::add_member(Room& room, const std::string& uid, const std::string& actor_uid) {
  User* user = user_by_id(uid);
  if (user == nullptr) throw WorldError("error-invalid-user", "Invalid user");
  if (is_member(room, uid)) throw WorldError("error-user-already-in-room", user->username + " is already in the room");
  const std::int64_t now = now_ms();
  subscribe(room, uid, now);
  emit_subscription("inserted", room, uid);
  if (room.is_dm()) return;
  if (User* actor = actor_uid.empty() ? nullptr : user_by_id(actor_uid); actor != nullptr && actor_uid != uid) {
    insert_system_message(room, "au", user->username, *actor);
  } else {
    insert_system_message(room, "uj", user->username, *user);
  }
}

void World::remove_member(Room& room, const std::string& uid, const std::string& actor_uid) {
  User* user = user_by_id(uid);
  if (user == nullptr) throw WorldError("error-invalid-user", "Invalid user");
  const auto it = memberships_.find({room.id, uid});
  if (it == memberships_.end()) throw WorldError("error-user-not-in-room", user->username + " is not in the room");
  // The server writes the system message before removing the subscription, so the leaving
  // user still receives it.
  if (!room.is_dm()) {
    if (User* actor = actor_uid.empty() ? nullptr : user_by_id(actor_uid); actor != nullptr && actor_uid != uid) {
      insert_system_message(room, "ru", user->username, *actor);
    } else {
      insert_system_message(room, "ul", user->username, *user);
    }
  }
  const std::int64_t now = now_ms();
  const std::string sub_id = it->second.sub_id;
  memberships_.erase(it);
  room.member_ids.erase(std::remove(room.member_ids.begin(), room.member_ids.end(), uid), room.member_ids.end());
  room.updated_at = now;
  removed_.push_back({sub_id, room.id, uid, now});
  if (events_.user_event) {
    events_.user_event(uid, "subscriptions-changed",
                       json::array({"removed", {{"_id", sub_id}, {"u", user_brief(*user, false)},
                                                {"rid", room.id}, {"t", room.type}}}));
    events_.user_event(uid, "rooms-changed", json::array({"removed", room_json(room)}));
  }
}

void World::rename_room(Room& room, const std::string& new_name, const std::string& actor_uid) {
  if (room.is_dm()) throw WorldError("error-invalid-room", "direct rooms have no name");
  if (new_name.empty()) throw WorldError("error-invalid-room-name", "the new name is empty");
  if (Room* other = room_by_name(new_name); other != nullptr && other != &room) {
    throw WorldError("error-duplicate-channel-name", "A channel with name '" + new_name + "' exists");
  }
  User* actor = user_by_id(actor_uid.empty() ? room.creator_id : actor_uid);
  if (actor == nullptr && !room.member_ids.empty()) actor = user_by_id(room.member_ids.front());
  const std::int64_t now = now_ms();
  room.name = room.fname = new_name;
  room.updated_at = now;
  for (const auto& uid : room.member_ids) {
    memberships_[{room.id, uid}].updated_at = now;
    if (events_.user_event) {
      events_.user_event(uid, "rooms-changed", json::array({"updated", room_json(room)}));
      events_.user_event(uid, "subscriptions-changed", json::array({"updated", subscription_json(room, uid)}));
    }
  }
  if (actor != nullptr) insert_system_message(room, "r", new_name, *actor);
}

json World::room_json(const Room& room) const {
  json out;
  if (room.is_dm()) {
    json usernames = json::array();
    for (const auto& uid : room.member_ids) usernames.push_back(users_.at(uid).username);
    out = {{"_id", room.id},       {"t", "d"},
           {"usernames", usernames}, {"uids", room.member_ids},
           {"msgs", room.msgs},     {"usersCount", room.member_ids.size()},
           {"ts", date(room.ts)},   {"_updatedAt", date(room.updated_at)}};
  } else {
    out = {{"_id", room.id},
           {"fname", room.fname},
           {"customFields", json::object()},
           {"description", ""},
           {"broadcast", false},
           {"encrypted", false},
           {"federated", false},
           {"name", room.name},
           {"t", room.type},
           {"msgs", room.msgs},
           {"usersCount", room.member_ids.size()},
           {"ts", date(room.ts)},
           {"ro", false},
           {"default", room.is_default},
           {"sysMes", true},
           {"_updatedAt", date(room.updated_at)}};
    if (const auto it = users_.find(room.creator_id); it != users_.end()) {
      out["u"] = user_brief(it->second, true);
    }
  }
  if (room.last_message_at != 0) out["lm"] = date(room.last_message_at);
  return out;
}

json World::subscription_json(const Room& room, const std::string& uid) const {
  const auto member = memberships_.find({room.id, uid});
  const auto user = users_.find(uid);
  if (member == memberships_.end() || user == users_.end()) return nullptr;
  std::string name = room.name;
  std::string fname = room.fname;
  if (room.is_dm()) {
    // A DM subscription is named after the other participant.
    name = user->second.username;
    fname = user->second.name;
    for (const auto& other : room.member_ids) {
      if (other != uid) {
        name = users_.at(other).username;
        fname = users_.at(other).name;
        break;
      }
    }
  }
  json out = {{"_id", member->second.sub_id},
              {"t", room.type},
              {"ts", date(member->second.ts)},
              {"ls", date(member->second.ts)},
              {"name", name},
              {"fname", fname},
              {"rid", room.id},
              {"u", user_brief(user->second, true)},
              {"open", true},
              {"alert", false},
              {"unread", 0},
              {"userMentions", 0},
              {"groupMentions", 0},
              {"_updatedAt", date(member->second.updated_at)}};
  if (!room.is_dm() && room.creator_id == uid) out["roles"] = json::array({"owner"});
  return out;
}

std::vector<const Room*> World::rooms_of(const std::string& uid) const {
  std::vector<const Room*> out;
  for (const auto& id : room_order_) {
    const Room& room = rooms_.at(id);
    if (is_member(room, uid)) out.push_back(&room);
  }
  return out;
}

std::vector<const Room*> World::all_rooms() const {
  std::vector<const Room*> out;
  for (const auto& id : room_order_) out.push_back(&rooms_.at(id));
  return out;
}

json World::removed_subscriptions_since(const std::string& uid, std::int64_t since) const {
  json out = json::array();
  for (const auto& r : removed_) {
    if (r.uid == uid && r.at > since) out.push_back({{"_id", r.sub_id}, {"_deletedAt", date(r.at)}});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages

json& World::store(json message) {
  const std::string id = message["_id"].get<std::string>();
  const std::string rid = message["rid"].get<std::string>();
  room_messages_[rid].push_back(id);
  if (Room* room = room_by_id(rid)) {
    ++room->msgs;
    room->last_message_at = message["ts"]["$date"].get<std::int64_t>();
  }
  return messages_[id] = std::move(message);
}

void World::notify_message(const json& message) {
  if (!events_.message_changed) return;
  const auto rid = message.find("rid");
  if (rid == message.end() || !rid->is_string()) return;
  if (const Room* room = room_by_id(rid->get<std::string>())) events_.message_changed(message, *room);
}

const json& World::post_message(const std::string& uid, NewMessage m, bool* duplicate) {
  if (duplicate != nullptr) *duplicate = false;
  User* user = user_by_id(uid);
  if (user == nullptr) throw WorldError("error-invalid-user", "Invalid user");
  if (!m.id.empty()) {
    if (const auto it = messages_.find(m.id); it != messages_.end()) {
      if (duplicate != nullptr) *duplicate = true;
      return it->second;
    }
  }
  json* root = nullptr;
  if (!m.tmid.empty()) {
    const auto it = messages_.find(m.tmid);
    if (it == messages_.end()) throw WorldError("error-invalid-message", "Invalid thread message");
    root = &it->second;
    // Replying to a reply puts the message in the root's thread.
    if (const auto parent = root->find("tmid"); parent != root->end() && parent->is_string()) {
      m.tmid = parent->get<std::string>();
      const auto top = messages_.find(m.tmid);
      if (top == messages_.end()) throw WorldError("error-invalid-message", "Invalid thread message");
      root = &top->second;
    }
    if (m.rid.empty()) m.rid = (*root)["rid"].get<std::string>();
    if ((*root)["rid"] != m.rid) throw WorldError("error-invalid-message", "The thread is in another room");
  } else if (m.tshow) {
    throw WorldError("invalid-params", "tshow needs tmid");
  }
  Room* room = room_by_id(m.rid);
  if (room == nullptr) throw WorldError("error-invalid-room", "Invalid room");
  if (!can_access(*room, uid)) throw WorldError("error-not-allowed", "Not allowed");
  if (m.text.size() > kMaxMessageSize) {
    throw WorldError("error-message-size-exceeded", "Message size exceeds the allowed limit");
  }

  const std::int64_t ts = std::max(now_ms(), last_ts_ + 1);  // distinct ts keep history queries exact
  last_ts_ = ts;
  json message = m.extra.is_object() ? m.extra : json::object();
  message["_id"] = m.id.empty() ? ddp::random_id() : m.id;
  message["rid"] = room->id;
  message["msg"] = m.text;
  message["ts"] = date(ts);
  message["u"] = user_brief(*user, true);
  message["_updatedAt"] = date(ts);
  json urls = json::array();
  for (const auto& url : urls_in(m.text)) urls.push_back({{"url", url}});
  message["urls"] = urls;
  json mentions = json::array();
  for (const auto& name : mentioned_names(m.text)) {
    if (name == "all" || name == "here") {
      mentions.push_back({{"_id", name}, {"username", name}});
    } else if (const User* target = user_by_username(name)) {
      mentions.push_back({{"_id", target->id}, {"username", target->username}, {"name", target->name}, {"type", "user"}});
    }
  }
  message["mentions"] = mentions;
  json channels = json::array();
  for (const auto& name : channel_names(m.text)) {
    if (const Room* target = room_by_name(name)) {
      channels.push_back({{"_id", target->id}, {"name", target->name}, {"fname", target->fname}});
    }
  }
  message["channels"] = channels;
  if (!m.text.empty()) message["md"] = markdown_ast(m.text);
  if (!m.tmid.empty()) message["tmid"] = m.tmid;
  if (m.tshow) message["tshow"] = true;

  const json& stored = store(std::move(message));
  notify_message(stored);
  if (root != nullptr) {
    // The root's thread counters change with every reply (PROTOCOL.md §3.2, thread-reply.json).
    (*root)["tcount"] = (*root).value("tcount", 0) + 1;
    (*root)["tlm"] = date(ts);
    json& replies = (*root)["replies"];
    if (!replies.is_array()) replies = json::array();
    if (std::find(replies.begin(), replies.end(), json(uid)) == replies.end()) replies.push_back(uid);
    (*root)["_updatedAt"] = date(ts);
    notify_message(*root);
  }
  return stored;
}

const json& World::insert_system_message(Room& room, const std::string& type, const std::string& msg,
                                         const User& actor) {
  const std::int64_t ts = std::max(now_ms(), last_ts_ + 1);
  last_ts_ = ts;
  json message = {{"_id", ddp::random_id()},
                  {"t", type},
                  {"rid", room.id},
                  {"ts", date(ts)},
                  {"msg", msg},
                  {"u", user_brief(actor, false)},
                  {"groupable", false},
                  {"_updatedAt", date(ts)}};
  const json& stored = store(std::move(message));
  notify_message(stored);
  return stored;
}

const json& World::edit_message(const std::string& id, const std::string& text, const std::string& editor_uid) {
  const auto it = messages_.find(id);
  if (it == messages_.end()) throw WorldError("error-invalid-message", "Invalid message");
  const User* editor = user_by_id(editor_uid);
  if (editor == nullptr) throw WorldError("error-invalid-user", "Invalid user");
  json& message = it->second;
  if (message.contains("t")) throw WorldError("error-action-not-allowed", "System messages cannot be edited");
  if (message.value("msg", "") == text) return message;  // same text: the server does nothing
  if (text.size() > kMaxMessageSize) {
    throw WorldError("error-message-size-exceeded", "Message size exceeds the allowed limit");
  }
  const std::int64_t now = std::max(now_ms(), last_ts_ + 1);
  last_ts_ = now;
  message["msg"] = text;
  json urls = json::array();
  for (const auto& url : urls_in(text)) urls.push_back({{"url", url}});
  message["urls"] = urls;
  json mentions = json::array();
  for (const auto& name : mentioned_names(text)) {
    if (name == "all" || name == "here") {
      mentions.push_back({{"_id", name}, {"username", name}});
    } else if (const User* target = user_by_username(name)) {
      mentions.push_back({{"_id", target->id}, {"username", target->username}, {"name", target->name}, {"type", "user"}});
    }
  }
  message["mentions"] = mentions;
  if (text.empty()) {
    message.erase("md");
  } else {
    message["md"] = markdown_ast(text);
  }
  message["editedAt"] = date(now);
  message["editedBy"] = user_brief(*editor, false);
  message["_updatedAt"] = date(now);
  notify_message(message);
  return message;
}

const json& World::react(const std::string& id, const std::string& uid, std::string emoji,
                         std::optional<bool> should_react) {
  const auto it = messages_.find(id);
  if (it == messages_.end()) throw WorldError("error-not-allowed", "Not allowed");
  const User* user = user_by_id(uid);
  if (user == nullptr) throw WorldError("error-invalid-user", "Invalid user");
  emoji = normalise_emoji(std::move(emoji));
  if (emoji.size() < 3) throw WorldError("error-not-allowed", "Invalid emoji provided.");
  json& message = it->second;
  json& reactions = message["reactions"];
  if (!reactions.is_object()) reactions = json::object();
  json& entry = reactions[emoji];
  if (!entry.is_object()) entry = {{"usernames", json::array()}};
  json& usernames = entry["usernames"];
  const auto pos = std::find(usernames.begin(), usernames.end(), json(user->username));
  const bool present = pos != usernames.end();
  const bool add = should_react.value_or(!present);
  if (add && !present) usernames.push_back(user->username);
  if (!add && present) usernames.erase(pos);
  if (usernames.empty()) reactions.erase(emoji);
  if (reactions.empty()) message.erase("reactions");
  message["_updatedAt"] = date(now_ms());
  notify_message(message);
  return message;
}

const json* World::message(const std::string& id) const {
  const auto it = messages_.find(id);
  return it == messages_.end() ? nullptr : &it->second;
}

std::vector<const json*> World::room_messages(const std::string& rid) const {
  std::vector<const json*> out;
  const auto it = room_messages_.find(rid);
  if (it == room_messages_.end()) return out;
  for (const auto& id : it->second) out.push_back(&messages_.at(id));
  return out;
}

}  // namespace rcgate::sim
