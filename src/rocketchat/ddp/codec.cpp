#include "rocketchat/ddp/codec.hpp"

#include <openssl/sha.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

namespace rcgate::ddp {

namespace {

// Outgoing frames keep "msg" first, like Meteor does: logs and packet captures read naturally, and
// a peer that (wrongly) sniffs the first key still works. Content, not order, is the contract.
using ordered = nlohmann::ordered_json;

// Never throws: text that is not valid UTF-8 (e.g. a plugin's output) is replaced by U+FFFD rather
// than aborting the send with a type_error.
std::string dump(const ordered& frame) {
  return frame.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

ordered to_ordered(const json& value) { return ordered(value); }

bool set_why(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return false;
}

// A short, printable name for a JSON type, used in reasons ("'id' is a number, expected a string").
const char* kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "discarded";
  }
  return "unknown";
}

const json* find(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// Field readers. Each returns false and fills *why when the field has the wrong type (or is missing
// and required); a missing optional field leaves the output untouched.
bool read_string(const json& object, const char* key, bool required, std::string& out,
                 const std::string& frame_name, std::string* why) {
  const json* v = find(object, key);
  if (v == nullptr) {
    if (!required) return true;
    return set_why(why, "'" + frame_name + "' frame without '" + key + "'");
  }
  if (!v->is_string()) {
    return set_why(
        why, "'" + frame_name + "' frame: '" + key + "' is " + kind_of(*v) + ", expected a string");
  }
  out = v->get<std::string>();
  return true;
}

bool read_string_array(const json& object, const char* key, std::vector<std::string>& out,
                       const std::string& frame_name, std::string* why) {
  const json* v = find(object, key);
  if (v == nullptr) return true;
  if (!v->is_array()) {
    return set_why(why, "'" + frame_name + "' frame: '" + key + "' is " + kind_of(*v) +
                            ", expected an array of strings");
  }
  for (const auto& item : *v) {
    if (!item.is_string()) {
      return set_why(why, "'" + frame_name + "' frame: '" + key + "' holds " + kind_of(item) +
                              ", expected strings only");
    }
    out.push_back(item.get<std::string>());
  }
  return true;
}

// "params" (method, sub) must be an array when present: Meteor answers anything else with
// "Malformed method invocation" / "Malformed subscription".
bool read_params(const json& object, Frame& frame, std::string* why) {
  const json* v = find(object, "params");
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_array()) {
    return set_why(why,
                   "'" + frame.msg + "' frame: 'params' is " + kind_of(*v) + ", expected an array");
  }
  frame.params = *v;
  return true;
}

// A JSON number as int64 (floats truncated); nullopt for other types and out-of-range values.
std::optional<std::int64_t> as_int64(const json& v) {
  // is_number_integer() is also true for unsigned values, so test unsigned first.
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Converting an out-of-range double is undefined behaviour: check first. 2^63 is exact.
    constexpr double kLimit = 9223372036854775808.0;
    if (!std::isfinite(d) || d >= kLimit || d < -kLimit) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// Decimal text of a JSON number used as an error code. Integral floats (403.0) print as integers.
std::string number_text(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  const double d = v.get<double>();
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return v.dump();
}

bool read_error(const json& object, Frame& frame, std::string* why) {
  const json* v = find(object, "error");
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_object()) {
    return set_why(why, "'" + frame.msg + "' frame: 'error' is " + kind_of(*v) +
                            ", expected a Meteor.Error object");
  }
  Error error;
  if (const json* code = find(*v, "error"); code != nullptr) {
    if (code->is_string()) {
      error.code = code->get<std::string>();
    } else if (code->is_number()) {
      error.code = number_text(*code);
      error.numeric = true;
    } else if (!code->is_null()) {
      return set_why(why, "'" + frame.msg + "' frame: error code is " + kind_of(*code) +
                              ", expected a string or a number");
    }
  }
  // reason/message are text for people: a server that puts something odd there still delivered a
  // usable error (the code), so those are best effort rather than grounds to drop the frame.
  if (const json* reason = find(*v, "reason"); reason != nullptr && reason->is_string()) {
    error.reason = reason->get<std::string>();
  }
  if (const json* message = find(*v, "message"); message != nullptr && message->is_string()) {
    error.message = message->get<std::string>();
  }
  if (const json* details = find(*v, "details"); details != nullptr) error.details = *details;
  frame.error = std::move(error);
  return true;
}

bool parse_collection_frame(json& object, Frame& frame, std::string* why) {
  if (!read_string(object, "collection", true, frame.collection, frame.msg, why)) return false;
  if (!read_string(object, "id", true, frame.id, frame.msg, why)) return false;
  if (frame.type == Type::Removed) return true;
  const auto found = object.find("fields");
  json* fields = found == object.end() ? nullptr : &*found;
  if (fields == nullptr || fields->is_null()) return true;
  if (!fields->is_object()) {
    return set_why(
        why, "'" + frame.msg + "' frame: 'fields' is " + kind_of(*fields) + ", expected an object");
  }
  // Moved, not copied: a message event carries the whole message (its markdown AST too), and
  // copying it twice per frame cost more than parsing it (callgrind, tests/bench/README.md).
  frame.fields = std::move(*fields);
  // Stream events (PROTOCOL.md §3.1) put the event in fields.eventName / fields.args. Ordinary
  // collection documents may have neither; both are optional, but if present they must be usable.
  if (const json* name = find(frame.fields, "eventName"); name != nullptr && !name->is_null()) {
    if (!name->is_string()) {
      return set_why(why, "'" + frame.msg + "' frame: fields.eventName is " + kind_of(*name) +
                              ", expected a string");
    }
    frame.event_name = name->get<std::string>();
  }
  if (auto args = frame.fields.find("args"); args != frame.fields.end() && !args->is_null()) {
    if (!args->is_array()) {
      return set_why(why, "'" + frame.msg + "' frame: fields.args is " + kind_of(*args) +
                              ", expected an array");
    }
    // A stream event's arguments live in `args` only (fields keeps eventName).
    frame.args = std::move(*args);
    frame.fields.erase(args);
  }
  return true;
}

// nlohmann parses iteratively, but copying and comparing values recurse: a frame nested a hundred
// thousand levels deep would overflow the stack later, far from here. No real frame comes close
// (message ASTs nest a dozen levels), so refuse deep frames (kMaxDepth) up front with a cheap scan.

bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    switch (ch) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxDepth) return true;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

