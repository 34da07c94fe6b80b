// Jeedom's interactions as an interaction engine, over Jeedom's JSON-RPC 2.0 API. The person's
// automation user is sent as Jeedom's `profile`, so that Jeedom's own per-user rules apply.
// Beside the engine, the plugin writes rcgate's events into Jeedom (push.hpp): last messages
// into info commands, the end of an ask into a scenario variable.
#include "jeedom/jeedom.hpp"

#include <map>
#include <optional>

#include "common/plugin_common.hpp"
#include "jeedom/jsonrpc.hpp"
#include "jeedom/push.hpp"

namespace rcgate::plugins::jeedom {

namespace {

constexpr const char* kApiKeyEnv = "RCGATE_JEEDOM_API_KEY";

enum class NotUnderstood { Next, Jeedom };
enum class Files { Auto, None };

struct Settings {
  Connection connection;
  PushSettings push;
  NotUnderstood not_understood = NotUnderstood::Next;
  Files files = Files::Auto;
  std::vector<std::string> local_files = {"/tmp/jeedom", "/var/www/html"};
  std::string web_root;  // empty: paths are never turned into URLs
};

// A Jeedom command id: a number such as 1234 (also written as text).
std::optional<long long> command_id(SectionReader& r, const std::string& key) {
  const Json* value = r.get(key);
  if (!value) return std::nullopt;
  if (value->is_number_integer() && value->get<long long>() > 0) return value->get<long long>();
  if (value->is_string()) {
    const std::string text = trim(value->get<std::string>());
    if (!text.empty() && text.size() < 12 &&
        text.find_first_not_of("0123456789") == std::string::npos && std::stoll(text) > 0) {
      return std::stoll(text);
    }
  }
  r.issue(key, "expected the id of a Jeedom info command (a number such as 1234, shown in the "
               "Commands tab of its equipment), got " +
                   (value->is_string() ? in_quotes(value->get<std::string>()) : kind_of(*value)));
  return std::nullopt;
}

void parse_push(SectionReader& r, std::vector<ConfigIssue>& issues, PushSettings& push) {
  const Json* list = r.get("push");
  if (!list) return;
  if (!list->is_array()) {
    r.issue("push", "expected a list of {device, last_message, last_sender}, got " +
                        kind_of(*list));
    return;
  }
  std::map<long long, std::string> used;  // command id -> where it is used
  for (std::size_t i = 0; i < list->size(); ++i) {
    PushTarget target;
    target.path = index_path("push", i);
    SectionReader item((*list)[i], r.path_of(target.path), issues);
    if (!item.valid()) continue;
    item.only_keys({"device", "last_message", "last_sender"});
    if (auto device = item.string("device", true)) target.device = *device;
    for (const char* key : {"last_message", "last_sender"}) {
      auto id = command_id(item, key);
      if (!id) continue;
      const std::string where = target.path + "." + key;
      if (auto [at, fresh] = used.emplace(*id, where); !fresh) {
        item.issue(key, "command " + std::to_string(*id) + " is already given to " + at->second +
                            ": a Jeedom command shows one value");
        continue;
      }
      (std::string(key) == "last_message" ? target.last_message : target.last_sender) = *id;
    }
    if (!item.has("last_message") && !item.has("last_sender")) {
      item.issue_here("give last_message or last_sender (or both): ids of Jeedom info commands");
    }
    push.push.push_back(std::move(target));
  }
}

Settings parse(const Json& section, std::vector<ConfigIssue>& issues) {
  Settings s;
  SectionReader r(section, "", issues);
  if (!r.valid()) return s;
  r.only_keys({"url", "api_key", "api_key_file", "timeout", "verify_tls", "ca_file",
               "not_understood", "files", "local_files", "web_root", "push", "ask_variable",
               "sender", "ask_timed_out", "ask_cancelled"});
  if (auto url = r.url("url", true)) {
    s.connection.url = *url;
    if (to_lower_ascii(s.connection.url).find("/core/api") != std::string::npos) {
      r.issue("url", "give Jeedom's address without /core/api/jeeApi.php, e.g. "
                     "http://jeedom.local");
    }
  }
  if (auto key = r.secret("api_key", "api_key_file", kApiKeyEnv)) s.connection.api_key = *key;
  if (auto timeout = r.duration("timeout")) s.connection.call.timeout = *timeout;
  read_tls_options(r, s.connection.call);
  if (auto mode = r.string("not_understood")) {
    if (*mode == "next") {
      s.not_understood = NotUnderstood::Next;
    } else if (*mode == "jeedom") {
      s.not_understood = NotUnderstood::Jeedom;
    } else {
      r.issue("not_understood", "expected 'next' (ask the next engine) or 'jeedom' (post "
                                "Jeedom's own answer), got " + in_quotes(*mode) +
                                    did_you_mean(*mode, {"next", "jeedom"}));
    }
  }
  if (auto files = r.string("files")) {
    if (*files == "auto") {
      s.files = Files::Auto;
    } else if (*files == "none") {
      s.files = Files::None;
    } else {
      r.issue("files", "expected 'auto' or 'none', got " + in_quotes(*files) +
                           did_you_mean(*files, {"auto", "none"}));
    }
  }
  if (auto dirs = r.directories("local_files")) s.local_files = *dirs;  // [] for none
  if (auto root = r.string("web_root")) {
    if (root->front() != '/') {
      r.issue("web_root", "expected an absolute directory (Jeedom's web root on its own host, "
                          "e.g. /var/www/html), got " + in_quotes(*root));
    }
    s.web_root = *root;
    while (s.web_root.size() > 1 && s.web_root.back() == '/') s.web_root.pop_back();
  }
  parse_push(r, issues, s.push);
  if (auto on = r.boolean("ask_variable")) s.push.ask_variable = *on;
  if (auto sender = r.string("sender")) {
    if (*sender == "username") {
      s.push.sender = SenderField::Username;
    } else if (*sender == "name") {
      s.push.sender = SenderField::Name;
    } else {
      r.issue("sender", "expected 'username' or 'name' (the display name), got " +
                            in_quotes(*sender) + did_you_mean(*sender, {"username", "name"}));
    }
  }
  if (auto text = r.string("ask_timed_out")) s.push.ask_timed_out = *text;
  if (auto text = r.string("ask_cancelled")) s.push.ask_cancelled = *text;
  return s;
}

std::string lower_case(std::string text) { return to_lower_ascii(text); }

bool is_http_url(const std::string& text) {
  const std::string lower = to_lower_ascii(text.substr(0, 8));
  return lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0;
}

class JeedomEngine final : public InteractionEngine,
                           public std::enable_shared_from_this<JeedomEngine> {
 public:
  JeedomEngine(Settings settings, std::shared_ptr<JsonRpcClient> rpc, PluginHttpClient& http,
               PluginLog& log)
      : settings_(std::move(settings)), rpc_(std::move(rpc)), http_(http), log_(log) {}

  std::string name() const override { return "jeedom"; }

  void ask(const Query& query, std::function<void(Answer)> done) override {
    if (trim(query.text).empty()) {
      done(Answer::not_mine());
      return;
    }
    answer_over_http(
        *this, http_, std::move(done), [&] { return request_for(query); },
        [](JeedomEngine& self, const HttpResult& result) { return self.on_response(result); });
  }

 private:
  HttpCall request_for(const Query& query) {
    Json params = {{"query", query.text}};
    // Jeedom compares profiles in lower case (interactQuery::tryToReply lower-cases its own).
    if (!query.automation_user.empty()) params["profile"] = lower_case(query.automation_user);
    // Without emptyReply Jeedom answers "Désolé je n'ai pas compris" itself, and the next
    // engine would never be asked.
    if (settings_.not_understood == NotUnderstood::Next) params["emptyReply"] = 1;
    return rpc_->request("interact::tryToReply", std::move(params));
  }

  Answer on_response(const HttpResult& result) {
    const RpcOutcome outcome = rpc_->read(result);
    if (!outcome.ok()) return Answer::failed(outcome.error);
    const Json& value = outcome.result;
    Reply reply;
    const Json* files = nullptr;
    if (value.is_string()) {
      reply.text = value.get<std::string>();  // older Jeedom answered with the text alone
    } else if (value.is_object()) {
      if (value.contains("reply") && value.at("reply").is_string()) {
        reply.text = value.at("reply").get<std::string>();
      } else if (value.contains("reply") && value.at("reply").is_number()) {
        reply.text = value.at("reply").dump();
      }
      if (value.contains("file")) files = &value.at("file");
    } else if (!value.is_null()) {
      return Answer::failed("Jeedom's result is not an interaction reply: " +
                            excerpt(value.dump()));
    }
    reply.text = trim(reply.text);
    if (files && settings_.files == Files::Auto) add_files(*files, reply);
    if (reply.text.empty() && reply.attachments.empty()) return Answer::not_mine();
    return Answer::replied(std::move(reply));
  }

  void add_files(const Json& files, Reply& reply) {
    std::vector<std::string> entries;
    if (files.is_string()) {
      entries.push_back(files.get<std::string>());
    } else if (files.is_array()) {
      for (const auto& item : files) {
        if (item.is_string()) entries.push_back(item.get<std::string>());
      }
    }
    for (std::string entry : entries) {
      entry = trim(entry);
      if (entry.empty()) continue;
      Attachment attachment;
      if (is_http_url(entry)) {
        attachment.url = entry;
      } else if (inside_local_files(entry, settings_.local_files) &&
                 readable_regular_file(entry)) {
        // rcgate runs on Jeedom's host (or shares the directory): upload the file itself.
        attachment.path = entry;
      } else if (auto url = web_url(entry)) {
        attachment.url = *url;
      } else {
        log_.warn("Jeedom's reply names the file " + in_quotes(entry) +
                  ", which rcgate cannot reach: it is not a readable file under "
                  "plugins.jeedom.local_files on this host, and plugins.jeedom.web_root " +
                  (settings_.web_root.empty() ? std::string("is not set")
                                              : "(" + settings_.web_root + ") does not hold it"));
        continue;
      }
      reply.attachments.push_back(std::move(attachment));
    }
  }

  // A path under Jeedom's web root, as a URL on Jeedom's own web server.
  std::optional<std::string> web_url(const std::string& path) const {
    if (settings_.web_root.empty()) return std::nullopt;
    std::string relative;
    if (path.front() == '/') {
      const std::string root = settings_.web_root + "/";
      if (path.rfind(root, 0) != 0) return std::nullopt;
      relative = path.substr(root.size());
    } else {
      relative = path;
    }
    if (relative.empty() || relative.find("..") != std::string::npos) return std::nullopt;
    return settings_.connection.url + "/" + relative;
  }

  Settings settings_;
  std::shared_ptr<JsonRpcClient> rpc_;
  PluginHttpClient& http_;
  PluginLog& log_;
};

// The engine, and the pusher that writes rcgate's events into Jeedom.
class JeedomPlugin final : public Plugin {
 public:
  explicit JeedomPlugin(PluginContext& context) : context_(context) {}

