// `rcgate send|ask|upload|devices|users`: a small HTTP client for the daemon's local API. The
// daemon does the work (and reads no file of the caller's: an uploaded file travels as the request
// body); this side only parses the command line, finds the API and prints the answer.
#include "app/cli_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include "config/loader.hpp"
#include "core/url.hpp"
#include "net/http_client.hpp"
#include "net/loop.hpp"

namespace rcgate::app {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// One long poll lasts at most this long; the CLI then asks again until the ask ends.
constexpr int kPollSeconds = 300;

struct Usage {
  const char* synopsis;
  const char* details;
};

const std::map<std::string, Usage, std::less<>>& usages() {
  static const std::map<std::string, Usage, std::less<>> table = {
      {"send",
       {"rcgate send (--device NAME | --room NAME | --user USERNAME) [--thread ID] [--ttl 1h]\n"
        "            [--id ID] TEXT...",
        "Posts TEXT through the running rcgate. Prints \"sent\", or \"queued (id ...)\" when\n"
        "Rocket.Chat cannot take it right now (it goes out later, within --ttl).\n"
        "  --device NAME   a device (a room the bot is in), by name or id\n"
        "  --room NAME     a room, by name or id\n"
        "  --user NAME     a person: the direct conversation with this username\n"
        "  --thread ID     reply in the thread of this message id\n"
        "  --ttl DURATION  how long it may wait in the queue (e.g. 90s, 5m, 1h)\n"
        "  --id ID         your own id, so that a retried command is not posted twice\n"}},
      {"ask",
       {"rcgate ask (--device NAME | --room NAME | --user USERNAME) [--answers \"Yes,No\" |\n"
        "            --answer Yes --answer No] [--timeout 5m] [--to USERNAME]... [--thread ID]\n"
        "            [--id ID] [--json] QUESTION...",
        "Asks QUESTION and waits for the answer, which it prints. Exit 0 answered, 2 timed out,\n"
        "1 cancelled or failed. Interrupting the command (Ctrl-C) cancels the ask.\n"
        "  --answers LIST  the possible answers, separated by commas (default: Yes, No)\n"
        "  --answer TEXT   one possible answer (repeat it)\n"
        "  --timeout D     how long the question stays open (default: asks.timeout)\n"
        "  --to USERNAME   only this person may answer (repeat it for more)\n"
        "  --json          print the whole result as JSON\n"}},
      {"upload",
       {"rcgate upload (--device NAME | --room NAME | --user USERNAME) (--camera NAME | FILE)\n"
        "            [--caption TEXT] [--text TEXT] [--thread ID] [--ttl 1h] [--id ID]",
        "Posts a file, or a camera's snapshot. FILE is sent to rcgate as it is (at most\n"
        "api.max_upload_mb); rcgate never reads your files itself.\n"
        "  --camera NAME   a camera from the cameras: section: post its snapshot\n"
        "  --caption TEXT  the file's description\n"
        "  --text TEXT     a message posted with the file\n"}},
      {"devices",
       {"rcgate devices [--json]",
        "Lists the devices (the rooms the bot is in) as a table, or as JSON with --json.\n"}},
      {"users",
       {"rcgate users [--json]",
        "Lists the users rcgate knows as a table, or as JSON with --json.\n"}},
  };
  return table;
}

const char* const kCommonOptions =
    "common options:\n"
    "  --config FILE   configuration file: the api: section says where the API is and its key\n"
    "  --api URL       the API's address instead (e.g. http://127.0.0.1:8765); the key then\n"
    "                  comes from RCGATE_API_KEY, else from the configuration file\n"
    "  RCGATE_API_KEY  (environment) the key, instead of api.key\n"
    "exit codes: 0 ok, 1 failure, 2 the ask timed out (ask), 64 usage error, 78 configuration "
    "error\n";

void print_usage(std::FILE* to, const std::string& command) {
  const auto& u = usages().at(command);
  std::fprintf(to, "usage: %s\n\n%s\n%s", u.synopsis, u.details, kCommonOptions);
}

int usage_error(const std::string& command, const std::string& problem) {
  std::fprintf(stderr, "rcgate %s: %s (see rcgate %s --help)\n", command.c_str(), problem.c_str(),
               command.c_str());
  return kExitUsage;
}

int failure(const std::string& sentence) {
  std::fprintf(stderr, "rcgate: %s\n", sentence.c_str());
  return kExitFailure;
}

struct Options {
  std::string config_path;
  bool config_given = false;
  std::string api_url;
  bool json = false;
  std::string target_field;  // device, room or user
  std::string target;
  std::vector<std::string> targets_given;
  std::string thread, ttl, id, timeout, caption, text, camera;
  std::vector<std::string> answers;
  bool answers_given = false;
  bool answer_list_given = false;
  std::vector<std::string> to;
  std::vector<std::string> positional;
};

// Which options each command takes (beyond --config, --api, --help).
bool takes(const std::string& command, std::string_view option) {
  static const std::map<std::string, std::vector<std::string_view>, std::less<>> table = {
      {"send", {"--device", "--room", "--user", "--thread", "--ttl", "--id"}},
      {"ask",
       {"--device", "--room", "--user", "--thread", "--id", "--answers", "--answer", "--timeout",
        "--to", "--json"}},
      {"upload",
       {"--device", "--room", "--user", "--thread", "--ttl", "--id", "--camera", "--caption",
        "--text"}},
      {"devices", {"--json"}},
      {"users", {"--json"}},
  };
  const auto& list = table.at(command);
  return std::find(list.begin(), list.end(), option) != list.end();
}

std::vector<std::string> split_answers(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos
                                                                       : comma - start);
    const auto first = item.find_first_not_of(' ');
    const auto last = item.find_last_not_of(' ');
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Returns an exit code when parsing ends the command (help, usage error).
std::optional<int> parse(const std::string& command, const std::vector<std::string>& args,
                         Options& o) {
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      o.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      print_usage(stdout, command);
      return kExitOk;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a.resize(eq);
    }
    if (a == "-c") a = "--config";
    const bool is_flag = a == "--json";
    if (is_flag) {
      if (!takes(command, a)) return usage_error(command, "unknown option '" + a + "'");
      if (inline_value) return usage_error(command, a + " takes no value");
      o.json = true;
      continue;
    }
    const bool known = a == "--config" || a == "--api" || a == "--log-level" || takes(command, a);
    if (!known) return usage_error(command, "unknown option '" + a + "'");
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      // A value that looks like an option means the value was forgotten (--opt=--x passes one).
      value = args[++i];
    } else {
      return usage_error(command, a + " needs a value");
    }
    if (a == "--config") {
      o.config_path = value;
      o.config_given = true;
    } else if (a == "--api") {
      o.api_url = value;
    } else if (a == "--log-level") {
      // Accepted for symmetry with the other commands; these commands log nothing.
    } else if (a == "--device" || a == "--room" || a == "--user") {
      o.targets_given.push_back(a);
      o.target_field = a.substr(2);
      o.target = value;
    } else if (a == "--thread") {
      o.thread = value;
    } else if (a == "--ttl") {
      o.ttl = value;
    } else if (a == "--id") {
      o.id = value;
    } else if (a == "--timeout") {
      o.timeout = value;
    } else if (a == "--caption") {
      o.caption = value;
    } else if (a == "--text") {
      o.text = value;
    } else if (a == "--camera") {
      o.camera = value;
    } else if (a == "--answers") {
      o.answer_list_given = true;
      for (auto& item : split_answers(value)) o.answers.push_back(std::move(item));
    } else if (a == "--answer") {
      o.answers_given = true;
      o.answers.push_back(value);
    } else if (a == "--to") {
      o.to.push_back(value);
    }
  }

  const bool targeted = command == "send" || command == "ask" || command == "upload";
  if (targeted) {
    if (o.targets_given.empty()) {
      return usage_error(command, "say where: --device NAME, --room NAME or --user USERNAME");
    }
    if (o.targets_given.size() > 1) {
      return usage_error(command, "give only one of --device, --room and --user");
    }
    if (o.target.empty()) return usage_error(command, o.targets_given[0] + " needs a name");
  }
  if (command == "send" && o.positional.empty()) {
    return usage_error(command, "the message text is missing");
  }
  if (command == "ask") {
    if (o.positional.empty()) return usage_error(command, "the question is missing");
    if (o.answers_given && o.answer_list_given) {
      return usage_error(command, "use either --answers \"Yes,No\" or --answer (repeated)");
    }
    if ((o.answers_given || o.answer_list_given) && o.answers.empty()) {
      return usage_error(command, "the answers are empty");
    }
  }
  if (command == "upload") {
    if (o.camera.empty() && o.positional.empty()) {
      return usage_error(command, "give a FILE to upload or --camera NAME");
    }
    if (!o.camera.empty() && !o.positional.empty()) {
      return usage_error(command, "give either a FILE or --camera, not both");
    }
    if (o.positional.size() > 1) {
      return usage_error(command, "one file at a time (got " +
                                      std::to_string(o.positional.size()) + ")");
    }
  }
  if ((command == "devices" || command == "users") && !o.positional.empty()) {
    return usage_error(command, "unexpected argument '" + o.positional[0] + "'");
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& words, const char* sep = " ") {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Where the API is and its key.
struct Endpoint {
  Url url;
  std::string key;
  std::string where;  // "127.0.0.1:8765", for messages
  bool from_flag = false;
  std::chrono::milliseconds ask_wait_max{3'600'000};
};

// <state_dir>/api.port: the port number the daemon listens on (api.port 0).
bool read_port_file(const std::string& path, int& port) {
  std::ifstream in(path);
  long value = 0;
  if (!in || !(in >> value) || value <= 0 || value > 65535) return false;
  port = static_cast<int>(value);
  return true;
}

// Fills `ep` from --api, RCGATE_API_KEY and the configuration. Returns an exit code on failure.
std::optional<int> find_endpoint(const Options& o, Endpoint& ep) {
  const char* env_key = std::getenv("RCGATE_API_KEY");
  const bool have_env_key = env_key && *env_key;
  std::optional<config::Settings> settings;
  // With --api and the key in the environment, the configuration is not needed (it may be
  // readable by root and rcgate only); otherwise it is.
  if (o.api_url.empty() || !have_env_key || o.config_given) {
    auto loaded = config::load_file(o.config_path);
    if (!loaded.ok()) {
      std::fputs(config::format_problems(o.config_path, loaded.problems).c_str(), stderr);
      return config::kExitConfig;
    }
    settings = std::move(loaded.settings);
    ep.ask_wait_max = settings->api.ask_wait_max;
  }
  if (have_env_key) {
    ep.key = env_key;
  } else if (settings) {
    ep.key = settings->api.key;
  }

  if (!o.api_url.empty()) {
    std::string error;
    auto url = parse_url(o.api_url, &error);
    if (!url || (url->scheme != "http" && url->scheme != "https")) {
      std::fprintf(stderr, "rcgate: --api %s: %s\n", o.api_url.c_str(),
                   url ? "expected an http:// or https:// URL" : error.c_str());
      return kExitUsage;
    }
    ep.url = *url;
    ep.from_flag = true;
  } else {
    const auto& api = settings->api;
    if (!api.enabled) {
      return failure("the local API is off in " + o.config_path +
                     " (no api: section, or api.enabled: false): add an api: section with a "
                     "key, restart rcgate, or use --api URL");
    }
    std::string host = api.listen;
    // A daemon listening on every address is reached on the loopback one.
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::" || host == "[::]") host = "::1";
    int port = api.port;
    if (port == 0) {
      const std::string file = settings->state_dir + "/api.port";
      if (!read_port_file(file, port)) {
        return failure("rcgate is not running or its API is off (api.port is 0 and " + file +
                       ", where rcgate writes the port it listens on, cannot be read): start "
                       "it with systemctl start rcgate, and check the api: section");
      }
    }
    ep.url = Url{"http", host, static_cast<std::uint16_t>(port), "/"};
  }
  const bool v6 = ep.url.host.find(':') != std::string::npos;
  ep.where = (v6 ? "[" + ep.url.host + "]" : ep.url.host) + ":" + std::to_string(ep.url.port);
  if (ep.key.empty()) {
    return failure("no API key: set api.key in " + o.config_path +
                   " or the RCGATE_API_KEY environment variable");
  }
  return std::nullopt;
}

// A file sent as the request body, read 64 KiB at a time while it is written.
class FileBody final : public net::BodySource {
 public:
  static std::shared_ptr<FileBody> open(const std::string& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      error = "cannot upload " + path + ": not a regular file";
      ::close(fd);
      return nullptr;
    }
    auto body = std::shared_ptr<FileBody>(new FileBody());
    body->fd_ = fd;
    body->path_ = path;
    body->size_ = static_cast<std::uint64_t>(st.st_size);
    return body;
  }
  ~FileBody() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;

  std::uint64_t size() const override { return size_; }
  bool rewind(std::string&) override {
    position_ = 0;
    return true;
  }
  std::size_t read(char* buffer, std::size_t capacity, std::string& error) override {
    if (position_ >= size_) return 0;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, size_ - position_));
    const auto n = ::pread(fd_, buffer, want, static_cast<off_t>(position_));
    if (n < 0) {
      error = "cannot read " + path_ + ": " + std::strerror(errno);
      return 0;
    }
    if (n == 0) {
      error = path_ + " shrank while it was being sent (" + std::to_string(position_) + " of " +
              std::to_string(size_) + " bytes)";
      return 0;
    }
    position_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }

 private:
  FileBody() = default;
  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
};

