#pragma once
// The simulator's in-memory Rocket.Chat: users, login tokens, rooms, memberships (subscriptions)
// and messages. Pure: no sockets, no timers. Every change that a real server would push to
// clients is reported through the Events callbacks; the server layer fans them out.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace rcgate::sim {

using json = nlohmann::json;

std::int64_t now_ms();

// A refusal with a Rocket.Chat error code ("error-not-allowed") and a reason for people.
struct WorldError : std::runtime_error {
  WorldError(std::string code, std::string reason)
      : std::runtime_error(reason), code(std::move(code)) {}
  std::string code;
};

struct User {
  std::string id;
  std::string username;
  std::string name;
  std::string password;  // empty: the user has no password
  std::vector<std::string> roles;
  bool totp = false;  // two-factor login required (the sim accepts the code in World::kTotpCode)
  std::string status = "offline";
  std::string status_text;
  std::int64_t created_at = 0;

  bool has_role(const std::string& role) const;
};

struct Room {
  std::string id;
  std::string type;  // "c", "p" or "d"
  std::string name;  // empty for DMs
  std::string fname;
  std::string creator_id;  // empty for DMs
  std::vector<std::string> member_ids;  // in joining order
  std::int64_t ts = 0;
  std::int64_t updated_at = 0;
  std::int64_t msgs = 0;
  std::int64_t last_message_at = 0;
  bool is_default = false;

  bool is_dm() const { return type == "d"; }
};

struct LoginToken {
  std::string token;
  std::string user_id;
  std::int64_t when = 0;  // creation time; 0 for personal access tokens (never expire)
  bool pat = false;
};

struct Household;

class World {
 public:
  static constexpr std::int64_t kTokenLifetimeMs = 90LL * 24 * 3600 * 1000;  // 90 days
  static constexpr std::size_t kMaxLoginTokens = 50;  // MAX_RESUME_LOGIN_TOKENS
  static constexpr const char* kTotpCode = "123456";
  static constexpr std::size_t kMaxMessageSize = 5000;  // Message_MaxAllowedSize

  // What the server would push. Set by the owner before any change is made.
  struct Events {
    std::function<void(const json& message, const Room& room)> message_changed;
    std::function<void(const std::string& uid, const std::string& event, const json& args)> user_event;
    std::function<void(const std::string& event, const json& args)> logged_event;
  };

  explicit World(Events events = {});

  void seed(const Household& household);  // throws WorldError on inconsistent data

  // Users.
  User& add_user(User user);  // id generated when empty; throws on duplicate username/id
  User* user_by_id(const std::string& id);
  User* user_by_username(const std::string& username);
  // "name-or-email" as REST login accepts it (emails are <username>@example.org here).
  User* user_by_login_name(const std::string& name);
  const std::vector<std::string>& user_ids() const { return user_order_; }
  json user_json(const User& user, bool me) const;
  void set_status(User& user, const std::string& status, const std::string& text);

  // Tokens.
  std::string issue_login_token(const std::string& uid);  // prunes beyond kMaxLoginTokens
  void add_personal_access_token(const std::string& uid, const std::string& token);
  const LoginToken* find_token(const std::string& token) const;
  static bool expired(const LoginToken& token, std::int64_t now);
  static std::optional<std::int64_t> expires_at(const LoginToken& token);
  bool remove_token(const std::string& token);
  int expire_login_tokens(const std::string& uid);  // for tests of "session expired"
  std::map<std::string, int> login_token_counts() const;  // by username, PATs excluded

  // Rooms and memberships.
  Room& add_room(Room room);  // id generated when empty; members subscribed (events emitted)
  Room* room_by_id(const std::string& id);
  Room* room_by_name(const std::string& name);
  Room* room_by_id_or_name(const std::string& id_or_name);
  bool is_member(const Room& room, const std::string& uid) const;
  bool can_access(const Room& room, const std::string& uid) const;
  // Returns the 1:1 DM between two users, creating it (and both subscriptions) when missing.
  Room& direct_room(const std::string& uid_a, const std::string& uid_b);
  // actor empty: the user joined/left by itself (uj/ul), else added/removed by actor (au/ru).
  void add_member(Room& room, const std::string& uid, const std::string& actor_uid = {});
  void remove_member(Room& room, const std::string& uid, const std::string& actor_uid = {});
  void rename_room(Room& room, const std::string& new_name, const std::string& actor_uid);
  json room_json(const Room& room) const;
  json subscription_json(const Room& room, const std::string& uid) const;
  std::vector<const Room*> rooms_of(const std::string& uid) const;  // rooms the user is in
  std::vector<const Room*> all_rooms() const;  // in creation order
  // Subscriptions (or rooms, by rid) the user lost after `since` (ms): {_id, _deletedAt}.
  json removed_subscriptions_since(const std::string& uid, std::int64_t since) const;

  // Messages. All throw WorldError on refusal.
  struct NewMessage {
    std::string id;  // client-chosen, optional
    std::string rid;
    std::string text;
    std::string tmid;
    bool tshow = false;
    json extra = json::object();  // alias, emoji, avatar, attachments, customFields...
  };
  // Inserts a chat message by `uid` and returns it. `duplicate` is set (and nothing inserted) when
  // new_message.id already exists; the existing message is returned then.
  const json& post_message(const std::string& uid, NewMessage new_message, bool* duplicate = nullptr);
  const json& insert_system_message(Room& room, const std::string& type, const std::string& msg,
                                    const User& actor);
  const json& edit_message(const std::string& id, const std::string& text, const std::string& editor_uid);
  // shouldReact: true adds, false removes, nullopt toggles.
  const json& react(const std::string& id, const std::string& uid, std::string emoji,
                    std::optional<bool> should_react);
  const json* message(const std::string& id) const;
  std::vector<const json*> room_messages(const std::string& rid) const;  // oldest first

  // A public id for new rooms: 24 hex digits like a MongoDB ObjectId.
  static std::string object_id();
  static std::string secret_token();  // 43 chars, like Meteor's Random.secret()

 private:
  struct Membership {
    std::string sub_id;
    std::int64_t ts = 0;
    std::int64_t updated_at = 0;
  };
  struct RemovedSubscription {
    std::string sub_id, rid, uid;
    std::int64_t at = 0;
  };

  void subscribe(Room& room, const std::string& uid, std::int64_t now);
  void emit_subscription(const std::string& event, const Room& room, const std::string& uid);
  void notify_message(const json& message);
  json& store(json message);
  json user_brief(const User& user, bool with_name) const;

  Events events_;
  std::unordered_map<std::string, User> users_;
  std::vector<std::string> user_order_;
  std::unordered_map<std::string, LoginToken> tokens_;
  std::unordered_map<std::string, Room> rooms_;
  std::vector<std::string> room_order_;
  std::map<std::pair<std::string, std::string>, Membership> memberships_;  // (rid, uid)
  std::vector<RemovedSubscription> removed_;
  std::unordered_map<std::string, json> messages_;
  std::unordered_map<std::string, std::vector<std::string>> room_messages_;
  std::int64_t last_ts_ = 0;
};

}  // namespace rcgate::sim
