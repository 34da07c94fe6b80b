// The rules engine. A rule is checked against what the person said (keywords or a regular
// expression, both blind to case and accents); the first rule that matches and that the person
// may use answers, with a reply template and/or an HTTP request. Rules are immutable once built,
// so any number of questions can be in flight at once.
#include "rules/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "common/plugin_common.hpp"

namespace rcgate::plugins::rules {

namespace {

// Base letters for U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A); nullptr
// for the two signs in that range (× ÷), which stay as they are.
constexpr const char* kFoldTable[192] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    "D", "N", "O", "O", "O", "O", "O", nullptr, "O", "U", "U", "U", "U", "Y", "TH", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "y",
    "A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c", "C", "c", "D", "d",
    "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G", "g",
    "G", "g", "G", "g", "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i",
    "I", "i", "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L",
    "l", "L", "l", "N", "n", "N", "n", "N", "n", "n", "N", "n", "O", "o", "O", "o",
    "O", "o", "OE", "oe", "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s",
    "S", "s", "T", "t", "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u",
    "U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z", "z", "s",
};

// libstdc++'s regex matcher recurses per character; a long message must not exhaust the stack.
constexpr std::size_t kMaxRegexInput = 2000;
// The longest response body a reply template gets as {{body}}.
constexpr std::size_t kMaxBodyPlaceholder = 4000;

const std::vector<std::string> kQueryPlaceholders = {"user", "username", "display_name", "role",
                                                     "room", "room_id",  "text"};
const std::vector<std::string> kResponsePlaceholders = {"status", "body"};
const std::vector<std::string> kErrorPlaceholders = {"error", "status", "body"};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

constexpr const char* kDefaultDeniedReply = "Sorry, you are not allowed to do that.";
constexpr const char* kDefaultActionReply = "Done.";

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool valid_name(std::string_view name) {
  return !name.empty() && is_name_start(name.front()) &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

// ---- Templates: "It is {{json.state}} in the {{room}}" ----------------------------------------

struct Template {
  struct Part {
    bool placeholder = false;
    std::string text;  // literal text, or the placeholder's name
  };
  std::vector<Part> parts;
};

// "json.a.0.b": dot-separated segments of letters, digits and '_'; the first starts a name.
bool valid_placeholder(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  std::size_t segment = 0;
  for (char c : name) {
    if (c == '.') {
      if (segment == 0) return false;
      segment = 0;
      continue;
    }
    if (!is_name_char(c)) return false;
    ++segment;
  }
  return segment > 0;
}

std::optional<Template> parse_template(std::string_view text, std::string& error) {
  Template out;
  std::string literal;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      literal += text.substr(pos);
      break;
    }
    literal += text.substr(pos, open - pos);
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      error = "'{{' without a closing '}}'";
      return std::nullopt;
    }
    const std::string name = trim(text.substr(open + 2, close - open - 2));
    if (!valid_placeholder(name)) {
      error = "invalid placeholder " + in_quotes("{{" + std::string(text.substr(open + 2, close - open - 2)) + "}}");
      return std::nullopt;
    }
    if (!literal.empty()) out.parts.push_back({false, std::move(literal)});
    literal.clear();
    out.parts.push_back({true, name});
    pos = close + 2;
  }
  if (!literal.empty()) out.parts.push_back({false, std::move(literal)});
  return out;
}

// Which placeholders a template may use at the place it is written.
struct Scope {
  std::vector<std::string> names;
  bool json = false;  // json / json.<path> (the HTTP response body)
};

// Parses a template and reports unknown placeholders with a suggestion.
std::optional<Template> checked_template(std::string_view text, const Scope& scope,
                                         const std::string& path,
                                         std::vector<ConfigIssue>& issues) {
  std::string error;
  auto parsed = parse_template(text, error);
  if (!parsed) {
    issues.push_back({path, error});
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& part : parsed->parts) {
    if (!part.placeholder) continue;
    const std::string& name = part.text;
    const bool is_json = name == "json" || name.rfind("json.", 0) == 0;
    if (is_json && scope.json) continue;
    if (std::find(scope.names.begin(), scope.names.end(), name) != scope.names.end()) continue;
    std::string message = "unknown placeholder " + in_quotes("{{" + name + "}}");
    if (is_json) {
      message += " ({{json...}} is only available in the reply of a rule with an 'http' action)";
    } else {
      message += did_you_mean(name, scope.names);
    }
    issues.push_back({path, message});
    ok = false;
  }
  if (!ok) return std::nullopt;
  return parsed;
}