std::string media_type_of(const std::string& name) {
  const auto dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, const char*, std::less<>> types = {
      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"png", "image/png"},
      {"gif", "image/gif"},  {"webp", "image/webp"}, {"pdf", "application/pdf"},
      {"mp4", "video/mp4"},  {"txt", "text/plain"},  {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},  {"zip", "application/zip"}};
  const auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

// One command's conversation with the daemon.
class ApiClient {
 public:
  explicit ApiClient(Endpoint ep) : ep_(std::move(ep)) {}

  // Ctrl-C / SIGTERM end the exchange in flight; interrupted() says so afterwards.
  void stop_on_signals() {
    loop_.on_signals({SIGINT, SIGTERM}, [this](int) {
      interrupted_ = true;
      if (client_) client_->close();
    });
  }
  bool interrupted() const { return interrupted_; }

  // The answer's data, or the exit code of a failure (already reported on stderr).
  struct Result {
    int status = 0;
    Json data;
    std::optional<int> exit;
  };

  Result call(const std::string& method, const std::string& target, const Json* body,
              std::chrono::milliseconds timeout,
              std::shared_ptr<net::BodySource> source = nullptr,
              const std::string& content_type = {}) {
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    req.timeout = timeout;
    req.headers = {{"Authorization", "Bearer " + ep_.key}, {"Accept", "application/json"}};
    if (body) {
      req.body = body->dump();
      req.headers.emplace_back("Content-Type", "application/json");
    } else if (source) {
      req.body_source = std::move(source);
      req.headers.emplace_back("Content-Type", content_type);
    }
    // A fresh client for each exchange: close() (on a signal) is final for a client.
    client_ = std::make_unique<net::HttpClient>(loop_, ep_.url);
    std::optional<net::HttpResponse> got;
    client_->request(std::move(req), [&](net::HttpResponse r) {
      got = std::move(r);
      loop_.stop();
    });
    loop_.restart();
    loop_.run();
    client_.reset();
    return interpret(got.value_or(net::HttpResponse{}));
  }