struct TypeName {
  const char* msg;
  Type type;
};
constexpr TypeName kTypes[] = {
    {"connect", Type::Connect}, {"connected", Type::Connected}, {"failed", Type::Failed},
    {"ping", Type::Ping},       {"pong", Type::Pong},           {"method", Type::Method},
    {"result", Type::Result},   {"updated", Type::Updated},     {"sub", Type::Sub},
    {"unsub", Type::Unsub},     {"ready", Type::Ready},         {"nosub", Type::NoSub},
    {"added", Type::Added},     {"changed", Type::Changed},     {"removed", Type::Removed},
    {"error", Type::Error},
};

Type type_of(const std::string& msg) {
  for (const auto& entry : kTypes) {
    if (msg == entry.msg) return entry.type;
  }
  return Type::Unknown;
}

bool parse_body(json& object, Frame& frame, std::string* why) {
  const std::string& m = frame.msg;
  switch (frame.type) {
    case Type::Greeting:
    case Type::Unknown:
      return true;
    case Type::Connect:
      return read_string(object, "version", false, frame.version, m, why) &&
             read_string_array(object, "support", frame.support, m, why);
    case Type::Connected:
      return read_string(object, "session", false, frame.session, m, why);
    case Type::Failed:
      return read_string(object, "version", false, frame.version, m, why);
    case Type::Ping:
    case Type::Pong:
      // The id is optional, but one that is not a string cannot be echoed faithfully.
      return read_string(object, "id", false, frame.id, m, why);
    case Type::Method:
      return read_string(object, "id", true, frame.id, m, why) &&
             read_string(object, "method", true, frame.name, m, why) &&
             read_params(object, frame, why);
    case Type::Result: {
      if (!read_string(object, "id", true, frame.id, m, why)) return false;
      if (auto result = object.find("result"); result != object.end()) {
        frame.has_result = true;
        frame.result = std::move(*result);  // history pages are large: moved, not copied
      }
      return read_error(object, frame, why);
    }
    case Type::Updated:
      return read_string_array(object, "methods", frame.ids, m, why);
    case Type::Sub:
      return read_string(object, "id", true, frame.id, m, why) &&
             read_string(object, "name", true, frame.name, m, why) &&
             read_params(object, frame, why);
    case Type::Unsub:
      return read_string(object, "id", true, frame.id, m, why);
    case Type::Ready:
      return read_string_array(object, "subs", frame.ids, m, why);
    case Type::NoSub:
      return read_string(object, "id", true, frame.id, m, why) && read_error(object, frame, why);
    case Type::Added:
    case Type::Changed:
    case Type::Removed:
      return parse_collection_frame(object, frame, why);
    case Type::Error: {
      if (const json* reason = find(object, "reason"); reason != nullptr) {
        if (reason->is_string()) {
          frame.reason = reason->get<std::string>();
        } else if (!reason->is_null()) {
          frame.reason = reason->dump();  // keep whatever the peer said; it is only for the log
        }
      }
      if (const json* offending = find(object, "offendingMessage"); offending != nullptr) {
        frame.offending = *offending;
      }
      return true;
    }
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Error

std::optional<std::int64_t> Error::time_to_reset_ms() const {
  if (code != "too-many-requests" || !details.is_object()) return std::nullopt;
  auto it = details.find("timeToReset");
  if (it == details.end()) return std::nullopt;
  return as_int64(*it);
}

std::string Error::describe() const {
  if (reason.empty()) return "[" + code + "]";
  return reason + " [" + code + "]";
}

json Error::to_json() const {
  json out = json::object();
  out["isClientSafe"] = true;
  bool wrote_number = false;
  if (numeric) {
    std::int64_t value = 0;
    const char* first = code.data();
    const char* last = code.data() + code.size();
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec == std::errc() && ptr == last) {
      out["error"] = value;
      wrote_number = true;
    } else {
      // A fractional code ("444.5", kept as number_text wrote it) is a number too: written as
      // text it would read back as a string code.
      double fractional = 0;
      auto [end, error] = std::from_chars(first, last, fractional);
      if (error == std::errc() && end == last && std::isfinite(fractional)) {
        out["error"] = fractional;
        wrote_number = true;
      }
    }
  }
  if (!wrote_number) out["error"] = code;
  if (!reason.empty()) out["reason"] = reason;
  if (!details.is_null()) out["details"] = details;
  out["message"] = message.empty() ? describe() : message;
  out["errorType"] = "Meteor.Error";
  return out;
}

Error make_error(std::string code, std::string reason, json details) {
  Error error;
  error.code = std::move(code);
  error.reason = std::move(reason);
  error.details = std::move(details);
  error.message = error.describe();
  return error;
}

Error make_error(int code, std::string reason, json details) {
  Error error = make_error(std::to_string(code), std::move(reason), std::move(details));
  error.numeric = true;
  return error;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const char* to_string(Type type) {
  switch (type) {
    case Type::Greeting:
      return "greeting";
    case Type::Unknown:
      return "unknown";
    default:
      break;
  }
  for (const auto& entry : kTypes) {
    if (entry.type == type) return entry.msg;
  }
  return "unknown";
}

std::optional<Frame> parse(std::string_view text, std::string* why) {
  if (too_deep(text)) {
    set_why(why, "frame nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::nullopt;
  }
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    set_why(why, std::string("not JSON: ") + e.what());
    return std::nullopt;
  }
  if (!doc.is_object()) {
    set_why(why, std::string("frame is not an object (it is ") + kind_of(doc) + ")");
    return std::nullopt;
  }
  Frame frame;
  const json* msg = find(doc, "msg");
  if (msg == nullptr) {
    // {"server_id":"0"} and friends (PROTOCOL.md §1.2): clients ignore frames without "msg".
    frame.type = Type::Greeting;
    return frame;
  }
  if (!msg->is_string()) {
    set_why(why, std::string("'msg' is ") + kind_of(*msg) + ", expected a string");
    return std::nullopt;
  }
  frame.msg = msg->get<std::string>();
  frame.type = type_of(frame.msg);
  try {
    if (!parse_body(doc, frame, why)) return std::nullopt;
  } catch (const json::exception& e) {
    // parse_body checks every type before reading, so this is a bug guard: a frame that slips
    // past the checks is still reported as malformed instead of unwinding through the caller.
    set_why(why, "'" + frame.msg + "' frame: " + e.what());
    return std::nullopt;
  }
  return frame;
}

// ---------------------------------------------------------------------------------------------
// Encoding: client -> server

std::string encode_connect() {
  return dump({{"msg", "connect"}, {"version", "1"}, {"support", {"1", "pre2", "pre1"}}});
}

std::string encode_ping(std::string_view id) {
  ordered frame = {{"msg", "ping"}};
  if (!id.empty()) frame["id"] = std::string(id);
  return dump(frame);
}

std::string encode_pong(std::string_view id) {
  ordered frame = {{"msg", "pong"}};
  if (!id.empty()) frame["id"] = std::string(id);
  return dump(frame);
}

std::string encode_method(std::string_view id, std::string_view method, const json& params) {
  ordered frame = {{"msg", "method"}, {"method", std::string(method)}, {"id", std::string(id)}};
  frame["params"] = params.is_null() ? ordered::array() : to_ordered(params);
  return dump(frame);
}

std::string encode_sub(std::string_view id, std::string_view name, const json& params) {
  ordered frame = {{"msg", "sub"}, {"id", std::string(id)}, {"name", std::string(name)}};
  frame["params"] = params.is_null() ? ordered::array() : to_ordered(params);
  return dump(frame);
}

std::string encode_unsub(std::string_view id) {
  return dump({{"msg", "unsub"}, {"id", std::string(id)}});
}

// ---------------------------------------------------------------------------------------------
// Encoding: server -> client

std::string encode_connected(std::string_view session) {
  return dump({{"msg", "connected"}, {"session", std::string(session)}});
}

std::string encode_failed(std::string_view version) {
  return dump({{"msg", "failed"}, {"version", std::string(version)}});
}

std::string encode_result(std::string_view id, const json& result) {
  ordered frame = {{"msg", "result"}, {"id", std::string(id)}};
  frame["result"] = to_ordered(result);
  return dump(frame);
}

std::string encode_result_empty(std::string_view id) {
  return dump({{"msg", "result"}, {"id", std::string(id)}});
}

std::string encode_result_error(std::string_view id, const Error& error) {
  ordered frame = {{"msg", "result"}, {"id", std::string(id)}};
  frame["error"] = to_ordered(error.to_json());
  return dump(frame);
}

std::string encode_updated(const std::vector<std::string>& method_ids) {
  ordered frame = {{"msg", "updated"}};
  frame["methods"] = method_ids;
  return dump(frame);
}

std::string encode_ready(const std::vector<std::string>& sub_ids) {
  ordered frame = {{"msg", "ready"}};
  frame["subs"] = sub_ids;
  return dump(frame);
}

std::string encode_nosub(std::string_view id, const std::optional<Error>& error) {
  ordered frame = {{"msg", "nosub"}, {"id", std::string(id)}};
  if (error) frame["error"] = to_ordered(error->to_json());
  return dump(frame);
}

std::string encode_stream_event(std::string_view collection, std::string_view event_name,
                                const json& args) {
  // The document id of a stream event is always the literal "id" (PROTOCOL.md §3.1).
  ordered fields = {{"eventName", std::string(event_name)}};
  fields["args"] = args.is_null() ? ordered::array() : to_ordered(args);
  ordered frame = {{"msg", "changed"}, {"collection", std::string(collection)}, {"id", "id"}};
  frame["fields"] = std::move(fields);
  return dump(frame);
}

std::string encode_protocol_error(std::string_view reason, const json& offending) {
  ordered frame = {{"msg", "error"}, {"reason", std::string(reason)}};
  if (!offending.is_null()) frame["offendingMessage"] = to_ordered(offending);
  return dump(frame);
}

// ---------------------------------------------------------------------------------------------
// EJSON and ids

std::optional<std::int64_t> ejson_date(const json& v) {
  if (v.is_object()) {
    auto it = v.find("$date");
    if (it == v.end()) return std::nullopt;
    return as_int64(*it);
  }
  return as_int64(v);
}

json make_ejson_date(std::int64_t ms) { return json{{"$date", ms}}; }

std::string random_id(std::size_t length) {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  constexpr std::size_t kSize = sizeof(kAlphabet) - 1;
  // One generator per thread, seeded from the OS: ids must not repeat across restarts (message
  // _ids chosen by the client make sendMessage retries idempotent, PROTOCOL.md §4.1).
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uniform_int_distribution<std::size_t> pick(0, kSize - 1);
  std::string id;
  id.reserve(length);
  for (std::size_t i = 0; i < length; ++i) id.push_back(kAlphabet[pick(engine)]);
  return id;
}

std::string derived_id(std::string_view seed, std::size_t length) {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  constexpr std::size_t kSize = sizeof(kAlphabet) - 1;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out.push_back(kAlphabet[digest[i % sizeof digest] % kSize]);
  return out;
}

}  // namespace rcgate::ddp
