#pragma once
// The `homeassistant` interaction engine: Home Assistant's conversation API
// (POST /api/conversation/process). See README.md.
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate::plugins::homeassistant {

PluginInfo plugin_info();

std::vector<ConfigIssue> validate(const nlohmann::json& section);

// The engine for a validated section; throws std::invalid_argument listing the problems when the
// section is not valid. The three services must outlive the engine.
std::shared_ptr<InteractionEngine> make_engine(const nlohmann::json& section,
                                               PluginHttpClient& http, Scheduler& scheduler,
                                               PluginLog& log);

}  // namespace rcgate::plugins::homeassistant
