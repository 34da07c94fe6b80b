#include "common/plugin_common.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace rcgate::plugins {

namespace {

constexpr milliseconds kMaxDuration{24LL * 3600 * 1000};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::optional<bool> parse_bool_text(std::string_view text) {
  const std::string lower = to_lower_ascii(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// A scalar written as text, for string maps (header values may be numbers in YAML).
std::optional<std::string> scalar_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

}  // namespace

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    // "agent" for "agent_id", "token_file_path" for "token_file": a cut-short or lengthened
    // name is as good a guess as a typo.
    const bool prefix = word.size() >= 3 && candidate.size() >= 3 &&
                        (candidate.rfind(word, 0) == 0 || word.rfind(candidate, 0) == 0);
    if (prefix) distance = std::min<std::size_t>(distance, 2);
    if (distance < best_distance) best = &candidate, best_distance = distance;
  }
  return best ? " (did you mean " + in_quotes(*best) + "?)" : "";
}

std::string format_duration(milliseconds value) {
  const auto count = value.count();
  if (count != 0 && count % 3'600'000 == 0) return std::to_string(count / 3'600'000) + "h";
  if (count != 0 && count % 60'000 == 0) return std::to_string(count / 60'000) + "m";
  if (count % 1000 == 0) return std::to_string(count / 1000) + "s";
  return std::to_string(count) + "ms";
}

std::string kind_of(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "nothing";
    case Json::value_t::object: return "a map";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "the text " + in_quotes(value.get<std::string>());
    case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "the number " + value.dump();
    default: return "an unsupported value";
  }
}

std::string join_path(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

std::string index_path(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

std::optional<milliseconds> parse_duration(const Json& value, std::string& error) {
  const std::string hint = "expected a duration such as 250ms, 15s, 2m or 1h";
  std::uint64_t number = 0;
  std::uint64_t scale = 1000;
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<long long>() >= 0)) {
    number = value.get<std::uint64_t>();
  } else if (value.is_number_integer()) {
    error = "must be greater than zero, got " + value.dump();
    return std::nullopt;
  } else if (value.is_number_float()) {
    // "timeout: 1.5" — seconds, to the millisecond.
    const double seconds = value.get<double>();
    if (!(seconds * 1000 >= 1)) {
      error = "must be at least 1ms, got " + value.dump();
      return std::nullopt;
    }
    if (seconds * 1000 > static_cast<double>(kMaxDuration.count())) {
      error = "must be at most " + format_duration(kMaxDuration);
      return std::nullopt;
    }
    return milliseconds(static_cast<milliseconds::rep>(seconds * 1000 + 0.5));
  } else if (value.is_string()) {
    const std::string text = trim(value.get<std::string>());
    if (!text.empty() && text.front() == '-') {
      error = "must be greater than zero, got " + in_quotes(text);
      return std::nullopt;
    }
    const char* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, number);
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    scale = 0;
    if (unit == "ms") scale = 1;
    if (unit == "s" || unit.empty()) scale = 1000;
    if (unit == "m") scale = 60'000;
    if (unit == "h") scale = 3'600'000;
    if (rest == text.data() || scale == 0) {
      error = hint + ", got " + in_quotes(text);
      return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range) number = UINT64_MAX / 2;
  } else {
    error = hint + ", got " + kind_of(value);
    return std::nullopt;
  }
  const auto limit = static_cast<std::uint64_t>(kMaxDuration.count());
  if (number > limit / scale) {
    error = "must be at most " + format_duration(kMaxDuration);
    return std::nullopt;
  }
  if (number == 0) {
    error = "must be greater than zero";
    return std::nullopt;
  }
  return milliseconds(static_cast<milliseconds::rep>(number * scale));
}

std::optional<std::string> check_http_url(std::string_view input, std::string& error) {
  const std::string text = trim(input);
  const std::string lower = to_lower_ascii(text);
  std::size_t host_start = 0;
  if (lower.rfind("http://", 0) == 0) {
    host_start = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    host_start = 8;
  } else {
    error = "expected an http:// or https:// URL, got " + in_quotes(text);
    return std::nullopt;
  }
  if (std::any_of(text.begin(), text.end(), is_space)) {
    error = "URL " + in_quotes(text) + " contains whitespace";
    return std::nullopt;
  }
  if (text.find('#') != std::string::npos) {
    error = "URL " + in_quotes(text) + " has a #fragment";
    return std::nullopt;
  }
  const auto host_end = text.find_first_of("/?", host_start);
  const std::string authority =
      text.substr(host_start, host_end == std::string::npos ? std::string::npos
                                                            : host_end - host_start);
  if (authority.empty() || authority.front() == ':') {
    error = "URL " + in_quotes(text) + " has no host name";
    return std::nullopt;
  }
  if (authority.find('@') != std::string::npos) {
    error = "URL " + in_quotes(text) + " contains credentials (user@host); use the token settings";
    return std::nullopt;
  }
  std::string out = text;
  while (out.size() > host_start && out.back() == '/') out.pop_back();
  return out;
}