 private:
  Result interpret(const net::HttpResponse& r) {
    Result out;
    out.status = r.status;
    if (interrupted_) {
      out.exit = kExitFailure;
      return out;
    }
    if (!r.ok()) {
      if (r.stage == net::FailStage::Connect || r.stage == net::FailStage::Resolve) {
        out.exit = failure("rcgate is not running or its API is off (could not connect to " +
                           ep_.where + "): start it with systemctl start rcgate, and check the "
                           "api: section");
      } else if (r.stage == net::FailStage::Timeout) {
        out.exit = failure("rcgate at " + ep_.where + " did not answer in time (" + r.error + ")");
      } else {
        out.exit = failure("talking to rcgate at " + ep_.where + " failed: " + r.error);
      }
      return out;
    }
    const Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("status")) {
      out.exit = failure("unexpected answer from " + ep_.where + " (HTTP " +
                         std::to_string(r.status) + ", not rcgate's API?): check api.port" +
                         (ep_.from_flag ? " and --api" : ""));
      return out;
    }
    if (j.value("status", "") != "ok") {
      std::string sentence = j.value("error", "");
      if (sentence.empty()) sentence = "rcgate answered HTTP " + std::to_string(r.status);
      if (r.status == 401) {
        sentence += " — the key this command used (api.key in the configuration file, or "
                    "RCGATE_API_KEY) is not the running rcgate's";
      }
      out.exit = failure(sentence);
      return out;
    }
    out.data = j.contains("data") ? j["data"] : Json::object();
    return out;
  }

  Endpoint ep_;
  net::Loop loop_;
  std::unique_ptr<net::HttpClient> client_;
  bool interrupted_ = false;
};

