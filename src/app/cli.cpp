#include "app/cli.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "app/check.hpp"
#include "app/cli_client.hpp"
#include "config/loader.hpp"
#include "core/log.hpp"
#include "registry.hpp"

namespace rcgate::app {
namespace {

constexpr const char* kDefaultConfig = "/etc/rcgate/rcgate.yaml";

void usage(std::FILE* to) {
  std::fprintf(to,
               "rcgate %s: a Rocket.Chat home-automation gateway\n"
               "\n"
               "usage: rcgate [COMMAND] [--config FILE] [--log-level LEVEL]\n"
               "\n"
               "commands:\n"
               "  run       connect to Rocket.Chat and serve (default)\n"
               "  check     test the connection step by step and say what to fix\n"
               "  config    validate the configuration file and exit\n"
               "  version   print the version\n"
               "  help      this text\n"
               "\n"
               "commands that talk to the running rcgate through its local API (api: section;\n"
               "rcgate COMMAND --help for each):\n",
               RCGATE_VERSION);
  api_commands_usage(to);
  std::fprintf(to,
               "\n"
               "options:\n"
               "  --config FILE      configuration file (default %s)\n"
               "  --log-level LEVEL  trace, debug, info, warn or error (overrides log.level)\n"
               "\n"
               "exit codes: 0 ok, 1 failure (check: something to fix), 2 the ask timed out (ask),\n"
               "            64 usage error, 78 configuration error (systemd does not restart on it)\n"
               "secrets may come from RCGATE_PASSWORD / RCGATE_TOKEN instead of the file,\n"
               "the API key from RCGATE_API_KEY.\n",
               kDefaultConfig);
}

// The command: the first argument that is neither an option nor an option's value.
std::size_t command_index(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || a == "-c" || a == "--log-level") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] != '-') return i;
  }
  return args.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = "run";
  std::string config_path = kDefaultConfig;
  std::string log_level;
  std::vector<std::string> args(argv + 1, argv + argc);
  // The API commands take their own options and free text: everything but the command goes to
  // them, options given before the command included.
  if (const auto at = command_index(args); at < args.size() && is_api_command(args[at])) {
    const std::string api_command = args[at];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(at));
    return run_api_command(api_command, args, config_path, false);
  }
  bool command_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "rcgate: %s needs a value (see rcgate help)\n", name);
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--config" || a == "-c") {
      auto v = value("--config");
      if (!v) return kExitUsage;
      config_path = *v;
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a == "--log-level") {
      auto v = value("--log-level");
      if (!v) return kExitUsage;
      log_level = *v;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("rcgate %s\n", RCGATE_VERSION);
      return 0;
    } else if (!a.empty() && a[0] != '-' && !command_seen) {
      command = a;
      command_seen = true;
    } else {
      std::fprintf(stderr, "rcgate: unknown argument '%s' (see rcgate help)\n", a.c_str());
      return kExitUsage;
    }
  }

  if (command == "help") {
    usage(stdout);
    return 0;
  }
  if (command == "version") {
    std::printf("rcgate %s\n", RCGATE_VERSION);
    return 0;
  }
  if (command != "run" && command != "check" && command != "config") {
    std::fprintf(stderr, "rcgate: unknown command '%s' (see rcgate help)\n", command.c_str());
    return kExitUsage;
  }

  auto loaded = config::load_file(config_path);
  if (loaded.ok()) {
    // Plugin sections are checked by the plugins themselves, with the same report.
    loaded.problems = config::validate_plugins(loaded.settings, builtin_plugins());
  }
  if (!loaded.ok()) {
    std::fputs(config::format_problems(config_path, loaded.problems).c_str(), stderr);
    return config::kExitConfig;
  }
  if (!log_level.empty()) loaded.settings.log.level = log_level;

  if (command == "config") {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }
  if (command == "check") {
    log::setup("warn", false);
    return run_check(loaded.settings, config_path, std::cout);
  }
  // Under systemd (JOURNAL_STREAM set) the journal adds timestamps itself.
  log::setup(loaded.settings.log.level, std::getenv("JOURNAL_STREAM") != nullptr);
  return run_daemon(loaded.settings, config_path);
}

}  // namespace rcgate::app
