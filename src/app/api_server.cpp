// The local HTTP API's transport: routing, the key, body limits, JSON and the envelope. What a
// verb does is ApiService's business; this file only turns HTTP into ApiCall and ApiReply back
// into HTTP.
//
// Parameters: path parameters (percent-decoded), then the query string, then the JSON body are
// merged into ApiCall::params. The body wins over the query string (a client that sends both
// meant the body), and path parameters win over both (the path names the resource). Query
// values are strings, except `wait`, `ttl` and `timeout`, which become numbers when they are
// plain numbers ("30" -> 30), and a name given more than once, which becomes a list of strings.
#include "app/api_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "net/http_server.hpp"
#include "net/loop.hpp"
#include "core/text.hpp"

namespace rcgate::app {

namespace detail {
// Generated at build time from src/app/openapi.json (see src/CMakeLists.txt).
extern const char kOpenApiDocument[];
extern const std::size_t kOpenApiDocumentSize;
}  // namespace detail

namespace {

using Json = nlohmann::json;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;
// Room for the JSON around content_base64 (file name, caption, room...).
constexpr std::uint64_t kUploadJsonSlack = 64 * kKiB;

const char* const kKeyHint =
    "send the key set in api.key as the header 'Authorization: Bearer <key>' or "
    "'X-API-Key: <key>'";

std::uint64_t max_json_bytes(const config::ApiSettings& s) {
  return static_cast<std::uint64_t>(std::max(s.max_body_kb, 1)) * kKiB;
}
std::uint64_t max_upload_bytes(const config::ApiSettings& s) {
  return static_cast<std::uint64_t>(std::max(s.max_upload_mb, 1)) * kMiB;
}
// A JSON upload carries the file in base64: 4 bytes for every 3.
std::uint64_t max_json_upload_bytes(const config::ApiSettings& s) {
  return std::max(max_json_bytes(s), (max_upload_bytes(s) + 2) / 3 * 4 + kUploadJsonSlack);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    out.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// A route's path split into literal segments and {parameters}.
struct CompiledRoute {
  const ApiRoute* route;
  std::vector<std::string> segments;  // "{id}" for a parameter
};


bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Matches raw (undecoded) segments; fills decoded path parameters.
bool match(const CompiledRoute& route, const std::vector<std::string>& raw, Json& path_params) {
  if (route.segments.size() != raw.size()) return false;
  Json found = Json::object();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::string& want = route.segments[i];
    if (is_param(want)) {
      if (raw[i].empty()) return false;
      found[want.substr(1, want.size() - 2)] = net::url_decode(raw[i], false);
    } else if (want != raw[i]) {
      return false;
    }
  }
  path_params = std::move(found);
  return true;
}

bool numeric_param(std::string_view name) {
  return name == "wait" || name == "ttl" || name == "timeout";
}

Json query_value(std::string_view name, std::string value) {
  if (numeric_param(name) && !value.empty() && value.size() < 16 &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::stoll(value);
  }
  return value;
}

Json parse_query(std::string_view query) {
  Json out = Json::object();
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string name = net::url_decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : net::url_decode(pair.substr(eq + 1), true);
    if (name.empty()) continue;
    Json v = query_value(name, std::move(value));
    auto it = out.find(name);
    if (it == out.end()) {
      out[name] = std::move(v);
    } else if (it->is_array()) {
      it->push_back(std::move(v));
    } else {
      *it = Json::array({std::move(*it), std::move(v)});
    }
  }
  return out;
}

bool is_json_type(std::string_view content_type) {
  const std::string t = core::ascii_lower(content_type.substr(0, content_type.find(';')));
  return t.find("json") != std::string::npos;  // application/json, application/*+json
}

// Compares in time that depends on the expected key's length only, never on where the given
// key differs.
bool same_key(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string parse_error_text(const std::exception& e) {
  std::string text = e.what();
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("] ");
    if (close != std::string::npos) text.erase(0, close + 2);
  }
  return text;
}

const char* json_kind(const Json& j) {
  switch (j.type()) {
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    default: return "a number";
  }
}

std::string size_text(std::uint64_t bytes) {
  if (bytes >= 10 * kMiB) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= 10 * kKiB) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

net::ServerResponse http_answer(const ApiReply& reply, net::Headers extra = {}) {
  net::ServerResponse res;
  res.status = reply.status;
  res.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  for (auto& h : extra) res.headers.push_back(std::move(h));
  res.body = envelope(reply).dump(-1, ' ', false, Json::error_handler_t::replace);
  return res;
}

const std::vector<CompiledRoute>& compiled_routes() {
  static const std::vector<CompiledRoute> routes = [] {
    std::vector<CompiledRoute> out;
    for (const auto& r : api_routes()) out.push_back({&r, split_path(r.path)});
    return out;
  }();
  return routes;
}

std::optional<ApiReply> check_key(const net::ServerRequest& req,
                                  const config::ApiSettings& settings) {
  std::string_view given;
  bool sent = false;
  if (const auto x = req.header("X-API-Key"); !x.empty()) {
    given = trim(x);
    sent = true;
  } else if (const auto auth = trim(req.header("Authorization")); !auth.empty()) {
    if (auth.size() < 7 || core::ascii_lower(auth.substr(0, 7)) != "bearer ") {
      return ApiReply::failure(401, "unauthorized",
                               "the Authorization header must use the Bearer scheme: " +
                                   std::string(kKeyHint));
    }
    given = trim(auth.substr(7));
    sent = true;
  }
  if (!sent) {
    return ApiReply::failure(401, "unauthorized",
                             std::string("this request needs the API key: ") + kKeyHint);
  }
  if (settings.key.empty() || !same_key(given, settings.key)) {
    spdlog::info("api: refused {} {} from {}: wrong API key", req.method, req.path,
                 req.remote_address);
    return ApiReply::failure(401, "unauthorized",
                             std::string("the API key is wrong: ") + kKeyHint +
                                 " (the CLI reads it from the configuration file)");
  }
  return std::nullopt;
}

// Merges the body into call (JSON) or takes it as the file (a raw upload).
std::optional<ApiReply> read_body(const net::ServerRequest& req, const ApiRoute& route,
                                  ApiCall& call, const config::ApiSettings& settings) {
  const bool upload = route.verb == "upload";
  const std::string_view type = req.header("Content-Type");
  bool json = true;
  if (upload && !req.body.empty()) {
    // A raw upload is any body that is not JSON; without a Content-Type, a body that starts
    // like a JSON object is taken as one.
    if (!type.empty()) {
      json = is_json_type(type);
    } else {
      const auto first = req.body.find_first_not_of(" \t\r\n");
      json = first != std::string::npos && req.body[first] == '{';
    }
  }
  if (!json) {
    if (req.body.size() > max_upload_bytes(settings)) {
      return ApiReply::failure(413, "too_large",
                               "the file is " + size_text(req.body.size()) +
                                   ", more than the " + size_text(max_upload_bytes(settings)) +
                                   " that api.max_upload_mb allows");
    }
    if (!call.params.contains("file_name") || !call.params["file_name"].is_string() ||
        call.params["file_name"].get<std::string>().empty()) {
      return ApiReply::failure(400, "bad_request",
                               "a raw upload needs file_name in the query string, e.g. "
                               "/api/v1/upload?room=general&file_name=photo.jpg (or send JSON "
                               "with Content-Type: application/json)");
    }
    call.bytes = req.body;
    return std::nullopt;
  }

  const std::uint64_t limit = upload ? max_json_upload_bytes(settings) : max_json_bytes(settings);
  if (req.body.size() > limit) {
    return ApiReply::failure(
        413, "too_large",
        "the JSON body is " + size_text(req.body.size()) + ", more than the " +
            size_text(limit) +
            (upload ? " allowed for an upload (api.max_upload_mb, in base64)"
                    : " that api.max_body_kb allows"));
  }
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  Json body;
  try {
    body = Json::parse(req.body);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (1E999).
    return ApiReply::failure(400, "bad_request",
                             "the request body is not valid JSON: " + parse_error_text(e));
  }
  if (!body.is_object()) {
    return ApiReply::failure(400, "bad_request",
                             std::string("the JSON body must be an object such as "
                                         "{\"room\": \"general\", \"text\": \"hello\"}, got ") +
                                 json_kind(body));
  }
  for (auto& [name, value] : body.items()) call.params[name] = std::move(value);
  return std::nullopt;
}

}  // namespace