  void start() override {
    Settings settings = parse_valid("jeedom", context_.config(), parse);
    auto rpc = std::make_shared<JsonRpcClient>(settings.connection);
    pusher_ = std::make_shared<Pusher>(settings.push, rpc, context_.http(), context_.log());
    if (!settings.push.push.empty()) {
      context_.log().info("pushes the last message of " +
                          std::to_string(settings.push.push.size()) +
                          (settings.push.push.size() == 1 ? " device" : " devices") +
                          " into Jeedom info commands");
    }
    engine_ = std::make_shared<JeedomEngine>(std::move(settings), std::move(rpc),
                                             context_.http(), context_.log());
    context_.provide_engine(engine_);
  }

  // What is still waiting for Jeedom is dropped (the callbacks hold the pusher weakly).
  void stop() override {
    engine_.reset();
    pusher_.reset();
  }

  std::vector<std::string> event_types() const override {
    return pusher_ ? pusher_->event_types() : std::vector<std::string>{};
  }

  void on_event(const std::string& type, const Json& data) override {
    if (!pusher_) return;
    if (type == "device") {
      pusher_->on_device(data);
    } else if (type == "ask") {
      pusher_->on_ask(data);
    }
  }

 private:
  PluginContext& context_;
  std::shared_ptr<JeedomEngine> engine_;
  std::shared_ptr<Pusher> pusher_;
};

}  // namespace

std::vector<ConfigIssue> validate(const Json& section) { return collect_issues(section, parse); }

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               PluginLog& log) {
  Settings settings = parse_valid("jeedom", section, parse);
  auto rpc = std::make_shared<JsonRpcClient>(settings.connection);
  return std::make_shared<JeedomEngine>(std::move(settings), std::move(rpc), http, log);
}

PluginInfo plugin_info() {
  PluginInfo info;
  info.name = "jeedom";
  info.description =
      "answers through Jeedom's interactions (JSON-RPC interact::tryToReply); pushes last "
      "messages into Jeedom commands and ask answers into scenario variables";
  info.validate = validate;
  info.create = [](PluginContext& context) -> std::unique_ptr<Plugin> {
    return std::make_unique<JeedomPlugin>(context);
  };
  return info;
}

}  // namespace rcgate::plugins::jeedom
