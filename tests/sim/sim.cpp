#include "sim.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "chaos.hpp"
#include "control_api.hpp"
#include "ddp_session.hpp"
#include "http_util.hpp"
#include "loadgen.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "rest_api.hpp"
#include "rocketchat/ddp/codec.hpp"

namespace rcgate::sim {

using json = nlohmann::json;

struct Sim::RestRoutes {
  explicit RestRoutes(Sim& sim) : rest(sim), control(sim) {}
  RestApi rest;
  ControlApi control;
};

Sim::Sim(net::Loop& loop, SimOptions options, const Household& household)
    : loop_(loop),
      options_(std::move(options)),
      world_(World::Events{
          [this](const json& message, const Room& room) { fan_out_message(message, room); },
          [this](const std::string& uid, const std::string& event, const json& args) {
            fan_out_user_event(uid, event, args);
          },
          [this](const std::string& event, const json& args) { fan_out_logged_event(event, args); },
      }),
      bot_username_(household.bot),
      routes_(std::make_unique<RestRoutes>(*this)) {
  settings_.flavour = options_.flavour;
  world_.seed(household);
  chaos_ = std::make_unique<Chaos>(*this, loop_);
  if (const User* bot = world_.user_by_username(bot_username_)) bot_id_ = bot->id;
  load_ = std::make_unique<LoadGen>(*this);
}

Sim::~Sim() { stop(); }

void Sim::start() {
  std::weak_ptr<int> alive = alive_;
  const auto install = [this, alive](net::HttpServer& server) {
    server.on_request([this, alive](const net::ServerRequest& request, net::Respond respond) {
      if (alive.expired()) {
        respond(json_response(503, {{"success", false}, {"error", "the simulator is stopping"}}));
        return;
      }
      on_request(request, std::move(respond));
    });
    server.on_websocket([this, alive](const net::ServerRequest& request,
                                      std::shared_ptr<net::WsServerConnection> connection,
                                      net::WsServerHandlers& handlers) {
      if (alive.expired()) return false;
      return on_websocket(request, std::move(connection), handlers);
    });
  };

  net::HttpServerOptions plain;
  plain.bind_address = options_.listen;
  plain.port = options_.port;
  plain.max_body_bytes = options_.max_request_bytes;
  http_ = std::make_unique<net::HttpServer>(loop_, plain);
  install(*http_);
  http_->start();

  if (options_.tls_port) {
    const net::SelfSigned cert = net::make_self_signed("localhost");
    cert_pem_ = cert.cert_pem;
    key_pem_ = cert.key_pem;
    if (!options_.cert_out.empty()) {
      const std::string tmp = options_.cert_out + ".tmp";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << cert_pem_;
        if (!out) throw std::runtime_error("cannot write the certificate to " + tmp);
      }
      if (std::rename(tmp.c_str(), options_.cert_out.c_str()) != 0) {
        throw std::runtime_error("cannot rename " + tmp + " to " + options_.cert_out);
      }
    }
    net::HttpServerOptions tls;
    tls.bind_address = options_.listen;
    tls.port = *options_.tls_port;
    tls.tls = true;
    tls.max_body_bytes = options_.max_request_bytes;
    tls.cert_pem = cert_pem_;
    tls.key_pem = key_pem_;
    https_ = std::make_unique<net::HttpServer>(loop_, tls);
    install(*https_);
    https_->start();
  }
  spdlog::info("rcgate-sim: flavour {}, http port {}{}", settings_.flavour, http_port(),
               https_ ? ", https port " + std::to_string(https_->port()) : std::string());
}

void Sim::stop() {
  if (http_) http_->stop();
  if (https_) https_->stop();
}

std::uint16_t Sim::http_port() const { return http_ ? http_->port() : 0; }

std::optional<std::uint16_t> Sim::https_port() const {
  if (!https_) return std::nullopt;
  return https_->port();
}

json Sim::ports_json() const {
  json out = {{"http", http_port()}, {"https", nullptr}, {"cert_file", nullptr}, {"pid", ::getpid()}};
  if (https_) out["https"] = https_->port();
  if (https_ && !options_.cert_out.empty()) out["cert_file"] = options_.cert_out;
  return out;
}

json Sim::stats_json() const {
  json subscriptions = json::array();
  std::size_t open = 0;
  for (const auto& [id, session] : sessions_) {
    if (!session->closed()) ++open;
    session->describe_subscriptions(subscriptions);
  }
  json tokens = json::object();
  for (const auto& [username, n] : world_.login_token_counts()) tokens[username] = n;
  return {{"connections", open},
          {"connections_total", stats_.connections_total},
          {"password_logins", stats_.password_logins},
          {"resume_logins", stats_.resume_logins},
          {"failed_logins", stats_.failed_logins},
          {"refused_logins", stats_.refused_logins},
          {"tokens", tokens},
          {"subscriptions", subscriptions},
          {"pings_received", stats_.pings_received}};
}

int Sim::inject_frame(const std::string& frame) {
  int n = 0;
  auto sessions = sessions_;
  for (auto& [id, session] : sessions) {
    if (session->closed() || session->user_id().empty()) continue;
    session->inject(frame);
    ++n;
  }
  return n;
}

int Sim::drop_connections() {
  int n = 0;
  // Copy first: dropping may end a session while we walk the map.
  std::vector<std::shared_ptr<DdpSession>> sessions;
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  for (const auto& session : sessions) {
    if (session->closed()) continue;
    session->drop();
    ++n;
  }
  spdlog::info("rcgate-sim: dropped {} connection(s)", n);
  return n;
}