ApiRequestPlan plan_api_request(const net::ServerRequest& req, const config::ApiSettings& settings) {
  ApiRequestPlan plan;
  auto refuse = [&plan](ApiReply reply, net::Headers headers = {}) {
    plan.kind = ApiRequestPlan::Kind::Answer;
    plan.reply = std::move(reply);
    plan.headers = std::move(headers);
    return std::move(plan);
  };
  std::string path = req.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  plan.path = path;
  const auto raw = split_path(path);

  const CompiledRoute* found = nullptr;
  Json path_params;
  std::string allowed;
  for (const auto& r : compiled_routes()) {
    Json params;
    if (!match(r, raw, params)) continue;
    if (r.route->method == req.method) {
      found = &r;
      path_params = std::move(params);
      break;
    }
    if (allowed.find(r.route->method) == std::string::npos) {
      allowed += (allowed.empty() ? "" : ", ") + r.route->method;
    }
  }
  if (!found) {
    if (!allowed.empty()) {
      return refuse(ApiReply::failure(405, "method_not_allowed",
                                      req.method + " is not allowed on " + path + ": use " +
                                          allowed),
                    {{"Allow", allowed}});
    }
    return refuse(ApiReply::failure(404, "not_found",
                                    "no such endpoint: " + req.method + " " + path +
                                        " (the endpoints are described at "
                                        "/api/v1/openapi.json)"));
  }
  const ApiRoute& route = *found->route;
  if (route.verb.empty()) {
    plan.kind = ApiRequestPlan::Kind::Document;
    return plan;
  }

  if (auto refused = check_key(req, settings)) {
    return refuse(std::move(*refused), {{"WWW-Authenticate", "Bearer realm=\"rcgate\""}});
  }

  plan.call.verb = route.verb;
  plan.call.params = parse_query(req.query);
  if (auto refused = read_body(req, route, plan.call, settings)) return refuse(std::move(*refused));
  for (auto& [name, value] : path_params.items()) plan.call.params[name] = value;
  plan.kind = ApiRequestPlan::Kind::Call;
  return plan;
}

