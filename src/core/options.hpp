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

// outbox: everything the bot posts goes through the outbound queue (core/outbox.hpp).
struct OutboxOptions {
  ms ttl{3'600'000};          // an item not delivered by then is reported expired
  int max_items = 1000;       // queued at once; more are refused with a clear error
  ms retry_initial{2'000};    // first wait after a transient failure; doubles per attempt
  ms retry_max{300'000};      // longest wait between two attempts of one item
  ms room_interval{0};        // least time between two posts in one room (0: no pacing)
};

// asks: open questions (core/asks.hpp). The texts are templates:
//   hint:     {answers} "Yes, No"   {numbers} "1-2"
//   answered: {answer} the canonical answer  {user} the username  {name} the display name
//             (the username when none)  {time} the answer time, HH:MM local time
struct AskOptions {
  ms timeout{300'000};  // when the request gives none
  int max_open = 100;   // open at once; more are refused
  std::string hint = "Please answer with one of: {answers} (or {numbers}).";  // "": no hint
  std::string answered = "→ {answer} ({user}, {time})";
  std::string timed_out = "(no answer — timed out)";
  std::string cancelled = "(cancelled)";
};

}  // namespace rcgate::core
