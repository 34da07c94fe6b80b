#include "mqtt/bridge.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "net/http_client.hpp"

#ifndef RCGATE_VERSION
#define RCGATE_VERSION "0.0.0"
#endif

namespace rcgate::mqtt {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

ClientOptions client_options(const config::MqttSettings& m) {
  ClientOptions o;
  o.host = m.host;
  o.port = m.port;
  o.client_id = m.client_id;
  o.username = m.username;
  o.password = m.password;
  o.tls = m.tls_enabled;
  o.tls_verify = m.tls.verify;
  o.ca_file = m.tls.ca_file;
  o.keepalive = std::chrono::duration_cast<std::chrono::seconds>(m.keepalive);
  o.will_topic = m.base_topic + "/bridge/state";
  o.will_payload = "offline";
  o.backoff_initial = m.backoff_initial;
  o.backoff_max = m.backoff_max;
  return o;
}

TopicContext topic_context(const config::MqttSettings& m) {
  return {m.base_topic, m.discovery_prefix, m.client_id, RCGATE_VERSION};
}

// "<base>/<rest>" -> "<rest>", or "" when the topic is not under base.
std::string under(const std::string& topic, const std::string& base) {
  if (topic.size() <= base.size() + 1 || topic.compare(0, base.size(), base) != 0 ||
      topic[base.size()] != '/')
    return {};
  return topic.substr(base.size() + 1);
}

}  // namespace

Bridge::Bridge(net::Loop& loop, const config::Settings& settings, app::ApiService& service,
               app::EventBus& events)
    : loop_(loop),
      settings_(settings),
      mqtt_(settings.mqtt),
      service_(service),
      events_(events),
      topics_(topic_context(settings.mqtt)),
      client_(loop, client_options(settings.mqtt),
              ClientHandlers{[this] { on_connected(); },
                             [](const std::string&) {},
                             [this](const std::string& t, const std::string& p, bool) {
                               on_message(t, p);
                             }}),
      info_timer_(loop),
      info_refresh_(loop) {}

Bridge::~Bridge() { stop(); }

void Bridge::start() {
  client_.subscribe(topics_.base + "/bridge/request/+");
  client_.subscribe(topics_.base + "/+/send");
  if (mqtt_.discovery) client_.subscribe(topics_.prefix + "/status");
  subscription_ = events_.subscribe([this](const app::Event& e) { on_event(e); });
  spdlog::info("mqtt: bridge to {} under '{}/'{}", client_.where(), topics_.base,
               mqtt_.discovery ? ", Home Assistant discovery under '" + topics_.prefix + "/'"
                               : std::string());
  client_.start();
  fetch_server_version();
  arm_info_timer();
}

// The queue depth changes without an event (sends, retries): looked at now and then.
void Bridge::arm_info_timer() {
  info_timer_.start(30s, [this] {
    refresh_info();
    arm_info_timer();
  });
}

void Bridge::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (subscription_) events_.unsubscribe(subscription_);
  info_timer_.cancel();
  info_refresh_.cancel();
  if (rest_) rest_->close();
  client_.stop(bridge_state_topic(topics_), "offline");
}

// ---- connection

void Bridge::on_connected() {
  publish_retained(bridge_state_topic(topics_), "online");
  if (dropped_events_ > 0) {
    spdlog::debug("mqtt: {} events were dropped while the broker was away", dropped_events_);
    dropped_events_ = 0;
  }
  published_info_.clear();
  published_gateway_.clear();
  sync_devices(/*force=*/true);
  refresh_info();
  while (!pending_answers_.empty() && client_.connected()) {
    auto [topic, payload] = std::move(pending_answers_.front());
    pending_answers_.pop_front();
    client_.publish(topic, payload, false);
  }
  if (dropped_answers_ > 0) {
    spdlog::warn("mqtt: {} answers were dropped while the broker was away (mqtt.max_pending is "
                 "{})",
                 dropped_answers_, mqtt_.max_pending);
    dropped_answers_ = 0;
  }
}

void Bridge::on_message(const std::string& topic, const std::string& payload) {
  if (mqtt_.discovery && topic == topics_.prefix + "/status") {
    if (payload == "online") {
      // Home Assistant (re)started: it may have lost what it knew.
      spdlog::info("mqtt: Home Assistant is online: publishing discovery again");
      publish_discovery_all(/*force=*/true);
    }
    return;
  }
  const std::string rest = under(topic, topics_.base);
  if (rest.rfind("bridge/request/", 0) == 0) return on_request(rest.substr(15), payload);
  const auto slash = rest.find('/');
  if (slash != std::string::npos && rest.substr(slash) == "/send")
    return on_send(rest.substr(0, slash), payload);
}

// ---- devices

std::string Bridge::topic_for(const std::string& id, const json& device) {
  std::string name = device.value("room_name", "");
  if (name.empty()) name = device.value("name", id);
  std::string level = slug(name);
  if (reserved_level(level)) level += "_" + object_id(id);
  auto owner = topic_owner_.find(level);
  if (owner != topic_owner_.end() && owner->second != id) level += "_" + object_id(id);
  return level;
}

