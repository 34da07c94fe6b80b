#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/asks.hpp"
#include "core/text.hpp"

extern char** environ;  // POSIX: not declared by any standard header

namespace rcgate::config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Small text helpers

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// Optimal string alignment distance, case-insensitive: a swapped pair ("pattren") counts as one.
std::size_t edit_distance(std::string_view a_text, std::string_view b_text) {
  const std::string a = core::ascii_lower(a_text), b = core::ascii_lower(b_text);
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within two edits, else "".
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) best = &candidate, best_distance = distance;
  }
  return best ? " (did you mean " + in_quotes(*best) + "?)" : "";
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : ", ") + word;
  return out;
}

// The shortest exact spelling, so messages echo durations the way people write them.
std::string format_duration(ms value) {
  const auto count = value.count();
  if (count % 3'600'000 == 0) return std::to_string(count / 3'600'000) + "h";
  if (count % 60'000 == 0) return std::to_string(count / 60'000) + "m";
  if (count % 1000 == 0) return std::to_string(count / 1000) + "s";
  return std::to_string(count) + "ms";
}

// Longest accepted duration: far above any sensible timeout, far below any overflow.
constexpr ms kMaxDuration = 24h;

// "250ms", "15s", "2m", "1h", or a plain number of seconds. Zero only where it means "off".
std::optional<ms> parse_duration(std::string_view text, std::string& error,
                                 bool allow_zero = false) {
  if (!text.empty() && text.front() == '-') {
    error = (allow_zero ? "must not be negative, got " : "must be greater than zero, got ") +
            in_quotes(text);
    return std::nullopt;
  }
  std::uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, number);
  const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  std::uint64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s" || unit.empty()) scale = 1000;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (rest == text.data() || scale == 0) {
    error = "expected a duration such as 250ms, 15s, 2m or 1h, got " + in_quotes(text);
    return std::nullopt;
  }
  const auto limit = static_cast<std::uint64_t>(kMaxDuration.count());
  if (ec == std::errc::result_out_of_range || number > limit / scale) {
    error = "must be at most " + format_duration(kMaxDuration) + ", got " + in_quotes(text);
    return std::nullopt;
  }
  if (number == 0 && !allow_zero) {
    error = "must be greater than zero, got " + in_quotes(text);
    return std::nullopt;
  }
  return ms(static_cast<ms::rep>(number * scale));
}

// Reads a whole file; on failure returns the reason ("No such file or directory").
std::optional<std::string> read_file(const std::string& path, std::string& out,
                                     std::size_t max_size) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return std::generic_category().message(errno);
  out.clear();
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
    out.append(buffer, n);
    if (out.size() > max_size) return "larger than " + std::to_string(max_size / 1024) + " KiB";
  }
  if (std::ferror(file.get())) return std::generic_category().message(errno);
  return std::nullopt;
}

// "https://bot:pw@chat" -> "https://***@chat": a URL's user info may hold a password.
std::string without_user_info(std::string text) {
  const auto start = text.find("://");
  if (start == std::string::npos) return text;
  const auto at = text.find('@', start + 3);
  if (at == std::string::npos || at > text.find_first_of("/?#", start + 3)) return text;
  return text.replace(start + 3, at - start - 3, "***");
}

// ---------------------------------------------------------------------------------------------
// Reading sections

int line_of(const YAML::Mark& mark) { return mark.line + 1; }  // null mark (-1) gives 0

std::string kind_of(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "a single value";
}

// What one load shares across its sections: the problems found so far, where relative paths
// start, and the environment secrets may come from.
struct Context {
  std::vector<Problem> problems;
  fs::path base_dir;
  const Environment& env;

  void add(std::string path, std::string message, int line) {
    problems.push_back({std::move(path), std::move(message), line});
  }
  std::string resolve(const std::string& path) const {
    const fs::path p(path);
    return (p.is_absolute() ? p : base_dir / p).lexically_normal().string();
  }
};

enum class Need {
  Optional,  // absent: keep the default
  NonEmpty,  // absent: keep the default; present: must not be ""
  Required,  // must be present and not ""
};

