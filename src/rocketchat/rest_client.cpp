#include "rocketchat/rest_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <regex>

#include "net/http_client.hpp"
#include "net/multipart.hpp"
#include "rocketchat/message.hpp"
#include "core/text.hpp"

namespace rcgate::rc {

using json = nlohmann::json;

std::int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct RestClient::Pending {
  net::HttpRequest request;
  Callback callback;
  int rate_limit_retries = 0;
  bool upload = false;  // on the upload connection, with its own timeout
  bool background = false;
  std::chrono::milliseconds timeout{0};
};

struct RestClient::UploadJob {
  std::string room_id;
  UploadSpec spec;
  Callback callback;
  std::uint64_t size = 0;
  std::string name;  // for messages: the name shown in the room
};

namespace {

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Waits longer than this are not told apart (a year; the client caps its waits far lower).
constexpr std::int64_t kLongestWaitMs = 365LL * 24 * 3600 * 1000;

// "… You must wait 36 seconds before trying this endpoint again. [error-too-many-requests]"
// A number of seconds too large to hold is the longest wait, not an exception.
std::optional<std::int64_t> wait_from_text(const std::string& text) {
  static const std::regex re("wait ([0-9]+) seconds?");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  const std::string digits = m[1].str();
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  if (ec != std::errc{} || end != digits.data() + digits.size() || seconds > kLongestWaitMs / 1000)
    return kLongestWaitMs;
  return seconds * 1000;
}

// A wait in milliseconds from a JSON number of any kind (a server may send 3.6e4 or 1e300).
std::optional<std::int64_t> wait_from_number(const json& v) {
  if (v.is_number_unsigned()) return std::min<std::uint64_t>(v.get<std::uint64_t>(), kLongestWaitMs);
  if (v.is_number_integer()) return std::clamp<std::int64_t>(v.get<std::int64_t>(), 0, kLongestWaitMs);
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d > 0)) return 0;  // negative, zero or NaN
    return d >= static_cast<double>(kLongestWaitMs) ? kLongestWaitMs : static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// The text of a string member; `fallback` when absent or of another type.
std::string string_member(const json& object, const char* key, std::string fallback = {}) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RestResult interpret_response(const net::HttpResponse& r, std::int64_t now_ms) {
  RestResult out;
  out.status = r.status;
  out.stage = r.stage;
  if (!r.ok()) {
    out.error = r.error.empty() ? std::string("no response") : r.error;
    return out;
  }
  if (!r.body.empty()) {
    out.body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (out.body.is_discarded()) out.body = nullptr;
  }
  if (r.status >= 200 && r.status < 300) {
    // Rocket.Chat answers some failures with 200 and success:false (older servers).
    // Members of another type than documented are taken as absent, never thrown on.
    if (out.body.is_object() && !out.body.contains("status")) {
      const auto success = out.body.find("success");
      if (success != out.body.end() && success->is_boolean() && !success->get<bool>()) {
        out.error_type = string_member(out.body, "errorType");
        out.error = string_member(out.body, "error");
        if (out.error.empty()) out.error = "request failed";
      }
    }
    return out;
  }
  // Error bodies: {"success":false,"error":"text [code]","errorType":"code"} or
  // {"status":"error","error":"Unauthorized","message":"..."}.
  std::string text, type;
  if (out.body.is_object()) {
    if (out.body.contains("error") && out.body["error"].is_string()) text = out.body["error"];
    if (out.body.contains("errorType") && out.body["errorType"].is_string())
      type = out.body["errorType"];
    if (text.empty() && out.body.contains("message") && out.body["message"].is_string())
      text = out.body["message"];
  }
  if (type.empty() && !text.empty()) {
    // "... [error-too-many-requests]" carries its code at the end.
    auto open = text.rfind('[');
    if (open != std::string::npos && text.back() == ']')
      type = text.substr(open + 1, text.size() - open - 2);
    else if (text.find(' ') == std::string::npos)
      type = text;  // "Unauthorized", "totp-required"
  }
  out.error_type = type;
  out.error = "HTTP " + std::to_string(r.status) + (text.empty() ? "" : ": " + text);
  if (r.status == 429) {
    std::optional<std::int64_t> wait;
    // X-RateLimit-Reset is an absolute time in epoch milliseconds (PROTOCOL.md §2.7).
    if (auto reset = parse_int(r.header("X-RateLimit-Reset"))) {
      // Any int64 may arrive: a difference that does not fit is a wait of 0 or the longest one.
      std::int64_t diff = 0;
      if (__builtin_sub_overflow(*reset, now_ms, &diff)) diff = *reset < 0 ? 0 : kLongestWaitMs;
      wait = std::clamp<std::int64_t>(diff, 0, kLongestWaitMs);
    }
    if (!wait) wait = wait_from_text(text);
    if (!wait && out.body.is_object() && out.body.contains("details") &&
        out.body["details"].is_object() && out.body["details"].contains("timeToReset"))
      wait = wait_from_number(out.body["details"]["timeToReset"]);
    out.retry_after_ms = std::max<std::int64_t>(0, wait.value_or(1000));
  }
  return out;
}

RestClient::RestClient(net::Loop& loop, Url server, net::TlsClientOptions tls, RestOptions options)
    : loop_(loop),
      server_(server.as_http()),
      options_(options),
      tls_(std::move(tls)),
      http_(std::make_unique<net::HttpClient>(loop, server_, tls_)),
      pause_timer_(loop) {}

RestClient::~RestClient() = default;

void RestClient::set_credentials(std::string user_id, std::string token) {
  user_id_ = std::move(user_id);
  token_ = std::move(token);
}

void RestClient::clear_credentials() {
  user_id_.clear();
  token_.clear();
}

std::shared_ptr<RestClient::Pending> RestClient::make_get(const std::string& path, Callback cb) {
  auto p = std::make_shared<Pending>();
  p->request.method = "GET";
  p->request.target = server_.join(path);
  p->callback = std::move(cb);
  return p;
}

void RestClient::get(const std::string& path, Callback cb) { submit(make_get(path, std::move(cb))); }

void RestClient::post(const std::string& path, json body, Callback cb) {
  auto p = std::make_shared<Pending>();
  p->request.method = "POST";
  p->request.target = server_.join(path);
  p->request.body = body.dump();
  p->request.headers.emplace_back("Content-Type", "application/json");
  p->callback = std::move(cb);
  submit(std::move(p));
}

void RestClient::login_password(const std::string& username, const std::string& password,
                                Callback cb) {
  post("/api/v1/login", json{{"user", username}, {"password", password}}, std::move(cb));
}

void RestClient::send_message(json message, Callback cb) {
  post("/api/v1/chat.sendMessage", json{{"message", std::move(message)}}, std::move(cb));
}

void RestClient::room_info(const std::string& room_id, Callback cb) {
  get("/api/v1/rooms.info?roomId=" + url_encode(room_id), std::move(cb));
}

void RestClient::im_create(const std::string& username, Callback cb) {
  post("/api/v1/im.create", json{{"username", username}}, std::move(cb));
}

void RestClient::public_setting(const std::string& id, Callback cb) {
  get("/api/v1/settings.public?_id=" + url_encode(id), std::move(cb));
}

void RestClient::history(const std::string& room_type, const std::string& room_id,
                         HistoryPage page, Callback cb) {
  const char* endpoint = room_type == "p"   ? "groups.history"
                         : room_type == "d" ? "im.history"
                                            : "channels.history";
  std::string target = std::string("/api/v1/") + endpoint + "?roomId=" + url_encode(room_id) +
                       "&oldest=" + url_encode(format_iso_time(page.oldest_ms));
  if (page.latest_ms > 0) target += "&latest=" + url_encode(format_iso_time(page.latest_ms));
  if (page.offset > 0) target += "&offset=" + std::to_string(page.offset);
  target += "&inclusive=true&count=" + std::to_string(page.count);
  submit_background(make_get(target, std::move(cb)));
}

void RestClient::submit_background(std::shared_ptr<Pending> p) {
  p->background = true;
  background_.push_back(std::move(p));
  pump_background();
}

void RestClient::pump_background() {
  if (background_busy_ || background_.empty()) return;
  if (http_->queued() > 0 && foreground_since_ < kForegroundBurst) return;
  auto p = std::move(background_.front());
  background_.pop_front();
  background_busy_ = true;
  foreground_since_ = 0;
  submit(std::move(p));
}

void RestClient::submit(std::shared_ptr<Pending> p) {
  if (paused_until_ms_ > now_epoch_ms()) {
    held_.push_back(std::move(p));
    return;
  }
  send_now(std::move(p));
}

void RestClient::send_now(std::shared_ptr<Pending> p) {
  p->request.timeout = p->upload ? p->timeout : options_.timeout;
  // Credentials are added at send time so that held requests use the newest token.
  auto& h = p->request.headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [](const auto& kv) {
                           return kv.first == "X-User-Id" || kv.first == "X-Auth-Token";
                         }),
          h.end());
  if (!token_.empty()) {
    h.emplace_back("X-User-Id", user_id_);
    h.emplace_back("X-Auth-Token", token_);
  }
  if (net::find_header(h, "Accept").empty()) h.emplace_back("Accept", "application/json");
  net::HttpRequest copy = p->request;  // a streamed body is shared, and rewound when resent
  net::HttpClient& client = p->upload ? upload_http() : *http_;
  client.request(std::move(copy),
                 [this, p](net::HttpResponse r) { on_response(p, std::move(r)); });
}

