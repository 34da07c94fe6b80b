#pragma once
// Rooms as devices. Every room the bot is a member of (public channels, private groups, team rooms,
// discussions) is a device the house can use: it can be sent to, it tells who said what last, and
// it offers one "@person" command per person who has spoken there. DMs are reached through users,
// not devices; livechat rooms are not the household's.
//
// Pure: the registry is told what happened (room documents, removals, messages) and answers with
// the changes, which the caller publishes (MQTT, Home Assistant discovery) and persists.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/options.hpp"

namespace rcgate::core {

// What rcgate learns about a room from a subscription or a room document (PROTOCOL.md §6).
struct RoomInfo {
  std::string id;         // rid
  std::string name;       // the URL-safe name; absent for DMs
  std::string fname;      // display name; may be empty
  std::string type;       // "c", "p", "d", "l", ...
  std::string parent_id;  // prid: the room is a discussion of that room
  std::string team_id;
  bool team_main = false;
};

// Channels and private groups (which include team rooms and discussions) are devices; DMs,
// livechat and room types this build does not know are not.
bool is_device_room(std::string_view type);

struct Person {
  std::string user_id;
  std::string username;
  std::string display_name;
  std::int64_t first_seen_ms = 0;  // message times
  std::int64_t last_seen_ms = 0;
};

struct LastMessage {
  std::string id;  // empty: nothing seen yet
  std::string text;
  std::string sender_id;
  std::string sender_username;
  std::string sender_name;
  std::int64_t at_ms = 0;  // the message's ts
};

struct Device {
  std::string id;         // the room id: stable across renames
  std::string name;       // display name (fname, else name)
  std::string room_name;  // the room's name, for links and per-room configuration
  std::string type;       // "c" or "p"
  std::string parent_id;  // discussions
  std::string team_id;
  bool team_main = false;
  bool available = true;  // false once the bot left or lost the room; kept until pruned
  // Set at run time by the operator (API, MQTT); persisted. Unset: the configuration decides.
  std::optional<bool> mention_commands_override;
  bool mention_commands = true;  // effective: override, else devices.rooms, else devices default
  LastMessage last;
  std::vector<Person> persons;  // everyone who spoke here, in order of first message
};

enum class CommandKind { Action, Info };

struct Command {
  std::string id;  // "send", "last_message", "last_sender", "last_message_at", "@alice"
  CommandKind kind = CommandKind::Info;
  std::string username;  // mention commands: the person mentioned
};

// The device's commands: send, the three infos, then one mention command per person when
// mention commands are on.
std::vector<Command> commands_of(const Device& device);

struct DeviceChange {
  enum class What {
    Added,           // a new device
    Renamed,         // detail: the old display name
    Updated,         // type, team or parent changed
    Available,       // the bot is back in the room
    Unavailable,     // the bot left or lost the room
    LastMessage,     // last_message / last_sender / last_message_at changed
    CommandAdded,    // detail: command id
    CommandRemoved,  // detail: command id
    Settings,        // the effective mention_commands flag changed
    Pruned,          // removed for good by the operator
  };
  std::string device_id;
  What what = What::Added;
  std::string detail;

  bool operator==(const DeviceChange&) const = default;
};
const char* to_string(DeviceChange::What what);

using DeviceChanges = std::vector<DeviceChange>;

// A chat message as far as devices care. Pass new messages and edits of readable chat messages
// (router.hpp's device_message() builds this from a classified message and filters the rest).
struct MessageSeen {
  std::string room_id;
  std::string message_id;
  std::string sender_id;
  std::string sender_username;
  std::string sender_name;
  std::string text;
  std::int64_t ts_ms = 0;
  bool edit = false;  // refreshes last_message only when it edits that very message
};

class DeviceRegistry {
 public:
  explicit DeviceRegistry(DeviceOptions options = {});

  // The bot's own user id: its own messages are neither "last message" nor a person.
  void set_self(std::string bot_user_id) { self_id_ = std::move(bot_user_id); }

  // New configuration (start-up or reload): recomputes every device's mention_commands flag.
  DeviceChanges set_options(DeviceOptions options);

  // A room the bot is a member of was inserted or updated (rooms-changed, subscriptions-changed).
  // Creates the device, renames it, or makes it available again. Ignores rooms that are not
  // devices (is_device_room).
  DeviceChanges upsert_room(const RoomInfo& room);
  // The bot left or was removed: the device stays, unavailable, with its settings and persons.
  DeviceChanges remove_room(const std::string& room_id);
  // The complete list of the bot's rooms (subscriptions.get at start or after a reconnect):
  // upserts each and marks every device absent from the list unavailable.
  DeviceChanges reconcile(const std::vector<RoomInfo>& rooms);

  // A message in a room. Only rooms that are devices and available are affected, so messages
  // from rooms the bot has not joined create nothing. An older message than the last one (a
  // catch-up replay, out-of-order delivery) records its author but keeps the last message.
  DeviceChanges on_message(const MessageSeen& message);

  // The operator switches mention commands for one device; nullopt returns to the configuration.
  DeviceChanges set_mention_commands(const std::string& device_id, std::optional<bool> enabled);

  // Removes an unavailable device for good. Refused (empty result and *error set) for an unknown
  // device or one the bot is still a member of, which would come straight back.
  DeviceChanges prune(const std::string& device_id, std::string* error = nullptr);

  const Device* find(const std::string& device_id) const;
  std::vector<const Device*> devices() const;  // sorted by display name, then id
  std::size_t size() const { return devices_.size(); }

  // Persistence: every device as it is, and back (effective flags are recomputed on restore).
  std::vector<Device> snapshot() const;
  void restore(std::vector<Device> devices);

  // Bumped on every change worth saving; the caller compares it to debounce its writes.
  std::uint64_t revision() const { return revision_; }

 private:
  bool effective_mention_commands(const Device& device) const;
  void apply_mention_flag(Device& device, DeviceChanges& changes);
  void touch() { ++revision_; }

  DeviceOptions options_;
  std::string self_id_;
  std::unordered_map<std::string, Device> devices_;
  std::uint64_t revision_ = 0;
};

// What the `send` command posts. Jeedom plugin users write the extras as an option string:
//   file=/path/to/image.jpg description="Front door" title=Alert color=#ff0000 thread=abc
struct SendOptions {
  std::string text;
  std::string file;         // a local file to upload with the message
  std::string description;  // the file's description
  std::string title;        // attachment title
  std::string color;        // attachment colour: #rgb, #rrggbb (or with alpha), or a colour name
  std::string thread;       // thread root message id: post in that thread

  bool operator==(const SendOptions&) const = default;
};

// Parses space-separated key=value pairs; values may be quoted ("..." with \" \\ \n \t escapes, or
// '...' taken literally). Returns nullopt and sets *error, naming every unknown key and every
// malformed pair at once, when the string cannot be used as a whole.
std::optional<SendOptions> parse_send_options(std::string_view options,
                                              std::string* error = nullptr);

// The structured form (API, MQTT): a JSON string is the text; an object has the fields above and
// optionally "options" (an option string as above; a field given both ways is an error).
std::optional<SendOptions> send_options_from_json(const nlohmann::json& payload,
                                                  std::string* error = nullptr);

}  // namespace rcgate::core