// One YAML map of the configuration. Each section's reader declares its keys by reading them:
// a typed read either fills its target or records a problem carrying the key's path and line,
// and an absent key leaves the target at its default from settings.hpp (STYLE.md §13). When the
// Section goes out of scope, every key that no reader asked for is reported as unknown, so a new
// key cannot be forgotten in the validation.
class Section {
 public:
  // `node` may be undefined or null (the section was left out): every key then takes its default.
  // A section that is not a map is reported once; its readers then stay quiet, since "url is
  // required" below "rocketchat: expected a map" would only repeat the same mistake.
  Section(Context& ctx, std::string path, const YAML::Node& node, int line, bool quiet = false)
      : ctx_(ctx), path_(std::move(path)), line_(line), quiet_(quiet) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsMap()) {
      problem("", "expected a map of settings, got " + kind_of(node));
      quiet_ = true;
      return;
    }
    for (const auto& pair : node) {
      const int key_line = line_of(pair.first.Mark());
      if (!pair.first.IsScalar()) {
        ctx_.add(path_, "expected a plain key, got " + kind_of(pair.first), key_line);
        continue;
      }
      const std::string key = pair.first.Scalar();
      if (const Entry* first = entry(key)) {
        ctx_.add(child(key),
                 "duplicate key (first set on line " + std::to_string(first->line) + ")", key_line);
        continue;
      }
      entries_.push_back({key, key_line, pair.second, false});
    }
  }

  ~Section() {
    for (const auto& e : entries_) {
      if (e.used) continue;
      std::string hint = suggestion(e.key, known_);
      if (hint.empty() && !known_.empty()) hint = " (expected one of: " + join(known_) + ")";
      ctx_.add(path_, "unknown key " + in_quotes(e.key) + hint, e.line);
    }
  }

  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  Section section(std::string_view key) {
    const Entry* e = find(key);
    return Section(ctx_, child(key), e ? e->value : YAML::Node(), line(key), quiet_);
  }

  // Typed readers. Each returns false when it recorded a problem (the target is then unchanged),
  // true when the value is valid or absent.
  bool read(std::string_view key, std::string& out, Need need = Need::Optional) {
    const Entry* e = find(key);
    if (!e) return need != Need::Required || problem(key, "is required");
    if (!e->value.IsScalar()) return problem(key, "expected a string, got " + kind_of(e->value));
    if (e->value.Scalar().empty() && need != Need::Optional) {
      return problem(key, "must not be empty");
    }
    out = e->value.Scalar();
    return true;
  }

  bool read(std::string_view key, bool& out) {
    const Entry* e = find(key);
    if (!e) return true;
    bool value = false;
    if (!e->value.IsScalar() || !YAML::convert<bool>::decode(e->value, value)) {
      return problem(key, "expected true or false, got " + describe(e->value));
    }
    out = value;
    return true;
  }

  // allow_zero: 0 is accepted (for settings where it means "off").
  bool read(std::string_view key, ms& out, bool allow_zero = false) {
    const Entry* e = find(key);
    if (!e) return true;
    if (!e->value.IsScalar()) {
      return problem(key,
                     "expected a duration such as 250ms, 15s, 2m or 1h, got " + kind_of(e->value));
    }
    std::string error;
    const auto value = parse_duration(e->value.Scalar(), error, allow_zero);
    if (!value) return problem(key, error);
    out = *value;
    return true;
  }

  bool read(std::string_view key, Url& out, Need need = Need::Optional) {
    std::string text;
    if (!read(key, text, need)) return false;
    if (!has(key)) return true;
    std::string error;
    const auto url = parse_url(text, &error);
    if (!url) return problem(key, without_user_info(error));
    out = *url;
    return true;
  }

  bool read(std::string_view key, int& out, int min, int max) {
    const Entry* e = find(key);
    if (!e) return true;
    int value = 0;
    if (!e->value.IsScalar() || !YAML::convert<int>::decode(e->value, value)) {
      return problem(key, "expected a whole number, got " + describe(e->value));
    }
    if (value < min || value > max) {
      return problem(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              ", got " + std::to_string(value));
    }
    out = value;
    return true;
  }

  // The raw value of a key that a reader below walks itself (lists, free-form maps); nullptr
  // when absent. The key counts as known.
  const YAML::Node* node(std::string_view key) {
    const Entry* e = find(key);
    return e ? &e->value : nullptr;
  }

  const std::string& path() const { return path_; }
  bool quiet() const { return quiet_; }

  // A file or directory name; relative names start at the configuration file's directory.
  bool read_path(std::string_view key, std::string& out, Need need = Need::Optional) {
    std::string text;
    if (!read(key, text, need)) return false;
    if (!has(key)) return true;
    out = text.empty() ? text : ctx_.resolve(text);
    return true;
  }

  // A file that must be readable now, so a typo fails at start-up rather than on first use.
  bool read_file_path(std::string_view key, std::string& out, Need need,
                      std::string* contents = nullptr, std::size_t max_size = 4 << 20) {
    std::string path;
    if (!read_path(key, path, need)) return false;
    if (!has(key) || path.empty()) return true;
    std::string text;
    if (const auto error = read_file(path, text, max_size)) {
      return problem(key, "cannot read " + path + ": " + *error);
    }
    out = path;
    if (contents) *contents = std::move(text);
    return true;
  }

  bool read_choice(std::string_view key, std::string& out,
                   const std::vector<std::string>& choices) {
    std::string text;
    if (!read(key, text)) return false;
    if (!has(key)) return true;
    if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
      return problem(key, "expected one of " + join(choices) + ", got " + in_quotes(text) +
                              suggestion(text, choices));
    }
    out = text;
    return true;
  }

  // Present with a value (an explicit null counts as absent).
  bool has(std::string_view key) { return find(key) != nullptr; }

  // The line of the key, or of the section when the key is absent.
  int line(std::string_view key) const {
    const Entry* e = entry(key);
    return e ? e->line : line_;
  }
  Context& context() { return ctx_; }

  // Records a problem about `key` (or about the section itself when key is empty); returns false
  // so readers can `return problem(...)`.
  bool problem(std::string_view key, std::string message) {
    if (quiet_) return false;
    ctx_.add(key.empty() ? path_ : child(key), std::move(message), key.empty() ? line_ : line(key));
    return false;
  }

 private:
  struct Entry {
    std::string key;
    int line = 0;
    YAML::Node value;
    bool used = false;
  };

  const Entry* entry(std::string_view key) const {
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const Entry& e) { return e.key == key; });
    return it == entries_.end() ? nullptr : &*it;
  }

  // Declares `key` as known to this section and returns its entry when it has a value.
  const Entry* find(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const Entry& e) { return e.key == key; });
    if (it == entries_.end()) return nullptr;
    it->used = true;
    return it->value.IsNull() ? nullptr : &*it;
  }

  std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  static std::string describe(const YAML::Node& node) {
    return node.IsScalar() ? in_quotes(node.Scalar()) : kind_of(node);
  }

  Context& ctx_;
  std::string path_;
  int line_;
  bool quiet_;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;  // in the order readers asked, for hints
};

