#include "app/scenarios.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "app/camera.hpp"
#include "config/loader.hpp"
#include "net/http_auth.hpp"
#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "persistence/atomic_file.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/message.hpp"
#include "core/text.hpp"

namespace rcgate::app {

using json = nlohmann::json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxText = 10000;

// Reads the request's fields; the first problem becomes the 400 answer.
class Params {
 public:
  explicit Params(const json& params) : p_(params) {}

  bool has(const char* key) const {
    auto it = p_.find(key);
    return it != p_.end() && !it->is_null();
  }

  std::string text(const char* key, bool required = false, std::size_t max = 1000) {
    auto it = p_.find(key);
    if (it == p_.end() || it->is_null()) {
      if (required) fail(std::string("'") + key + "' is required");
      return {};
    }
    if (!it->is_string()) {
      fail(std::string("'") + key + "' must be a string, got " + it->type_name());
      return {};
    }
    std::string value = it->get<std::string>();
    if (required && value.empty()) fail(std::string("'") + key + "' must not be empty");
    if (value.size() > max)
      fail(std::string("'") + key + "' is too long (" + std::to_string(value.size()) +
           " bytes, at most " + std::to_string(max) + ")");
    return value;
  }

  // A list of strings: a JSON array, or one string with comma-separated values.
  std::vector<std::string> list(const char* key) {
    std::vector<std::string> out;
    auto it = p_.find(key);
    if (it == p_.end() || it->is_null()) return out;
    auto add = [&](std::string v) {
      auto b = v.find_first_not_of(' '), e = v.find_last_not_of(' ');
      if (b != std::string::npos) out.push_back(v.substr(b, e - b + 1));
    };
    if (it->is_string()) {
      std::string s = it->get<std::string>();
      std::size_t start = 0;
      while (start <= s.size()) {
        auto comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        add(s.substr(start, comma - start));
        start = comma + 1;
      }
      return out;
    }
    if (!it->is_array()) {
      fail(std::string("'") + key + "' must be a list of strings, got " + it->type_name());
      return out;
    }
    for (const auto& v : *it) {
      if (!v.is_string()) {
        fail(std::string("'") + key + "' must hold only strings, got " + v.type_name());
        return {};
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  // Seconds as a number, or "250ms", "90s", "5m", "1h".
  std::optional<milliseconds> duration(const char* key, bool allow_zero) {
    auto it = p_.find(key);
    if (it == p_.end() || it->is_null()) return std::nullopt;
    std::string error;
    std::optional<milliseconds> value;
    if (it->is_number()) {
      const double seconds = it->get<double>();
      if (seconds < 0 || seconds > 86400 || (!allow_zero && seconds == 0)) {
        error = allow_zero ? "must be between 0 and 86400 seconds" : "must be between 1 and 86400 seconds";
      } else {
        value = milliseconds(static_cast<std::int64_t>(seconds * 1000));
      }
    } else if (it->is_string()) {
      value = config::duration_from_text(it->get<std::string>(), error, allow_zero);
    } else {
      error = std::string("must be a number of seconds or a duration such as \"90s\", got ") +
              it->type_name();
    }
    if (!value) fail(std::string("'") + key + "' " + error);
    return value;
  }

  void fail(std::string error) {
    if (error_.empty()) error_ = std::move(error);
  }
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

 private:
  const json& p_;
  std::string error_;
};

ApiReply bad_request(std::string error) { return ApiReply::failure(400, "bad_request", std::move(error)); }

// An id the caller gives makes a repeated request idempotent: the same message id every time.
std::string item_id_for(const std::string& caller_id) {
  return caller_id.empty() ? core::random_message_id() : ddp::derived_id("api/" + caller_id);
}

ApiReply reply_for_outcome(const core::OutboxOutcome& o) {
  using S = core::OutboxOutcome::Status;
  switch (o.status) {
    case S::Sent: {
      std::string message_id = o.message.is_object() ? o.message.value("_id", o.id) : o.id;
      return ApiReply::success(
          {{"status", "sent"}, {"id", o.id}, {"room_id", o.room_id}, {"message_id", message_id}});
    }
    case S::Failed:
      return ApiReply::failure(422, "rejected", "not posted: " + o.error);
    case S::Expired:
      return ApiReply::failure(422, "expired", "not delivered before it expired: " + o.error);
    case S::Cancelled:
      return ApiReply::failure(409, "cancelled", "cancelled before it was sent");
  }
  return ApiReply::failure(500, "internal", "unknown outcome");
}

json status_json(const core::OutboxStatus& s) {
  json out = {{"id", s.id},
              {"status", core::to_string(s.state)},
              {"kind", core::to_string(s.kind)},
              {"room_id", s.room_id},
              {"attempts", s.attempts}};
  if (!s.user.empty()) out["user"] = s.user;
  if (!s.error.empty()) out["error"] = s.error;
  if (s.state == core::OutboxStatus::State::Queued) out["position"] = s.position;
  if (s.expires_ms > 0 && (s.state == core::OutboxStatus::State::Queued ||
                           s.state == core::OutboxStatus::State::Sending))
    out["expires_at"] = rc::format_iso_time(s.expires_ms);
  if (s.message.is_object() && s.message.contains("_id")) out["message_id"] = s.message["_id"];
  return out;
}

// A name for a file in a room: its last path component, without control characters.
std::string safe_file_name(const std::string& name) {
  std::string base = fs::path(name).filename().string();
  std::string out;
  for (char c : base) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != '/' && c != '\\') out += c;
  }
  if (out.empty() || out == "." || out == "..") out = "file";
  return out.size() > 200 ? out.substr(out.size() - 200) : out;
}

// Is `path` (made canonical) inside one of `dirs`?
bool under_one_of(const fs::path& path, const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::path base = fs::weakly_canonical(dir, ec);
    if (ec) continue;
    auto rel = path.lexically_relative(base);
    if (!rel.empty() && *rel.begin() != ".." && rel.is_relative()) return true;
  }
  return false;
}

}  // namespace