void Bridge::sync_devices(bool force) {
  std::weak_ptr<int> alive = alive_;
  service_.call({"devices", json::object(), {}}, [this, alive, force](app::ApiReply reply) {
    if (alive.expired() || !reply.ok()) return;
    // The gateway first: the rooms' devices name it as their via_device.
    publish_gateway(force);
    for (const auto& d : reply.data.value("devices", json::array())) upsert(d, force);
  });
}

void Bridge::upsert(const json& device, bool force) {
  const std::string id = device.value("id", "");
  if (id.empty()) return;
  auto& view = devices_[id];
  view.device = device;
  const std::string level = topic_for(id, device);
  if (!view.topic.empty() && view.topic != level) {
    // Renamed: the old topics are cleared so that nothing stale stays retained.
    publish_retained(device_state_topic(topics_, view.topic), "");
    publish_retained(device_availability_topic(topics_, view.topic), "");
    topic_owner_.erase(view.topic);
    view.published_state.clear();
    view.published_availability.clear();
    view.published_discovery.clear();
  }
  view.topic = level;
  topic_owner_[level] = id;
  publish_device(view, force);
}

void Bridge::publish_device(DeviceView& view, bool force) {
  const bool available = view.device.value("available", true);
  const std::string state = device_state(view.device, view.last_thread_id).dump();
  if (force || state != view.published_state) {
    publish_retained(device_state_topic(topics_, view.topic), state);
    view.published_state = state;
  }
  const std::string availability = available ? "online" : "offline";
  if (force || availability != view.published_availability) {
    publish_retained(device_availability_topic(topics_, view.topic), availability);
    view.published_availability = availability;
  }
  if (!mqtt_.discovery) return;
  const std::string id = view.device.value("id", "");
  // A room the bot left is removed from Home Assistant (it comes back if the bot returns).
  const std::string discovery =
      available ? room_discovery(topics_, view.device, view.topic).dump() : std::string();
  if (force || discovery != view.published_discovery) {
    publish_retained(room_discovery_topic(topics_, id), discovery);
    view.published_discovery = discovery;
  }
}

void Bridge::publish_gateway(bool force) {
  if (!mqtt_.discovery) return;
  const std::string gateway = gateway_discovery(topics_).dump();
  if (force || gateway != published_gateway_) {
    publish_retained(gateway_discovery_topic(topics_), gateway);
    published_gateway_ = gateway;
  }
}

void Bridge::publish_discovery_all(bool force) {
  if (!mqtt_.discovery) return;
  publish_gateway(force);
  for (auto& [id, view] : devices_) publish_device(view, force);
  // Entities read their state from retained topics, which they get on subscribing; the info is
  // published again so that a restarted Home Assistant sees the current values at once.
  published_info_.clear();
  refresh_info();
}

// ---- events

void Bridge::device_event(const std::string& room_id, const std::string& type, json data) {
  data["event_type"] = type;
  auto it = devices_.find(room_id);
  if (it != devices_.end() && it->second.device.value("available", true))
    publish_event(topics_.base + "/" + it->second.topic + "/event", data);
  else
    publish_event(topics_.base + "/bridge/event", data);
}

void Bridge::on_event(const app::Event& event) {
  publish_event(topics_.base + "/event/" + event.type, event.data);
  const auto& d = event.data;
  if (event.type == "device") {
    upsert(d, false);
  } else if (event.type == "device_removed") {
    const std::string id = d.value("id", "");
    auto it = devices_.find(id);
    if (it != devices_.end()) {
      it->second.device["available"] = false;
      publish_device(it->second, false);
    } else if (mqtt_.discovery && !id.empty()) {
      publish_retained(room_discovery_topic(topics_, id), "");
    }
  } else if (event.type == "message") {
    const std::string room_id = d.value("room_id", "");
    auto it = devices_.find(room_id);
    if (it != devices_.end() && it->second.device.value("last_message_id", "") ==
                                    d.value("message_id", "")) {
      it->second.last_thread_id = d.value("thread_id", "");
      publish_device(it->second, false);
    }
    const std::string type =
        d.value("direct", false) ? "direct" : d.value("mention", false) ? "mention" : "message";
    device_event(room_id, type, d);
  } else if (event.type == "ask") {
    const std::string id = d.value("id", "");
    if (d.value("status", "") == "answered") device_event(d.value("room_id", ""), "answer", d);
    auto pending = pending_asks_.find(id);
    if (pending != pending_asks_.end()) {
      const json transaction = pending->second;
      pending_asks_.erase(pending);
      respond("ask", app::ApiReply::success(d), transaction);
    }
  } else if (event.type == "link") {
    if (d.value("connected", false) && server_version_.empty()) fetch_server_version();
  }
  schedule_info();
}

// ---- requests

void Bridge::respond(const std::string& verb, const app::ApiReply& reply,
                     const json& transaction) {
  json body = app::envelope(reply);
  if (!transaction.is_null()) body["transaction"] = transaction;
  publish_answer(topics_.base + "/bridge/response/" + verb, body.dump());
}