void RestClient::on_response(std::shared_ptr<Pending> p, net::HttpResponse response) {
  RestResult result = interpret_response(response, now_epoch_ms());
  if (result.status == 429 && p->rate_limit_retries < options_.max_rate_limit_retries) {
    ++p->rate_limit_retries;
    auto wait = std::min<std::int64_t>(result.retry_after_ms.value_or(1000),
                                       options_.max_rate_limit_wait.count());
    // Leave a little slack: the server's clock and ours are not the same clock.
    wait += 50;
    spdlog::warn("rest: {} {} rate-limited by the server; holding requests for {} ms",
                 p->request.method, p->request.target, wait);
    paused_until_ms_ = std::max(paused_until_ms_, now_epoch_ms() + wait);
    held_.insert(held_.begin(), std::move(p));
    pause_timer_.start(std::chrono::milliseconds(paused_until_ms_ - now_epoch_ms()), [this] {
      paused_until_ms_ = 0;
      auto held = std::move(held_);
      held_.clear();
      for (auto& q : held) send_now(std::move(q));
    });
    return;
  }
  if (p->background) {
    background_busy_ = false;
  } else if (!p->upload) {
    ++foreground_since_;
  }
  // After the callback (which may queue the next message of a room, or destroy this client).
  if (!background_.empty()) {
    loop_.post([this, alive = std::weak_ptr<int>(alive_)] {
      if (!alive.expired()) pump_background();
    });
  }
  auto cb = std::move(p->callback);
  if (cb) cb(std::move(result));
}