// ---------------------------------------------------------------------------------------------
// The sections. Defaults live in settings.hpp; each reader owns its keys and their rules.

// A secret given inline, in a file, or through the environment (STYLE.md §14). Its value never
// goes into a problem message.
struct Secret {
  std::string value;
  bool given = false;  // the user supplied it somewhere (problems, if any, are already recorded)
};

Secret read_secret(Section& s, std::string_view key, std::string_view file_key,
                   const std::string& env_name) {
  Secret secret;
  const bool inline_value = s.has(key), from_file = s.has(file_key);
  if (inline_value && from_file) {
    s.problem(file_key,
              "set either " + in_quotes(key) + " or " + in_quotes(file_key) + ", not both");
  }
  s.read(key, secret.value, Need::NonEmpty);
  std::string path, contents;
  if (s.read_file_path(file_key, path, Need::NonEmpty, &contents, 64 << 10) && from_file) {
    while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
      contents.pop_back();
    }
    if (contents.empty()) s.problem(file_key, path + " is empty");
    if (!inline_value) secret.value = std::move(contents);
  }
  secret.given = inline_value || from_file;
  if (!secret.given) {
    const auto it = s.context().env.find(env_name);
    if (it != s.context().env.end() && !it->second.empty()) {
      secret.value = it->second;
      secret.given = true;
    }
  }
  return secret;
}

void read_auth(Section& s, AuthSettings& auth) {
  static const std::string kOptions =
      "token auth (user_id + token, token_file or RCGATE_TOKEN) or password auth (username + "
      "password, password_file or RCGATE_PASSWORD)";
  std::string user_id, username;
  s.read("user_id", user_id, Need::NonEmpty);
  const Secret token = read_secret(s, "token", "token_file", "RCGATE_TOKEN");
  s.read("username", username, Need::NonEmpty);
  const Secret password = read_secret(s, "password", "password_file", "RCGATE_PASSWORD");

  // Keys in the file pick the method; the environment only supplies a missing secret, since the
  // same service environment may well carry both variables.
  const bool token_keys = s.has("user_id") || s.has("token") || s.has("token_file");
  const bool password_keys = s.has("username") || s.has("password") || s.has("password_file");
  if (token_keys && password_keys) {
    s.problem("", "both token auth and password auth are configured: keep only one of " + kOptions);
  } else if (token_keys) {
    if (!s.has("user_id")) s.problem("", "token auth also needs 'user_id' (the bot's user id)");
    if (!token.given) {
      s.problem("",
                "token auth also needs a personal access token: set 'token' or 'token_file', "
                "or the RCGATE_TOKEN environment variable");
    }
    auth = {AuthMethod::Token, user_id, token.value, "", ""};
  } else if (password_keys) {
    if (!s.has("username")) s.problem("", "password auth also needs 'username'");
    if (!password.given) {
      s.problem("",
                "password auth also needs a password: set 'password' or 'password_file', "
                "or the RCGATE_PASSWORD environment variable");
    }
    auth = {AuthMethod::Password, "", "", username, password.value};
  } else {
    s.problem("", "no login configured: set up " + kOptions);
  }
}

void read_rocketchat(Section& s, RocketChatSettings& rc) {
  s.read("url", rc.url, Need::Required);
  {
    Section auth = s.section("auth");
    read_auth(auth, rc.auth);
  }
  {
    Section tls = s.section("tls");
    tls.read("verify", rc.tls.verify);
    tls.read_file_path("ca_file", rc.tls.ca_file, Need::Optional);  // "": the system CAs
  }
  {
    Section heartbeat = s.section("heartbeat");
    const bool ping_ok = heartbeat.read("ping_interval", rc.ping_interval);
    if (heartbeat.read("dead_after", rc.dead_after) && ping_ok &&
        rc.dead_after <= rc.ping_interval) {
      heartbeat.problem("dead_after", "must be longer than ping_interval (" +
                                          format_duration(rc.ping_interval) + "), got " +
                                          format_duration(rc.dead_after));
    }
  }
  s.read("connect_timeout", rc.connect_timeout);
  s.read("request_timeout", rc.request_timeout);
  {
    Section reconnect = s.section("reconnect");
    const bool initial_ok = reconnect.read("initial_delay", rc.backoff_initial);
    if (reconnect.read("max_delay", rc.backoff_max) && initial_ok &&
        rc.backoff_max < rc.backoff_initial) {
      reconnect.problem("max_delay", "must be at least initial_delay (" +
                                         format_duration(rc.backoff_initial) + "), got " +
                                         format_duration(rc.backoff_max));
    }
  }
}