void add_target(const Options& o, Json& body) {
  body[o.target_field] = o.target;
  if (!o.thread.empty()) body["thread"] = o.thread;
  if (!o.id.empty()) body["id"] = o.id;
}

void print_sent(const Json& data) {
  const std::string status = data.value("status", "");
  if (status == "queued") {
    std::printf("queued (id %s)\n", data.value("id", "?").c_str());
  } else if (status == "sent") {
    std::printf("sent\n");
  } else {
    std::printf("%s\n", data.dump().c_str());
  }
}

int do_send(ApiClient& api, const Options& o) {
  Json body = Json::object();
  add_target(o, body);
  body["text"] = join(o.positional);
  if (!o.ttl.empty()) body["ttl"] = o.ttl;
  auto r = api.call("POST", "/api/v1/send", &body, 120s);
  if (r.exit) return *r.exit;
  print_sent(r.data);
  return kExitOk;
}

int do_upload(ApiClient& api, const Options& o) {
  ApiClient::Result r;
  if (!o.camera.empty()) {
    Json body = Json::object();
    add_target(o, body);
    body["camera"] = o.camera;
    if (!o.caption.empty()) body["caption"] = o.caption;
    if (!o.text.empty()) body["text"] = o.text;
    if (!o.ttl.empty()) body["ttl"] = o.ttl;
    r = api.call("POST", "/api/v1/upload", &body, 300s);
  } else {
    const std::string& path = o.positional[0];
    std::string error;
    auto file = FileBody::open(path, error);
    if (!file) return failure(error);
    const auto slash = path.rfind('/');
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string target = "/api/v1/upload?" + o.target_field + "=" + percent_encode(o.target) +
                         "&file_name=" + percent_encode(name);
    for (const auto& [field, value] :
         {std::pair{"caption", o.caption}, {"text", o.text}, {"thread", o.thread},
          {"ttl", o.ttl}, {"id", o.id}}) {
      if (!value.empty()) target += std::string("&") + field + "=" + percent_encode(value);
    }
    r = api.call("POST", target, nullptr, 600s, file, media_type_of(name));
  }
  if (r.exit) return *r.exit;
  print_sent(r.data);
  return kExitOk;
}

