#include "registry.hpp"

#include "homeassistant/homeassistant.hpp"
#include "jeedom/jeedom.hpp"
#include "rules/rules.hpp"
#include "webhook/webhook.hpp"

namespace rcgate {

const std::vector<PluginInfo>& builtin_plugins() {
  static const std::vector<PluginInfo> plugins = {
      plugins::rules::plugin_info(),
      plugins::homeassistant::plugin_info(),
      plugins::jeedom::plugin_info(),
      plugins::webhook::plugin_info(),
  };
  return plugins;
}

const PluginInfo* find_builtin_plugin(std::string_view name) {
  for (const auto& plugin : builtin_plugins()) {
    if (plugin.name == name) return &plugin;
  }
  return nullptr;
}

}  // namespace rcgate
