#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace rcgate::log {

namespace {

// "<N>" prefix that journald reads as the priority (SyslogLevelPrefix=, on by default), so
// `journalctl -p warning` works without a syslog sink.
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prefix = "<7>"; break;
      case spdlog::level::info: prefix = "<6>"; break;
      case spdlog::level::warn: prefix = "<4>"; break;
      case spdlog::level::err: prefix = "<3>"; break;
      case spdlog::level::critical: prefix = "<2>"; break;
      default: break;
    }
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

spdlog::level::level_enum level_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "trace") return spdlog::level::trace;
  if (lower == "debug") return spdlog::level::debug;
  if (lower == "info") return spdlog::level::info;
  if (lower == "warn" || lower == "warning") return spdlog::level::warn;
  if (lower == "error" || lower == "err") return spdlog::level::err;
  if (lower == "critical") return spdlog::level::critical;
  if (lower == "off") return spdlog::level::off;
  return spdlog::level::info;
}

}  // namespace

void setup(std::string_view level, bool journal_style) {
  // stderr keeps stdout free for the output of CLI subcommands; systemd captures both.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      journal_style ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto logger = std::make_shared<spdlog::logger>("rcgate", std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (journal_style) {
    // The journal stamps time and unit itself.
    formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*%l: %v");
  } else {
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level_from_name(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

std::string redact(std::string_view secret) {
  if (secret.empty()) return "(empty)";
  // Short secrets show less, so the tail is never a large share of the secret.
  std::size_t shown = std::min<std::size_t>(4, secret.size() / 4);
  std::string_view tail = secret.substr(secret.size() - shown);
  // Do not start in the middle of a UTF-8 sequence.
  while (!tail.empty() && (static_cast<unsigned char>(tail.front()) & 0xC0) == 0x80) {
    tail.remove_prefix(1);
  }
  return "\u2026" + std::string(tail);
}

}  // namespace rcgate::log