// ---------------------------------------------------------------------------------------------
// Uploads: learn the version (once) and the size limit (cached), check, send, confirm.

namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "8.8" or "6.13.1" -> 8 / 6; 0 when unreadable.
int major_of(const json& info) {
  std::string version;
  if (info.is_object() && info.contains("version") && info["version"].is_string()) {
    version = info["version"];
  } else if (info.is_object() && info.contains("info") && info["info"].is_object() &&
             info["info"].contains("version") && info["info"]["version"].is_string()) {
    version = info["info"]["version"];
  }
  int major = 0;
  std::from_chars(version.data(), version.data() + version.size(), major);
  return major;
}

// FileUpload_MaxFileSize from settings.public: a number (or a numeric string).
std::optional<std::int64_t> max_size_of(const json& body) {
  if (!body.is_object() || !body.contains("settings") || !body["settings"].is_array()) {
    return std::nullopt;
  }
  for (const auto& setting : body["settings"]) {
    if (!setting.is_object() || setting.value("_id", std::string()) != "FileUpload_MaxFileSize") {
      continue;
    }
    const json& value = setting.contains("value") ? setting["value"] : json();
    if (value.is_number_integer()) return value.get<std::int64_t>();
    if (value.is_number()) return static_cast<std::int64_t>(value.get<double>());
    if (value.is_string()) return parse_int(value.get<std::string>());
  }
  return std::nullopt;
}

// The server's refusal as a sentence that says what to do (PROTOCOL.md §7.3).
void explain_upload_error(RestResult& r, const std::string& name, std::uint64_t size,
                          const std::string& type) {
  if (r.ok()) return;
  const std::string& code = r.error_type;
  if (code == "error-file-too-large") {
    r.error = name + " (" + format_size(size) +
              ") is larger than the Rocket.Chat server accepts (FileUpload_MaxFileSize): send a "
              "smaller file, or ask an administrator to raise Administration > Settings > File "
              "Upload > Maximum File Upload Size";
  } else if (code == "error-invalid-file-type") {
    r.error = "the Rocket.Chat server does not accept " + type + " files (" + name +
              "): an administrator can add the type to Administration > Settings > File Upload > "
              "Accepted Media Types (FileUpload_MediaTypeWhiteList)";
  } else if (code == "error-file-upload-disabled") {
    r.error = "file uploads are turned off on the Rocket.Chat server (" + name +
              " was not sent): an administrator can turn on Administration > Settings > File "
              "Upload > File Uploads Enabled";
  } else if (code == "error-direct-message-file-upload-not-allowed") {
    r.error = "file uploads in direct messages are turned off on the Rocket.Chat server (" +
              name + " was not sent): an administrator can allow them under Administration > "
              "Settings > File Upload";
  } else if (r.status == 413) {
    // Not Rocket.Chat's own limit (that is a 400): a proxy in front of it.
    r.error = "uploading " + name + " (" + format_size(size) +
              "): HTTP 413: the web server in front of Rocket.Chat refuses requests this large; "
              "raise its limit (nginx: client_max_body_size) to at least FileUpload_MaxFileSize";
  } else {
    r.error = "uploading " + name + ": " + r.error;
  }
}

}  // namespace

