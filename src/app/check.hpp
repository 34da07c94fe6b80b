#pragma once
// `rcgate check`: tests the connection step by step, one line per check with the fix.
#include <ostream>
#include <string>

#include "config/settings.hpp"

namespace rcgate::app {

// Returns 0 only when every check passed (no FAIL, no WARN); 1 otherwise.
int run_check(const config::Settings& settings, const std::string& config_path, std::ostream& out);

}  // namespace rcgate::app
