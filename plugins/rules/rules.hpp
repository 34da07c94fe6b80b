#pragma once
// The `rules` interaction engine: the operator's own sentences, matched by keywords or by a
// regular expression, answered with a reply template and/or an HTTP request. See README.md.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rcgate/plugin.hpp"

namespace rcgate::plugins::rules {

PluginInfo plugin_info();

// Every problem in the section at once (paths relative to the section).
std::vector<ConfigIssue> validate(const nlohmann::json& section);

// The engine for a validated section; throws std::invalid_argument listing the problems when the
// section is not valid. `http` and `log` must outlive the engine.
std::shared_ptr<InteractionEngine> make_engine(const nlohmann::json& section,
                                               PluginHttpClient& http, PluginLog& log);

// Text as the matcher sees it: accents removed ("Allumé" -> "Allume", "œ" -> "oe", typographic
// quotes made plain) and, with `lowercase`, ASCII letters lower-cased. `origin`, when given,
// receives for every output byte the offset of the input byte it came from (plus one entry for
// the end), so that a match in the folded text can be cut out of the original.
std::string fold(std::string_view text, bool lowercase,
                 std::vector<std::size_t>* origin = nullptr);

}  // namespace rcgate::plugins::rules