// ---- the service --------------------------------------------------------------------------------

struct Scenarios::Waiter {
  Reply reply;
  std::unique_ptr<net::Timer> timer;
  bool answered = false;

  void answer(ApiReply r) {
    if (answered) return;
    answered = true;
    if (timer) timer->cancel();
    auto fn = std::move(reply);
    fn(std::move(r));
  }
};

Scenarios::Scenarios(net::Loop& loop, Gateway& gateway, const config::Settings& settings)
    : loop_(loop), gateway_(gateway), settings_(settings) {
  std::weak_ptr<int> alive = alive_;
  gateway_.on_ask_closed([this, alive](const core::AskResult& result) {
    if (alive.expired()) return;
    on_ask_closed(result);
  });
}

Scenarios::~Scenarios() = default;

void Scenarios::call(ApiCall call, Reply reply) {
  const std::string& verb = call.verb;
  const json& params = call.params.is_object() ? call.params : json::object();
  try {
    if (verb == "health") return health(std::move(reply));
    if (verb == "devices") return devices(std::move(reply));
    if (verb == "device") return device(params, std::move(reply));
    if (verb == "users") return users(std::move(reply));
    if (verb == "send") return send(params, std::move(reply));
    if (verb == "message") return message(params, std::move(reply));
    if (verb == "upload") return upload(std::move(call), std::move(reply));
    if (verb == "ask") return ask(params, std::move(reply));
    if (verb == "ask_status") return ask_status(params, std::move(reply));
    if (verb == "ask_cancel") return ask_cancel(params, std::move(reply));
  } catch (const std::exception& e) {
    // A bug must not take the daemon down; the caller hears about it.
    spdlog::error("api: {} failed: {}", verb, e.what());
    return reply(ApiReply::failure(500, "internal", std::string("internal error: ") + e.what()));
  }
  reply(ApiReply::failure(404, "not_found", "unknown verb '" + verb + "'"));
}