const std::vector<ApiRoute>& api_routes() {
  static const std::vector<ApiRoute> routes = {
      {"GET", "/api/v1/health", "health"},
      {"GET", "/api/v1/devices", "devices"},
      {"GET", "/api/v1/devices/{device}", "device"},
      {"POST", "/api/v1/devices/{device}/send", "send"},
      {"GET", "/api/v1/users", "users"},
      {"POST", "/api/v1/send", "send"},
      {"GET", "/api/v1/messages/{id}", "message"},
      {"POST", "/api/v1/upload", "upload"},
      {"POST", "/api/v1/ask", "ask"},
      {"GET", "/api/v1/asks/{id}", "ask_status"},
      {"DELETE", "/api/v1/asks/{id}", "ask_cancel"},
      {"GET", "/api/v1/openapi.json", ""},
  };
  return routes;
}

const std::string& openapi_document() {
  static const std::string document(detail::kOpenApiDocument, detail::kOpenApiDocumentSize);
  return document;
}

struct ApiServer::Impl {
  Impl(net::Loop& loop, const config::ApiSettings& s, ApiService& svc)
      : settings(s), service(svc), server(loop, options_for(s)) {
    server.on_request([this](const net::ServerRequest& req, net::Respond respond) {
      handle(req, std::move(respond));
    });
  }