void Bridge::on_request(const std::string& verb, const std::string& payload) {
  json params = json::object();
  if (!payload.empty()) {
    params = json::parse(payload, nullptr, false);
    if (!params.is_object()) {
      return respond(verb,
                     app::ApiReply::failure(400, "bad_request",
                                            "the request must be a JSON object (the verb's "
                                            "parameters and an optional \"transaction\"), got: " +
                                                payload.substr(0, 80)),
                     nullptr);
    }
  }
  json transaction = nullptr;
  if (auto it = params.find("transaction"); it != params.end()) {
    transaction = *it;
    params.erase(it);
  }
  std::weak_ptr<int> alive = alive_;
  if (verb == "ask") {
    // Answered when the ask ends, however long that takes (not bounded by api.ask_wait_max):
    // the ask's end comes from the event bus.
    bool at_once = false;
    if (auto it = params.find("wait"); it != params.end()) {
      at_once = it->is_number() && it->get<double>() == 0;
      params.erase(it);
    }
    service_.call({"ask", std::move(params), {}},
                  [this, alive, transaction, at_once](app::ApiReply reply) {
                    if (alive.expired()) return;
                    if (!reply.ok() || at_once || reply.data.value("status", "") != "open")
                      return respond("ask", reply, transaction);
                    pending_asks_[reply.data.value("id", "")] = transaction;
                  });
    return;
  }
  service_.call({verb, std::move(params), {}}, [this, alive, verb, transaction](app::ApiReply r) {
    if (!alive.expired()) respond(verb, r, transaction);
  });
}

void Bridge::on_send(const std::string& level, const std::string& payload) {
  if (reserved_level(level)) return;
  auto owner = topic_owner_.find(level);
  const std::string device = owner != topic_owner_.end() ? owner->second : level;
  json params = json::object();
  const json parsed = json::parse(payload, nullptr, false);
  if (parsed.is_object()) {
    params = parsed;
    params.erase("room");
    params.erase("user");
  } else if (parsed.is_string()) {
    params["text"] = parsed;
  } else {
    params["text"] = payload;  // plain text (also numbers and words that happen to be JSON)
  }
  params["device"] = device;
  const std::string topic = topics_.base + "/" + level + "/send";
  std::weak_ptr<int> alive = alive_;
  service_.call({"send", std::move(params), {}}, [this, alive, topic](app::ApiReply reply) {
    if (alive.expired() || reply.ok()) return;
    spdlog::warn("mqtt: {}: {}", topic, reply.error);
    publish_event(topics_.base + "/event/error",
                  {{"topic", topic}, {"error", reply.error}, {"code", reply.code}});
  });
}

// ---- the gateway's info

void Bridge::schedule_info() {
  if (!info_refresh_.pending()) info_refresh_.start(200ms, [this] { refresh_info(); });
}

void Bridge::refresh_info() {
  std::weak_ptr<int> alive = alive_;
  service_.call({"health", json::object(), {}}, [this, alive](app::ApiReply reply) {
    if (alive.expired() || !reply.ok()) return;
    info_ = reply.data;
    info_["server_version"] = server_version_;
    const std::string text = info_.dump();
    if (text == published_info_ || !client_.connected()) return;
    publish_retained(bridge_info_topic(topics_), text);
    published_info_ = text;
  });
}

void Bridge::fetch_server_version() {
  const Url& url = settings_.rocketchat.url;
  if (url.host.empty()) return;
  if (!rest_) {
    net::TlsClientOptions tls;
    tls.verify = settings_.rocketchat.tls.verify;
    tls.ca_file = settings_.rocketchat.tls.ca_file;
    rest_ = std::make_unique<net::HttpClient>(loop_, url.as_http(), tls);
  }
  net::HttpRequest request;
  request.target = url.join("/api/info");
  request.timeout = 15s;
  std::weak_ptr<int> alive = alive_;
  rest_->request(std::move(request), [this, alive](net::HttpResponse r) {
    if (alive.expired()) return;
    const json body = json::parse(r.body, nullptr, false);
    if (!r.ok() || r.status != 200 || !body.is_object()) {
      spdlog::debug("mqtt: server version unknown ({})", r.ok() ? "no JSON" : r.error);
      return;
    }
    const auto version = body.find("version");
    if (version == body.end() || !version->is_string()) return;
    server_version_ = version->get<std::string>();
    schedule_info();
  });
}

// ---- publishing

void Bridge::publish_retained(const std::string& topic, const std::string& payload) {
  client_.publish(topic, payload, /*retain=*/true);
}

void Bridge::publish_event(const std::string& topic, const json& payload) {
  if (!client_.publish(topic, payload.dump(), /*retain=*/false)) ++dropped_events_;
}

void Bridge::publish_answer(const std::string& topic, const std::string& payload) {
  if (client_.publish(topic, payload, /*retain=*/false)) return;
  if (mqtt_.max_pending <= 0) {
    ++dropped_answers_;
    return;
  }
  if (pending_answers_.size() >= static_cast<std::size_t>(mqtt_.max_pending)) {
    pending_answers_.pop_front();
    ++dropped_answers_;
  }
  pending_answers_.emplace_back(topic, payload);
}

}  // namespace rcgate::mqtt
