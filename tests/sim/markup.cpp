#include "markup.hpp"

#include <algorithm>
#include <cctype>

namespace rcgate::sim {
namespace {

using json = nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  // Non-ASCII bytes are accepted so UTF-8 names stay whole.
  return std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-' || u >= 0x80;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

void push_text(std::vector<Token>& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == Token::Kind::Text) {
    out.back().text.append(text);
  } else {
    out.push_back({Token::Kind::Text, std::string(text)});
  }
}

json plain(std::string text) { return {{"type", "PLAIN_TEXT"}, {"value", std::move(text)}}; }

std::vector<std::string> collect(std::string_view text, Token::Kind kind) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    for (auto& token : tokenize_line(text.substr(start, end - start))) {
      if (token.kind == kind && std::find(out.begin(), out.end(), token.text) == out.end()) {
        out.push_back(std::move(token.text));
      }
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<Token> tokenize_line(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  std::size_t text_start = 0;
  while (i < line.size()) {
    const bool at_word_start = i == 0 || is_space(line[i - 1]);
    if (!at_word_start) {
      ++i;
      continue;
    }
    const std::string_view rest = line.substr(i);
    if (starts_with(rest, "http://") || starts_with(rest, "https://")) {
      std::size_t end = i;
      while (end < line.size() && !is_space(line[end])) ++end;
      push_text(out, line.substr(text_start, i - text_start));
      out.push_back({Token::Kind::Url, std::string(line.substr(i, end - i))});
      i = text_start = end;
      continue;
    }
    if (line[i] == '@' || line[i] == '#') {
      std::size_t end = i + 1;
      while (end < line.size() && is_name_char(line[end])) ++end;
      // Trailing punctuation belongs to the sentence, not to the name.
      while (end > i + 1 && (line[end - 1] == '.' || line[end - 1] == '-')) --end;
      if (end > i + 1) {
        push_text(out, line.substr(text_start, i - text_start));
        out.push_back({line[i] == '@' ? Token::Kind::Mention : Token::Kind::Channel,
                       std::string(line.substr(i + 1, end - i - 1))});
        i = text_start = end;
        continue;
      }
    }
    ++i;
  }
  push_text(out, line.substr(text_start));
  return out;
}

std::vector<std::string> mentioned_names(std::string_view text) {
  return collect(text, Token::Kind::Mention);
}
std::vector<std::string> channel_names(std::string_view text) {
  return collect(text, Token::Kind::Channel);
}
std::vector<std::string> urls_in(std::string_view text) { return collect(text, Token::Kind::Url); }

json markdown_ast(std::string_view text) {
  json blocks = json::array();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.empty()) {
      if (end < text.size() || start == 0) blocks.push_back({{"type", "LINE_BREAK"}, {"value", nullptr}});
    } else {
      json inlines = json::array();
      for (auto& token : tokenize_line(line)) {
        switch (token.kind) {
          case Token::Kind::Text:
            inlines.push_back(plain(std::move(token.text)));
            break;
          case Token::Kind::Mention:
            inlines.push_back({{"type", "MENTION_USER"}, {"value", plain(std::move(token.text))}});
            break;
          case Token::Kind::Channel:
            inlines.push_back({{"type", "MENTION_CHANNEL"}, {"value", plain(std::move(token.text))}});
            break;
          case Token::Kind::Url:
            inlines.push_back({{"type", "LINK"},
                               {"value", {{"src", plain(token.text)},
                                          {"label", json::array({plain(token.text)})}}}});
            break;
        }
      }
      blocks.push_back({{"type", "PARAGRAPH"}, {"value", std::move(inlines)}});
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return blocks;
}

}  // namespace rcgate::sim