struct Vars {
  std::map<std::string, std::string> values;
  std::optional<Json> json;  // the response body, when it was JSON
};

std::string json_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return {};
  return value.dump();
}

std::string lookup(const Vars& vars, const std::string& name) {
  if (name == "json") return vars.json ? json_text(*vars.json) : std::string();
  if (name.rfind("json.", 0) == 0) {
    if (!vars.json) return {};
    const Json* node = &*vars.json;
    std::size_t start = 5;
    while (start <= name.size()) {
      const auto dot = name.find('.', start);
      const std::string key = name.substr(start, dot == std::string::npos ? std::string::npos
                                                                          : dot - start);
      if (node->is_object() && node->contains(key)) {
        node = &node->at(key);
      } else if (node->is_array() && !key.empty() &&
                 std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                 key.size() < 9 && std::stoul(key) < node->size()) {
        node = &node->at(std::stoul(key));
      } else {
        return {};
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return json_text(*node);
  }
  const auto it = vars.values.find(name);
  return it == vars.values.end() ? std::string() : it->second;
}

enum class Escape { None, Url, HeaderValue };

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string render(const Template& tmpl, const Vars& vars, Escape escape = Escape::None) {
  std::string out;
  for (const auto& part : tmpl.parts) {
    if (!part.placeholder) {
      out += part.text;
      continue;
    }
    std::string value = lookup(vars, part.text);
    if (escape == Escape::Url) value = percent_encode(value);
    if (escape == Escape::HeaderValue) {
      // A value from a chat message must not be able to add header lines.
      std::replace_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; },
                      ' ');
    }
    out += value;
  }
  return out;
}

// "${NAME}" -> the environment variable NAME, so that secrets can stay out of the file.
std::optional<std::string> expand_env(std::string_view text, std::string& error) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("${", pos);
    if (open == std::string_view::npos) {
      out += text.substr(pos);
      break;
    }
    out += text.substr(pos, open - pos);
    const auto close = text.find('}', open + 2);
    const std::string name(text.substr(open + 2, close == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : close - open - 2));
    if (close == std::string_view::npos || !valid_name(name)) {
      error = "'${' must be followed by an environment variable name and '}'";
      return std::nullopt;
    }
    const char* value = std::getenv(name.c_str());
    if (!value) {
      error = "environment variable " + name + " is not set";
      return std::nullopt;
    }
    out += value;
    pos = close + 1;
  }
  return out;
}

// ---- Words ------------------------------------------------------------------------------------

