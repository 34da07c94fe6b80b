// A webhook as an interaction engine: the question goes out as JSON, the answer comes back as
// JSON ({text, attachments, followup}) or as plain text; an empty answer means "not mine".
#include "webhook/webhook.hpp"

#include "common/plugin_common.hpp"

namespace rcgate::plugins::webhook {

namespace {

constexpr const char* kTokenEnv = "RCGATE_WEBHOOK_TOKEN";

struct Settings {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string token;  // sent as "Authorization: Bearer <token>" when set
  CallOptions call;
  std::vector<std::string> local_files;  // directories local attachments may come from
};

Settings parse(const Json& section, std::vector<ConfigIssue>& issues) {
  Settings s;
  SectionReader r(section, "", issues);
  if (!r.valid()) return s;
  r.only_keys({"url", "headers", "token", "token_file", "timeout", "verify_tls", "ca_file",
               "local_files"});
  if (auto url = r.url("url", true)) s.url = *url;
  if (auto headers = r.string_map("headers")) {
    for (auto& [name, value] : *headers) {
      if (!is_header_name(name)) {
        issues.push_back({r.path_of("headers") + "." + name, "invalid header name " + in_quotes(name)});
      } else if (value.find_first_of("\r\n") != std::string::npos) {
        issues.push_back({r.path_of("headers") + "." + name, "a header value cannot span lines"});
      } else {
        s.headers.emplace_back(name, value);
      }
    }
  }
  if (auto token = r.secret("token", "token_file", kTokenEnv, /*required=*/false)) s.token = *token;
  if (!s.token.empty() && !header_value(s.headers, "Authorization").empty()) {
    r.issue("token", "an Authorization header is already given in 'headers'");
  }
  if (auto timeout = r.duration("timeout")) s.call.timeout = *timeout;
  read_tls_options(r, s.call);
  if (auto dirs = r.directories("local_files")) s.local_files = *dirs;
  return s;
}

class WebhookEngine final : public InteractionEngine,
                            public std::enable_shared_from_this<WebhookEngine> {
 public:
  WebhookEngine(Settings settings, PluginHttpClient& http, PluginLog& log)
      : settings_(std::move(settings)), http_(http), log_(log) {}

  std::string name() const override { return "webhook"; }

  void ask(const Query& query, std::function<void(Answer)> done) override {
    answer_over_http(
        *this, http_, std::move(done), [&] { return request_for(query); },
        [](WebhookEngine& self, const HttpResult& result) { return self.on_response(result); });
  }

 private:
  HttpCall request_for(const Query& query) const {
    HttpCall call = make_call("POST", settings_.url, settings_.call);
    call.headers = settings_.headers;
    add_header_if_missing(call.headers, "Content-Type", "application/json");
    if (!settings_.token.empty()) {
      call.headers.emplace_back("Authorization", "Bearer " + settings_.token);
    }
    call.body = query_json(query).dump();
    return call;
  }

  Answer on_response(const HttpResult& result) {
    const std::string where = url_for_log(settings_.url);
    if (!result.error.empty()) {
      return Answer::failed("webhook " + where + " did not answer: " + result.error);
    }
    if (result.status == 204) return Answer::not_mine();
    if (result.status < 200 || result.status >= 300) {
      return Answer::failed("webhook " + where + " answered " + describe_failure(result));
    }
    const std::string body = trim(result.body);
    if (body.empty()) return Answer::not_mine();

    const std::string type = to_lower_ascii(header_value(result.headers, "Content-Type"));
    const bool json_type = type.find("json") != std::string::npos;
    if (!json_type && !(type.empty() && body.front() == '{')) {
      Reply reply;
      reply.text = body;  // text/plain (or anything else that is not JSON): the reply itself
      return Answer::replied(std::move(reply));
    }
    const Json value = Json::parse(body, nullptr, false);
    if (value.is_discarded()) {
      return Answer::failed("webhook " + where + " answered invalid JSON: " + excerpt(body));
    }
    Reply reply;
    if (value.is_string()) {
      reply.text = trim(value.get<std::string>());
    } else if (value.is_object()) {
      reply.text = trim(string_at(value, {"text"}));
      if (value.contains("followup")) reply.expects_followup = value.at("followup") == true;
      if (value.contains("attachments")) add_attachments(value.at("attachments"), reply);
    } else {
      return Answer::failed("webhook " + where + " answered JSON that is not an object: " +
                            excerpt(body));
    }
    if (reply.text.empty() && reply.attachments.empty()) return Answer::not_mine();
    return Answer::replied(std::move(reply));
  }

  void add_attachments(const Json& list, Reply& reply) {
    if (!list.is_array()) {
      log_.warn("webhook answer: 'attachments' is not a list; ignored");
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Json& item = list[i];
      const std::string where = "webhook answer: attachments[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        log_.warn(where + " is not an object; ignored");
        continue;
      }
      Attachment attachment;
      attachment.url = trim(string_at(item, {"url"}));
      attachment.path = trim(string_at(item, {"path"}));
      attachment.title = string_at(item, {"title"});
      attachment.description = string_at(item, {"description"});
      if (!attachment.url.empty() && !attachment.path.empty()) {
        log_.warn(where + " has both 'url' and 'path'; ignored");
        continue;
      }
      if (!attachment.url.empty()) {
        std::string error;
        if (!check_http_url(attachment.url, error)) {
          log_.warn(where + ": " + error + "; ignored");
          continue;
        }
      } else if (!attachment.path.empty()) {
        // The webhook's host may not be this one: a local file is taken only from the
        // directories the operator listed.
        if (!inside_local_files(attachment.path, settings_.local_files)) {
          log_.warn(where + ": " + in_quotes(attachment.path) +
                    " is not under plugins.webhook.local_files; ignored");
          continue;
        }
        if (!readable_regular_file(attachment.path)) {
          log_.warn(where + ": cannot read " + in_quotes(attachment.path) + "; ignored");
          continue;
        }
      } else {
        log_.warn(where + " has neither 'url' nor 'path'; ignored");
        continue;
      }
      reply.attachments.push_back(std::move(attachment));
    }
  }

  Settings settings_;
  PluginHttpClient& http_;
  PluginLog& log_;
};

}  // namespace

Json query_json(const Query& q) {
  return Json{{"text", q.text},
              {"message_id", q.message_id},
              {"rc_user_id", q.rc_user_id},
              {"rc_username", q.rc_username},
              {"rc_display_name", q.rc_display_name},
              {"automation_user", q.automation_user},
              {"role", q.role},
              {"room_id", q.room_id},
              {"room_name", q.room_name},
              {"room_type", q.room_type},
              {"device_id", q.device_id},
              {"thread_id", q.thread_id},
              {"is_direct", q.is_direct},
              {"is_followup", q.is_followup}};
}

std::vector<ConfigIssue> validate(const Json& section) { return collect_issues(section, parse); }

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               PluginLog& log) {
  return std::make_shared<WebhookEngine>(parse_valid("webhook", section, parse), http, log);
}

PluginInfo plugin_info() {
  return engine_plugin_info(
      "webhook", "asks the operator's own HTTP service (question as JSON, reply as JSON or text)",
      validate, [](PluginContext& context) {
        return make_engine(context.config(), context.http(), context.log());
      });
}

}  // namespace rcgate::plugins::webhook
