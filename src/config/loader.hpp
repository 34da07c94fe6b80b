#pragma once
// YAML file -> validated Settings. All problems are collected and reported together, each with
// its key path, line and what to do about it (STYLE.md §12-14).
#include <chrono>
#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::config {

struct Problem {
  std::string path;     // "rocketchat.url", "rocketchat.auth.password", "" for the whole file
  std::string message;  // what is wrong and how to fix it
  int line = 0;         // 1-based line in the file; 0 when unknown
};

struct LoadResult {
  Settings settings;
  std::vector<Problem> problems;  // empty: settings are valid
  bool ok() const { return problems.empty(); }
};

// Environment used for secrets; tests pass their own.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

// Reads and validates the file at `path`.
LoadResult load_file(const std::string& path, const Environment& env = process_environment());
// Same, from text (path is used in messages and to resolve relative paths).
LoadResult load_text(const std::string& text, const std::string& path,
                     const Environment& env = process_environment());

// Checks the plugins: sections and interactions.engines against the plugins this build has:
// every configured plugin must be known (the problem lists the known ones), each section is
// validated by its plugin (a ConfigIssue{"rules[2].pattern", ...} becomes the problem
// "plugins.rules.rules[2].pattern: ... (line N)"), and every engine named in
// interactions.engines must be a known plugin with a section under plugins:. Problems are in file
// order; empty when all is well. load_file() cannot do this itself: it does not know the plugins.
std::vector<Problem> validate_plugins(const Settings& settings,
                                      const std::vector<rcgate::PluginInfo>& known);

// The YAML line for a path inside a plugin's section: that of the path, else of its nearest
// parent that exists ("rules[2].pattern" missing -> "rules[2]"), else the section's own line.
int plugin_line(const PluginSection& section, const std::string& path);

// The report printed when problems were found:
//   rcgate: refusing to start: /etc/rcgate/rcgate.yaml has 2 errors
//     - rocketchat.url: expected an http(s):// or ws(s):// URL, got 'chat.example.org' (line 3)
std::string format_problems(const std::string& path, const std::vector<Problem>& problems);

// A duration as the file writes it ("250ms", "15s", "2m", "1h", or a number of seconds), up to
// 24h; the API reads its durations the same way. nullopt with `error` set when it is not one.
std::optional<std::chrono::milliseconds> duration_from_text(std::string_view text,
                                                            std::string& error,
                                                            bool allow_zero = false);
inline constexpr int kExitConfig = 78;  // EX_CONFIG: systemd must not restart in a loop

}  // namespace rcgate::config
