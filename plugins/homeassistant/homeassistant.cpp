// Home Assistant's conversation API as an interaction engine. One conversation per (room,
// person) is carried on between messages through the conversation_id Home Assistant hands out,
// until it has not been used for `conversation_timeout`.
#include "homeassistant/homeassistant.hpp"

#include <map>

#include "common/plugin_common.hpp"

namespace rcgate::plugins::homeassistant {

namespace {

constexpr const char* kTokenEnv = "RCGATE_HA_TOKEN";
constexpr const char* kProcessPath = "/api/conversation/process";

struct Settings {
  std::string url;  // base URL, no trailing '/'
  std::string token;
  std::string agent_id;
  std::string language;
  CallOptions call{milliseconds(30000)};  // LLM agents can take a while
  milliseconds conversation_timeout{5 * 60 * 1000};
};

Settings parse(const Json& section, std::vector<ConfigIssue>& issues) {
  Settings s;
  SectionReader r(section, "", issues);
  if (!r.valid()) return s;
  r.only_keys({"url", "token", "token_file", "agent_id", "language", "timeout",
               "conversation_timeout", "verify_tls", "ca_file"});
  if (auto url = r.url("url", true)) {
    s.url = *url;
    const std::string lower = to_lower_ascii(s.url);
    if (lower.size() >= 4 && lower.compare(lower.size() - 4, 4, "/api") == 0) {
      r.issue("url", "give Home Assistant's address without /api, e.g. "
                     "http://homeassistant.local:8123");
    }
  }
  if (auto token = r.secret("token", "token_file", kTokenEnv)) s.token = *token;
  if (auto agent = r.string("agent_id")) s.agent_id = *agent;
  if (auto language = r.string("language")) s.language = *language;
  if (auto timeout = r.duration("timeout")) s.call.timeout = *timeout;
  if (auto expiry = r.duration("conversation_timeout")) s.conversation_timeout = *expiry;
  read_tls_options(r, s.call);
  return s;
}

class HomeAssistantEngine final : public InteractionEngine,
                                  public std::enable_shared_from_this<HomeAssistantEngine> {
 public:
  HomeAssistantEngine(Settings settings, PluginHttpClient& http, Scheduler& scheduler,
                      PluginLog& log)
      : settings_(std::move(settings)), http_(http), scheduler_(scheduler), log_(log) {}

  std::string name() const override { return "homeassistant"; }

  void ask(const Query& query, std::function<void(Answer)> done) override {
    if (trim(query.text).empty()) {
      done(Answer::not_mine());
      return;
    }
    const std::string key = query.room_id + '\n' + query.rc_user_id;
    answer_over_http(
        *this, http_, std::move(done), [&] { return request_for(query, key); },
        [key](HomeAssistantEngine& self, const HttpResult& result) {
          return self.on_response(key, result);
        });
  }

 private:
  struct Conversation {
    std::string id;
    std::int64_t last_used_ms = 0;
  };

  HttpCall request_for(const Query& query, const std::string& key) {
    Json body = {{"text", query.text}};
    if (!settings_.language.empty()) body["language"] = settings_.language;
    if (!settings_.agent_id.empty()) body["agent_id"] = settings_.agent_id;
    if (auto id = conversation_for(key); !id.empty()) body["conversation_id"] = id;

    HttpCall call = make_call("POST", settings_.url + kProcessPath, settings_.call);
    call.headers = {{"Authorization", "Bearer " + settings_.token},
                    {"Content-Type", "application/json"},
                    {"Accept", "application/json"}};
    call.body = body.dump();
    return call;
  }

  // The live conversation of this (room, person), forgetting every expired one on the way.
  std::string conversation_for(const std::string& key) {
    const std::int64_t now = scheduler_.now_ms();
    const std::int64_t max_age = settings_.conversation_timeout.count();
    for (auto it = conversations_.begin(); it != conversations_.end();) {
      it = now - it->second.last_used_ms > max_age ? conversations_.erase(it) : std::next(it);
    }
    const auto it = conversations_.find(key);
    return it == conversations_.end() ? std::string() : it->second.id;
  }

  Answer on_response(const std::string& key, const HttpResult& result) {
    const std::string where = settings_.url + kProcessPath;
    if (!result.error.empty()) {
      return Answer::failed("Home Assistant at " + url_for_log(settings_.url) +
                            " did not answer: " + result.error);
    }
    if (result.status == 401) {
      return Answer::failed(
          "Home Assistant refused the token (check plugins.homeassistant.token)");
    }
    if (result.status == 403) {
      // Home Assistant's ban middleware answers 403 once an address made too many bad logins.
      return Answer::failed("Home Assistant refused the request (HTTP 403: rcgate's address may "
                            "have been banned after failed logins, see ip_bans.yaml; check "
                            "plugins.homeassistant.token)");
    }
    if (result.status == 404) {
      return Answer::failed("Home Assistant has no conversation API at " + url_for_log(where) +
                            " (check plugins.homeassistant.url, and that the conversation "
                            "integration is loaded)");
    }
    if (result.status < 200 || result.status >= 300) {
      const Json error = Json::parse(result.body, nullptr, false);
      const std::string message = string_at(error, {"message"});
      return Answer::failed("Home Assistant answered HTTP " + std::to_string(result.status) +
                            ": " + (message.empty() ? excerpt(result.body) : message));
    }
    const Json body = Json::parse(result.body, nullptr, false);
    if (!body.is_object() || !body.contains("response") || !body.at("response").is_object()) {
      return Answer::failed("Home Assistant's answer is not a conversation response: " +
                            excerpt(result.body));
    }
    if (auto id = string_at(body, {"conversation_id"}); !id.empty()) {
      conversations_[key] = {id, scheduler_.now_ms()};
    } else if (auto it = conversations_.find(key); it != conversations_.end()) {
      it->second.last_used_ms = scheduler_.now_ms();
    }
    const Json& response = body.at("response");
    const std::string type = string_at(response, {"response_type"});
    std::string speech = string_at(response, {"speech", "plain", "speech"});
    if (speech.empty()) speech = string_at(response, {"speech", "ssml", "speech"});
    speech = trim(speech);
    Reply reply;
    reply.text = speech;
    reply.expects_followup = body.contains("continue_conversation") &&
                             body.at("continue_conversation") == true;

    if (type == "error") {
      const std::string code = string_at(response, {"data", "code"});
      if (code == "no_intent_match") {
        log_.debug("Home Assistant did not understand it (no_intent_match)");
        return Answer::not_mine();
      }
      if (!speech.empty()) {
        log_.info("Home Assistant could not do it (" + (code.empty() ? "error" : code) + ")");
        return Answer::replied(std::move(reply));
      }
      return Answer::failed("Home Assistant could not handle it (" +
                            (code.empty() ? std::string("error without a code") : code) + ")");
    }
    if (speech.empty()) {
      if (type == "action_done") {
        reply.text = "Done.";
        return Answer::replied(std::move(reply));
      }
      return Answer::failed("Home Assistant answered without any text (response_type " +
                            (type.empty() ? std::string("missing") : in_quotes(type)) + ")");
    }
    return Answer::replied(std::move(reply));
  }

  Settings settings_;
  PluginHttpClient& http_;
  Scheduler& scheduler_;
  PluginLog& log_;
  std::map<std::string, Conversation> conversations_;  // key: room id + '\n' + user id
};

}  // namespace

std::vector<ConfigIssue> validate(const Json& section) { return collect_issues(section, parse); }

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               Scheduler& scheduler, PluginLog& log) {
  return std::make_shared<HomeAssistantEngine>(parse_valid("homeassistant", section, parse), http,
                                               scheduler, log);
}

PluginInfo plugin_info() {
  return engine_plugin_info(
      "homeassistant",
      "answers through Home Assistant's conversation API (Assist, or an LLM agent)", validate,
      [](PluginContext& context) {
        return make_engine(context.config(), context.http(), context.scheduler(), context.log());
      });
}

}  // namespace rcgate::plugins::homeassistant