void read_devices(Section& s, core::DeviceOptions& devices) {
  s.read("mention_commands", devices.mention_commands);
  const YAML::Node* rooms = s.node("rooms");
  if (!rooms) return;
  if (!rooms->IsMap()) {
    s.problem("rooms",
              "expected a map from room name or id to its settings "
              "(general: {mention_commands: false}), got " +
                  kind_of(*rooms));
    return;
  }
  Context& ctx = s.context();
  const std::string rooms_path = s.path() + ".rooms";
  std::map<std::string, int> first_line;
  for (const auto& pair : *rooms) {
    const int line = line_of(pair.first.Mark());
    if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
      ctx.add(rooms_path, "expected a room name or id as the key, got " + kind_of(pair.first),
              line);
      continue;
    }
    const std::string key = pair.first.Scalar();
    const auto [first, inserted] = first_line.emplace(key, line);
    if (!inserted) {
      ctx.add(rooms_path + "." + key,
              "duplicate key (first set on line " + std::to_string(first->second) + ")", line);
      continue;
    }
    Section room(ctx, rooms_path + "." + key, pair.second, line);
    core::RoomOverride override_settings;
    bool enabled = devices.mention_commands;
    if (room.has("mention_commands") && room.read("mention_commands", enabled)) {
      override_settings.mention_commands = enabled;
    }
    devices.rooms[key] = override_settings;
  }
}

// users: a list of people, each mapping a Rocket.Chat username to an automation user.
void read_users(Section& root, std::vector<core::UserEntry>& users) {
  const YAML::Node* list = root.node("users");
  if (!list) return;
  if (!list->IsSequence()) {
    root.problem("users", "expected a list of people (- username: alice), got " + kind_of(*list));
    return;
  }
  Context& ctx = root.context();
  std::map<std::string, std::pair<std::size_t, int>> first;  // lower-case username -> index, line
  for (std::size_t i = 0; i < list->size(); ++i) {
    const YAML::Node item = (*list)[i];
    const int item_line = line_of(item.Mark());
    Section s(ctx, "users[" + std::to_string(i) + "]", item,
              item_line > 0 ? item_line : root.line("users"));
    core::UserEntry user;
    const bool username_ok = s.read("username", user.username, Need::Required);
    s.read("name", user.name, Need::NonEmpty);
    std::string access = "allow";
    s.read_choice("interactions", access, {"allow", "deny"});
    user.allow = access == "allow";
    s.read("role", user.role, Need::NonEmpty);
    if (!username_ok || user.username.empty()) continue;
    if (user.username.front() == '@') {
      s.problem("username",
                "write the username without '@': " + in_quotes(user.username.substr(1)));
      continue;
    }
    const auto [it, inserted] =
        first.emplace(core::ascii_lower(user.username), std::pair{i, s.line("username")});
    if (!inserted) {
      s.problem("username", "duplicate username " + in_quotes(user.username) +
                                " (first listed as users[" + std::to_string(it->second.first) +
                                "] on line " + std::to_string(it->second.second) + ")");
      continue;
    }
    if (user.name.empty()) user.name = user.username;
    users.push_back(std::move(user));
  }
}

void read_unknown_users(Section& s, core::UnknownUserOptions& unknown) {
  std::string reply = unknown.polite ? "polite" : "silent";
  s.read_choice("reply", reply, {"polite", "silent"});
  unknown.polite = reply == "polite";
  s.read("message", unknown.message, Need::NonEmpty);
}

void read_interactions(Section& s, core::InteractionOptions& interactions,
                       std::map<std::string, int>& lines) {
  if (const YAML::Node* engines = s.node("engines")) {
    const std::string path = s.path() + ".engines";
    lines[path] = s.line("engines");
    if (!engines->IsSequence()) {
      s.problem("engines", "expected a list of plugin names such as [rules, homeassistant], got " +
                               kind_of(*engines));
    } else {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < engines->size(); ++i) {
        const YAML::Node item = (*engines)[i];
        const std::string item_path = path + "[" + std::to_string(i) + "]";
        const int item_line = line_of(item.Mark()) > 0 ? line_of(item.Mark()) : lines[path];
        if (!item.IsScalar() || item.Scalar().empty()) {
          s.context().add(item_path, "expected a plugin name, got " + kind_of(item), item_line);
          continue;
        }
        const std::string& name = item.Scalar();
        if (std::find(names.begin(), names.end(), name) != names.end()) {
          s.context().add(item_path, in_quotes(name) + " is listed twice", item_line);
          continue;
        }
        lines[item_path] = item_line;
        names.push_back(name);
      }
      interactions.engines = std::move(names);
    }
  }
  s.read("fallback", interactions.fallback);  // "" is allowed: say nothing
  s.read("timeout", interactions.timeout);
  s.read("allow_bots", interactions.allow_bots);
  {
    Section rate = s.section("rate_limit");
    rate.read("messages", interactions.rate_limit.messages, 1, 10'000);
    rate.read("per", interactions.rate_limit.per);
  }
  s.read("followup_window", interactions.followup_window, /*allow_zero=*/true);
  s.read("catch_up", interactions.catch_up, /*allow_zero=*/true);
  s.read("encrypted_notice", interactions.encrypted_notice);  // "" is allowed: say nothing
}