void Scenarios::health(Reply reply) {
  const auto& link = gateway_.link();
  json data = {{"version", RCGATE_VERSION},
               {"connected", gateway_.online()},
               {"link", rc::to_string(link.state)},
               {"server", settings_.rocketchat.url.to_string()},
               {"queue_depth", gateway_.outbox().depth()},
               {"open_asks", gateway_.asks().open_count()}};
  if (!link.reason.empty()) data["reason"] = link.reason;
  if (gateway_.online()) data["user"] = gateway_.client().identity().username;
  reply(ApiReply::success(std::move(data)));
}

void Scenarios::devices(Reply reply) {
  json list = json::array();
  for (const auto* d : gateway_.devices().devices()) list.push_back(device_json(*d));
  reply(ApiReply::success({{"devices", std::move(list)}}));
}

const core::Device* Scenarios::find_device(const std::string& name_or_id) const {
  std::string wanted = name_or_id;
  if (!wanted.empty() && wanted[0] == '#') wanted.erase(0, 1);
  if (const auto* d = gateway_.devices().find(wanted)) return d;
  const std::string folded = core::ascii_lower(wanted);
  for (const auto* d : gateway_.devices().devices()) {
    if (core::ascii_lower(d->name) == folded || core::ascii_lower(d->room_name) == folded)
      return d;
  }
  return nullptr;
}

void Scenarios::device(const json& params, Reply reply) {
  Params p(params);
  auto name = p.text("device", true);
  if (!p.ok()) return reply(bad_request(p.error()));
  const auto* d = find_device(name);
  if (!d) {
    return reply(ApiReply::failure(404, "not_found",
                                   "no device '" + name +
                                       "': GET /api/v1/devices lists them (one per room the bot "
                                       "is in)"));
  }
  reply(ApiReply::success(device_json(*d)));
}

void Scenarios::users(Reply reply) {
  json list = json::array();
  std::map<std::string, json> by_name;
  for (const auto& u : gateway_.users().users()) {
    by_name[core::ascii_lower(u.username)] = {{"username", u.username},
                                              {"name", u.name},
                                              {"access", u.allow ? "allow" : "deny"},
                                              {"role", u.role},
                                              {"configured", true},
                                              {"seen", false}};
  }
  for (const auto& s : gateway_.users().seen()) {
    auto& entry = by_name[core::ascii_lower(s.username)];
    if (entry.is_null()) {
      entry = {{"username", s.username},
               {"name", ""},
               {"access", "unknown"},
               {"role", ""},
               {"configured", false}};
    }
    entry["seen"] = true;
    entry["user_id"] = s.user_id;
    entry["display_name"] = s.display_name;
  }
  for (auto& [key, value] : by_name) list.push_back(std::move(value));
  reply(ApiReply::success({{"users", std::move(list)}}));
}

bool Scenarios::target_of(const json& params, Target& out, const Reply& reply) const {
  Params p(params);
  const std::string device = p.text("device"), room = p.text("room"), user = p.text("user");
  out.thread = p.text("thread");
  if (!p.ok()) {
    reply(bad_request(p.error()));
    return false;
  }
  const int given = !device.empty() + !room.empty() + !user.empty();
  if (given != 1) {
    reply(bad_request(given == 0
                          ? "say where to post: one of 'device', 'room' (name or id) or 'user' "
                            "(a username, for a direct message)"
                          : "give only one of 'device', 'room' and 'user'"));
    return false;
  }
  if (!user.empty()) {
    out.user = user[0] == '@' ? user.substr(1) : user;
    return true;
  }
  const auto* d = find_device(device.empty() ? room : device);
  if (!d) {
    reply(ApiReply::failure(
        404, "not_found",
        (device.empty() ? "the bot is not in a room '" + room + "'"
                        : "no device '" + device + "'") +
            ": GET /api/v1/devices lists the rooms it is in (invite the bot to a room to add it)"));
    return false;
  }
  if (!d->available) {
    reply(ApiReply::failure(404, "not_found",
                            "the bot is no longer in '" + d->name +
                                "': invite it back to post there"));
    return false;
  }
  out.room_id = d->id;
  return true;
}

