#pragma once
// Logging set-up shared by rcgate and its tools. The logger is spdlog's default logger.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace rcgate::log {

// Level names: trace, debug, info, warn, error, off. Unknown names keep "info".
void setup(std::string_view level, bool journal_style);

// Shortens a secret for logs: never prints more than its last 4 characters ("…b3Xz").
std::string redact(std::string_view secret);

}  // namespace rcgate::log
