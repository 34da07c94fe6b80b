#pragma once
// Rocket.Chat's message object as delivered on __my_messages__ (PROTOCOL.md §5), reduced to what
// rcgate uses. Unknown fields are ignored; unknown `t` values are kept as text.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::rc {

struct UserRef {
  std::string id;
  std::string username;
  std::string name;  // display name; may be empty
};

struct FileRef {
  std::string id;
  std::string name;
  std::string type;
  std::int64_t size = 0;
};

// The per-subscriber metadata that follows the message in the stream event's args.
struct RoomMeta {
  bool present = false;        // false for per-room streams, which carry no meta
  bool participant = true;     // meta.roomParticipant
  std::string room_type;       // "c", "p", "d", "l", ... (empty when unknown)
  std::string room_name;       // absent for DMs
};

struct Message {
  std::string id;
  std::string rid;
  std::string text;            // msg
  std::string t;               // system/special type; empty for a normal message
  std::string tmid;            // thread root id; empty when not a thread reply
  bool tshow = false;
  std::int64_t ts_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::int64_t> edited_ms;
  UserRef u;
  std::optional<UserRef> edited_by;
  std::vector<UserRef> mentions;   // includes {_id:"all"} / {_id:"here"} group mentions
  bool from_integration = false;   // "bot" field present (integrations, apps)
  bool encrypted = false;          // t == "e2e" or content.algorithm present
  bool has_thread_counters = false;  // tcount/tlm/replies present (a thread root)
  std::vector<FileRef> files;
  nlohmann::json attachments;      // array or null
  RoomMeta meta;
};

// Parses a message object (and the optional meta object). Returns nullopt and sets *why when a
// required field (_id, rid, u._id) is missing or of the wrong type.
std::optional<Message> parse_message(const nlohmann::json& msg, const nlohmann::json* meta,
                                     std::string* why = nullptr);

// Whether parse_message reads this key of a message object / of its meta; it ignores all others.
// A reader that hands parse_message only these keys gets the same Message (fast_message.cpp).
bool message_key_read(std::string_view key);
bool meta_key_read(std::string_view key);

// Parses a message as REST returns it (history endpoints): dates are ISO-8601 strings there
// ("2026-03-10T09:21:00.000Z") instead of EJSON; meta describes the room it was fetched from.
std::optional<Message> parse_rest_message(const nlohmann::json& msg, const RoomMeta& meta,
                                          std::string* why = nullptr);

// "2026-03-10T09:21:00.000Z" -> epoch milliseconds; nullopt when not such a time.
std::optional<std::int64_t> parse_iso_time(const std::string& text);
std::string format_iso_time(std::int64_t epoch_ms);

// Parses the args of a __my_messages__ event: [message, meta]; tolerates the old nested form
// [[message], meta] and a missing meta.
std::optional<Message> parse_stream_args(const nlohmann::json& args, std::string* why = nullptr);

}  // namespace rcgate::rc
