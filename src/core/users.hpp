#pragma once
// The people rcgate knows. The configuration maps Rocket.Chat usernames to automation users (with
// `interactions: allow|deny` and a role); everyone who speaks to or near the bot is recorded, so
// the operator can list the unmapped ones and add them. Unmapped people get no access to anything
// that acts on the house. Pure.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/options.hpp"

namespace rcgate::core {

struct UserLookup {
  bool known = false;           // mapped in the configuration
  bool allowed = false;         // known and interactions: allow
  std::string automation_user;  // users[].name
  std::string role;
};

// Someone who spoke where the bot listens (a DM, a room it is a member of).
struct SeenUser {
  std::string user_id;
  std::string username;
  std::string display_name;
  std::int64_t first_seen_ms = 0;  // message times
  std::int64_t last_seen_ms = 0;
  std::uint64_t count = 0;  // messages seen
};

class UserDirectory {
 public:
  // At most `capacity` people are remembered; the one seen least recently makes room.
  explicit UserDirectory(std::vector<UserEntry> users = {}, std::size_t capacity = 1000);

  // New configuration (start-up or reload).
  void set_users(std::vector<UserEntry> users);
  const std::vector<UserEntry>& users() const { return users_; }

  // Usernames compare without regard to case, as Rocket.Chat's do.
  UserLookup lookup(std::string_view username) const;

  // Records that someone spoke at `ts_ms` (the message time). A replayed message can be recorded
  // again: count then counts deliveries, first/last stay right.
  void note_seen(const std::string& user_id, const std::string& username,
                 const std::string& display_name, std::int64_t ts_ms);

  // Everyone seen, most recently seen first; unknown() keeps the unmapped ones.
  std::vector<SeenUser> seen() const;
  std::vector<SeenUser> unknown() const;

  // Persistence.
  void restore(std::vector<SeenUser> seen);
  std::uint64_t revision() const { return revision_; }

 private:
  std::vector<UserEntry> users_;
  std::unordered_map<std::string, std::size_t> by_username_;  // lower-case username -> index
  std::size_t capacity_;
  std::unordered_map<std::string, SeenUser> seen_;  // by user id
  std::uint64_t revision_ = 0;
};

}  // namespace rcgate::core
