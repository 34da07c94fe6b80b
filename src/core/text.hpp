#pragma once
// Small text helpers shared across rcgate.
#include <string>
#include <string_view>

namespace rcgate::core {

// ASCII lower case, whatever the locale: header names, URL schemes, configuration words,
// usernames compared case-insensitively. Other bytes (UTF-8 included) are kept as they are.
inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace rcgate::core