void read_outbox(Section& s, core::OutboxOptions& outbox) {
  s.read("ttl", outbox.ttl);
  s.read("max_items", outbox.max_items, 1, 100'000);
  {
    Section retry = s.section("retry");
    const bool initial_ok = retry.read("initial_delay", outbox.retry_initial);
    if (retry.read("max_delay", outbox.retry_max) && initial_ok &&
        outbox.retry_max < outbox.retry_initial) {
      retry.problem("max_delay", "must be at least initial_delay (" +
                                     format_duration(outbox.retry_initial) + "), got " +
                                     format_duration(outbox.retry_max));
    }
  }
  s.read("room_interval", outbox.room_interval, /*allow_zero=*/true);
}

// A text with {placeholders}: an unknown one is a mistake the person would only see in the chat.
void read_template(Section& s, std::string_view key, std::string& out, Need need,
                   std::initializer_list<std::string_view> placeholders) {
  std::string text = out;
  if (!s.read(key, text, need)) return;
  if (const std::string error = core::check_template(text, placeholders); !error.empty()) {
    s.problem(key, error);
    return;
  }
  out = std::move(text);
}

void read_asks(Section& s, core::AskOptions& asks) {
  s.read("timeout", asks.timeout);
  s.read("max_open", asks.max_open, 1, 10'000);
  read_template(s, "hint", asks.hint, Need::Optional, {"answers", "numbers"});  // "": no hint
  read_template(s, "answered", asks.answered, Need::NonEmpty, {"answer", "user", "name", "time"});
  read_template(s, "timed_out", asks.timed_out, Need::NonEmpty, {});
  read_template(s, "cancelled", asks.cancelled, Need::NonEmpty, {});
}

// ----- plugins: each section goes to its plugin as JSON

// "plugins.rules" + "rules[2].pattern" -> "plugins.rules.rules[2].pattern".
std::string plugin_path(const std::string& name, const std::string& path) {
  std::string out = "plugins." + name;
  if (!path.empty()) out += (path.front() == '[' ? "" : ".") + path;
  return out;
}

// YAML 1.2's core schema, not yaml-cpp's 1.1 booleans: a rule's keywords [on, off, yes] must stay
// words. Quoted scalars are always strings.
nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;  // quoted ("!") or explicitly tagged: keep the text
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  const bool integer_form = [&] {
    std::size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
    if (i >= text.size()) return false;
    for (; i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    }
    return true;
  }();
  if (integer_form) {
    std::int64_t value = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) return value;
    return text;  // too large for a number: the plugin sees the digits
  }
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  std::size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  }
  if (digits > 0 && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
    std::size_t exponent_digits = 0;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
      ++j, ++exponent_digits;
    }
    if (exponent_digits > 0) i = j;
  }
  if (digits > 0 && i == text.size()) {
    double value = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) return value;
  }
  return text;
}

// Converts a plugin's YAML subtree, recording the line of every path in `lines`.
nlohmann::json yaml_to_json(const YAML::Node& node, const std::string& path, PluginSection& section,
                            Context& ctx) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& pair : node) {
        const int line = line_of(pair.first.Mark());
        if (!pair.first.IsScalar()) {
          ctx.add(plugin_path(section.name, path),
                  "expected a plain key, got " + kind_of(pair.first), line);
          continue;
        }
        const std::string& key = pair.first.Scalar();
        const std::string child = path.empty() ? key : path + "." + key;
        if (out.contains(key)) {
          ctx.add(plugin_path(section.name, child),
                  "duplicate key (first set on line " + std::to_string(section.lines[child]) + ")",
                  line);
          continue;
        }
        section.lines[child] = line;
        out[key] = yaml_to_json(pair.second, child, section, ctx);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < node.size(); ++i) {
        const YAML::Node item = node[i];
        const std::string child = path + "[" + std::to_string(i) + "]";
        const int line = line_of(item.Mark());
        section.lines[child] = line > 0 ? line : section.lines[path];
        out.push_back(yaml_to_json(item, child, section, ctx));
      }
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

void read_plugins(Section& root, std::vector<PluginSection>& plugins) {
  const YAML::Node* node = root.node("plugins");
  if (!node) return;
  if (!node->IsMap()) {
    root.problem("plugins",
                 "expected one section per plugin (rules: {...}), got " + kind_of(*node));
    return;
  }
  Context& ctx = root.context();
  for (const auto& pair : *node) {
    const int line = line_of(pair.first.Mark());
    if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
      ctx.add("plugins", "expected a plugin name as the key, got " + kind_of(pair.first), line);
      continue;
    }
    PluginSection section;
    section.name = pair.first.Scalar();
    section.line = line;
    const auto first = std::find_if(plugins.begin(), plugins.end(),
                                    [&](const PluginSection& p) { return p.name == section.name; });
    if (first != plugins.end()) {
      ctx.add(plugin_path(section.name, ""),
              "duplicate key (first set on line " + std::to_string(first->line) + ")", line);
      continue;
    }
    section.lines[""] = line;
    const YAML::Node& value = pair.second;
    if (value.IsMap()) {
      section.config = yaml_to_json(value, "", section, ctx);
    } else if (value.IsDefined() && !value.IsNull()) {
      ctx.add(plugin_path(section.name, ""),
              "expected a map of the plugin's settings, got " + kind_of(value), line);
      continue;
    }
    plugins.push_back(std::move(section));
  }
}

