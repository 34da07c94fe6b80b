// Jeedom's interactions as an interaction engine, over Jeedom's JSON-RPC 2.0 API. The person's
// automation user is sent as Jeedom's `profile`, so that Jeedom's own per-user rules apply.
#include "jeedom/jeedom.hpp"

#include <optional>

#include "common/plugin_common.hpp"

namespace rcgate::plugins::jeedom {

namespace {

constexpr const char* kApiKeyEnv = "RCGATE_JEEDOM_API_KEY";
constexpr const char* kApiPath = "/core/api/jeeApi.php";

enum class NotUnderstood { Next, Jeedom };
enum class Files { Auto, None };

struct Settings {
  std::string url;  // base URL, no trailing '/'
  std::string api_key;
  CallOptions call;
  NotUnderstood not_understood = NotUnderstood::Next;
  Files files = Files::Auto;
  std::vector<std::string> local_files = {"/tmp/jeedom", "/var/www/html"};
  std::string web_root;  // empty: paths are never turned into URLs
};

Settings parse(const Json& section, std::vector<ConfigIssue>& issues) {
  Settings s;
  SectionReader r(section, "", issues);
  if (!r.valid()) return s;
  r.only_keys({"url", "api_key", "api_key_file", "timeout", "verify_tls", "ca_file",
               "not_understood", "files", "local_files", "web_root"});
  if (auto url = r.url("url", true)) {
    s.url = *url;
    if (to_lower_ascii(s.url).find("/core/api") != std::string::npos) {
      r.issue("url", "give Jeedom's address without /core/api/jeeApi.php, e.g. "
                     "http://jeedom.local");
    }
  }
  if (auto key = r.secret("api_key", "api_key_file", kApiKeyEnv)) s.api_key = *key;
  if (auto timeout = r.duration("timeout")) s.call.timeout = *timeout;
  read_tls_options(r, s.call);
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
  JeedomEngine(Settings settings, PluginHttpClient& http, PluginLog& log)
      : settings_(std::move(settings)), http_(http), log_(log) {}

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
    Json params = {{"apikey", settings_.api_key}, {"query", query.text}};
    // Jeedom compares profiles in lower case (interactQuery::tryToReply lower-cases its own).
    if (!query.automation_user.empty()) params["profile"] = lower_case(query.automation_user);
    // Without emptyReply Jeedom answers "Désolé je n'ai pas compris" itself, and the next
    // engine would never be asked.
    if (settings_.not_understood == NotUnderstood::Next) params["emptyReply"] = 1;
    const Json request = {{"jsonrpc", "2.0"},
                          {"id", next_id_++},
                          {"method", "interact::tryToReply"},
                          {"params", std::move(params)}};
    HttpCall call = make_call("POST", settings_.url + kApiPath, settings_.call);
    call.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    call.body = request.dump();
    return call;
  }

  Answer on_response(const HttpResult& result) {
    const std::string where = url_for_log(settings_.url + kApiPath);
    if (!result.error.empty()) {
      return Answer::failed("Jeedom at " + url_for_log(settings_.url) +
                            " did not answer: " + result.error);
    }
    if (result.status == 404) {
      return Answer::failed("Jeedom answered HTTP 404 for " + where +
                            " (check plugins.jeedom.url; Jeedom also answers 404 to an address "
                            "it has banned after failed logins)");
    }
    if (result.status < 200 || result.status >= 300) {
      return Answer::failed("Jeedom answered HTTP " + std::to_string(result.status) + " for " +
                            where + ": " + excerpt(result.body));
    }
    const Json body = Json::parse(result.body, nullptr, false);
    if (!body.is_object()) {
      // jeeApi.php prints plain text for some failures, e.g. when no API key is configured.
      return Answer::failed("Jeedom's answer is not JSON-RPC: " + excerpt(result.body));
    }
    if (body.contains("error") && !body.at("error").is_null()) {
      return Answer::failed(describe_error(body.at("error")));
    }
    if (!body.contains("result")) {
      return Answer::failed("Jeedom's answer has neither 'result' nor 'error': " +
                            excerpt(result.body));
    }
    const Json& value = body.at("result");
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

  static std::string describe_error(const Json& error) {
    std::string message;
    std::string code;
    if (error.is_object()) {
      message = string_at(error, {"message"});
      if (error.contains("code") && error.at("code").is_number()) code = error.at("code").dump();
    } else if (error.is_string()) {
      message = error.get<std::string>();
    }
    if (message.empty()) message = "no message";
    const std::string lower = to_lower_ascii(message);
    // jeeApi.php throws its authentication failures with code -32001, and its catch block sends
    // -32000 minus that code: 1 on the wire. Both are accepted here.
    const bool refused = code == "1" || code == "-32001" ||
                         lower.find("autoris") != std::string::npos ||
                         lower.find("api invalide") != std::string::npos;
    std::string out = refused ? "Jeedom refused the request: " : "Jeedom could not answer: ";
    out += message;
    if (!code.empty()) out += " (JSON-RPC error " + code + ")";
    if (refused) out += "; check plugins.jeedom.api_key and that Jeedom's JSON-RPC API is enabled";
    return out;
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
    return settings_.url + "/" + relative;
  }

  Settings settings_;
  PluginHttpClient& http_;
  PluginLog& log_;
  long long next_id_ = 1;
};

}  // namespace

std::vector<ConfigIssue> validate(const Json& section) { return collect_issues(section, parse); }

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               PluginLog& log) {
  return std::make_shared<JeedomEngine>(parse_valid("jeedom", section, parse), http, log);
}

PluginInfo plugin_info() {
  return engine_plugin_info(
      "jeedom", "answers through Jeedom's interactions (JSON-RPC interact::tryToReply)", validate,
      [](PluginContext& context) {
        return make_engine(context.config(), context.http(), context.log());
      });
}

}  // namespace rcgate::plugins::jeedom
