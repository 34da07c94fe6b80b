#include "app/plugin_host.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "registry.hpp"

namespace rcgate::app {

// --- LoopHttpClient ----------------------------------------------------------------------------

LoopHttpClient::LoopHttpClient(net::Loop& loop, std::size_t connections_per_origin)
    : loop_(loop),
      per_origin_(std::max<std::size_t>(1, connections_per_origin)),
      alive_(std::make_shared<bool>(true)) {}

LoopHttpClient::~LoopHttpClient() { *alive_ = false; }

std::size_t LoopHttpClient::origin_count() const { return origins_.size(); }

std::size_t LoopHttpClient::connection_count() const {
  std::size_t total = 0;
  for (const auto& [key, clients] : origins_) total += clients.size();
  return total;
}

net::HttpClient& LoopHttpClient::pick(const std::string& key, const HttpCall& call,
                                      const Url& origin) {
  auto& clients = origins_[key];
  // An idle connection first; then a new one while the pool has room; then the shortest queue.
  for (auto& client : clients) {
    if (client->queued() == 0) return *client;
  }
  if (clients.size() < per_origin_) {
    net::TlsClientOptions tls;
    tls.verify = call.verify_tls;
    tls.ca_file = call.ca_file;
    clients.push_back(std::make_unique<net::HttpClient>(loop_, origin, tls));
    return *clients.back();
  }
  return **std::min_element(clients.begin(), clients.end(), [](const auto& a, const auto& b) {
    return a->queued() < b->queued();
  });
}

void LoopHttpClient::request(HttpCall call, std::function<void(HttpResult)> done) {
  auto fail_later = [this, &done](std::string error) {
    loop_.post([alive = std::weak_ptr<bool>(alive_), done = std::move(done),
                error = std::move(error)]() mutable {
      const auto still = alive.lock();
      if (!still || !*still) return;
      HttpResult result;
      result.error = std::move(error);
      done(std::move(result));
    });
  };
  std::string url_error;
  const auto url = parse_url(call.url, &url_error);
  if (!url) return fail_later("invalid URL: " + url_error);
  if (url->scheme != "http" && url->scheme != "https") {
    return fail_later("invalid URL: expected http:// or https://, got '" + url->scheme + "://'");
  }
  Url origin = *url;
  origin.path = "/";
  const std::string key = origin.scheme + "://" + origin.host + ":" +
                          std::to_string(origin.port) + (call.verify_tls ? " verify" : " no-verify") +
                          " ca=" + call.ca_file;

  net::HttpRequest request;
  request.method = call.method;
  request.target = url->path;  // path and query
  request.headers = std::move(call.headers);
  request.body = std::move(call.body);
  request.timeout = call.timeout;

  net::HttpClient* client = nullptr;
  try {
    client = &pick(key, call, origin);
  } catch (const std::exception& e) {
    return fail_later(std::string("cannot open a connection: ") + e.what());
  }
  client->request(std::move(request), [done = std::move(done)](net::HttpResponse response) {
    HttpResult result;
    result.status = response.status;
    result.headers = std::move(response.headers);
    result.body = std::move(response.body);
    if (!response.ok()) {
      result.status = 0;
      result.error = response.error.empty() ? std::string(net::to_string(response.stage))
                                            : std::move(response.error);
    }
    done(std::move(result));
  });
}

// --- LoopScheduler -----------------------------------------------------------------------------

namespace {

class LoopTimerHandle final : public TimerHandle {
 public:
  explicit LoopTimerHandle(net::Loop& loop) : timer(loop) {}
  net::Timer timer;  // destroying it cancels the callback
};

}  // namespace

LoopScheduler::LoopScheduler(net::Loop& loop) : loop_(loop) {}

std::unique_ptr<TimerHandle> LoopScheduler::after(std::chrono::milliseconds delay,
                                                  std::function<void()> fn) {
  auto handle = std::make_unique<LoopTimerHandle>(loop_);
  handle->timer.start(delay, std::move(fn));
  return handle;
}

std::int64_t LoopScheduler::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- SpdlogPluginLog ---------------------------------------------------------------------------

SpdlogPluginLog::SpdlogPluginLog(std::string plugin_name)
    : prefix_("plugin '" + plugin_name + "': ") {}

void SpdlogPluginLog::debug(const std::string& text) { spdlog::debug("{}{}", prefix_, text); }
void SpdlogPluginLog::info(const std::string& text) { spdlog::info("{}{}", prefix_, text); }
void SpdlogPluginLog::warn(const std::string& text) { spdlog::warn("{}{}", prefix_, text); }
void SpdlogPluginLog::error(const std::string& text) { spdlog::error("{}{}", prefix_, text); }

// --- PluginHost --------------------------------------------------------------------------------

class PluginHost::Context final : public PluginContext {
 public:
  Context(PluginHost& host, std::string name, nlohmann::json section)
      : host_(host), name_(std::move(name)), section_(std::move(section)), log_(name_) {}