int do_ask(ApiClient& api, const Options& o, const Endpoint& ep) {
  const auto max_wait = std::chrono::duration_cast<std::chrono::seconds>(ep.ask_wait_max).count();
  const long long wait = std::max<long long>(1, std::min<long long>(kPollSeconds, max_wait));
  const auto timeout = std::chrono::seconds(wait + 30);
  api.stop_on_signals();

  Json body = Json::object();
  add_target(o, body);
  body["question"] = join(o.positional);
  if (!o.answers.empty()) body["answers"] = o.answers;
  if (!o.timeout.empty()) body["timeout"] = o.timeout;
  if (!o.to.empty()) body["users"] = o.to;
  body["wait"] = wait;
  auto r = api.call("POST", "/api/v1/ask", &body, timeout);
  std::string id = r.exit ? "" : r.data.value("id", "");
  while (!r.exit && r.data.value("status", "") == "open" && !id.empty()) {
    r = api.call("GET", "/api/v1/asks/" + percent_encode(id) + "?wait=" + std::to_string(wait),
                 nullptr, timeout);
  }
  if (api.interrupted()) {
    if (id.empty()) return failure("interrupted");
    // Nobody is waiting for the answer any more: close the question in the chat too.
    ApiClient cancel(ep);
    auto c = cancel.call("DELETE", "/api/v1/asks/" + percent_encode(id), nullptr, 10s);
    if (c.exit) return *c.exit;
    return failure("interrupted: the ask " + id + " was cancelled");
  }
  if (r.exit) {
    if (!id.empty()) std::fprintf(stderr, "rcgate: (the ask's id is %s)\n", id.c_str());
    return *r.exit;
  }
  const std::string status = r.data.value("status", "");
  if (o.json) std::printf("%s\n", r.data.dump(2).c_str());
  if (status == "answered") {
    if (!o.json) {
      const Json& answer = r.data.contains("answer") ? r.data["answer"] : Json();
      std::printf("%s\n", answer.is_string() ? answer.get<std::string>().c_str()
                                              : answer.dump().c_str());
    }
    return kExitOk;
  }
  if (status == "timed_out") {
    std::fprintf(stderr, "rcgate: nobody answered before the ask timed out (id %s)\n",
                 id.c_str());
    return kExitAskTimedOut;
  }
  if (status == "cancelled") {
    std::fprintf(stderr, "rcgate: the ask was cancelled (id %s)\n", id.c_str());
    return kExitFailure;
  }
  return failure("unexpected ask status '" + status + "' (id " + id + ")");
}