// ----- cameras: name -> snapshot URL and how to log in

// RCGATE_CAMERA_FRONT_DOOR_PASSWORD for "front-door".
std::string camera_password_variable(const std::string& name) {
  std::string out = "RCGATE_CAMERA_";
  for (const char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out + "_PASSWORD";
}

void read_camera(Section& s, CameraSettings& camera) {
  std::string url;
  if (s.read("url", url, Need::Required) && s.has("url")) {
    const std::string scheme = core::ascii_lower(url.substr(0, url.find("://")));
    if (url.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
      // Only the scheme is echoed: a camera URL may carry a password.
      s.problem("url", url.find("://") == std::string::npos
                           ? std::string("expected an http:// or https:// snapshot URL, such as "
                                         "http://camera/cgi-bin/snapshot.cgi")
                           : "expected an http:// or https:// snapshot URL, not " + scheme +
                                 ":// (rcgate fetches still images; cameras usually offer one, "
                                 "such as http://camera/cgi-bin/snapshot.cgi)");
    } else {
      s.read("url", camera.url, Need::Required);
    }
  }
  s.read("username", camera.username, Need::NonEmpty);
  const std::string variable = camera_password_variable(camera.name);
  const Secret password = read_secret(s, "password", "password_file", variable);
  camera.password = password.value;
  std::string auth = "auto";
  s.read_choice("auth", auth, {"auto", "basic", "digest"});
  camera.auth = auth == "basic" ? CameraAuth::Basic
                : auth == "digest" ? CameraAuth::Digest
                                   : CameraAuth::Auto;
  s.read("timeout", camera.timeout);
  s.read("verify_tls", camera.tls.verify);
  s.read_file_path("ca_file", camera.tls.ca_file, Need::Optional);
  s.read("max_size_mb", camera.max_size_mb, 1, 1024);

  const bool has_user = s.has("username");
  if (has_user && !password.given) {
    s.problem("", "'username' also needs a password: set 'password' or 'password_file', or the " +
                      variable + " environment variable");
  } else if (!has_user && (s.has("password") || s.has("password_file"))) {
    s.problem("", "a password also needs 'username'");
  } else if (!has_user && auth != "auto") {
    s.problem("auth", "auth: " + auth + " needs 'username' and a password");
  }
}

void read_cameras(Section& root, std::vector<CameraSettings>& cameras) {
  const YAML::Node* node = root.node("cameras");
  if (!node) return;
  if (!node->IsMap()) {
    root.problem("cameras", "expected one section per camera (front-door: {url: ...}), got " +
                                kind_of(*node));
    return;
  }
  Context& ctx = root.context();
  for (const auto& pair : *node) {
    const int line = line_of(pair.first.Mark());
    if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
      ctx.add("cameras", "expected a camera name as the key, got " + kind_of(pair.first), line);
      continue;
    }
    CameraSettings camera;
    camera.name = pair.first.Scalar();
    camera.line = line;
    const std::string path = "cameras." + camera.name;
    // Names travel in API paths and command lines: keep them plain.
    if (!std::all_of(camera.name.begin(), camera.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        })) {
      ctx.add(path, "a camera name may hold only letters, digits, '-' and '_'", line);
      continue;
    }
    const auto first = std::find_if(cameras.begin(), cameras.end(),
                                    [&](const CameraSettings& c) { return c.name == camera.name; });
    if (first != cameras.end()) {
      ctx.add(path, "duplicate key (first set on line " + std::to_string(first->line) + ")", line);
      continue;
    }
    if (!pair.second.IsMap()) {
      ctx.add(path, "expected a map of the camera's settings (url: ...), got " +
                        kind_of(pair.second), line);
      continue;
    }
    Section s(ctx, path, pair.second, line);
    read_camera(s, camera);
    cameras.push_back(std::move(camera));
  }
}

// ----- api: the local HTTP API

void read_api(Section& root, ApiSettings& api) {
  if (!root.has("api")) return;
  api.line = root.line("api");
  Section s = root.section("api");
  api.enabled = true;
  s.read("enabled", api.enabled);
  s.read("listen", api.listen, Need::NonEmpty);
  s.read("port", api.port, 0, 65535);  // 0: any free port (written to <state_dir>/api.port)
  const Secret key = read_secret(s, "key", "key_file", "RCGATE_API_KEY");
  api.key = key.value;
  if (api.enabled && !key.given) {
    s.problem("", "the local API needs a key: set 'key' or 'key_file' (a long random string, "
                  "e.g. from `openssl rand -hex 24`), or the RCGATE_API_KEY environment "
                  "variable; or set 'enabled: false'");
  } else if (api.enabled && key.value.size() < 16) {
    s.problem(s.has("key_file") ? "key_file" : "key",
              "the key is too short (" + std::to_string(key.value.size()) +
                  " characters): use at least 16, e.g. from `openssl rand -hex 24`");
  }
  s.read("max_body_kb", api.max_body_kb, 1, 64 * 1024);
  s.read("max_upload_mb", api.max_upload_mb, 1, 4096);
  if (const YAML::Node* dirs = s.node("upload_dirs")) {
    if (!dirs->IsSequence()) {
      s.problem("upload_dirs", "expected a list of directories such as [/var/lib/rcgate/files], "
                               "got " + kind_of(*dirs));
    } else {
      for (std::size_t i = 0; i < dirs->size(); ++i) {
        const YAML::Node item = (*dirs)[i];
        const std::string path = "api.upload_dirs[" + std::to_string(i) + "]";
        if (!item.IsScalar() || item.Scalar().empty()) {
          root.context().add(path, "expected a directory name, got " + kind_of(item),
                             line_of(item.Mark()));
          continue;
        }
        api.upload_dirs.push_back(root.context().resolve(item.Scalar()));
      }
    }
  }
  s.read("send_wait", api.send_wait, /*allow_zero=*/true);
  s.read("ask_wait_max", api.ask_wait_max);
}