// ASCII letters and digits, and every byte of a non-ASCII character, make up words.
std::vector<std::string> words_of(std::string_view folded) {
  std::vector<std::string> out;
  std::string word;
  for (char c : folded) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      word += c;
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

struct Word {
  std::string text;
  bool prefix = false;  // "lumi*" matches "lumiere", "lumieres"
};
using Phrase = std::vector<Word>;        // consecutive words
using Keyword = std::vector<Phrase>;     // alternatives: "allume|active"

Phrase phrase_of(std::string_view alternative) {
  Phrase out;
  std::size_t pos = 0;
  while (pos < alternative.size()) {
    while (pos < alternative.size() && std::isspace(static_cast<unsigned char>(alternative[pos])))
      ++pos;
    std::size_t end = pos;
    while (end < alternative.size() && !std::isspace(static_cast<unsigned char>(alternative[end])))
      ++end;
    std::string_view piece = alternative.substr(pos, end - pos);
    pos = end;
    bool prefix = false;
    while (!piece.empty() && piece.back() == '*') piece.remove_suffix(1), prefix = true;
    auto words = words_of(fold(piece, true));
    for (auto& w : words) out.push_back({std::move(w), false});
    if (!words.empty() && prefix) out.back().prefix = true;
  }
  return out;
}

bool word_matches(const Word& wanted, const std::string& said) {
  return wanted.prefix ? said.rfind(wanted.text, 0) == 0 : said == wanted.text;
}

bool phrase_found(const Phrase& phrase, const std::vector<std::string>& words) {
  if (phrase.empty() || phrase.size() > words.size()) return false;
  for (std::size_t start = 0; start + phrase.size() <= words.size(); ++start) {
    bool all = true;
    for (std::size_t k = 0; k < phrase.size() && all; ++k) {
      all = word_matches(phrase[k], words[start + k]);
    }
    if (all) return true;
  }
  return false;
}

// ---- Regular expressions with named groups ----------------------------------------------------

// std::regex (ECMAScript) has no named groups: "(?<room>...)" and "(?P<room>...)" become plain
// groups and their numbers are remembered.
std::optional<std::string> strip_named_groups(std::string_view p,
                                              std::vector<std::pair<std::string, std::size_t>>& names,
                                              std::string& error) {
  std::string out;
  std::size_t group = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      out += c;
      if (i + 1 < p.size()) out += p[++i];
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c != '(') {
      out += c;
      continue;
    }
    if (i + 1 < p.size() && p[i + 1] == '?') {
      std::size_t name_start = 0;
      if (i + 3 < p.size() && p[i + 2] == '<' && p[i + 3] != '=' && p[i + 3] != '!') {
        name_start = i + 3;
      } else if (i + 3 < p.size() && p[i + 2] == 'P' && p[i + 3] == '<') {
        name_start = i + 4;
      } else if (i + 2 < p.size() && p[i + 2] == '<') {
        error = "look-behind groups (?<= and (?<! are not supported";
        return std::nullopt;
      }
      if (name_start == 0) {  // (?: (?= (?! capture nothing
        out += c;
        continue;
      }
      const auto close = p.find('>', name_start);
      if (close == std::string_view::npos) {
        error = "named group without a closing '>'";
        return std::nullopt;
      }
      const std::string name(p.substr(name_start, close - name_start));
      if (!valid_name(name)) {
        error = "invalid group name " + in_quotes(name) + " (letters, digits and '_')";
        return std::nullopt;
      }
      names.emplace_back(name, ++group);
      out += '(';
      i = close;
      continue;
    }
    ++group;
    out += c;
  }
  return out;
}

// ---- Rules ------------------------------------------------------------------------------------

struct HttpAction {
  std::string method;
  Template url;
  std::vector<std::pair<std::string, Template>> headers;
  std::optional<Template> body;
  std::optional<Json> json;  // every string inside is a template
  CallOptions options;
};

struct Rule {
  std::string name;
  std::vector<Keyword> keywords;
  std::shared_ptr<const std::regex> regex;
  std::vector<std::pair<std::string, std::size_t>> captures;
  std::optional<Template> reply, error_reply, denied_reply;
  std::optional<HttpAction> http;
  std::vector<std::string> users, roles;  // lower case
  bool followup = false;
};

struct Config {
  std::vector<Rule> rules;
  Template denied_reply;
};

void check_json_templates(const Json& value, const Scope& scope, const std::string& path,
                          std::vector<ConfigIssue>& issues) {
  if (value.is_string()) {
    std::string error;
    auto expanded = expand_env(value.get<std::string>(), error);
    if (!expanded) {
      issues.push_back({path, error});
      return;
    }
    checked_template(*expanded, scope, path, issues);
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      check_json_templates(item, scope, join_path(path, key), issues);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      check_json_templates(value[i], scope, index_path(path, i), issues);
    }
  }
}

Json render_json(const Json& value, const Vars& vars) {
  if (value.is_string()) {
    std::string error;
    const auto expanded = expand_env(value.get<std::string>(), error).value_or(std::string());
    std::string parse_error;
    const auto tmpl = parse_template(expanded, parse_error);
    return tmpl ? Json(render(*tmpl, vars)) : value;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) out[key] = render_json(item, vars);
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(render_json(item, vars));
    return out;
  }
  return value;
}

