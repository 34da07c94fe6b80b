#pragma once
// What the server derives from a message's text: @-mentions, #channels, URLs and the
// message-parser AST ("md"), in the shapes of PROTOCOL.md §5 and the fixtures. Pure.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace rcgate::sim {

struct Token {
  enum class Kind { Text, Mention, Channel, Url };
  Kind kind = Kind::Text;
  std::string text;  // for Mention/Channel: the name without '@'/'#'; for Url: the URL
};

// Splits one line into plain text, @name, #name and http(s) URL tokens. A mention or channel
// starts at the beginning of the line or after whitespace; trailing '.', ',' and ':' are not
// part of the name (like the server's mention rule).
std::vector<Token> tokenize_line(std::string_view line);

// Every @name / #name / URL in the text, in order, without duplicates.
std::vector<std::string> mentioned_names(std::string_view text);
std::vector<std::string> channel_names(std::string_view text);
std::vector<std::string> urls_in(std::string_view text);

// The message-parser AST: one PARAGRAPH per line (LINE_BREAK for empty lines) with PLAIN_TEXT,
// MENTION_USER, MENTION_CHANNEL and LINK nodes.
nlohmann::json markdown_ast(std::string_view text);

}  // namespace rcgate::sim