// ----- mqtt: the MQTT bridge

// A topic level or prefix: MQTT forbids the wildcards in topic names, and an empty level or a
// leading/trailing slash makes topics that subscribers do not expect.
bool check_topic_prefix(Section& s, std::string_view key, const std::string& value) {
  if (!s.has(key)) return true;
  if (value.find_first_of("+#") != std::string::npos)
    return s.problem(key, "must not contain the MQTT wildcards '+' or '#', got " + in_quotes(value));
  if (value.front() == '/' || value.back() == '/' || value.find("//") != std::string::npos)
    return s.problem(key, "must not start or end with '/' nor contain '//', got " +
                              in_quotes(value) + " (e.g. 'rcgate' or 'home/rcgate')");
  if (value.front() == '$')
    return s.problem(key, "must not start with '$' (reserved for the broker), got " +
                              in_quotes(value));
  return true;
}

void read_mqtt(Section& root, MqttSettings& mqtt) {
  if (!root.has("mqtt")) return;
  mqtt.line = root.line("mqtt");
  Section s = root.section("mqtt");
  mqtt.enabled = true;
  s.read("enabled", mqtt.enabled);
  s.read("host", mqtt.host, Need::NonEmpty);
  {
    Section tls = s.section("tls");
    tls.read("enabled", mqtt.tls_enabled);
    tls.read("verify", mqtt.tls.verify);
    tls.read_file_path("ca_file", mqtt.tls.ca_file, Need::Optional);
    // The defaults spelled out are fine; a CA or verify: false without TLS is a mistake.
    if (!mqtt.tls_enabled && (!mqtt.tls.ca_file.empty() || !mqtt.tls.verify))
      tls.problem("", "ca_file and verify apply to TLS only: add 'enabled: true' (the port is then "
                      "8883 unless given) or remove them");
  }
  mqtt.port = mqtt.tls_enabled ? 8883 : 1883;
  s.read("port", mqtt.port, 1, 65535);
  s.read("client_id", mqtt.client_id, Need::NonEmpty);
  s.read("username", mqtt.username, Need::NonEmpty);
  const Secret password = read_secret(s, "password", "password_file", "RCGATE_MQTT_PASSWORD");
  mqtt.password = password.value;
  if ((s.has("password") || s.has("password_file")) && !s.has("username"))
    s.problem("username", "is required when a password is given (the broker login's user name)");
  s.read("keepalive", mqtt.keepalive);
  if (s.has("keepalive") && (mqtt.keepalive < ms{5000} || mqtt.keepalive > ms{65535000})) {
    s.problem("keepalive", "must be between 5s and 65535s, got " + format_duration(mqtt.keepalive));
    mqtt.keepalive = ms{60000};
  }
  if (s.read("base_topic", mqtt.base_topic, Need::NonEmpty))
    check_topic_prefix(s, "base_topic", mqtt.base_topic);
  s.read("discovery", mqtt.discovery);
  if (s.read("discovery_prefix", mqtt.discovery_prefix, Need::NonEmpty))
    check_topic_prefix(s, "discovery_prefix", mqtt.discovery_prefix);
  {
    Section reconnect = s.section("reconnect");
    const bool initial_ok = reconnect.read("initial_delay", mqtt.backoff_initial);
    if (reconnect.read("max_delay", mqtt.backoff_max) && initial_ok &&
        mqtt.backoff_max < mqtt.backoff_initial) {
      reconnect.problem("max_delay", "must be at least initial_delay (" +
                                         format_duration(mqtt.backoff_initial) + "), got " +
                                         format_duration(mqtt.backoff_max));
    }
  }
  s.read("max_pending", mqtt.max_pending, 0, 100000);
}

void read_settings(Section& root, Settings& settings) {
  {
    Section rocketchat = root.section("rocketchat");
    read_rocketchat(rocketchat, settings.rocketchat);
  }
  root.read_path("state_dir", settings.state_dir, Need::NonEmpty);
  {
    Section log = root.section("log");
    log.read_choice("level", settings.log.level, {"trace", "debug", "info", "warn", "error"});
  }
  {
    Section devices = root.section("devices");
    read_devices(devices, settings.devices);
  }
  read_users(root, settings.users);
  {
    Section unknown_users = root.section("unknown_users");
    read_unknown_users(unknown_users, settings.unknown_users);
  }
  {
    Section interactions = root.section("interactions");
    read_interactions(interactions, settings.interactions, settings.lines);
  }
  {
    Section outbox = root.section("outbox");
    read_outbox(outbox, settings.outbox);
  }
  {
    Section asks = root.section("asks");
    read_asks(asks, settings.asks);
  }
  read_cameras(root, settings.cameras);
  read_api(root, settings.api);
  read_mqtt(root, settings.mqtt);
  read_plugins(root, settings.plugins);
  if (root.has("plugins")) settings.lines["plugins"] = root.line("plugins");
}