void Scenarios::send(const json& params, Reply reply) {
  Target target;
  if (!target_of(params, target, reply)) return;
  Params p(params);
  const std::string text = p.text("text", true, kMaxText);
  const std::string id = p.text("id", false, 100);
  const auto ttl = p.duration("ttl", false);
  if (!p.ok()) return reply(bad_request(p.error()));
  core::OutboxItem item;
  item.id = item_id_for(id);
  item.kind = core::OutboxKind::Message;
  item.room_id = target.room_id;
  item.user = target.user;
  item.payload = {{"msg", text}};
  if (!target.thread.empty()) item.payload["tmid"] = target.thread;
  if (ttl) item.expires_ms = gateway_.now_ms() + ttl->count();
  queue_and_answer(std::move(item), std::move(reply));
}

void Scenarios::queue_and_answer(core::OutboxItem item, Reply reply) {
  auto waiter = std::make_shared<Waiter>();
  waiter->reply = std::move(reply);
  std::weak_ptr<int> alive = alive_;
  const std::string id = item.id;
  auto result = gateway_.enqueue(std::move(item), [waiter, alive](const core::OutboxOutcome& o) {
    if (alive.expired()) return;
    waiter->answer(reply_for_outcome(o));
  });
  if (!result.accepted) {
    return waiter->answer(ApiReply::failure(503, "unavailable", "not queued: " + result.error));
  }
  if (waiter->answered) return;  // it went out (or failed) already
  auto queued = [this, waiter, id, alive] {
    // Acknowledged as queued only once it is on disk: a crash now does not lose it.
    gateway_.when_durable([this, waiter, id, alive] {
      // Answered meanwhile (it ended: that outcome was the answer), or shutting down.
      if (waiter->answered || alive.expired()) return;
      auto st = gateway_.outbox().status(id);
      json data = st ? status_json(*st) : json{{"id", id}};
      data["status"] = "queued";
      waiter->answer(ApiReply::success(std::move(data), 202));
    });
  };
  if (result.sending && settings_.api.send_wait.count() > 0) {
    waiter->timer = std::make_unique<net::Timer>(loop_);
    waiter->timer->start(settings_.api.send_wait, queued);
    return;
  }
  queued();
}

void Scenarios::message(const json& params, Reply reply) {
  Params p(params);
  const std::string id = p.text("id", true, 100);
  if (!p.ok()) return reply(bad_request(p.error()));
  auto st = gateway_.outbox().status(id);
  if (!st) st = gateway_.outbox().status(ddp::derived_id("api/" + id));
  if (!st) {
    return reply(ApiReply::failure(404, "not_found",
                                   "no message '" + id +
                                       "' in the queue or among the last 1000 sent"));
  }
  reply(ApiReply::success(status_json(*st)));
}

// ---- uploads ------------------------------------------------------------------------------------

