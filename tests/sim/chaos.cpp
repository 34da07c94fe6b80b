#include "chaos.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "http_util.hpp"
#include "net/loop.hpp"
#include "sim.hpp"
#include "world.hpp"

namespace rcgate::sim {

using json = nlohmann::json;

namespace {

std::int64_t int_field(const json& body, const char* key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw std::invalid_argument(std::string("'") + key + "' must be an integer");
  const auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) {
    throw std::invalid_argument(std::string("'") + key + "' must be between " + std::to_string(lo) +
                                " and " + std::to_string(hi));
  }
  return v;
}

net::ServerResponse injected(int status, std::int64_t reset_ms) {
  if (status == 429) {
    const std::int64_t reset_at = now_ms() + reset_ms;
    return json_response(429,
                         {{"success", false},
                          {"error", "Error, too many requests. Please slow down. You must wait " +
                                        std::to_string((reset_ms + 999) / 1000) +
                                        " seconds before trying this endpoint again. [error-too-many-requests]"}},
                         {{"X-RateLimit-Limit", "10"},
                          {"X-RateLimit-Remaining", "0"},
                          {"X-RateLimit-Reset", std::to_string(reset_at)}});
  }
  return json_response(status, {{"success", false}, {"error", "injected server error " + std::to_string(status)}});
}

}  // namespace

Chaos::Chaos(Sim& sim, net::Loop& loop) : sim_(sim), loop_(loop) {}

Chaos::~Chaos() = default;

void Chaos::later(std::int64_t ms, std::function<void()> fn) {
  const std::uint64_t key = next_timer_++;
  auto& timer = timers_[key];
  timer = std::make_unique<net::Timer>(loop_);
  std::weak_ptr<int> alive = alive_;
  timer->start(std::chrono::milliseconds(ms), [this, alive, key, fn = std::move(fn)] {
    if (alive.expired()) return;
    fn();
    // The timer is running this callback: let it go on the next turn.
    loop_.post([this, alive, key] {
      if (!alive.expired()) timers_.erase(key);
    });
  });
}

json Chaos::describe() const {
  json rules = json::array();
  for (const auto& r : rules_) {
    rules.push_back({{"path", r.path},
                     {"status", r.status},
                     {"count", r.count},
                     {"delay_ms", r.delay_ms},
                     {"after", r.after},
                     {"reset_ms", r.reset_ms}});
  }
  return {{"ok", true}, {"rules", rules}, {"applied", applied_}, {"restarting", restarting_}};
}

net::ServerResponse Chaos::handle(const net::ServerRequest& request, const json& body) {
  const std::string& path = request.path;
  const bool post = request.method == "POST";
  if (path == "/_sim/chaos" && request.method == "GET") return json_response(200, describe());

  if (path == "/_sim/chaos/rest" && post) {
    Rule rule;
    if (body.contains("path")) {
      if (!body["path"].is_string()) throw std::invalid_argument("'path' must be a string");
      rule.path = body["path"].get<std::string>();
    }
    rule.status = static_cast<int>(int_field(body, "status", 0, 0, 599));
    if (rule.status != 0 && rule.status != 429 && rule.status < 500) {
      throw std::invalid_argument("'status' must be 0 (none), 429 or 5xx");
    }
    rule.count = static_cast<int>(int_field(body, "count", 1, -1, 1000000));
    rule.delay_ms = int_field(body, "delay_ms", 0, 0, 600000);
    rule.reset_ms = int_field(body, "reset_ms", 1000, 0, 3600000);
    if (body.contains("after")) {
      if (!body["after"].is_boolean()) throw std::invalid_argument("'after' must be true or false");
      rule.after = body["after"].get<bool>();
    }
    if (rule.status == 0 && rule.delay_ms == 0) throw std::invalid_argument("give 'status' or 'delay_ms'");
    spdlog::info("sim chaos: REST rule path='{}' status={} count={} delay_ms={} after={}", rule.path,
                 rule.status, rule.count, rule.delay_ms, rule.after);
    rules_.push_back(rule);
    return json_response(200, describe());
  }

  if (path == "/_sim/chaos/clear" && post) {
    rules_.clear();
    if (restarting_) {
      restarting_ = false;
      ++restart_generation_;
      sim_.faults().refuse_connections = false;
    }
    return json_response(200, describe());
  }

  if (path == "/_sim/chaos/drop-mid-frame" && post) {
    const auto bytes = int_field(body, "bytes", 4 * 1024 * 1024, 64, 64 * 1024 * 1024);
    const auto after_ms = int_field(body, "after_ms", 0, 0, 10000);
    // A frame every DDP client ignores (an "updated" for a method it never called), padded.
    json frame = {{"msg", "updated"}, {"methods", json::array({"chaos-padding"})}};
    frame["padding"] = std::string(static_cast<std::size_t>(bytes), 'x');
    const int sent = sim_.inject_frame(frame.dump());
    if (after_ms == 0) {
      sim_.drop_connections();
    } else {
      later(after_ms, [this] { sim_.drop_connections(); });
    }
    spdlog::info("sim chaos: dropping {} connection(s) {} ms into a {}-byte frame", sent, after_ms, bytes);
    return json_response(200, {{"ok", true}, {"dropped", sent}});
  }

  if (path == "/_sim/chaos/restart" && post) {
    const auto down_ms = int_field(body, "down_ms", 1000, 0, 600000);
    sim_.faults().refuse_connections = true;
    restarting_ = true;
    const int dropped = sim_.drop_connections();
    const std::uint64_t generation = ++restart_generation_;
    later(down_ms, [this, generation] {
      if (generation != restart_generation_) return;  // cleared or restarted again meanwhile
      restarting_ = false;
      sim_.faults().refuse_connections = false;
      spdlog::info("sim chaos: back after the restart");
    });
    spdlog::info("sim chaos: restart, {} connection(s) dropped, down for {} ms", dropped, down_ms);
    return json_response(200, {{"ok", true}, {"dropped", dropped}, {"down_ms", down_ms}});
  }

  return json_response(404, {{"ok", false}, {"error", "no chaos route " + request.method + " " + path}});
}

bool Chaos::intercept(const net::ServerRequest& request, const std::function<net::ServerResponse()>& process,
                      net::Respond& respond) {
  if (rules_.empty()) return false;
  auto it = rules_.begin();
  for (; it != rules_.end(); ++it) {
    if (it->path.empty() || request.path.rfind(it->path, 0) == 0) break;
  }
  if (it == rules_.end()) return false;
  const Rule rule = *it;
  if (rule.count > 0 && --it->count == 0) rules_.erase(it);
  ++applied_;

  net::ServerResponse response;
  if (rule.status == 0 || rule.after) response = process();
  if (rule.status != 0) response = injected(rule.status, rule.reset_ms);
  spdlog::debug("sim chaos: {} {} -> {} after {} ms{}", request.method, request.path, response.status,
                rule.delay_ms, rule.after ? " (processed)" : "");
  if (rule.delay_ms == 0) {
    respond(std::move(response));
  } else {
    later(rule.delay_ms, [respond = std::move(respond), response = std::move(response)]() mutable {
      respond(std::move(response));
    });
  }
  return true;
}

}  // namespace rcgate::sim