std::optional<HttpAction> parse_http(const Json& value, const std::string& path,
                                     const Scope& scope, milliseconds default_timeout,
                                     std::vector<ConfigIssue>& issues) {
  SectionReader r(value, path, issues);
  if (!r.valid()) return std::nullopt;
  const std::size_t before = issues.size();
  r.only_keys({"method", "url", "headers", "body", "json", "timeout", "verify_tls", "ca_file"});
  HttpAction action;
  action.options.timeout = default_timeout;

  if (auto url = r.string("url", true)) {
    std::string error;
    auto expanded = expand_env(*url, error);
    if (!expanded) {
      r.issue("url", error);
    } else if (auto tmpl = checked_template(*expanded, scope, r.path_of("url"), issues)) {
      // The scheme and host must be written out: a chat message must not choose the server.
      const std::string lead = tmpl->parts.empty() || tmpl->parts.front().placeholder
                                   ? std::string()
                                   : tmpl->parts.front().text;
      const auto scheme_end = lead.find("://");
      const bool host_written =
          scheme_end != std::string::npos &&
          lead.find_first_of("/?", scheme_end + 3) != std::string::npos;
      Vars sample;
      if (!host_written && tmpl->parts.size() > 1) {
        r.issue("url", "the scheme and host must be written out before any placeholder, got " +
                           in_quotes(*url));
      } else if (!check_http_url(render(*tmpl, sample, Escape::Url), error)) {
        r.issue("url", error);
      } else {
        action.url = std::move(*tmpl);
      }
    }
  }
  if (r.has("body") && r.has("json")) r.issue("json", "give either 'body' or 'json', not both");
  if (auto body = r.text("body")) {
    std::string error;
    if (auto expanded = expand_env(*body, error)) {
      action.body = checked_template(*expanded, scope, r.path_of("body"), issues);
    } else {
      r.issue("body", error);
    }
  }
  if (const Json* json = r.get("json")) {
    check_json_templates(*json, scope, r.path_of("json"), issues);
    action.json = *json;
  }
  if (auto method = r.string("method")) {
    action.method = *method;
    std::transform(action.method.begin(), action.method.end(), action.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (std::find(kMethods.begin(), kMethods.end(), action.method) == kMethods.end()) {
      r.issue("method", "expected one of GET, POST, PUT, PATCH, DELETE, got " + in_quotes(*method) +
                            did_you_mean(action.method, kMethods));
    }
  } else {
    action.method = (r.has("body") || r.has("json")) ? "POST" : "GET";
  }
  if (auto headers = r.string_map("headers")) {
    for (auto& [name, raw] : *headers) {
      const std::string header_path = r.path_of("headers") + "." + name;
      if (!is_header_name(name)) {
        issues.push_back({header_path, "invalid header name " + in_quotes(name)});
        continue;
      }
      std::string error;
      auto expanded = expand_env(raw, error);
      if (!expanded) {
        issues.push_back({header_path, error});
        continue;
      }
      if (auto tmpl = checked_template(*expanded, scope, header_path, issues)) {
        action.headers.emplace_back(name, std::move(*tmpl));
      }
    }
  }
  if (auto timeout = r.duration("timeout")) action.options.timeout = *timeout;
  read_tls_options(r, action.options);
  if (issues.size() != before) return std::nullopt;
  return action;
}

Rule parse_rule(const Json& value, const std::string& path, std::size_t index,
                milliseconds default_timeout, std::vector<ConfigIssue>& issues) {
  Rule rule;
  rule.name = "rules[" + std::to_string(index) + "]";
  SectionReader r(value, path, issues);
  if (!r.valid()) return rule;
  r.only_keys({"name", "keywords", "pattern", "reply", "http", "publish", "users", "roles",
               "error_reply", "denied_reply", "followup"});
  if (auto name = r.string("name")) rule.name = *name;
  if (r.has("publish")) {
    r.issue("publish",
            "publishing on the message bus is not available in this version of rcgate; "
            "use an 'http' action");
  }

  Scope scope{kQueryPlaceholders, false};
  const bool has_keywords = r.has("keywords");
  const bool has_pattern = r.has("pattern");
  if (has_keywords && has_pattern) {
    r.issue("pattern", "give either 'keywords' or 'pattern', not both");
  } else if (!has_keywords && !has_pattern) {
    r.issue_here("needs 'keywords' (words that must all appear) or 'pattern' (a regular "
                 "expression)");
  }

  if (has_keywords) {
    std::vector<std::string> entries;
    const Json& keywords = *r.get("keywords");
    if (keywords.is_string()) {
      // "light on": each word is required, in any order.
      for (auto& word : words_of(fold(keywords.get<std::string>(), true))) entries.push_back(word);
      if (entries.empty()) r.issue("keywords", "has no word in " + in_quotes(keywords.get<std::string>()));
    } else if (auto list = r.string_list("keywords")) {
      entries = *list;
      if (entries.empty()) r.issue("keywords", "must list at least one word");
    }
    for (std::size_t j = 0; j < entries.size(); ++j) {
      Keyword keyword;
      std::string_view rest = entries[j];
      while (true) {
        const auto bar = rest.find('|');
        const std::string_view alternative = rest.substr(0, bar);
        Phrase phrase = phrase_of(alternative);
        if (phrase.empty()) {
          issues.push_back({index_path(r.path_of("keywords"), j),
                            "has no word in " + in_quotes(std::string(alternative))});
        } else {
          keyword.push_back(std::move(phrase));
        }
        if (bar == std::string_view::npos) break;
        rest.remove_prefix(bar + 1);
      }
      if (!keyword.empty()) rule.keywords.push_back(std::move(keyword));
    }
  }

  if (has_pattern) {
    if (auto pattern = r.string("pattern")) {
      std::string error;
      auto ecma = strip_named_groups(fold(*pattern, false), rule.captures, error);
      if (!ecma) {
        r.issue("pattern", "invalid regex: " + error);
      } else {
        try {
          rule.regex = std::make_shared<const std::regex>(
              *ecma, std::regex::ECMAScript | std::regex::icase);
        } catch (const std::regex_error& e) {
          r.issue("pattern", std::string("invalid regex: ") + e.what());
        }
      }
      std::set<std::string> seen;
      for (const auto& [name, group] : rule.captures) {
        const bool reserved =
            std::find(kQueryPlaceholders.begin(), kQueryPlaceholders.end(), name) !=
                kQueryPlaceholders.end() ||
            std::find(kErrorPlaceholders.begin(), kErrorPlaceholders.end(), name) !=
                kErrorPlaceholders.end() ||
            name == "json";
        if (reserved) {
          r.issue("pattern", "group name " + in_quotes(name) + " is a built-in placeholder; choose "
                             "another name");
        } else if (!seen.insert(name).second) {
          r.issue("pattern", "group name " + in_quotes(name) + " is used twice");
        } else {
          scope.names.push_back(name);
        }
      }
    }
  }

  if (const Json* http = r.get("http")) {
    rule.http = parse_http(*http, r.path_of("http"), scope, default_timeout, issues);
  }

  Scope reply_scope = scope;
  if (r.has("http")) {
    reply_scope.names.insert(reply_scope.names.end(), kResponsePlaceholders.begin(),
                             kResponsePlaceholders.end());
    reply_scope.json = true;
  }
  if (auto reply = r.text("reply")) {
    if (trim(*reply).empty() && !r.has("http")) {
      r.issue("reply", "must not be empty");
    } else {
      rule.reply = checked_template(*reply, reply_scope, r.path_of("reply"), issues);
    }
  } else if (!r.has("http") && !r.has("publish")) {
    r.issue_here("needs a 'reply', an 'http' action, or both");
  }

  if (auto error_reply = r.text("error_reply")) {
    if (!r.has("http")) {
      r.issue("error_reply", "is only used with an 'http' action");
    } else {
      Scope error_scope = scope;
      error_scope.names.insert(error_scope.names.end(), kErrorPlaceholders.begin(),
                               kErrorPlaceholders.end());
      rule.error_reply = checked_template(*error_reply, error_scope, r.path_of("error_reply"),
                                          issues);
    }
  }
  if (auto denied = r.text("denied_reply")) {
    rule.denied_reply = checked_template(*denied, scope, r.path_of("denied_reply"), issues);
  }
  if (auto users = r.string_list("users")) {
    for (const auto& user : *users) rule.users.push_back(to_lower_ascii(trim(user)));
  }
  if (auto roles = r.string_list("roles")) {
    for (const auto& role : *roles) rule.roles.push_back(to_lower_ascii(trim(role)));
  }
  if (auto followup = r.boolean("followup")) rule.followup = *followup;
  return rule;
}

Config parse(const Json& section, std::vector<ConfigIssue>& issues) {
  Config config;
  std::string error;
  config.denied_reply = *parse_template(kDefaultDeniedReply, error);
  milliseconds timeout{10000};
  const Json* list = nullptr;
  std::string list_path;
  if (section.is_array()) {
    // The section may be the list itself (interactions.rules: [...]).
    list = &section;
  } else {
    SectionReader top(section, "", issues);
    top.only_keys({"rules", "denied_reply", "timeout"});
    if (auto t = top.duration("timeout")) timeout = *t;
    if (auto denied = top.text("denied_reply")) {
      if (auto tmpl = checked_template(*denied, Scope{kQueryPlaceholders, false},
                                       top.path_of("denied_reply"), issues)) {
        config.denied_reply = std::move(*tmpl);
      }
    }
    list = top.get("rules");
    list_path = "rules";
    if (!list && top.valid()) {
      top.issue("rules", "is required: a list of rules");
    } else if (list && !list->is_array()) {
      top.issue("rules", "expected a list of rules, got " + kind_of(*list));
      list = nullptr;
    }
  }
  if (!list) return config;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = index_path(list_path, i);
    config.rules.push_back(parse_rule(list->at(i), path, i, timeout, issues));
    const auto [it, inserted] = names.emplace(config.rules.back().name, i);
    if (!inserted) {
      issues.push_back({join_path(path, "name"), "name " + in_quotes(it->first) +
                                                      " is already used by rules[" +
                                                      std::to_string(it->second) + "]"});
    }
  }
  return config;
}