// Where relative paths in the file start: the file's own directory, made absolute so that a
// later change of working directory cannot move them.
fs::path directory_of(const std::string& path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  const fs::path dir = parent.empty() ? fs::current_path(ec) : fs::absolute(parent, ec);
  return ec ? parent : dir;
}

}  // namespace

std::optional<std::chrono::milliseconds> duration_from_text(std::string_view text,
                                                            std::string& error, bool allow_zero) {
  return parse_duration(text, error, allow_zero);
}

Environment process_environment() {
  // Only rcgate's own variables: no reason to copy unrelated secrets around.
  Environment env;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string_view::npos && text.substr(0, 7) == "RCGATE_") {
      env.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
  }
  return env;
}

LoadResult load_file(const std::string& path, const Environment& env) {
  std::string text;
  if (const auto error = read_file(path, text, 4 << 20)) {
    LoadResult result;
    result.settings.source = path;
    result.problems.push_back({"", "cannot read " + path + ": " + *error, 0});
    return result;
  }
  return load_text(text, path, env);
}

LoadResult load_text(const std::string& text, const std::string& path, const Environment& env) {
  LoadResult result;
  result.settings.source = path;
  Context ctx{{}, directory_of(path), env};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ctx.add("", "YAML syntax error: " + e.msg, line_of(e.mark));
  }
  if (ctx.problems.empty()) {
    Section section(ctx, "", root, 1);
    read_settings(section, result.settings);
  }
  // Reported in file order: nested sections report their unknown keys as they close.
  std::stable_sort(ctx.problems.begin(), ctx.problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  result.problems = std::move(ctx.problems);
  return result;
}

int plugin_line(const PluginSection& section, const std::string& path) {
  std::string at = path;
  while (true) {
    const auto it = section.lines.find(at);
    if (it != section.lines.end() && it->second > 0) return it->second;
    if (at.empty()) return section.line;
    const auto dot = at.rfind('.');
    const auto bracket = at.rfind('[');
    const auto cut = dot == std::string::npos                        ? bracket
                     : bracket == std::string::npos || dot > bracket ? dot
                                                                     : bracket;
    at = cut == std::string::npos ? std::string() : at.substr(0, cut);
  }
}

std::vector<Problem> validate_plugins(const Settings& settings,
                                      const std::vector<rcgate::PluginInfo>& known) {
  std::vector<Problem> problems;
  std::vector<std::string> names;
  for (const auto& info : known) names.push_back(info.name);
  std::sort(names.begin(), names.end());
  const auto find_known = [&](const std::string& name) -> const rcgate::PluginInfo* {
    for (const auto& info : known) {
      if (info.name == name) return &info;
    }
    return nullptr;
  };
  const auto unknown_plugin = [&](const std::string& name) {
    std::string hint = suggestion(name, names);
    if (hint.empty()) {
      hint =
          names.empty() ? " (this build has no plugins)" : " (this build has: " + join(names) + ")";
    }
    return "unknown plugin " + in_quotes(name) + hint;
  };

  for (const auto& section : settings.plugins) {
    const rcgate::PluginInfo* info = find_known(section.name);
    if (!info) {
      problems.push_back({"plugins", unknown_plugin(section.name), section.line});
      continue;
    }
    if (!info->validate) continue;
    std::vector<rcgate::ConfigIssue> issues;
    try {
      issues = info->validate(section.config);
    } catch (const std::exception& e) {
      problems.push_back({plugin_path(section.name, ""),
                          std::string("the plugin failed to check its settings: ") + e.what(),
                          section.line});
      continue;
    }
    for (const auto& issue : issues) {
      problems.push_back(
          {plugin_path(section.name, issue.path), issue.message, plugin_line(section, issue.path)});
    }
  }

  const auto& engines = settings.interactions.engines;
  for (std::size_t i = 0; i < engines.size(); ++i) {
    const std::string path = "interactions.engines[" + std::to_string(i) + "]";
    const auto line_it = settings.lines.find(path);
    const int line = line_it == settings.lines.end() ? 0 : line_it->second;
    if (!find_known(engines[i])) {
      problems.push_back({path, unknown_plugin(engines[i]), line});
    } else if (!settings.plugin(engines[i])) {
      problems.push_back({path,
                          in_quotes(engines[i]) +
                              " has no section under plugins: add one (plugins: {" + engines[i] +
                              ": {}} takes its defaults)",
                          line});
    }
  }
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  return problems;
}

std::string format_problems(const std::string& path, const std::vector<Problem>& problems) {
  const auto count = problems.size();
  std::string out = "rcgate: refusing to start: " + path + " has " + std::to_string(count) +
                    (count == 1 ? " error\n" : " errors\n");
  for (const auto& p : problems) {
    out += "  - " + (p.path.empty() ? "" : p.path + ": ") + p.message;
    if (p.line > 0) out += " (line " + std::to_string(p.line) + ")";
    out += "\n";
  }
  return out;
}

}  // namespace rcgate::config