  const nlohmann::json& config() const override { return section_; }
  PluginLog& log() override { return log_; }
  PluginHttpClient& http() override { return *host_.http_; }
  Scheduler& scheduler() override { return *host_.scheduler_; }
  void provide_engine(std::shared_ptr<InteractionEngine> engine) override {
    if (engine) provided.push_back(std::move(engine));
  }
  std::string state_dir() const override {
    const auto dir = std::filesystem::path(host_.state_dir_) / "plugins" / name_;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      spdlog::warn("plugin '{}': cannot create its state directory {}: {}", name_, dir.string(),
                   ec.message());
    }
    return dir.string();
  }

  std::vector<std::shared_ptr<InteractionEngine>> provided;

 private:
  PluginHost& host_;
  std::string name_;
  nlohmann::json section_;
  SpdlogPluginLog log_;
};

PluginHost::PluginHost(net::Loop& loop, std::string state_dir)
    : state_dir_(std::move(state_dir)),
      http_(std::make_unique<LoopHttpClient>(loop)),
      scheduler_(std::make_unique<LoopScheduler>(loop)) {}

PluginHost::~PluginHost() {
  stop();
  // Plugins go before their contexts, and both before the HTTP client and the scheduler they use.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) it->plugin.reset();
  entries_.clear();
}

void PluginHost::add(PluginInfo info, nlohmann::json section) {
  auto context = std::make_unique<Context>(*this, info.name, std::move(section));
  entries_.push_back(Entry{std::move(info), std::move(context), nullptr, false});
}

void PluginHost::add(const std::string& name, nlohmann::json section) {
  const PluginInfo* info = find_builtin_plugin(name);
  if (!info) {
    std::vector<std::string> names;
    for (const auto& plugin : builtin_plugins()) names.push_back(plugin.name);
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown plugin '" + name + "' (built in: " + known + ")");
  }
  add(*info, std::move(section));
}

void PluginHost::start() {
  for (auto& entry : entries_) {
    if (entry.running) continue;
    const std::string& name = entry.info.name;
    entry.context->provided.clear();
    try {
      if (!entry.info.create) throw std::runtime_error("the plugin has no create function");
      entry.plugin = entry.info.create(*entry.context);
      if (!entry.plugin) throw std::runtime_error("the plugin's create function returned nothing");
      entry.plugin->start();
    } catch (const std::exception& e) {
      spdlog::error("plugin '{}': start failed: {}", name, e.what());
      degraded_[name] = e.what();
      if (entry.plugin) {
        try {
          entry.plugin->stop();
        } catch (const std::exception& stop_error) {
          spdlog::warn("plugin '{}': stop after a failed start failed too: {}", name,
                       stop_error.what());
        }
        entry.plugin.reset();
      }
      entry.context->provided.clear();
      continue;
    }
    entry.running = true;
    degraded_.erase(name);
    std::string names;
    for (const auto& engine : entry.context->provided) {
      names += (names.empty() ? "" : ", ") + engine->name();
      engines_.push_back(engine);
    }
    spdlog::info("plugin '{}': started{}", name,
                 names.empty() ? std::string() : " (interaction engine: " + names + ")");
  }
}

void PluginHost::stop() {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (!it->running) continue;
    it->running = false;
    try {
      it->plugin->stop();
      spdlog::debug("plugin '{}': stopped", it->info.name);
    } catch (const std::exception& e) {
      spdlog::warn("plugin '{}': stop failed: {}", it->info.name, e.what());
    }
    it->context->provided.clear();
  }
  engines_.clear();
}

void PluginHost::publish(const std::string& type, const nlohmann::json& data) {
  for (auto& entry : entries_) {
    if (!entry.running) continue;
    try {
      entry.plugin->on_event(type, data);
    } catch (const std::exception& e) {
      spdlog::warn("plugin '{}': {} event failed: {}", entry.info.name, type, e.what());
    }
  }
}

std::vector<std::string> PluginHost::event_types() const {
  std::vector<std::string> types;
  for (const auto& entry : entries_) {
    if (!entry.running) continue;
    std::vector<std::string> wanted;
    try {
      wanted = entry.plugin->event_types();
    } catch (const std::exception& e) {
      spdlog::warn("plugin '{}': cannot say which events it wants: {}", entry.info.name, e.what());
    }
    for (auto& type : wanted)
      if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(std::move(type));
  }
  return types;
}

std::shared_ptr<InteractionEngine> PluginHost::engine(const std::string& name) const {
  for (const auto& engine : engines_) {
    if (engine->name() == name) return engine;
  }
  return nullptr;
}

std::vector<std::string> PluginHost::running() const {
  std::vector<std::string> out;
  for (const auto& entry : entries_) {
    if (entry.running) out.push_back(entry.info.name);
  }
  return out;
}

}  // namespace rcgate::app