// ---- The engine -------------------------------------------------------------------------------

bool allowed(const Rule& rule, const Query& query) {
  if (rule.users.empty() && rule.roles.empty()) return true;
  const std::string user = to_lower_ascii(query.automation_user);
  const std::string role = to_lower_ascii(query.role);
  if (!user.empty() && std::find(rule.users.begin(), rule.users.end(), user) != rule.users.end())
    return true;
  return !role.empty() && std::find(rule.roles.begin(), rule.roles.end(), role) != rule.roles.end();
}

Vars query_vars(const Query& query) {
  Vars vars;
  vars.values["user"] = query.automation_user;
  vars.values["username"] = query.rc_username;
  vars.values["display_name"] =
      query.rc_display_name.empty() ? query.rc_username : query.rc_display_name;
  vars.values["role"] = query.role;
  vars.values["room"] = query.room_name;
  vars.values["room_id"] = query.room_id;
  vars.values["text"] = query.text;
  return vars;
}

class RulesEngine final : public InteractionEngine {
 public:
  RulesEngine(std::shared_ptr<const Config> config, PluginHttpClient& http, PluginLog& log)
      : config_(std::move(config)), http_(http), log_(log) {}

  std::string name() const override { return "rules"; }

  void ask(const Query& query, std::function<void(Answer)> done) override {
    std::optional<Answer> answer;
    const Rule* action_rule = nullptr;
    Vars vars;
    try {
      answer = decide(query, action_rule, vars);
    } catch (const std::exception& e) {
      answer = Answer::failed(std::string("rules: unexpected error: ") + e.what());
    }
    if (answer) {
      done(std::move(*answer));
      return;
    }
    start_action(*action_rule, std::move(vars), std::move(done));
  }

