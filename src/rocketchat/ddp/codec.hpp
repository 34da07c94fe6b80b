#pragma once
// The DDP wire format (PROTOCOL.md §1.2-1.4, §3.1): text <-> typed frames. Pure: no sockets.
// Used by the realtime client (parse server frames, encode client frames) and by the simulator
// (the other way round), so both sides share one definition of every frame.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::ddp {

using json = nlohmann::json;

// A Meteor.Error as serialised in result/nosub frames.
struct Error {
  std::string code;        // the "error" field; numbers are kept as their decimal text ("403")
  bool numeric = false;    // true when "error" was a number
  std::string reason;      // may be empty
  std::string message;     // may be empty
  json details;            // null when absent
  // Milliseconds from details.timeToReset of a too-many-requests error; nullopt otherwise.
  std::optional<std::int64_t> time_to_reset_ms() const;
  // "reason [code]" or "[code]".
  std::string describe() const;
  json to_json() const;  // the full Meteor.Error shape (isClientSafe, errorType, ...)
};
Error make_error(std::string code, std::string reason = {}, json details = nullptr);
Error make_error(int code, std::string reason = {}, json details = nullptr);

enum class Type {
  Greeting,   // a frame without "msg" (e.g. {"server_id":"0"}): ignored by clients
  Connect,    // client -> server
  Connected,
  Failed,
  Ping,
  Pong,
  Method,     // client -> server
  Result,
  Updated,
  Sub,        // client -> server
  Unsub,      // client -> server
  Ready,
  NoSub,
  Added,
  Changed,
  Removed,
  Error,      // protocol-level {"msg":"error"}
  Unknown,    // a "msg" this codec does not know: tolerated
};
const char* to_string(Type type);

struct Frame {
  Type type = Type::Unknown;
  std::string msg;          // the raw "msg" value
  std::string id;           // ping/pong/method/result/sub/unsub/nosub id; added/changed doc id
  std::string session;      // connected
  std::string version;      // connect/failed
  std::vector<std::string> support;  // connect
  std::string name;         // method name / sub name
  json params;              // method/sub params (array), null when absent
  bool has_result = false;  // result frames: the "result" key was present
  json result;
  std::optional<ddp::Error> error;  // result/nosub error
  std::vector<std::string> ids;     // ready.subs / updated.methods
  std::string collection;   // added/changed/removed
  json fields;              // added/changed fields (object), null when absent; a stream
                            // event's "args" are moved out of it into `args`
  std::string event_name;   // changed on a stream: fields.eventName
  json args;                // changed on a stream: fields.args (array), null when absent
  std::string reason;       // protocol error reason
  json offending;           // protocol error offendingMessage
};

// parse() refuses frames whose objects and arrays nest deeper than this (the frame itself counts
// as one level): copying or comparing such a value later would recurse that deep.
inline constexpr int kMaxDepth = 128;

// Parses one text frame. On malformed input returns nullopt and sets *why (e.g. "not JSON: ...",
// "frame is not an object", "'result' frame without 'id'").
std::optional<Frame> parse(std::string_view text, std::string* why = nullptr);

// Client -> server.
std::string encode_connect();
std::string encode_ping(std::string_view id = {});
std::string encode_pong(std::string_view id = {});
std::string encode_method(std::string_view id, std::string_view method, const json& params);
std::string encode_sub(std::string_view id, std::string_view name, const json& params);
std::string encode_unsub(std::string_view id);

// Server -> client.
std::string encode_connected(std::string_view session);
std::string encode_failed(std::string_view version);
std::string encode_result(std::string_view id, const json& result);
std::string encode_result_empty(std::string_view id);  // no "result" key
std::string encode_result_error(std::string_view id, const Error& error);
std::string encode_updated(const std::vector<std::string>& method_ids);
std::string encode_ready(const std::vector<std::string>& sub_ids);
std::string encode_nosub(std::string_view id, const std::optional<Error>& error = std::nullopt);
std::string encode_stream_event(std::string_view collection, std::string_view event_name,
                                const json& args);
std::string encode_protocol_error(std::string_view reason, const json& offending = nullptr);

// EJSON dates: {"$date": ms}. Returns nullopt when v is not such a date (a number is accepted too).
std::optional<std::int64_t> ejson_date(const json& v);
json make_ejson_date(std::int64_t ms);

// Meteor-style random id: 17 characters of [23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz].
std::string random_id(std::size_t length = 17);
// A Meteor-style id derived from `seed` (SHA-256): the same seed always gives the same id. Used
// for messages whose retries must never post twice, even across restarts.
std::string derived_id(std::string_view seed, std::size_t length = 17);

}  // namespace rcgate::ddp
