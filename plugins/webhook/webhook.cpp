// A webhook as an interaction engine: the question goes out as JSON, the answer comes back as
// JSON ({text, attachments, followup}) or as plain text; an empty answer means "not mine".
#include "webhook/webhook.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "common/plugin_common.hpp"

namespace rcgate::plugins::webhook {

namespace {

constexpr const char* kTokenEnv = "RCGATE_WEBHOOK_TOKEN";

struct Settings {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string token;  // sent as "Authorization: Bearer <token>" when set
  milliseconds timeout{10000};
  bool verify_tls = true;
  std::string ca_file;
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
      const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!name_ok) {
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
  if (auto timeout = r.duration("timeout")) s.timeout = *timeout;
  if (auto verify = r.boolean("verify_tls")) s.verify_tls = *verify;
  if (auto ca = r.readable_file("ca_file")) s.ca_file = *ca;
  if (auto dirs = r.string_list("local_files")) {
    for (std::size_t i = 0; i < dirs->size(); ++i) {
      if ((*dirs)[i].front() != '/') {
        issues.push_back({index_path(r.path_of("local_files"), i),
                          "expected an absolute directory, got " + in_quotes((*dirs)[i])});
      }
      s.local_files.push_back((*dirs)[i]);
    }
  }
  return s;
}

std::string issues_text(const std::vector<ConfigIssue>& issues) {
  std::string out = "invalid webhook configuration:";
  for (const auto& issue : issues) out += "\n  - " + issue.path + ": " + issue.message;
  return out;
}

std::string string_field(const Json& object, const char* key) {
  if (!object.contains(key) || !object.at(key).is_string()) return {};
  return object.at(key).get<std::string>();
}

class WebhookEngine final : public InteractionEngine,
                            public std::enable_shared_from_this<WebhookEngine> {
 public:
  WebhookEngine(Settings settings, PluginHttpClient& http, PluginLog& log)
      : settings_(std::move(settings)), http_(http), log_(log) {}

  std::string name() const override { return "webhook"; }

  void ask(const Query& query, std::function<void(Answer)> done) override {
    HttpCall call;
    try {
      call.method = "POST";
      call.url = settings_.url;
      call.headers = settings_.headers;
      if (header_value(call.headers, "Content-Type").empty()) {
        call.headers.emplace_back("Content-Type", "application/json");
      }
      if (!settings_.token.empty()) {
        call.headers.emplace_back("Authorization", "Bearer " + settings_.token);
      }
      call.body = query_json(query).dump();
      call.timeout = settings_.timeout;
      call.verify_tls = settings_.verify_tls;
      call.ca_file = settings_.ca_file;
    } catch (const std::exception& e) {
      done(Answer::failed(std::string("webhook: could not build the request: ") + e.what()));
      return;
    }
    std::weak_ptr<WebhookEngine> weak = weak_from_this();
    http_.request(std::move(call), [weak, done = std::move(done)](HttpResult result) {
      auto self = weak.lock();
      if (!self) {
        done(Answer::failed("webhook: the engine was stopped"));
        return;
      }
      Answer answer;
      try {
        answer = self->on_response(result);
      } catch (const std::exception& e) {
        answer = Answer::failed(std::string("webhook: unexpected error: ") + e.what());
      }
      done(std::move(answer));
    });
  }

 private:
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
      reply.text = trim(string_field(value, "text"));
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
      attachment.url = trim(string_field(item, "url"));
      attachment.path = trim(string_field(item, "path"));
      attachment.title = string_field(item, "title");
      attachment.description = string_field(item, "description");
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
        if (attachment.path.front() != '/' ||
            !path_inside(attachment.path, settings_.local_files)) {
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

class WebhookPlugin final : public Plugin {
 public:
  explicit WebhookPlugin(PluginContext& context) : context_(context) {}

  void start() override {
    engine_ = make_engine(context_.config(), context_.http(), context_.log());
    context_.provide_engine(engine_);
  }
  void stop() override { engine_.reset(); }

 private:
  PluginContext& context_;
  std::shared_ptr<InteractionEngine> engine_;
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

std::vector<ConfigIssue> validate(const Json& section) {
  std::vector<ConfigIssue> issues;
  parse(section, issues);
  return issues;
}

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               PluginLog& log) {
  std::vector<ConfigIssue> issues;
  Settings settings = parse(section, issues);
  if (!issues.empty()) throw std::invalid_argument(issues_text(issues));
  return std::make_shared<WebhookEngine>(std::move(settings), http, log);
}

PluginInfo plugin_info() {
  PluginInfo info;
  info.name = "webhook";
  info.description = "asks the operator's own HTTP service (question as JSON, reply as JSON or text)";
  info.validate = [](const Json& section) { return validate(section); };
  info.create = [](PluginContext& context) -> std::unique_ptr<Plugin> {
    return std::make_unique<WebhookPlugin>(context);
  };
  return info;
}

}  // namespace rcgate::plugins::webhook
