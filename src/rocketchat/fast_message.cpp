#include "rocketchat/fast_message.hpp"

#include <simdjson.h>

#include <cstring>
#include <string>
#include <utility>

#include "rocketchat/ddp/codec.hpp"

namespace rcgate::rc {

namespace {

namespace od = simdjson::ondemand;
using json = nlohmann::json;

// The general path refuses a frame for any invalid part of it, including parts nobody reads, and
// nlohmann's parser checks every token. On-Demand checks only what is read, so every value is
// read here, even the ones that are thrown away (the markdown AST): whole-frame validity comes
// from that walk, plus simdjson's first stage (UTF-8, unescaped control characters, brackets).
//
// Depths count objects and arrays like ddp::parse does (the frame object is level 1), so a frame
// the general path refuses as too deep is refused here too. The walk recurses at most that deep.

// Integers become the nlohmann types its parser picks (unsigned when not negative, else signed);
// an integer out of 64-bit range (nlohmann turns it into a double) and, outside attachments, any
// fraction or exponent make the frame go to the general path: dates and sizes are integers in
// every real frame, and a fractional one is rare enough not to need a second reading of numbers.
bool read_number(od::value& v, bool allow_fraction, json* out) {
  const std::string_view token = v.raw_json_token();
  const bool fractional = token.find_first_of(".eE") != std::string_view::npos;
  if (fractional) {
    if (!allow_fraction) return false;
    double d = 0;
    if (v.get_double().get(d)) return false;
    if (out != nullptr) *out = d;
    return true;
  }
  if (!token.empty() && token.front() == '-') {
    std::int64_t i = 0;
    if (v.get_int64().get(i)) return false;
    if (out != nullptr) *out = i;
    return true;
  }
  std::uint64_t u = 0;
  if (v.get_uint64().get(u)) return false;
  if (out != nullptr) *out = u;
  return true;
}

// Reads one value completely. With `out`, it is also converted to what nlohmann's parser makes of
// it (objects keep the last of duplicated keys, as nlohmann does); without, it is only checked.
bool read_value(od::value v, int depth, bool allow_fraction, json* out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      if (depth + 1 > ddp::kMaxDepth) return false;
      od::object object;
      if (v.get_object().get(object)) return false;
      if (out != nullptr) *out = json::object();
      for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        std::string name(out != nullptr ? key : std::string_view());  // key's storage is reused
        od::value item;
        if (field.value().get(item)) return false;
        if (out == nullptr) {
          if (!read_value(item, depth + 1, allow_fraction, nullptr)) return false;
          continue;
        }
        json child;
        if (!read_value(item, depth + 1, allow_fraction, &child)) return false;
        (*out)[std::move(name)] = std::move(child);
      }
      return true;
    }
    case od::json_type::array: {
      if (depth + 1 > ddp::kMaxDepth) return false;
      od::array array;
      if (v.get_array().get(array)) return false;
      if (out != nullptr) *out = json::array();
      for (auto element : array) {
        od::value item;
        if (element.get(item)) return false;
        if (out == nullptr) {
          if (!read_value(item, depth + 1, allow_fraction, nullptr)) return false;
          continue;
        }
        json child;
        if (!read_value(item, depth + 1, allow_fraction, &child)) return false;
        out->push_back(std::move(child));
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view text;
      if (v.get_string().get(text)) return false;
      if (out != nullptr) *out = std::string(text);
      return true;
    }
    case od::json_type::number:
      // Checked even when unused: simdjson reads a number only when asked.
      return read_number(v, allow_fraction || out == nullptr, out);
    case od::json_type::boolean: {
      bool b = false;
      if (v.get_bool().get(b)) return false;
      if (out != nullptr) *out = b;
      return true;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) return false;
      if (out != nullptr) *out = nullptr;
      return true;
    }
  }
  return false;
}

bool skip_value(od::value v, int depth) { return read_value(v, depth, true, nullptr); }

// Copies the keys `wanted` says parse_message reads into `out`; every other value is only
// checked. A read key given twice (nlohmann would keep the last one) is left to the general path.
template <typename Wanted>
bool copy_read_keys(od::value v, int depth, Wanted wanted, json& out) {
  od::object object;
  if (v.get_object().get(object)) return false;
  out = json::object();
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    const bool read = wanted(key);
    std::string name(read ? key : std::string_view());  // the key's storage is reused
    od::value item;
    if (field.value().get(item)) return false;
    if (!read) {
      if (!skip_value(item, depth + 1)) return false;
      continue;
    }
    if (out.contains(name)) return false;
    json child;
    // Attachments are kept as they came (Message::attachments), fractions included.
    if (!read_value(item, depth + 1, name == "attachments", &child)) return false;
    out.emplace(std::move(name), std::move(child));
  }
  return true;
}

