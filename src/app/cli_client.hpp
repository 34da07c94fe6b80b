#pragma once
// The commands that talk to the running daemon through its local HTTP API (api_server.hpp):
// `rcgate send`, `ask`, `upload`, `devices` and `users`. They find the API at
// http://<api.listen>:<api.port> with api.key from the configuration file (when api.port is 0,
// the port the daemon wrote to <state_dir>/api.port); `--api URL` and RCGATE_API_KEY override.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitAskTimedOut = 2;
inline constexpr int kExitUsage = 64;  // EX_USAGE

// send, ask, upload, devices, users.
bool is_api_command(std::string_view command);

// Runs `rcgate <command> <args...>`. config_path: the configuration file named before the
// command (or the default); config_given: whether it was named at all. Returns the exit code:
// 0 ok, 1 failure, 2 the ask timed out, 64 usage error, 78 configuration error.
int run_api_command(const std::string& command, const std::vector<std::string>& args,
                    const std::string& config_path, bool config_given);

// The commands' lines for `rcgate help`.
void api_commands_usage(std::FILE* to);

}  // namespace rcgate::app