void Scenarios::upload(ApiCall call, Reply reply) {
  const json& params = call.params;
  Target target;
  if (!target_of(params, target, reply)) return;
  Params p(params);
  const std::string path = p.text("path", false, 4096);
  const std::string camera = p.text("camera", false, 100);
  const std::string content = p.text("content_base64", false, std::string::npos);
  std::string file_name = p.text("file_name", false, 255);
  const std::string caption = p.text("caption", false, kMaxText);
  const std::string text = p.text("text", false, kMaxText);
  const std::string id = p.text("id", false, 100);
  const auto ttl = p.duration("ttl", false);
  if (!p.ok()) return reply(bad_request(p.error()));
  const bool has_bytes = !call.bytes.empty() || p.has("content_base64");
  const int sources = !path.empty() + !camera.empty() + has_bytes;
  if (sources != 1) {
    return reply(bad_request(
        sources == 0 ? "say what to upload: 'path' (a file under api.upload_dirs), 'camera' (a "
                       "camera from the configuration) or the file's bytes (content_base64 with "
                       "file_name, or the request body itself)"
                     : "give only one of 'path', 'camera' and the file's bytes"));
  }

  core::OutboxItem item;
  item.id = item_id_for(id);
  item.kind = core::OutboxKind::Upload;
  item.room_id = target.room_id;
  item.user = target.user;
  item.payload = {{"description", caption}, {"msg", text}, {"tmid", target.thread},
                  {"remove_after", false}};
  if (ttl) item.expires_ms = gateway_.now_ms() + ttl->count();
  if (auto st = gateway_.outbox().status(item.id)) {
    // A repeated request: answer with what became of the first.
    json data = status_json(*st);
    return reply(ApiReply::success(std::move(data),
                                   st->state == core::OutboxStatus::State::Sent ? 200 : 202));
  }

  if (!path.empty()) {
    if (settings_.api.upload_dirs.empty()) {
      return reply(ApiReply::failure(403, "forbidden",
                                     "uploading local files is off: list the directories rcgate "
                                     "may read under api.upload_dirs, or send the bytes"));
    }
    std::error_code ec;
    fs::path real = fs::weakly_canonical(fs::path(path), ec);
    if (ec || !fs::path(path).is_absolute()) {
      return reply(bad_request("'path' must be an absolute file name, got '" + path + "'"));
    }
    if (!under_one_of(real, settings_.api.upload_dirs)) {
      return reply(ApiReply::failure(403, "forbidden",
                                     "'" + path + "' is not under api.upload_dirs: move the file "
                                     "there, add its directory to api.upload_dirs, or send the "
                                     "bytes"));
    }
    if (!fs::is_regular_file(real, ec)) {
      return reply(ApiReply::failure(404, "not_found", "no file '" + path + "'"));
    }
    item.payload["path"] = real.string();
    if (!file_name.empty()) item.payload["file_name"] = safe_file_name(file_name);
    return upload_file(std::move(item), std::move(reply));
  }

  const std::string dir = upload_files_dir(settings_);
  if (dir.empty()) {
    return reply(ApiReply::failure(503, "unavailable", "no state_dir to keep the file in"));
  }
  if (auto err = persistence::ensure_directory(dir); !err.empty()) {
    return reply(ApiReply::failure(503, "unavailable", "cannot keep the file: " + err));
  }

  if (has_bytes) {
    if (file_name.empty()) {
      return reply(bad_request("'file_name' is required with the file's bytes (e.g. "
                               "\"snapshot.jpg\"; its extension gives the type)"));
    }
    std::string bytes = std::move(call.bytes);
    if (bytes.empty()) {
      auto decoded = net::base64_decode(content);
      if (!decoded) return reply(bad_request("'content_base64' is not valid base64"));
      bytes = std::move(*decoded);
    }
    if (bytes.empty()) return reply(bad_request("the file is empty"));
    const std::uint64_t limit = static_cast<std::uint64_t>(settings_.api.max_upload_mb) << 20;
    if (bytes.size() > limit) {
      return reply(ApiReply::failure(413, "too_large",
                                     "the file is larger than api.max_upload_mb (" +
                                         std::to_string(settings_.api.max_upload_mb) + " MB)"));
    }
    file_name = safe_file_name(file_name);
    const std::string stored = dir + "/" + item.id + "-" + file_name;
    if (auto err = persistence::write_atomic(stored, bytes, 0600); !err.empty()) {
      return reply(ApiReply::failure(503, "unavailable", "cannot keep the file: " + err));
    }
    item.payload["path"] = stored;
    item.payload["file_name"] = file_name;
    item.payload["remove_after"] = true;
    return upload_file(std::move(item), std::move(reply));
  }

  // A camera snapshot, fetched now (the picture of the moment), then queued like a file.
  const auto* cam = settings_.camera(camera);
  if (!cam) {
    std::string names;
    for (const auto& c : settings_.cameras) names += (names.empty() ? "" : ", ") + c.name;
    return reply(ApiReply::failure(404, "not_found",
                                   "no camera '" + camera + "' in the configuration" +
                                       (names.empty() ? " (none under cameras:)"
                                                      : " (configured: " + names + ")")));
  }
  auto& fetcher = cameras_[cam->name];
  if (!fetcher) fetcher = std::make_unique<Camera>(loop_, *cam, dir);
  std::weak_ptr<int> alive = alive_;
  fetcher->snapshot([this, alive, item = std::move(item), dir, file_name,
                     reply = std::move(reply)](SnapshotResult r) mutable {
    if (alive.expired()) return;
    if (!r.ok()) return reply(ApiReply::failure(502, "upstream", r.error));
    const std::string name = file_name.empty() ? r.snapshot->file_name : safe_file_name(file_name);
    const std::string stored = dir + "/" + item.id + "-" + name;
    std::error_code ec;
    fs::rename(r.snapshot->path, stored, ec);
    if (ec) {
      fs::remove(r.snapshot->path, ec);
      return reply(ApiReply::failure(503, "unavailable", "cannot keep the snapshot: " + ec.message()));
    }
    item.payload["path"] = stored;
    item.payload["file_name"] = name;
    item.payload["content_type"] = r.snapshot->content_type;
    item.payload["remove_after"] = true;
    upload_file(std::move(item), std::move(reply));
  });
}