std::string url_for_log(std::string_view url) {
  const auto cut = url.find_first_of("?#");
  return std::string(url.substr(0, cut));
}

std::string trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string excerpt(std::string_view body, std::size_t max) {
  std::string out;
  for (char c : trim(body)) {
    if (out.size() >= max) {
      // Do not cut a UTF-8 sequence in half.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
      return out + "…";
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::string to_lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string header_value(const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view name) {
  const std::string wanted = to_lower_ascii(name);
  for (const auto& [key, value] : headers) {
    if (to_lower_ascii(key) == wanted) return value;
  }
  return {};
}

std::string describe_failure(const HttpResult& result) {
  if (!result.error.empty()) return result.error;
  std::string out = "HTTP " + std::to_string(result.status);
  const std::string body = excerpt(result.body);
  if (!body.empty()) out += ": " + body;
  return out;
}

bool path_inside(const std::string& path, const std::vector<std::string>& dirs) {
  std::error_code ec;
  const auto file = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  if (ec) return false;
  for (const auto& dir : dirs) {
    std::error_code dir_ec;
    auto base = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, dir_ec), dir_ec);
    if (dir_ec) continue;
    if (base.has_parent_path() && base.filename().empty()) base = base.parent_path();  // "/a/b/"
    auto [b, f] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (b == base.end() && f != file.end()) return true;
  }
  return false;
}

bool inside_local_files(const std::string& path, const std::vector<std::string>& dirs) {
  return !path.empty() && path.front() == '/' && path_inside(path, dirs);
}

bool readable_regular_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  return in.good();
}

std::string string_at(const Json& value, std::initializer_list<const char*> path) {
  const Json* node = &value;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return {};
    node = &node->at(key);
  }
  return node->is_string() ? node->get<std::string>() : std::string();
}

// --- Calls to a service ------------------------------------------------------------------------

void read_tls_options(SectionReader& reader, CallOptions& options) {
  if (auto verify = reader.boolean("verify_tls")) options.verify_tls = *verify;
  if (auto ca = reader.readable_file("ca_file")) options.ca_file = *ca;
}

HttpCall make_call(std::string method, std::string url, const CallOptions& options) {
  HttpCall call;
  call.method = std::move(method);
  call.url = std::move(url);
  call.timeout = options.timeout;
  call.verify_tls = options.verify_tls;
  call.ca_file = options.ca_file;
  return call;
}

bool is_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

void add_header_if_missing(std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view name, std::string value) {
  if (header_value(headers, name).empty()) headers.emplace_back(name, std::move(value));
}

// --- Engine plugins ----------------------------------------------------------------------------

std::string issues_text(std::string_view plugin, const std::vector<ConfigIssue>& issues) {
  std::string out = "invalid " + std::string(plugin) + " configuration:";
  for (const auto& issue : issues) out += "\n  - " + issue.path + ": " + issue.message;
  return out;
}

namespace {

class EnginePlugin final : public Plugin {
 public:
  EnginePlugin(PluginContext& context, MakeEngine make_engine)
      : context_(context), make_engine_(std::move(make_engine)) {}

  void start() override {
    engine_ = make_engine_(context_);
    context_.provide_engine(engine_);
  }
  void stop() override { engine_.reset(); }

 private:
  PluginContext& context_;
  MakeEngine make_engine_;
  std::shared_ptr<InteractionEngine> engine_;
};

}  // namespace

PluginInfo engine_plugin_info(std::string name, std::string description,
                              std::function<std::vector<ConfigIssue>(const Json&)> validate,
                              MakeEngine make_engine) {
  PluginInfo info;
  info.name = std::move(name);
  info.description = std::move(description);
  info.validate = std::move(validate);
  info.create = [make_engine = std::move(make_engine)](
                    PluginContext& context) -> std::unique_ptr<Plugin> {
    return std::make_unique<EnginePlugin>(context, make_engine);
  };
  return info;
}

// --- SectionReader -----------------------------------------------------------------------------

SectionReader::SectionReader(const Json& object, std::string path,
                             std::vector<ConfigIssue>& issues)
    : object_(object), path_(std::move(path)), issues_(issues) {
  if (!object_.is_object()) {
    valid_ = false;
    issues_.push_back({path_, "expected a map of settings, got " + kind_of(object_)});
  }
}

void SectionReader::only_keys(const std::vector<std::string>& known) {
  if (!valid_) return;
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    issues_.push_back({path_of(key), "unknown key " + in_quotes(key) + did_you_mean(key, known)});
  }
}

bool SectionReader::has(const std::string& key) const {
  return valid_ && object_.contains(key) && !object_.at(key).is_null();
}

const Json* SectionReader::get(const std::string& key) const {
  return has(key) ? &object_.at(key) : nullptr;
}

std::string SectionReader::path_of(const std::string& key) const { return join_path(path_, key); }

void SectionReader::issue(const std::string& key, std::string message) {
  issues_.push_back({path_of(key), std::move(message)});
}