std::string content_type_for(std::string_view file_name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},      {"png", "image/png"},
      {"gif", "image/gif"},         {"webp", "image/webp"},      {"bmp", "image/bmp"},
      {"svg", "image/svg+xml"},     {"heic", "image/heic"},      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},       {"mp4", "video/mp4"},        {"m4v", "video/mp4"},
      {"mov", "video/quicktime"},   {"webm", "video/webm"},      {"mkv", "video/x-matroska"},
      {"avi", "video/x-msvideo"},   {"mp3", "audio/mpeg"},       {"m4a", "audio/mp4"},
      {"ogg", "audio/ogg"},         {"oga", "audio/ogg"},        {"opus", "audio/opus"},
      {"wav", "audio/wav"},         {"flac", "audio/flac"},      {"pdf", "application/pdf"},
      {"txt", "text/plain"},        {"log", "text/plain"},       {"csv", "text/csv"},
      {"md", "text/markdown"},      {"html", "text/html"},       {"htm", "text/html"},
      {"json", "application/json"}, {"xml", "application/xml"}, {"yaml", "application/yaml"},
      {"yml", "application/yaml"},  {"zip", "application/zip"},  {"gz", "application/gzip"},
      {"tar", "application/x-tar"},
  };
  const auto dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    const std::string extension = core::ascii_lower(file_name.substr(dot + 1));
    for (const auto& [ext, type] : kTypes) {
      if (extension == ext) return type;
    }
  }
  return "application/octet-stream";
}