void Scenarios::upload_file(core::OutboxItem item, Reply reply) {
  queue_and_answer(std::move(item), std::move(reply));
}

// ---- asks ---------------------------------------------------------------------------------------

void Scenarios::ask(const json& params, Reply reply) {
  Target target;
  if (!target_of(params, target, reply)) return;
  Params p(params);
  core::AskRequest request;
  request.question = p.text("question", true, kMaxText);
  request.answers = p.list("answers");
  request.users = p.list("users");
  const std::string id = p.text("id", false, 100);
  const auto timeout = p.duration("timeout", false);
  const auto wait = p.duration("wait", true);
  const std::string callback = p.text("callback_url", false, 2000);
  if (!p.ok()) return reply(bad_request(p.error()));
  if (auto c = params.find("context"); c != params.end() && !c->is_null()) {
    if (!c->is_object() || c->dump().size() > 4096)
      return reply(bad_request("'context' must be a JSON object of at most 4 KiB (it is given "
                               "back with the result)"));
    request.context = *c;
  }
  if (!callback.empty()) {
    std::string error;
    auto url = parse_url(callback, &error);
    if (!url || (url->scheme != "http" && url->scheme != "https")) {
      return reply(bad_request("'callback_url' must be an http(s) URL" +
                               (error.empty() ? std::string() : ": " + error)));
    }
  }
  for (auto& u : request.users) {
    if (!u.empty() && u[0] == '@') u.erase(0, 1);
  }
  request.id = id;
  request.callback_url = callback;
  if (timeout) request.timeout = *timeout;
  request.room_id = target.room_id;
  request.user = target.user;
  request.thread_id = target.thread;
  auto opened = gateway_.open_ask(std::move(request));
  if (!opened.ok) {
    const bool conflict = !id.empty() && gateway_.asks().get(id).has_value();
    return reply(conflict ? ApiReply::failure(409, "conflict", opened.error)
                          : bad_request(opened.error));
  }
  // Acknowledged only once the question is on disk.
  gateway_.save_queue_now();
  if (wait && wait->count() > 0) return wait_for_ask(opened.id, *wait, std::move(reply));
  auto result = gateway_.asks().get(opened.id);
  reply(ApiReply::success(result ? ask_json(*result) : json{{"id", opened.id}}, 202));
}