void SectionReader::issue_here(std::string message) {
  issues_.push_back({path_, std::move(message)});
}

std::optional<std::string> SectionReader::string(const std::string& key, bool required) {
  const Json* value = get(key);
  if (!value) {
    if (required && valid_) issue(key, "is required");
    return std::nullopt;
  }
  if (!value->is_string()) {
    issue(key, "expected text, got " + kind_of(*value));
    return std::nullopt;
  }
  std::string out = value->get<std::string>();
  if (trim(out).empty()) {
    issue(key, "must not be empty");
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> SectionReader::text(const std::string& key) {
  if (!valid_ || !object_.contains(key)) return std::nullopt;
  const Json& value = object_.at(key);
  if (value.is_null()) return std::string();
  if (!value.is_string()) {
    issue(key, "expected text, got " + kind_of(value));
    return std::nullopt;
  }
  return value.get<std::string>();
}

std::optional<bool> SectionReader::boolean(const std::string& key) {
  const Json* value = get(key);
  if (!value) return std::nullopt;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_string()) {
    if (auto parsed = parse_bool_text(value->get<std::string>())) return parsed;
  }
  issue(key, "expected true or false, got " + kind_of(*value));
  return std::nullopt;
}

std::optional<milliseconds> SectionReader::duration(const std::string& key) {
  const Json* value = get(key);
  if (!value) return std::nullopt;
  std::string error;
  auto parsed = parse_duration(*value, error);
  if (!parsed) issue(key, error);
  return parsed;
}

std::optional<std::string> SectionReader::url(const std::string& key, bool required) {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  std::string error;
  auto checked = check_http_url(*text, error);
  if (!checked) issue(key, error);
  return checked;
}

std::optional<std::vector<std::string>> SectionReader::string_list(const std::string& key) {
  const Json* value = get(key);
  if (!value) return std::nullopt;
  std::vector<std::string> out;
  if (value->is_string()) {
    if (trim(value->get<std::string>()).empty()) {
      issue(key, "must not be empty");
      return std::nullopt;
    }
    out.push_back(value->get<std::string>());
    return out;
  }
  if (!value->is_array()) {
    issue(key, "expected a list of text, got " + kind_of(*value));
    return std::nullopt;
  }
  bool ok = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const Json& item = value->at(i);
    if (!item.is_string() || trim(item.get<std::string>()).empty()) {
      issues_.push_back({index_path(path_of(key), i),
                         "expected non-empty text, got " + kind_of(item)});
      ok = false;
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> SectionReader::string_map(
    const std::string& key) {
  const Json* value = get(key);
  if (!value) return std::nullopt;
  if (!value->is_object()) {
    issue(key, "expected a map of names to values, got " + kind_of(*value));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> out;
  bool ok = true;
  for (const auto& [name, item] : value->items()) {
    auto text = scalar_text(item);
    if (!text) {
      issue(key + "." + name, "expected text, got " + kind_of(item));
      ok = false;
      continue;
    }
    out.emplace_back(name, *text);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> SectionReader::readable_file(const std::string& key) {
  auto path = string(key);
  if (!path) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::exists(*path, ec)) {
    issue(key, "file " + in_quotes(*path) + " does not exist");
    return std::nullopt;
  }
  if (!readable_regular_file(*path)) {
    issue(key, "cannot read " + in_quotes(*path) + " (not a regular file, or no permission)");
    return std::nullopt;
  }
  return path;
}

std::optional<std::vector<std::string>> SectionReader::directories(const std::string& key) {
  auto dirs = string_list(key);
  if (!dirs) return std::nullopt;
  for (std::size_t i = 0; i < dirs->size(); ++i) {
    if ((*dirs)[i].front() != '/') {
      issues_.push_back({index_path(path_of(key), i),
                         "expected an absolute directory, got " + in_quotes((*dirs)[i])});
    }
  }
  return dirs;
}

std::optional<std::string> SectionReader::secret(const std::string& key,
                                                 const std::string& file_key,
                                                 const std::string& env_name, bool required) {
  if (has(key) && has(file_key)) {
    issue(file_key, "give either " + in_quotes(key) + " or " + in_quotes(file_key) + ", not both");
    return std::nullopt;
  }
  if (has(key)) return string(key);
  if (has(file_key)) {
    auto path = readable_file(file_key);
    if (!path) return std::nullopt;
    std::ifstream in(*path, std::ios::binary);
    std::string first_line;
    std::getline(in, first_line);
    first_line = trim(first_line);
    if (first_line.empty()) {
      issue(file_key, "file " + in_quotes(*path) + " is empty (expected the secret on its first line)");
      return std::nullopt;
    }
    return first_line;
  }
  if (const char* env = std::getenv(env_name.c_str()); env && !trim(env).empty()) {
    return trim(env);
  }
  if (required && valid_) {
    issue(key, "is required: set " + in_quotes(key) + ", " + in_quotes(file_key) +
                   " (a file holding it), or the environment variable " + env_name);
  }
  return std::nullopt;
}

}  // namespace rcgate::plugins