// Display width of UTF-8 text: one column per code point (good enough for names).
std::size_t width_of(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string cell(const Json& object, const char* field) {
  if (!object.is_object() || !object.contains(field)) return "-";
  const Json& v = object[field];
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

// Newlines in a cell would break the table's lines.
std::string one_line(std::string text, std::size_t max = 60) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (width_of(text) > max) {
    std::size_t n = 0, i = 0;
    for (; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++n > max - 3) break;
    }
    text = text.substr(0, i) + "...";
  }
  return text;
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = width_of(header[c]);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width_of(row[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(widths[c] - width_of(cells[c]) + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& row : rows) line(row);
}

int do_list(ApiClient& api, const Options& o, const std::string& command) {
  auto r = api.call("GET", "/api/v1/" + command, nullptr, 30s);
  if (r.exit) return *r.exit;
  const Json items = r.data.contains(command) ? r.data[command] : Json::array();
  if (o.json) {
    std::printf("%s\n", items.dump(2).c_str());
    return kExitOk;
  }
  if (!items.is_array() || items.empty()) {
    std::printf("%s\n", command == "devices" ? "no devices yet: add the bot to a room"
                                             : "no users");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  if (command == "devices") {
    for (const auto& d : items) {
      rows.push_back({one_line(cell(d, "name")), cell(d, "room_type"), cell(d, "available"),
                      one_line(cell(d, "last_sender")), cell(d, "last_message_at"),
                      one_line(cell(d, "last_message"), 40), cell(d, "id")});
    }
    print_table({"NAME", "TYPE", "AVAILABLE", "LAST SENDER", "LAST MESSAGE AT", "LAST MESSAGE", "ID"},
                rows);
  } else {
    for (const auto& u : items) {
      rows.push_back({cell(u, "username"), one_line(cell(u, "name")), cell(u, "access"),
                      cell(u, "role"), cell(u, "seen"), cell(u, "user_id")});
    }
    print_table({"USERNAME", "NAME", "ACCESS", "ROLE", "SEEN", "USER ID"}, rows);
  }
  return kExitOk;
}

}  // namespace

bool is_api_command(std::string_view command) { return usages().count(command) > 0; }

void api_commands_usage(std::FILE* to) {
  std::fprintf(to,
               "  send      post a message through the running rcgate\n"
               "  ask       ask a question in the chat and wait for the answer\n"
               "  upload    post a file or a camera snapshot\n"
               "  devices   list the devices (rooms the bot is in)\n"
               "  users     list the users\n");
}

int run_api_command(const std::string& command, const std::vector<std::string>& args,
                    const std::string& config_path, bool config_given) {
  Options o;
  o.config_path = config_path;
  o.config_given = config_given;
  if (auto done = parse(command, args, o)) return *done;
  Endpoint ep;
  if (auto failed = find_endpoint(o, ep)) return *failed;
  ApiClient api(ep);
  if (command == "send") return do_send(api, o);
  if (command == "upload") return do_upload(api, o);
  if (command == "ask") return do_ask(api, o, ep);
  return do_list(api, o, command);
}

}  // namespace rcgate::app
