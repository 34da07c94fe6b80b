// libFuzzer target: the configuration loader on arbitrary YAML. Every input must end in
// settings or in problems; an exception that escapes load_text (yaml-cpp's own included) or a
// crash is a finding. The file "lives" in a directory that does not exist, so relative paths
// name no file.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/loader.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace config = rcgate::config;
  static const config::Environment env = {
      {"RCGATE_PASSWORD", "fuzz-password"},
      {"RCGATE_TOKEN", "fuzz-token-0123456789"},
      {"RCGATE_API_KEY", "fuzz-api-key-0123456789abcdef"},
      {"RCGATE_MQTT_PASSWORD", "fuzz-mqtt"},
  };
  const std::string path = "/nonexistent-rcgate-fuzz/rcgate.yaml";
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result = config::load_text(text, path, env);
  for (const auto& p : result.problems) {
    if (p.message.empty()) {
      std::fprintf(stderr, "fuzz_config: a problem without a message at '%s'\n", p.path.c_str());
      std::abort();
    }
  }
  if (!result.ok()) {
    (void)config::format_problems(path, result.problems);
  } else {
    // What the daemon does next with valid settings: check the plugin sections.
    (void)config::validate_plugins(result.settings, {});
  }
  return 0;
}
