#pragma once
// Small helpers the built-in plugins share: reading and checking a configuration section (every
// problem with its path, unknown keys with a suggestion), secrets kept outside the main file,
// base URLs, short descriptions of failed HTTP calls, and what every engine plugin does the same
// way (its PluginInfo, validate() and make_engine(), asking a service over HTTP, attachments
// from local files). Like the plugins themselves, this depends on include/rcgate only
// (std + nlohmann_json).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rcgate/http_client.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::plugins {

using Json = nlohmann::json;
using std::chrono::milliseconds;

// "'text'" — how messages quote what the operator wrote.
std::string in_quotes(std::string_view text);
// " (did you mean 'x'?)" for the closest candidate within two edits, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
std::size_t edit_distance(std::string_view a, std::string_view b);

// "15s", "250ms", "2m": the shortest exact spelling of a duration.
std::string format_duration(milliseconds value);

// A value's kind for messages: "a string", "a number", "a list", ...
std::string kind_of(const Json& value);

// Reads one object of a configuration section and records every problem with its path.
// Getters return nullopt when the key is absent or invalid (an issue is recorded when invalid).
class SectionReader {
 public:
  // `path` is where this object sits in the section ("" for the section itself, "rules[2]").
  SectionReader(const Json& object, std::string path, std::vector<ConfigIssue>& issues);

  // False (and an issue recorded once) when the value is not an object.
  bool valid() const { return valid_; }
  // Records "unknown key 'x' (did you mean 'y'?)" for every key not in `known`.
  void only_keys(const std::vector<std::string>& known);

  bool has(const std::string& key) const;
  const Json* get(const std::string& key) const;
  std::string path_of(const std::string& key) const;
  void issue(const std::string& key, std::string message);
  void issue_here(std::string message);

  // A non-empty string. With `required`, an absent key is an issue too.
  std::optional<std::string> string(const std::string& key, bool required = false);
  // A string that may be empty ("" is a valid value, e.g. a reply that says nothing).
  std::optional<std::string> text(const std::string& key);
  // true/false (also "true"/"false"/"yes"/"no"/"on"/"off", as YAML people write them).
  std::optional<bool> boolean(const std::string& key);
  // "250ms", "15s", "2m", "1h", or a number of seconds; greater than zero, at most a day.
  std::optional<milliseconds> duration(const std::string& key);
  // An absolute http:// or https:// URL (trailing '/' removed).
  std::optional<std::string> url(const std::string& key, bool required = false);
  // One string or a list of non-empty strings.
  std::optional<std::vector<std::string>> string_list(const std::string& key);
  // A map of string to string (scalars are accepted and written as text).
  std::optional<std::vector<std::pair<std::string, std::string>>> string_map(
      const std::string& key);
  // A file that exists and can be read.
  std::optional<std::string> readable_file(const std::string& key);
  // Absolute directories: one string or a list (`local_files`). A relative one is an issue.
  std::optional<std::vector<std::string>> directories(const std::string& key);

  // A secret given inline (`key`), in a file (`file_key`, first line), or in the environment
  // variable `env_name` (used only when neither key is present). Required: a missing secret is
  // an issue that names all three ways.
  std::optional<std::string> secret(const std::string& key, const std::string& file_key,
                                    const std::string& env_name, bool required = true);

 private:
  const Json& object_;
  std::string path_;
  std::vector<ConfigIssue>& issues_;
  bool valid_ = true;
};

// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string join_path(const std::string& base, const std::string& key);
// "rules" + 2 -> "rules[2]".
std::string index_path(const std::string& base, std::size_t index);

// Parses a duration as SectionReader::duration does; nullopt and `error` set when invalid.
std::optional<milliseconds> parse_duration(const Json& value, std::string& error);
// Checks an absolute http(s) URL; returns it without a trailing '/', or nullopt with `error`.
std::optional<std::string> check_http_url(std::string_view text, std::string& error);

// "http://host:8123/api/x?token=..." -> "http://host:8123/api/x": safe for logs.
std::string url_for_log(std::string_view url);
// The first `max` bytes of a body on one line, for log messages.
std::string excerpt(std::string_view body, std::size_t max = 200);
std::string trim(std::string_view text);
std::string to_lower_ascii(std::string_view text);
// Case-insensitive header lookup.
std::string header_value(const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view name);
// Why an HTTP call did not give a 2xx answer: the transport error, or "HTTP 500: <excerpt>".
std::string describe_failure(const HttpResult& result);