  net::HttpServerOptions options_for(const config::ApiSettings& s) {
    net::HttpServerOptions o;
    o.bind_address = s.listen;
    o.port = static_cast<std::uint16_t>(s.port);
    // The largest body any route takes: a raw upload or a JSON upload in base64. Smaller limits
    // per route are checked in handle(), with answers that name the setting to change.
    const std::uint64_t largest = std::max(max_upload_bytes(s), max_json_upload_bytes(s));
    o.max_body_bytes = static_cast<std::size_t>(
        std::min<std::uint64_t>(largest, std::numeric_limits<std::size_t>::max() / 2));
    o.error_response = [max_json = max_json_bytes(s), max_upload = max_upload_bytes(s)](
                           int status, const std::string& message) {
      std::string text;
      if (status == 413) {
        text = "the request body is too large: JSON bodies may have up to " +
               size_text(max_json) + " (api.max_body_kb) and uploads up to " +
               size_text(max_upload) + " (api.max_upload_mb)";
      } else if (status == 431) {
        text = "the request headers are too large (at most 16 KiB)";
      } else {
        text = "the request is not valid HTTP/1.1 (" + message + ")";
      }
      return http_answer(ApiReply::failure(status, "", text), {{"Connection", "close"}});
    };
    return o;
  }

  void handle(const net::ServerRequest& req, net::Respond respond) {
    ApiRequestPlan plan = plan_api_request(req, settings);
    const std::string& path = plan.path;
    if (plan.kind == ApiRequestPlan::Kind::Answer) {
      return answer(req, respond, plan.reply, std::move(plan.headers));
    }
    if (plan.kind == ApiRequestPlan::Kind::Document) {
      net::ServerResponse res{200,
                              {{"Content-Type", "application/json"},
                               {"Cache-Control", "no-cache"}},
                              openapi_document()};
      spdlog::debug("api: {} {} -> 200", req.method, path);
      return respond(std::move(res));
    }

    auto reply = [respond, method = req.method, path](ApiReply r) {
      spdlog::debug("api: {} {} -> {}", method, path, r.status);
      // After the client left (or the server stopped) respond does nothing.
      respond(http_answer(r));
    };
    try {
      service.call(std::move(plan.call), std::move(reply));
    } catch (const std::exception& e) {
      spdlog::error("api: {} {} failed: {}", req.method, path, e.what());
      answer(req, respond,
             ApiReply::failure(500, "internal",
                               "rcgate failed to handle this request (" + std::string(e.what()) +
                                   "); see its log"));
    }
  }

  void answer(const net::ServerRequest& req, const net::Respond& respond, const ApiReply& reply,
              net::Headers extra = {}) {
    spdlog::debug("api: {} {} -> {} {}", req.method, req.path, reply.status, reply.code);
    respond(http_answer(reply, std::move(extra)));
  }

  const config::ApiSettings settings;  // a copy: the server may outlive the caller's settings
  ApiService& service;
  net::HttpServer server;
};

ApiServer::ApiServer(net::Loop& loop, const config::ApiSettings& settings, ApiService& service)
    : impl_(std::make_unique<Impl>(loop, settings, service)) {}

ApiServer::~ApiServer() = default;

void ApiServer::start() {
  const auto& s = impl_->settings;
  const std::string where = s.listen + ":" + std::to_string(s.port);
  try {
    impl_->server.start();
  } catch (const std::exception& e) {
    std::string reason = e.what();
    for (const std::string& prefix : {"http server: cannot listen on " + where + ": ",
                                     std::string("http server: ")}) {
      if (reason.rfind(prefix, 0) == 0) {
        reason.erase(0, prefix.size());
        break;
      }
    }
    const bool bad_address = reason.find("invalid bind address") != std::string::npos;
    throw std::runtime_error("cannot listen on " + where + ": " + reason +
                             (bad_address ? " — change api.listen"
                                          : " — is another rcgate running? change api.port"));
  }
  const bool v6 = s.listen.find(':') != std::string::npos;
  spdlog::info("local API listening on http://{}{}{}:{}", v6 ? "[" : "", s.listen, v6 ? "]" : "",
               impl_->server.port());
}

void ApiServer::stop() { impl_->server.stop(); }

std::uint16_t ApiServer::port() const { return impl_->server.port(); }

}  // namespace rcgate::app