 private:
  // An answer now, or nullopt with the rule whose HTTP action must run first.
  std::optional<Answer> decide(const Query& query, const Rule*& action_rule, Vars& vars) const {
    const std::string text = trim(query.text);
    if (text.empty()) return Answer::not_mine();
    const std::vector<std::string> words = words_of(fold(text, true));
    std::vector<std::size_t> origin;
    const std::string folded = fold(text, false, &origin);
    const Rule* denied = nullptr;
    Vars denied_vars;
    for (const Rule& rule : config_->rules) {
      Vars candidate = query_vars(query);
      candidate.values["text"] = text;
      if (!matches(rule, words, text, folded, origin, candidate)) continue;
      if (!allowed(rule, query)) {
        if (!denied) denied = &rule, denied_vars = std::move(candidate);
        continue;
      }
      if (rule.http) {
        action_rule = &rule;
        vars = std::move(candidate);
        return std::nullopt;
      }
      Reply reply;
      reply.text = trim(render(*rule.reply, candidate));
      reply.expects_followup = rule.followup;
      if (reply.text.empty()) {
        log_.debug("rule '" + rule.name + "' matched but its reply is empty; not answering");
        return Answer::not_mine();
      }
      return Answer::replied(std::move(reply));
    }
    if (denied) {
      const Template& tmpl = denied->denied_reply ? *denied->denied_reply : config_->denied_reply;
      Reply reply;
      reply.text = trim(render(tmpl, denied_vars));
      log_.info("rule '" + denied->name + "' matched but " +
                (query.automation_user.empty() ? "this person" : "'" + query.automation_user + "'") +
                " may not use it");
      if (reply.text.empty()) return Answer::not_mine();
      return Answer::replied(std::move(reply));
    }
    return Answer::not_mine();
  }