void Scenarios::wait_for_ask(const std::string& id, milliseconds wait, Reply reply) {
  wait = std::min(wait, settings_.api.ask_wait_max);
  auto waiter = std::make_shared<Waiter>();
  waiter->reply = std::move(reply);
  waiter->timer = std::make_unique<net::Timer>(loop_);
  ask_waiters_.emplace(id, waiter);
  std::weak_ptr<Waiter> weak = waiter;
  waiter->timer->start(wait, [this, id, weak] {
    auto w = weak.lock();
    if (!w) return;
    auto result = gateway_.asks().get(id);
    // Still open: the caller asks again (or gets the callback).
    w->answer(result ? ApiReply::success(ask_json(*result), 202)
                     : ApiReply::failure(404, "not_found", "no ask '" + id + "'"));
    for (auto it = ask_waiters_.lower_bound(id); it != ask_waiters_.upper_bound(id); ++it) {
      if (it->second == w) {
        ask_waiters_.erase(it);
        break;
      }
    }
  });
}

void Scenarios::ask_status(const json& params, Reply reply) {
  Params p(params);
  const std::string id = p.text("id", true, 100);
  const auto wait = p.duration("wait", true);
  if (!p.ok()) return reply(bad_request(p.error()));
  auto result = gateway_.asks().get(id);
  if (!result) {
    return reply(ApiReply::failure(404, "not_found",
                                   "no ask '" + id + "' open or among the last 1000 ended"));
  }
  if (result->status == core::AskResult::Status::Open && wait && wait->count() > 0) {
    return wait_for_ask(id, *wait, std::move(reply));
  }
  reply(ApiReply::success(ask_json(*result),
                          result->status == core::AskResult::Status::Open ? 202 : 200));
}

void Scenarios::ask_cancel(const json& params, Reply reply) {
  Params p(params);
  const std::string id = p.text("id", true, 100);
  if (!p.ok()) return reply(bad_request(p.error()));
  if (auto cancelled = gateway_.cancel_ask(id)) return reply(ApiReply::success(ask_json(*cancelled)));
  auto result = gateway_.asks().get(id);
  if (!result) return reply(ApiReply::failure(404, "not_found", "no ask '" + id + "'"));
  reply(ApiReply::failure(409, "conflict",
                          std::string("the ask has ended already (") +
                              core::to_string(result->status) + ")"));
}

void Scenarios::on_ask_closed(const core::AskResult& result) {
  const json body = ask_json(result);
  auto range = ask_waiters_.equal_range(result.id);
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (auto it = range.first; it != range.second; ++it) waiters.push_back(it->second);
  ask_waiters_.erase(range.first, range.second);
  for (auto& w : waiters) w->answer(ApiReply::success(body));
  // Also after a restart: the URL is kept with the ask.
  if (!result.callback_url.empty()) post_callback(result.callback_url, body);
}

void Scenarios::post_callback(const std::string& url_text, const json& body) {
  auto url = parse_url(url_text);
  if (!url) return;
  auto client = std::make_shared<net::HttpClient>(loop_, *url);
  net::HttpRequest request;
  request.method = "POST";
  request.target = url->path.empty() ? "/" : url->path;
  request.headers.push_back({"Content-Type", "application/json"});
  request.body = body.dump();
  request.timeout = std::chrono::seconds(10);
  // Logged without the URL's query, which may carry a token.
  std::string where = url->scheme + "://" + url->host_header() +
                      url->path.substr(0, url->path.find('?'));
  auto* loop = &loop_;
  client->request(std::move(request), [client, where, loop](net::HttpResponse r) mutable {
    if (r.status < 200 || r.status >= 300) {
      spdlog::warn("ask callback to {} failed: {}", where,
                   r.status == 0 ? r.error : "HTTP " + std::to_string(r.status));
    }
    // Not destroyed inside its own callback: the loop drops the last reference later.
    loop->post([c = std::move(client)] {});
  });
}

}  // namespace rcgate::app
