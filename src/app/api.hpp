#pragma once
// The verbs automations use (issue 4): list devices and users, send, upload, ask. One
// transport-independent entry point serves the local HTTP API (api_server.hpp), the CLI (through
// the HTTP API) and the MQTT bridge (bridge/request/<verb>), so every caller gets the same checks,
// the same answers and the same envelope.
//
// The envelope, for every answer of every transport:
//   {"status": "ok",    "data": {...}}
//   {"status": "error", "error": "a sentence saying what is wrong and what to do", "code": "..."}
// `code` is a stable machine-readable word (bad_request, unauthorized, not_found, ...).
//
// Verbs and their params (JSON; the HTTP layer merges path parameters, the query string and the
// JSON body into `params`):
//   health                          -> {version, connected, server, user, queue_depth, open_asks}
//   devices                         -> {devices: [device]}
//   device   {device}               -> device   (device_json in events.hpp: {id, name, room_name,
//                                       room_type, available, mention_commands, last_message,
//                                       last_message_id, last_sender, last_sender_name,
//                                       last_message_at, commands:[{id, kind, username?}]})
//   users                           -> {users: [{username, name, access, role, configured,
//                                       seen, user_id?, display_name?}]}
//   send     {device | room | user, text, thread?, id?, ttl?}
//                                   -> 200 {status:"sent", id, room_id, message_id}
//                                      202 {status:"queued", id, position, expires_at}
//   message  {id}                   -> the outbox status of a send/upload/ask question
//   upload   {device | room | user, path | camera | content_base64 (+ file_name), caption?,
//             text?, thread?, id?, ttl?}       (raw bytes: ApiCall::bytes, file_name required)
//                                   -> like send
//   ask      {device | room | user, question, answers?, timeout?, users?, thread?, id?,
//             wait?, callback_url?, context?}
//            wait (seconds, 0..api.ask_wait_max): answer when the ask ends or after `wait`
//                                   -> ask result: {id, status: open|answered|timed_out|cancelled,
//                                       question, answer, answer_index, answered_by {username,
//                                       name, user_id}, answered_at, deadline, room_id,
//                                       question_message_id}
//   ask_status {id, wait?}          -> ask result (long poll with wait, as above)
//   ask_cancel {id}                 -> ask result (cancelled)
//
// Durations (ttl, timeout, wait) are numbers of seconds or strings such as "90s", "5m".
// Errors: 400 bad_request (what is wrong with which field), 401 unauthorized, 403 forbidden
// (a path outside api.upload_dirs), 404 not_found (no such device/room/user/ask/camera),
// 409 conflict (an id in use), 413 too_large, 422 rejected (the server refused: file too
// large, read-only room), 502 upstream (a camera or Rocket.Chat failed), 503 unavailable
// (queue full, shutting down).
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace rcgate::app {

struct ApiReply {
  int status = 200;           // HTTP status; 200/202 ok, 4xx/5xx error
  nlohmann::json data;        // ok: the verb's result
  std::string error;          // error: a sentence for people
  std::string code;           // error: bad_request, not_found, ...

  bool ok() const { return status < 400; }
  static ApiReply success(nlohmann::json data, int status = 200);
  static ApiReply failure(int status, std::string code, std::string error);
};

// {"status":"ok","data":...} or {"status":"error","error":...,"code":...}
nlohmann::json envelope(const ApiReply& reply);
// The HTTP status's default code word (400 -> "bad_request", ...).
const char* code_for_status(int status);

struct ApiCall {
  std::string verb;
  nlohmann::json params = nlohmann::json::object();
  std::string bytes;  // upload: a raw request body (the file itself); "" otherwise
};

class ApiService {
 public:
  using Reply = std::function<void(ApiReply)>;
  virtual ~ApiService() = default;
  // Answers exactly once, now or later, on the loop thread. An unknown verb gets 404.
  virtual void call(ApiCall call, Reply reply) = 0;
};

}  // namespace rcgate::app
