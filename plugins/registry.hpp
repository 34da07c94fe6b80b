#pragma once
// The plugins built into rcgate. The configuration names a plugin by PluginInfo::name.
#include <string_view>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate {

// rules, homeassistant, jeedom, webhook — in that order.
const std::vector<PluginInfo>& builtin_plugins();

// The built-in plugin called `name`, or nullptr.
const PluginInfo* find_builtin_plugin(std::string_view name);

}  // namespace rcgate
