#pragma once
// The `webhook` interaction engine: POSTs the question as JSON to the operator's own service and
// takes the reply from the answer. See README.md.
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate::plugins::webhook {

PluginInfo plugin_info();

std::vector<ConfigIssue> validate(const nlohmann::json& section);

// The engine for a validated section; throws std::invalid_argument listing the problems when the
// section is not valid. `http` and `log` must outlive the engine.
std::shared_ptr<InteractionEngine> make_engine(const nlohmann::json& section,
                                               PluginHttpClient& http, PluginLog& log);

// The JSON body sent for a question (every field of the Query).
nlohmann::json query_json(const Query& query);

}  // namespace rcgate::plugins::webhook
