#pragma once
// The `jeedom` interaction engine: Jeedom's interactions through its JSON-RPC API
// (interact::tryToReply on /core/api/jeeApi.php). See README.md.
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate::plugins::jeedom {

PluginInfo plugin_info();

std::vector<ConfigIssue> validate(const nlohmann::json& section);

// The engine for a validated section; throws std::invalid_argument listing the problems when the
// section is not valid. `http` and `log` must outlive the engine.
std::shared_ptr<InteractionEngine> make_engine(const nlohmann::json& section,
                                               PluginHttpClient& http, PluginLog& log);

}  // namespace rcgate::plugins::jeedom
