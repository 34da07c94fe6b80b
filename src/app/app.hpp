#pragma once
// The daemon: builds every part from the settings, starts them in order, stops them in reverse.
#include <string>

#include "config/settings.hpp"

namespace rcgate::app {

// Runs until SIGTERM/SIGINT (exit 0) or until a problem only the operator can fix (exit 78).
int run_daemon(const config::Settings& settings, const std::string& config_path);

}  // namespace rcgate::app

#include "rocketchat/realtime_client.hpp"

namespace rcgate::app {
// The realtime client's options from the settings (shared by the daemon and `rcgate check`).
rc::RealtimeOptions realtime_options(const config::Settings& settings);
}  // namespace rcgate::app