// The text at `path` inside nested objects (`{"speech", "plain", "speech"}`); "" when a step is
// missing or the value there is not a string.
std::string string_at(const Json& value, std::initializer_list<const char*> path);

// Whether `path` (made absolute and normalized) lies inside one of `dirs`.
bool path_inside(const std::string& path, const std::vector<std::string>& dirs);
// Whether `path` is absolute and lies inside one of `dirs`: where a service's answer may point
// rcgate at a file on this host (the operator's `local_files`).
bool inside_local_files(const std::string& path, const std::vector<std::string>& dirs);
// Whether `path` names a regular file this process can open for reading.
bool readable_regular_file(const std::string& path);

// ---- Calls to a service -----------------------------------------------------------------------

// How calls to one service are made: the operator's `timeout`, `verify_tls` and `ca_file`.
struct CallOptions {
  CallOptions() = default;
  explicit CallOptions(milliseconds default_timeout) : timeout(default_timeout) {}

  milliseconds timeout{10000};
  bool verify_tls = true;
  std::string ca_file;  // extra CA (PEM); empty: the system's CAs
};

// Reads `verify_tls` and `ca_file` into `options`. (Each plugin reads `timeout` itself: its
// default, and where its issue is listed, differ.)
void read_tls_options(SectionReader& reader, CallOptions& options);

// A request to `url` made with the service's options.
HttpCall make_call(std::string method, std::string url, const CallOptions& options);

// Whether `name` may be sent as a header name: letters, digits, '-' and '_'.
bool is_header_name(std::string_view name);
// Adds `name: value` unless `headers` already give `name` (in any case) a value.
void add_header_if_missing(std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view name, std::string value);

// ---- Engine plugins ---------------------------------------------------------------------------

// "invalid <plugin> configuration:" and one "  - <path>: <message>" line per issue: what
// make_engine() throws for a section that is not valid.
std::string issues_text(std::string_view plugin, const std::vector<ConfigIssue>& issues);

// What a plugin's validate() returns: every issue `parse(section, issues)` records.
template <class Parse>
std::vector<ConfigIssue> collect_issues(const Json& section, Parse&& parse) {
  std::vector<ConfigIssue> issues;
  parse(section, issues);
  return issues;
}

// The settings `parse(section, issues)` reads from a valid section; for a section with any issue,
// throws std::invalid_argument(issues_text(plugin, issues)).
template <class Parse>
auto parse_valid(std::string_view plugin, const Json& section, Parse&& parse) {
  std::vector<ConfigIssue> issues;
  auto settings = parse(section, issues);
  if (!issues.empty()) throw std::invalid_argument(issues_text(plugin, issues));
  return settings;
}

// Makes a plugin's one interaction engine from its context (for engine_plugin_info).
using MakeEngine = std::function<std::shared_ptr<InteractionEngine>(PluginContext& context)>;

// The PluginInfo of a plugin that offers one interaction engine: at start() it makes the engine
// and offers it; at stop() it lets go of it.
PluginInfo engine_plugin_info(std::string name, std::string description,
                              std::function<std::vector<ConfigIssue>(const Json&)> validate,
                              MakeEngine make_engine);

// How an engine answers a question through its service. `build()` makes the request; an
// exception there is the failed answer "<engine>: could not build the request: ...".
// `on_response(engine, result)` makes the answer of the result; an exception there is the failed
// answer "<engine>: unexpected error: ...". The engine is held weakly while the request is out,
// so that stopping the plugin frees it: one gone before the result arrived answers "<engine>: the
// engine was stopped". `done` is called exactly once. <engine> is engine.name().
template <class Engine, class Build, class OnResponse>
void answer_over_http(Engine& engine, PluginHttpClient& http, std::function<void(Answer)> done,
                      Build&& build, OnResponse on_response) {
  const std::string name = engine.name();
  HttpCall call;
  try {
    call = build();
  } catch (const std::exception& e) {
    done(Answer::failed(name + ": could not build the request: " + e.what()));
    return;
  }
  std::weak_ptr<Engine> weak = engine.weak_from_this();
  http.request(std::move(call), [weak, name, on_response = std::move(on_response),
                                 done = std::move(done)](HttpResult result) {
    auto self = weak.lock();
    if (!self) {
      done(Answer::failed(name + ": the engine was stopped"));
      return;
    }
    Answer answer;
    try {
      answer = on_response(*self, result);
    } catch (const std::exception& e) {
      answer = Answer::failed(name + ": unexpected error: " + e.what());
    }
    done(std::move(answer));
  });
}

}  // namespace rcgate::plugins