  bool matches(const Rule& rule, const std::vector<std::string>& words, const std::string& text,
               const std::string& folded, const std::vector<std::size_t>& origin,
               Vars& vars) const {
    if (rule.regex) {
      if (folded.size() > kMaxRegexInput) return false;
      std::smatch match;
      try {
        if (!std::regex_search(folded, match, *rule.regex)) return false;
      } catch (const std::regex_error& e) {
        log_.warn("rule '" + rule.name + "': the pattern could not be applied: " + e.what());
        return false;
      }
      for (const auto& [name, group] : rule.captures) {
        std::string value;
        if (group < match.size() && match[group].matched) {
          const auto begin = static_cast<std::size_t>(match.position(group));
          const auto end = begin + static_cast<std::size_t>(match.length(group));
          value = text.substr(origin[begin], origin[end] - origin[begin]);
        }
        vars.values[name] = trim(value);
      }
      return true;
    }
    if (rule.keywords.empty()) return false;
    return std::all_of(rule.keywords.begin(), rule.keywords.end(), [&](const Keyword& keyword) {
      return std::any_of(keyword.begin(), keyword.end(),
                         [&](const Phrase& phrase) { return phrase_found(phrase, words); });
    });
  }

  void start_action(const Rule& rule, Vars vars, std::function<void(Answer)> done) {
    HttpCall call;
    try {
      const HttpAction& action = *rule.http;
      call = make_call(action.method, render(action.url, vars, Escape::Url), action.options);
      for (const auto& [name, tmpl] : action.headers) {
        call.headers.emplace_back(name, render(tmpl, vars, Escape::HeaderValue));
      }
      if (action.body) {
        call.body = render(*action.body, vars);
      } else if (action.json) {
        call.body = render_json(*action.json, vars).dump();
        add_header_if_missing(call.headers, "Content-Type", "application/json");
      }
    } catch (const std::exception& e) {
      done(Answer::failed("rule '" + rule.name + "': could not build the request: " + e.what()));
      return;
    }
    const std::string what = "rule '" + rule.name + "': " + call.method + " " + url_for_log(call.url);
    log_.debug(what);
    // The rules are immutable and shared: the callback keeps them alive on its own.
    auto config = config_;
    PluginLog* log = &log_;
    http_.request(std::move(call), [config, &rule, vars = std::move(vars), what, log,
                                    done = std::move(done)](HttpResult result) mutable {
      Answer answer;
      try {
        answer = finish_action(rule, vars, result, what, *log);
      } catch (const std::exception& e) {
        answer = Answer::failed(what + ": unexpected error: " + e.what());
      }
      done(std::move(answer));
    });
  }