// fields.args: exactly [message, meta], both objects (depth: args is level 3).
bool read_args(od::value v, json& message, json& meta) {
  od::array args;
  if (v.get_array().get(args)) return false;
  int count = 0;
  for (auto element : args) {
    od::value item;
    if (element.get(item)) return false;
    od::json_type type;
    if (item.type().get(type) || type != od::json_type::object) return false;
    if (count == 0) {
      if (!copy_read_keys(item, 3, message_key_read, message)) return false;
      // A `t` that is not text is a server oddity the general path turns into text: left to it.
      if (auto t = message.find("t"); t != message.end() && !t->is_string() && !t->is_null()) {
        return false;
      }
    } else if (count == 1) {
      if (!copy_read_keys(item, 3, meta_key_read, meta)) return false;
    } else {
      return false;
    }
    ++count;
  }
  return count == 2;
}

// The "fields" object (level 2): eventName (a string, or absent/null as the general path allows
// for room messages) and args.
bool read_fields(od::value v, json& message, json& meta) {
  od::object fields;
  if (v.get_object().get(fields)) return false;
  bool seen_event = false;
  bool seen_args = false;
  for (auto field : fields) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value value;
    if (field.value().get(value)) return false;
    if (key == "eventName") {
      if (seen_event) return false;
      seen_event = true;
      od::json_type type;
      if (value.type().get(type)) return false;
      if (type == od::json_type::string) {
        std::string_view ignored;
        if (value.get_string().get(ignored)) return false;
      } else if (type == od::json_type::null) {
        if (!skip_value(value, 2)) return false;
      } else {
        return false;  // the general path refuses it
      }
    } else if (key == "args") {
      if (seen_args) return false;
      seen_args = true;
      if (!read_args(value, message, meta)) return false;
    } else if (!skip_value(value, 2)) {
      return false;
    }
  }
  return seen_args;
}

// A string value equal to `expected` (or any string when expected is null).
bool string_is(od::value v, const char* expected) {
  std::string_view text;
  if (v.get_string().get(text)) return false;
  return expected == nullptr || text == expected;
}

}  // namespace

struct FastMessageParser::State {
  od::parser parser;
  std::string buffer;  // the frame and simdjson's padding after it; reused
};

FastMessageParser::FastMessageParser() : state_(std::make_unique<State>()) {}
FastMessageParser::~FastMessageParser() = default;

bool FastMessageParser::worth_trying(std::string_view text) {
  const auto start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text[start] == '{' && text.size() <= kMaxFrameBytes &&
         text.find("\"stream-room-messages\"") != std::string_view::npos;
}

std::optional<Message> FastMessageParser::parse(std::string_view text) {
  if (text.size() > kMaxFrameBytes) return std::nullopt;
  std::string& buffer = state_->buffer;
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), text.data(), text.size());
  std::memset(buffer.data() + text.size(), ' ', simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (state_->parser.iterate(buffer.data(), text.size(), buffer.size()).get(doc)) {
    return std::nullopt;
  }
  od::object root;
  if (doc.get_object().get(root)) return std::nullopt;
  bool seen_msg = false, seen_collection = false, seen_id = false, seen_fields = false;
  json message;
  json meta;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    od::value value;
    if (field.value().get(value)) return std::nullopt;
    bool* seen = nullptr;
    bool ok = false;
    if (key == "msg") {
      seen = &seen_msg;
      ok = string_is(value, "changed");
    } else if (key == "collection") {
      seen = &seen_collection;
      ok = string_is(value, "stream-room-messages");
    } else if (key == "id") {
      seen = &seen_id;
      ok = string_is(value, nullptr);
    } else if (key == "fields") {
      seen = &seen_fields;
      ok = !seen_fields && read_fields(value, message, meta);
    } else {
      ok = skip_value(value, 1);
    }
    if (!ok || (seen != nullptr && *seen)) return std::nullopt;
    if (seen != nullptr) *seen = true;
  }
  if (!seen_msg || !seen_collection || !seen_id || !seen_fields) return std::nullopt;
  // Nothing may follow the frame object (nlohmann refuses trailing text).
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  // The rules themselves are parse_message's; a message it refuses is left to the general path,
  // which says why in the log.
  return parse_message(message, &meta);
}

}  // namespace rcgate::rc
