#include "rocketchat/message.hpp"

#include <cstdio>
#include <ctime>

#include <limits>
#include <utility>

#include "rocketchat/ddp/codec.hpp"

namespace rcgate::rc {

using json = nlohmann::json;

namespace {

// Rocket.Chat's message document has grown fields over many versions and changed the types of a
// few (`bot` was a boolean, is now an object). Only the three fields without which a message
// cannot be routed (_id, rid, u._id) are strict; everything else is read when it has the expected
// type and otherwise treated as absent.

const json* find(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_or_empty(const json& object, const char* key) {
  const json* v = find(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::int64_t int_or_zero(const json& object, const char* key) {
  const json* v = find(object, key);
  if (v == nullptr) return 0;
  return ddp::ejson_date(*v).value_or(0);  // plain numbers are accepted by ejson_date too
}

const char* kind_of(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  return "of an unexpected type";
}

bool fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return false;
}

// A user reference where only the shape matters to the caller; nullopt without a string _id.
std::optional<UserRef> user_ref(const json& v) {
  if (!v.is_object()) return std::nullopt;
  const json* id = find(v, "_id");
  if (id == nullptr || !id->is_string()) return std::nullopt;
  UserRef ref;
  ref.id = id->get<std::string>();
  ref.username = string_or_empty(v, "username");
  ref.name = string_or_empty(v, "name");
  return ref;
}

std::optional<FileRef> file_ref(const json& v) {
  if (!v.is_object()) return std::nullopt;
  FileRef file;
  file.id = string_or_empty(v, "_id");
  if (file.id.empty()) return std::nullopt;
  file.name = string_or_empty(v, "name");
  file.type = string_or_empty(v, "type");
  file.size = int_or_zero(v, "size");
  return file;
}

bool required_string(const json& msg, const char* key, std::string& out, std::string* why) {
  auto it = msg.find(key);
  if (it == msg.end()) return fail(why, std::string("message without '") + key + "'");
  if (!it->is_string()) {
    return fail(why,
                std::string("message '") + key + "' is " + kind_of(*it) + ", expected a string");
  }
  out = it->get<std::string>();
  if (out.empty()) return fail(why, std::string("message '") + key + "' is empty");
  return true;
}

RoomMeta parse_meta(const json* meta) {
  RoomMeta out;
  if (meta == nullptr || !meta->is_object()) return out;
  out.present = true;
  if (const json* p = find(*meta, "roomParticipant"); p != nullptr && p->is_boolean()) {
    out.participant = p->get<bool>();
  }
  out.room_type = string_or_empty(*meta, "roomType");
  out.room_name = string_or_empty(*meta, "roomName");
  return out;
}

}  // namespace

// Keep these beside the readers above and parse_message below: a key read there and missing here
// would be silently absent from messages taken by the fast path (fast_message_test compares both).
bool message_key_read(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "_id",    "rid",        "u",        "msg",      "t",        "tmid",       "tshow",
      "ts",     "_updatedAt", "editedAt", "editedBy", "mentions", "bot",        "content",
      "tcount", "tlm",        "replies",  "files",    "file",     "attachments"};
  for (std::string_view k : kKeys) {
    if (k == key) return true;
  }
  return false;
}

bool meta_key_read(std::string_view key) {
  return key == "roomParticipant" || key == "roomType" || key == "roomName";
}

std::optional<Message> parse_message(const json& msg, const json* meta, std::string* why) {
  if (!msg.is_object()) {
    fail(why, std::string("message is ") + kind_of(msg) + ", expected an object");
    return std::nullopt;
  }
  Message m;
  if (!required_string(msg, "_id", m.id, why)) return std::nullopt;
  if (!required_string(msg, "rid", m.rid, why)) return std::nullopt;
  {
    auto it = msg.find("u");
    if (it == msg.end()) {
      fail(why, "message " + m.id + " without 'u' (author)");
      return std::nullopt;
    }
    if (!it->is_object()) {
      fail(why, "message " + m.id + ": 'u' is " + kind_of(*it) + ", expected an object");
      return std::nullopt;
    }
    auto author = user_ref(*it);
    if (!author) {
      fail(why, "message " + m.id + ": 'u' has no string '_id'");
      return std::nullopt;
    }
    m.u = std::move(*author);
  }

  m.text = string_or_empty(msg, "msg");
  if (const json* t = find(msg, "t"); t != nullptr) {
    // A `t` of an unexpected type still says "this is not a plain chat message"; keeping it
    // non-empty makes the classifier ignore it instead of running a command from it.
    m.t = t->is_string() ? t->get<std::string>() : t->dump();
  }
  m.tmid = string_or_empty(msg, "tmid");
  if (const json* tshow = find(msg, "tshow"); tshow != nullptr && tshow->is_boolean()) {
    m.tshow = tshow->get<bool>();
  }

  // ts is the creation time, _updatedAt moves on every change (PROTOCOL.md §5). When one is
  // missing, use the other: the age check then cannot call the message old on missing data alone.
  const json* ts = find(msg, "ts");
  const json* updated = find(msg, "_updatedAt");
  std::optional<std::int64_t> ts_ms = ts != nullptr ? ddp::ejson_date(*ts) : std::nullopt;
  std::optional<std::int64_t> updated_ms =
      updated != nullptr ? ddp::ejson_date(*updated) : std::nullopt;
  m.ts_ms = ts_ms.value_or(updated_ms.value_or(0));
  m.updated_ms = updated_ms.value_or(m.ts_ms);
  if (const json* edited = find(msg, "editedAt"); edited != nullptr) {
    m.edited_ms = ddp::ejson_date(*edited);
  }
  if (const json* by = find(msg, "editedBy"); by != nullptr) m.edited_by = user_ref(*by);

  if (const json* mentions = find(msg, "mentions"); mentions != nullptr && mentions->is_array()) {
    for (const auto& entry : *mentions) {
      if (auto ref = user_ref(entry)) m.mentions.push_back(std::move(*ref));
    }
  }

  // `bot` was `true` in 6.x and is `{"i": integrationId}` in 8.x; `false` means "not a bot".
  if (const json* bot = find(msg, "bot"); bot != nullptr) {
    m.from_integration = !(bot->is_boolean() && !bot->get<bool>());
  }

  m.encrypted = m.t == "e2e";
  if (const json* content = find(msg, "content"); content != nullptr && content->is_object()) {
    if (find(*content, "algorithm") != nullptr) m.encrypted = true;
  }

  m.has_thread_counters = find(msg, "tcount") != nullptr || find(msg, "tlm") != nullptr ||
                          find(msg, "replies") != nullptr;

  // `files` supersedes the deprecated single `file`; older servers send only the latter.
  if (const json* files = find(msg, "files"); files != nullptr && files->is_array()) {
    for (const auto& entry : *files) {
      if (auto file = file_ref(entry)) m.files.push_back(std::move(*file));
    }
  }
  if (m.files.empty()) {
    if (const json* file = find(msg, "file"); file != nullptr) {
      if (auto ref = file_ref(*file)) m.files.push_back(std::move(*ref));
    }
  }
  if (const json* attachments = find(msg, "attachments");
      attachments != nullptr && attachments->is_array()) {
    m.attachments = *attachments;
  }

  m.meta = parse_meta(meta);
  return m;
}

std::optional<Message> parse_stream_args(const json& args, std::string* why) {
  if (!args.is_array()) {
    fail(why, std::string("stream event args is ") + kind_of(args) + ", expected an array");
    return std::nullopt;
  }
  if (args.empty()) {
    fail(why, "stream event args is empty, expected [message, meta]");
    return std::nullopt;
  }
  const json* message = &args[0];
  // 4.x-era servers nested the message: [[message], meta] (PROTOCOL.md §3.2).
  if (message->is_array()) {
    if (message->empty()) {
      fail(why, "stream event args[0] is an empty array, expected a message");
      return std::nullopt;
    }
    message = &(*message)[0];
  }
  const json* meta = args.size() > 1 ? &args[1] : nullptr;
  return parse_message(*message, meta, why);
}

std::optional<std::int64_t> parse_iso_time(const std::string& text) {
  int y, mo, d, h, mi;
  double sec;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &z) < 6)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  std::int64_t seconds = static_cast<std::int64_t>(::timegm(&tm));
  return seconds * 1000 + static_cast<std::int64_t>(sec * 1000.0 + 0.5);
}

std::string format_iso_time(std::int64_t epoch_ms) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::optional<Message> parse_rest_message(const json& msg, const RoomMeta& meta, std::string* why) {
  if (!msg.is_object()) {
    if (why) *why = "message is not an object";
    return std::nullopt;
  }
  // Bring REST's ISO dates into the EJSON form the stream uses, then parse as usual.
  json copy = msg;
  for (const char* key : {"ts", "_updatedAt", "editedAt", "tlm"}) {
    if (copy.contains(key) && copy[key].is_string()) {
      if (auto t = parse_iso_time(copy[key].get<std::string>()))
        copy[key] = json{{"$date", *t}};
      else
        copy.erase(key);
    }
  }
  json meta_json = {{"roomParticipant", meta.participant}, {"roomType", meta.room_type}};
  if (!meta.room_name.empty()) meta_json["roomName"] = meta.room_name;
  return parse_message(copy, &meta_json, why);
}

}  // namespace rcgate::rc
