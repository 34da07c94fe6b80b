#pragma once
// The options of the devices, users and interaction parts of rcgate, with their defaults. The
// configuration loader fills these (config::Settings holds them as they are) and the core classes
// take them as they are, so a default is written once, here. std only.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rcgate::core {

using ms = std::chrono::milliseconds;

// devices.rooms.<name or id>
struct RoomOverride {
  std::optional<bool> mention_commands;  // unset: the devices-wide default
};

// devices:
struct DeviceOptions {
  bool mention_commands = true;               // one "@person" command per person who spoke
  std::map<std::string, RoomOverride> rooms;  // keyed by room name (slug or display name) or id
};

// users[]:
struct UserEntry {
  std::string username;  // Rocket.Chat username
  std::string name;      // automation user; the loader fills in the username when absent
  bool allow = true;     // interactions: allow | deny
  std::string role;      // "" when none
};

// unknown_users:
struct UnknownUserOptions {
  bool polite = true;  // reply: polite (say `message`) | silent
  std::string message =
      "Sorry, I don't know you yet. Ask whoever runs the house to add you to rcgate.";
};

// interactions.rate_limit: a token bucket per Rocket.Chat user.
struct RateLimit {
  int messages = 5;
  ms per{60'000};
};

// interactions:
struct InteractionOptions {
  std::vector<std::string> engines;  // plugin names, asked in this order; none: only the fallback
  std::string fallback = "Sorry, I did not understand.";  // "": say nothing
  ms timeout{10'000};                                     // per engine
  bool allow_bots = false;  // answer messages that carry the integration/app "bot" mark
  RateLimit rate_limit;
  ms followup_window{120'000};  // 0: an answer never waives the next mention
  ms catch_up{600'000};         // 0: do not answer messages missed while away
  std::string encrypted_notice =
      "I cannot read encrypted rooms; please write to me in a normal room.";  // "": say nothing
};

}  // namespace rcgate::core
