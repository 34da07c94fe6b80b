#include "rocketchat/rest_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

#include "net/http_client.hpp"
#include "rocketchat/message.hpp"

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

// "… You must wait 36 seconds before trying this endpoint again. [error-too-many-requests]"
std::optional<std::int64_t> wait_from_text(const std::string& text) {
  static const std::regex re("wait ([0-9]+) seconds?");
  std::smatch m;
  if (std::regex_search(text, m, re)) return std::stoll(m[1].str()) * 1000;
  return std::nullopt;
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
    if (out.body.is_object() && out.body.value("success", true) == false &&
        !out.body.contains("status")) {
      out.error_type = out.body.value("errorType", std::string{});
      out.error = out.body.value("error", std::string("request failed"));
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
    if (auto reset = parse_int(r.header("X-RateLimit-Reset"))) wait = *reset - now_ms;
    if (!wait) wait = wait_from_text(text);
    if (!wait && out.body.is_object() && out.body.contains("details") &&
        out.body["details"].is_object() && out.body["details"].contains("timeToReset") &&
        out.body["details"]["timeToReset"].is_number())
      wait = out.body["details"]["timeToReset"].get<std::int64_t>();
    out.retry_after_ms = std::max<std::int64_t>(0, wait.value_or(1000));
  }
  return out;
}

RestClient::RestClient(net::Loop& loop, Url server, net::TlsClientOptions tls, RestOptions options)
    : loop_(loop),
      server_(server.as_http()),
      options_(options),
      http_(std::make_unique<net::HttpClient>(loop, server_, std::move(tls))),
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

void RestClient::get(const std::string& path, Callback cb) {
  auto p = std::make_shared<Pending>();
  p->request.method = "GET";
  p->request.target = server_.join(path);
  p->callback = std::move(cb);
  submit(std::move(p));
}

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
                         std::int64_t oldest_ms, int count, Callback cb) {
  const char* endpoint = room_type == "p"   ? "groups.history"
                         : room_type == "d" ? "im.history"
                                            : "channels.history";
  get(std::string("/api/v1/") + endpoint + "?roomId=" + url_encode(room_id) +
          "&oldest=" + url_encode(format_iso_time(oldest_ms)) + "&inclusive=true&count=" +
          std::to_string(count),
      std::move(cb));
}

void RestClient::submit(std::shared_ptr<Pending> p) {
  if (paused_until_ms_ > now_epoch_ms()) {
    held_.push_back(std::move(p));
    return;
  }
  send_now(std::move(p));
}

void RestClient::send_now(std::shared_ptr<Pending> p) {
  p->request.timeout = options_.timeout;
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
  net::HttpRequest copy = p->request;
  http_->request(std::move(copy),
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
  auto cb = std::move(p->callback);
  if (cb) cb(std::move(result));
}

}  // namespace rcgate::rc