  static Answer finish_action(const Rule& rule, Vars& vars, const HttpResult& result,
                              const std::string& what, PluginLog& log) {
    vars.values["status"] = result.status ? std::to_string(result.status) : "";
    std::string body = trim(result.body);
    if (body.size() > kMaxBodyPlaceholder) body = excerpt(body, kMaxBodyPlaceholder);
    vars.values["body"] = body;
    if (!result.ok()) {
      const std::string error = describe_failure(result);
      if (rule.error_reply) {
        log.warn(what + " failed: " + error);
        vars.values["error"] = error;
        Reply reply;
        reply.text = trim(render(*rule.error_reply, vars));
        if (!reply.text.empty()) return Answer::replied(std::move(reply));
      }
      return Answer::failed(what + " failed: " + error);
    }
    vars.json = Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
    if (vars.json->is_discarded()) vars.json.reset();
    Reply reply;
    reply.text = rule.reply ? trim(render(*rule.reply, vars)) : std::string();
    if (reply.text.empty()) reply.text = kDefaultActionReply;
    reply.expects_followup = rule.followup;
    return Answer::replied(std::move(reply));
  }

  std::shared_ptr<const Config> config_;
  PluginHttpClient& http_;
  PluginLog& log_;
};

}  // namespace

std::string fold(std::string_view text, bool lowercase, std::vector<std::size_t>* origin) {
  std::string out;
  out.reserve(text.size());
  if (origin) {
    origin->clear();
    origin->reserve(text.size() + 1);
  }
  auto emit = [&](std::string_view piece, std::size_t from) {
    for (char c : piece) {
      out += lowercase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
      if (origin) origin->push_back(from);
    }
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 >= 0xC2 && b0 <= 0xC5 && i + 1 < text.size() &&
        (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const unsigned cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      const char* base = nullptr;
      if (cp >= 0xC0 && cp < 0x180) base = kFoldTable[cp - 0xC0];
      if (cp == 0xA0) base = " ";  // no-break space
      if (base) {
        emit(base, i);
        i += 2;
        continue;
      }
    }
    if (b0 == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      // Typographic quotes and dashes, as phones type them: ’ ‘ “ ” – —
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      const char* plain = nullptr;
      if (b2 == 0x98 || b2 == 0x99) plain = "'";
      if (b2 == 0x9C || b2 == 0x9D) plain = "\"";
      if (b2 == 0x93 || b2 == 0x94) plain = "-";
      if (plain) {
        emit(plain, i);
        i += 3;
        continue;
      }
    }
    // Any other byte (ASCII, or part of a character without a plain form) is kept as it is.
    emit(std::string_view(&text[i], 1), i);
    ++i;
  }
  if (origin) origin->push_back(text.size());
  return out;
}

std::vector<ConfigIssue> validate(const Json& section) { return collect_issues(section, parse); }

std::shared_ptr<InteractionEngine> make_engine(const Json& section, PluginHttpClient& http,
                                               PluginLog& log) {
  auto config = std::make_shared<const Config>(parse_valid("rules", section, parse));
  return std::make_shared<RulesEngine>(std::move(config), http, log);
}

PluginInfo plugin_info() {
  return engine_plugin_info(
      "rules",
      "answers with the operator's own rules: keywords or patterns -> reply and/or HTTP request",
      validate, [](PluginContext& context) {
        return make_engine(context.config(), context.http(), context.log());
      });
}

}  // namespace rcgate::plugins::rules