std::string format_size(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

net::HttpClient& RestClient::upload_http() {
  if (!upload_http_) upload_http_ = std::make_unique<net::HttpClient>(loop_, server_, tls_);
  return *upload_http_;
}

void RestClient::upload(const std::string& room_id, UploadSpec spec, Callback cb) {
  auto job = std::make_shared<UploadJob>();
  job->room_id = room_id;
  job->callback = std::move(cb);
  if (spec.file_name.empty()) spec.file_name = base_name(spec.path);
  if (spec.content_type.empty()) spec.content_type = content_type_for(spec.file_name);
  job->name = spec.file_name;
  job->spec = std::move(spec);
  // Opened once now: a missing file fails at once, and its size is known for the checks.
  std::string error;
  auto probe = net::MultipartFileBody::open({}, {"file", job->spec.path, job->name, ""}, error);
  if (!probe) {
    RestResult result;
    result.error = error;
    // Later, on the loop: the callback never runs inside upload().
    loop_.post([job, result = std::move(result)]() mutable {
      if (job->callback) job->callback(std::move(result));
    });
    return;
  }
  job->size = probe->file_size();
  upload_learn_version(std::move(job));
}

void RestClient::upload_learn_version(std::shared_ptr<UploadJob> job) {
  if (server_major_ != 0) return upload_check_size(std::move(job));
  info([this, job](RestResult r) {
    server_major_ = r.ok() ? major_of(r.body) : 0;
    if (server_major_ == 0) {
      spdlog::debug("rest: server version unknown ({}); trying rooms.media first",
                    r.ok() ? "no version in /api/info" : r.error);
    }
    upload_check_size(job);
  });
}

void RestClient::upload_check_size(std::shared_ptr<UploadJob> job) {
  const auto now = std::chrono::steady_clock::now();
  const bool fresh = max_file_size_ && now - max_file_size_at_ < options_.upload_limit_ttl;
  const auto check = [this, job] {
    if (max_file_size_ && *max_file_size_ >= 0 &&
        job->size > static_cast<std::uint64_t>(*max_file_size_)) {
      RestResult result;
      result.error = job->name + " is " + format_size(job->size) + "; the server accepts at most " +
                     format_size(static_cast<std::uint64_t>(*max_file_size_)) +
                     " (FileUpload_MaxFileSize)";
      result.error_type = "error-file-too-large";
      return upload_done(job, std::move(result), false);
    }
    upload_send(job);
  };
  if (fresh) return check();
  public_setting("FileUpload_MaxFileSize", [this, job, check](RestResult r) {
    const auto value = r.ok() ? max_size_of(r.body) : std::nullopt;
    if (value) {
      max_file_size_ = value;
      max_file_size_at_ = std::chrono::steady_clock::now();
    } else {
      // Sent anyway: the server enforces its limit, and its refusal is explained the same way.
      spdlog::debug("rest: FileUpload_MaxFileSize unknown ({}); sending {} unchecked",
                    r.ok() ? "not in the answer" : r.error, job->name);
    }
    check();
  });
}

void RestClient::upload_send(std::shared_ptr<UploadJob> job) {
  // 8.x has no rooms.upload; older servers may lack rooms.media (learnt from a 404).
  if (server_major_ >= 8 || !media_missing_) return upload_media(std::move(job));
  upload_legacy(std::move(job));
}

std::shared_ptr<RestClient::Pending> RestClient::upload_request(
    const std::shared_ptr<UploadJob>& job, const std::string& endpoint,
    std::vector<net::FormField> fields) {
  std::string error;
  auto body = net::MultipartFileBody::open(
      std::move(fields), {"file", job->spec.path, job->name, job->spec.content_type}, error);
  if (!body) {
    RestResult result;
    result.error = error;
    upload_done(job, std::move(result), false);
    return nullptr;
  }
  auto p = std::make_shared<Pending>();
  p->upload = true;
  p->timeout = options_.timeout + std::chrono::milliseconds(
                                      body->size() * 1000 / std::max<std::uint64_t>(
                                                                1, options_.upload_min_bytes_per_second));
  p->request.method = "POST";
  p->request.target = server_.join(endpoint + url_encode(job->room_id));
  p->request.headers.emplace_back("Content-Type", body->content_type());
  p->request.body_source = std::move(body);
  return p;
}

void RestClient::upload_media(std::shared_ptr<UploadJob> job) {
  auto p = upload_request(job, "/api/v1/rooms.media/", {});
  if (!p) return;
  p->callback = [this, job](RestResult r) {
    if (r.status == 404 && server_major_ < 8) {
      spdlog::info("rest: the server has no rooms.media (HTTP 404); uploading with rooms.upload "
                   "from now on");
      media_missing_ = true;
      return upload_legacy(job);
    }
    if (!r.ok()) return upload_done(job, std::move(r));
    const json& file = r.body.is_object() ? r.body.value("file", json::object()) : json::object();
    const std::string file_id = file.is_object() ? file.value("_id", std::string()) : std::string();
    if (file_id.empty()) {
      RestResult bad;
      bad.status = r.status;
      bad.body = r.body;
      bad.error = "HTTP " + std::to_string(r.status) +
                  ": rooms.media answered without a file id: " + r.body.dump();
      return upload_done(job, std::move(bad));
    }
    upload_confirm(job, file_id);
  };
  submit(std::move(p));
}

void RestClient::upload_confirm(std::shared_ptr<UploadJob> job, const std::string& file_id) {
  // Only the keys in use: 8.x refuses unknown ones and some older servers empty ones.
  json body = json::object();
  if (!job->spec.msg.empty()) body["msg"] = job->spec.msg;
  if (!job->spec.description.empty()) body["description"] = job->spec.description;
  if (!job->spec.tmid.empty()) body["tmid"] = job->spec.tmid;
  post("/api/v1/rooms.mediaConfirm/" + url_encode(job->room_id) + "/" + url_encode(file_id),
       std::move(body), [this, job](RestResult r) { upload_done(job, std::move(r)); });
}

void RestClient::upload_legacy(std::shared_ptr<UploadJob> job) {
  std::vector<net::FormField> fields;
  if (!job->spec.msg.empty()) fields.push_back({"msg", job->spec.msg});
  if (!job->spec.description.empty()) fields.push_back({"description", job->spec.description});
  if (!job->spec.tmid.empty()) fields.push_back({"tmid", job->spec.tmid});
  auto p = upload_request(job, "/api/v1/rooms.upload/", std::move(fields));
  if (!p) return;
  p->callback = [this, job](RestResult r) { upload_done(job, std::move(r)); };
  submit(std::move(p));
}

void RestClient::upload_done(std::shared_ptr<UploadJob> job, RestResult result, bool explain) {
  if (explain) {
    // The limit may have changed on the server since it was read: ask again next time.
    if (result.error_type == "error-file-too-large") max_file_size_.reset();
    explain_upload_error(result, job->name, job->size, job->spec.content_type);
  }
  if (result.ok()) {
    spdlog::info("rest: uploaded {} ({}) to room {}", job->name, format_size(job->size),
                 job->room_id);
  }
  auto cb = std::move(job->callback);
  if (cb) cb(std::move(result));
}

}  // namespace rcgate::rc