void Sim::session_closed(std::uint64_t id) {
  // Erase later: this is called from inside the session.
  std::weak_ptr<int> alive = alive_;
  loop_.post([this, alive, id] {
    if (!alive.expired()) sessions_.erase(id);
  });
}

void Sim::send_ephemeral(const std::string& uid, const std::string& rid, const std::string& text) {
  const std::int64_t now = now_ms();
  fan_out_user_event(uid, "message",
                     json::array({{{"_id", std::to_string(now)},
                                   {"rid", rid},
                                   {"ts", ddp::make_ejson_date(now)},
                                   {"msg", text},
                                   {"u", {{"_id", "rocket.cat"}, {"username", "rocket.cat"}, {"name", "Rocket.Cat"}}},
                                   {"private", true},
                                   {"_updatedAt", ddp::make_ejson_date(now)}}}));
}

// Under a root prefix, /chat/api/... is /api/...; the unprefixed paths are not served (404),
// like a server deployed under a sub-path.
static bool strip_root_prefix(const std::string& prefix, net::ServerRequest& request) {
  if (prefix.empty() || request.path.rfind("/_sim/", 0) == 0) return true;
  if (request.path.rfind(prefix + "/", 0) != 0) return false;
  request.path = request.path.substr(prefix.size());
  request.target = request.target.substr(prefix.size());
  return true;
}

void Sim::on_request(const net::ServerRequest& original, net::Respond respond) {
  net::ServerResponse response;
  // A copy only under a root prefix: an upload's body may be tens of megabytes.
  std::optional<net::ServerRequest> stripped;
  if (!options_.root_prefix.empty()) {
    stripped = original;
    if (!strip_root_prefix(options_.root_prefix, *stripped)) {
      respond(json_response(404, {{"success", false}, {"error", "Not found"}}));
      return;
    }
  }
  const net::ServerRequest& request = stripped ? *stripped : original;
  try {
    const std::string& path = request.path;
    spdlog::debug("sim http {} {}", request.method, request.target);
    if (path.rfind("/_sim/", 0) == 0) {
      response = routes_->control.handle(request);
    } else if (faults_.refuse_connections) {
      response = json_response(503, {{"success", false}, {"error", "connections are refused (fault injected)"}});
    } else if (path.rfind("/api/", 0) == 0) {
      if (chaos_->intercept(request, [&] { return routes_->rest.handle(request); }, respond)) return;
      response = routes_->rest.handle(request);
    } else if (path.rfind("/file-upload/", 0) == 0 && request.method == "GET") {
      response = routes_->rest.file_upload(request);
    } else if (path == "/websocket") {
      response = json_response(400, {{"success", false}, {"error", "Not a valid websocket request"}});
    } else {
      response = json_response(404, {{"success", false}, {"error", "Not found"}});
    }
  } catch (const std::exception& e) {
    spdlog::error("sim http {} {}: {}", request.method, request.target, e.what());
    response = json_response(500, {{"success", false}, {"error", std::string("internal error: ") + e.what()}});
  }
  respond(std::move(response));
}

bool Sim::on_websocket(const net::ServerRequest& original, std::shared_ptr<net::WsServerConnection> connection,
                       net::WsServerHandlers& handlers) {
  net::ServerRequest request = original;
  if (!strip_root_prefix(options_.root_prefix, request)) return false;
  if (request.path != "/websocket") return false;
  auto session = std::make_shared<DdpSession>(*this, std::move(connection));
  std::weak_ptr<DdpSession> weak = session;
  handlers.on_message = [weak](std::string_view text) {
    if (auto s = weak.lock()) s->on_text(text);
  };
  handlers.on_close = [weak](const std::string& reason) {
    if (auto s = weak.lock()) s->on_closed(reason);
  };
  sessions_[session->id()] = session;
  if (faults_.refuse_connections) {
    spdlog::info("rcgate-sim: refusing connection #{} (fault injected)", session->id());
    loop_.post([weak] {
      if (auto s = weak.lock()) s->drop();
    });
    return true;
  }
  ++stats_.connections_total;
  // Start once the upgrade has completed, so a greeting goes out after the handshake.
  loop_.post([weak] {
    if (auto s = weak.lock()) s->start();
  });
  return true;
}

void Sim::fan_out_message(const json& message, const Room& room) {
  if (!bot_id_.empty() && !message.contains("t") && !message.contains("editedAt")) {
    const auto u = message.find("u");
    if (u != message.end() && u->is_object() && u->value("_id", "") == bot_id_) load_->on_bot_message(message);
  }
  if (quiet_fanout_) return;
  for (const auto& [id, session] : sessions_) session->deliver_message(message, room);
}

std::shared_ptr<DdpSession> Sim::bot_session() const {
  std::shared_ptr<DdpSession> found;
  for (const auto& [id, session] : sessions_) {
    if (!session->closed() && session->user_id() == bot_id_ && session->has_my_messages()) found = session;
  }
  return found;
}

void Sim::fan_out_user_event(const std::string& uid, const std::string& event, const json& args) {
  for (const auto& [id, session] : sessions_) session->deliver_user_event(uid, event, args);
}

void Sim::fan_out_logged_event(const std::string& event, const json& args) {
  for (const auto& [id, session] : sessions_) session->deliver_logged_event(event, args);
}

}  // namespace rcgate::sim
