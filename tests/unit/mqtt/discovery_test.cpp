// Home Assistant's device-based MQTT discovery, checked field by field against its documented
// schema (home-assistant.io, integrations/mqtt: "Discovery messages", "Device discovery payload",
// "Supported abbreviations", and each platform's page: notify.mqtt, text.mqtt, sensor.mqtt,
// event.mqtt, binary_sensor.mqtt):
// - topic <prefix>/device/<object_id>/config, object_id of [a-zA-Z0-9_-];
// - the root has the device ("dev") and origin ("o", with a name) mappings and the components
//   ("cmps"); shared options only from availability, origin, command_topic, state_topic, qos,
//   encoding;
// - every component has its platform ("p") and a unique_id; the keys a platform requires;
// - every key is a documented option, abbreviated or not;
// - availability entries carry a topic; unique ids are unique across everything published.
#include "mqtt/discovery.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

namespace rcgate::mqtt {
namespace {

using json = nlohmann::json;

// The abbreviations Home Assistant documents (the subset any of rcgate's payloads may use).
const std::map<std::string, std::string> kAbbreviations = {
    {"avty", "availability"},
    {"avty_mode", "availability_mode"},
    {"avty_t", "availability_topic"},
    {"cmd_t", "command_topic"},
    {"cmps", "components"},
    {"dev", "device"},
    {"dev_cla", "device_class"},
    {"e", "encoding"},
    {"ent_cat", "entity_category"},
    {"evt_typ", "event_types"},
    {"ic", "icon"},
    {"json_attr_t", "json_attributes_topic"},
    {"json_attr_tpl", "json_attributes_template"},
    {"o", "origin"},
    {"p", "platform"},
    {"pl_avail", "payload_available"},
    {"pl_not_avail", "payload_not_available"},
    {"pl_off", "payload_off"},
    {"pl_on", "payload_on"},
    {"stat_cla", "state_class"},
    {"stat_t", "state_topic"},
    {"t", "topic"},
    {"uniq_id", "unique_id"},
    {"unit_of_meas", "unit_of_measurement"},
    {"val_tpl", "value_template"},
};
const std::map<std::string, std::string> kDeviceAbbreviations = {
    {"cns", "connections"}, {"cu", "configuration_url"}, {"ids", "identifiers"},
    {"mf", "manufacturer"}, {"mdl", "model"},            {"sw", "sw_version"},
    {"hw", "hw_version"},   {"sa", "suggested_area"},    {"sn", "serial_number"}};
const std::map<std::string, std::string> kOriginAbbreviations = {{"sw", "sw_version"},
                                                                 {"url", "support_url"}};

std::string full(const std::map<std::string, std::string>& table, const std::string& key) {
  auto it = table.find(key);
  return it == table.end() ? key : it->second;
}

// Options each platform documents (full names), and the ones it requires.
struct Platform {
  std::set<std::string> options;
  std::set<std::string> required;
};
const std::set<std::string> kEntityCommon = {"platform", "name", "unique_id", "icon",
                                             "entity_category", "json_attributes_topic",
                                             "json_attributes_template", "availability",
                                             "availability_mode", "qos", "enabled_by_default"};
std::set<std::string> with_common(std::set<std::string> extra) {
  extra.insert(kEntityCommon.begin(), kEntityCommon.end());
  return extra;
}
const std::map<std::string, Platform> kPlatforms = {
    {"notify", {with_common({"command_topic", "command_template", "retain"}), {"command_topic"}}},
    {"text",
     {with_common({"command_topic", "command_template", "state_topic", "value_template", "mode",
                   "min", "max", "pattern", "retain"}),
      {"command_topic"}}},
    {"sensor",
     {with_common({"state_topic", "value_template", "device_class", "state_class",
                   "unit_of_measurement", "expire_after", "force_update"}),
      {"state_topic"}}},
    {"binary_sensor",
     {with_common({"state_topic", "value_template", "device_class", "payload_on", "payload_off",
                   "expire_after", "off_delay"}),
      {"state_topic"}}},
    {"event",
     {with_common({"state_topic", "value_template", "event_types", "device_class"}),
      {"state_topic", "event_types"}}},
};
const std::set<std::string> kSharedRootOptions = {"device",        "origin",       "components",
                                                  "availability",  "availability_mode",
                                                  "availability_topic", "command_topic",
                                                  "state_topic",   "qos",          "encoding"};
const std::set<std::string> kDeviceOptions = {"connections",  "configuration_url", "identifiers",
                                              "manufacturer", "model",             "name",
                                              "sw_version",   "hw_version",        "suggested_area",
                                              "serial_number", "via_device"};

TopicContext context() { return {"rcgate", "homeassistant", "rcgate", "1.2.3"}; }

json kitchen() {
  return {{"id", "GENERAL"},           {"name", "Kitchen"},
          {"room_name", "kitchen"},    {"room_type", "c"},
          {"available", true},         {"last_message", "hello"},
          {"last_message_id", "m1"},   {"last_sender", "alice"},
          {"last_sender_name", "Alice"}, {"last_message_at", "2024-05-01T10:00:00.000Z"}};
}

// Checks one device discovery payload against the schema; returns its unique ids.
std::set<std::string> check_device_payload(const std::string& topic, const json& payload,
                                           const std::string& state_topic_prefix) {
  std::set<std::string> ids;
  static const std::regex kTopic("^homeassistant/device/[a-zA-Z0-9_-]+/config$");
  EXPECT_TRUE(std::regex_match(topic, kTopic)) << topic;
  EXPECT_TRUE(payload.is_object());

  for (const auto& [key, value] : payload.items()) {
    EXPECT_TRUE(kSharedRootOptions.count(full(kAbbreviations, key)))
        << "root key '" << key << "' is not a shared option of device discovery";
  }
  // device: identifiers and a name, only documented keys.
  EXPECT_TRUE(payload.contains("dev")) << payload;
  const json& dev = payload["dev"];
  EXPECT_TRUE(dev.contains("ids") && dev["ids"].is_array() && !dev["ids"].empty()) << dev;
  EXPECT_TRUE(dev.contains("name") && dev["name"].is_string() && !dev["name"].get<std::string>().empty());
  for (const auto& [key, value] : dev.items())
    EXPECT_TRUE(kDeviceOptions.count(full(kDeviceAbbreviations, key))) << "device key " << key;
  // origin: required, with a name.
  EXPECT_TRUE(payload.contains("o")) << payload;
  EXPECT_EQ(payload["o"].value("name", ""), "rcgate");
  for (const auto& [key, value] : payload["o"].items())
    EXPECT_TRUE(key == "name" || kOriginAbbreviations.count(key)) << "origin key " << key;
  EXPECT_EQ(payload["o"].value("sw", ""), "1.2.3");
  // availability: a list of {topic, payloads}; the first is the bridge's state.
  EXPECT_TRUE(payload["avty"].is_array() && !payload["avty"].empty()) << payload;
  for (const auto& a : payload["avty"]) {
    EXPECT_TRUE(a.contains("t")) << a;
    EXPECT_EQ(a.value("pl_avail", ""), "online");
    EXPECT_EQ(a.value("pl_not_avail", ""), "offline");
    for (const auto& [key, value] : a.items())
      EXPECT_TRUE(key == "t" || key == "pl_avail" || key == "pl_not_avail" || key == "val_tpl")
          << key;
  }
  EXPECT_EQ(payload["avty"][0]["t"], "rcgate/bridge/state");
  if (payload.contains("avty_mode")) {
    EXPECT_EQ(payload["avty_mode"], "all");
  }
  // components
  EXPECT_TRUE(payload["cmps"].is_object() && !payload["cmps"].empty());
  for (const auto& [cid, c] : payload["cmps"].items()) {
    EXPECT_TRUE(std::regex_match(cid, std::regex("^[a-zA-Z0-9_-]+$"))) << cid;
    EXPECT_TRUE(c.contains("p")) << cid;
    const std::string platform = c.value("p", "");
    if (!kPlatforms.count(platform)) {
      ADD_FAILURE() << cid << ": platform '" << platform << "' is not one rcgate means to use";
      continue;
    }
    const auto& schema = kPlatforms.at(platform);
    std::set<std::string> present;
    for (const auto& [key, value] : c.items()) {
      const std::string name = full(kAbbreviations, key);
      present.insert(name);
      EXPECT_TRUE(schema.options.count(name))
          << cid << ": '" << key << "' is not a documented " << platform << " option";
      if (name.size() > 6 && name.compare(name.size() - 6, 6, "_topic") == 0) {
        EXPECT_TRUE(value.is_string());
        const std::string t = value;
        EXPECT_EQ(t.rfind(state_topic_prefix, 0), 0u) << cid << ": " << t;
        EXPECT_EQ(t.find_first_of("+#"), std::string::npos) << t;
      }
    }
    for (const auto& need : schema.required)
      EXPECT_TRUE(present.count(need)) << cid << " (" << platform << ") lacks " << need;
    EXPECT_TRUE(present.count("unique_id")) << cid;
    const std::string uid = c.value("uniq_id", "");
    EXPECT_TRUE(ids.insert(uid).second) << "duplicate unique id " << uid;
    EXPECT_TRUE(c.contains("name")) << cid;
  }
  return ids;
}

TEST(Discovery, RoomDeviceFollowsTheSchema) {
  const auto c = context();
  const json payload = room_discovery(c, kitchen(), "kitchen");
  EXPECT_EQ(room_discovery_topic(c, "GENERAL"), "homeassistant/device/rcgate_GENERAL/config");
  const auto ids = check_device_payload(room_discovery_topic(c, "GENERAL"), payload, "rcgate/");
  EXPECT_EQ(ids, (std::set<std::string>{"rcgate_GENERAL_send", "rcgate_GENERAL_compose",
                                        "rcgate_GENERAL_last_message",
                                        "rcgate_GENERAL_last_sender", "rcgate_GENERAL_event"}));

  const json& dev = payload["dev"];
  EXPECT_EQ(dev["ids"], json::array({"rcgate_GENERAL"}));
  EXPECT_EQ(dev["name"], "Kitchen");
  EXPECT_EQ(dev["mf"], "Rocket.Chat");
  EXPECT_EQ(dev["mdl"], "Channel");
  EXPECT_EQ(dev["via_device"], "rcgate_rcgate");  // the gateway device's identifier
  // Both the bridge and the room must be up for the entities to be available.
  EXPECT_EQ(payload["avty"][1]["t"], "rcgate/kitchen/availability");
  EXPECT_EQ(payload["avty_mode"], "all");

  const json& cmps = payload["cmps"];
  EXPECT_EQ(cmps["send"]["p"], "notify");
  EXPECT_EQ(cmps["send"]["cmd_t"], "rcgate/kitchen/send");
  EXPECT_EQ(cmps["compose"]["p"], "text");
  EXPECT_EQ(cmps["compose"]["cmd_t"], "rcgate/kitchen/send");
  EXPECT_EQ(cmps["compose"]["max"], 255);  // HA's state limit
  EXPECT_EQ(cmps["compose"]["mode"], "text");
  EXPECT_EQ(cmps["last_message"]["p"], "sensor");
  EXPECT_EQ(cmps["last_message"]["stat_t"], "rcgate/kitchen");
  // The state is cut to HA's 255 characters; the attributes keep the whole text and the ids.
  EXPECT_EQ(cmps["last_message"]["val_tpl"], "{{ value_json.last_message[:255] }}");
  EXPECT_EQ(cmps["last_message"]["json_attr_t"], "rcgate/kitchen");
  const std::string attributes = cmps["last_message"]["json_attr_tpl"];
  for (const char* field : {"value_json.last_message,", "value_json.id", "value_json.last_message_id",
                            "value_json.last_thread_id", "tojson"})
    EXPECT_NE(attributes.find(field), std::string::npos) << field;
  EXPECT_EQ(cmps["last_sender"]["p"], "sensor");
  EXPECT_EQ(cmps["last_sender"]["val_tpl"], "{{ value_json.last_sender }}");
  EXPECT_EQ(cmps["event"]["p"], "event");
  EXPECT_EQ(cmps["event"]["stat_t"], "rcgate/kitchen/event");
  EXPECT_EQ(cmps["event"]["evt_typ"], json({"message", "mention", "direct", "answer"}));
}

TEST(Discovery, PrivateGroupsAndRenamesKeepTheUniqueIds) {
  const auto c = context();
  json group = kitchen();
  group["room_type"] = "p";
  group["name"] = "Family room";
  const json before = room_discovery(c, kitchen(), "kitchen");
  const json after = room_discovery(c, group, "family_room");
  EXPECT_EQ(after["dev"]["mdl"], "Private group");
  EXPECT_EQ(after["dev"]["name"], "Family room");
  EXPECT_EQ(after["dev"]["ids"], before["dev"]["ids"]);
  for (const auto& [cid, comp] : before["cmps"].items())
    EXPECT_EQ(after["cmps"][cid]["uniq_id"], comp["uniq_id"]) << cid;
  EXPECT_EQ(after["cmps"]["send"]["cmd_t"], "rcgate/family_room/send");
}

TEST(Discovery, GatewayDeviceFollowsTheSchema) {
  const auto c = context();
  const json payload = gateway_discovery(c);
  EXPECT_EQ(gateway_discovery_topic(c), "homeassistant/device/rcgate_rcgate/config");
  const auto ids = check_device_payload(gateway_discovery_topic(c), payload, "rcgate/");
  EXPECT_EQ(ids, (std::set<std::string>{"rcgate_rcgate_connectivity", "rcgate_rcgate_queue_depth",
                                        "rcgate_rcgate_server_version", "rcgate_rcgate_direct"}));
  EXPECT_EQ(payload["dev"]["ids"], json::array({"rcgate_rcgate"}));
  EXPECT_EQ(payload["avty"].size(), 1u);
  const json& cmps = payload["cmps"];
  EXPECT_EQ(cmps["connectivity"]["p"], "binary_sensor");
  EXPECT_EQ(cmps["connectivity"]["dev_cla"], "connectivity");
  EXPECT_EQ(cmps["connectivity"]["stat_t"], "rcgate/bridge/info");
  EXPECT_EQ(cmps["connectivity"]["pl_on"], "ON");
  EXPECT_EQ(cmps["connectivity"]["pl_off"], "OFF");
  EXPECT_EQ(cmps["connectivity"]["val_tpl"], "{{ 'ON' if value_json.connected else 'OFF' }}");
  EXPECT_EQ(cmps["queue_depth"]["p"], "sensor");
  EXPECT_EQ(cmps["queue_depth"]["val_tpl"], "{{ value_json.queue_depth }}");
  EXPECT_EQ(cmps["queue_depth"]["stat_cla"], "measurement");
  EXPECT_EQ(cmps["server_version"]["p"], "sensor");
  EXPECT_EQ(cmps["server_version"]["val_tpl"], "{{ value_json.server_version }}");
  EXPECT_EQ(cmps["server_version"]["ent_cat"], "diagnostic");
  EXPECT_EQ(cmps["direct"]["evt_typ"], json({"direct", "answer"}));
}

TEST(Discovery, UniqueIdsNeverCollideAcrossDevices) {
  const auto c = context();
  std::set<std::string> all = check_device_payload(gateway_discovery_topic(c), gateway_discovery(c), "rcgate/");
  for (const char* id : {"GENERAL", "c3f8a6a80a707dc9ce744b9d", "x7y8z9"}) {
    json d = kitchen();
    d["id"] = id;
    for (const auto& uid :
         check_device_payload(room_discovery_topic(c, id), room_discovery(c, d, slug(id)), "rcgate/"))
      EXPECT_TRUE(all.insert(uid).second) << uid;
  }
}

TEST(Discovery, CustomPrefixAndBaseTopic) {
  TopicContext c{"home/rcgate", "ha", "rcgate-pi", "1.0"};
  EXPECT_EQ(room_discovery_topic(c, "GENERAL"), "ha/device/rcgate_GENERAL/config");
  EXPECT_EQ(gateway_discovery_topic(c), "ha/device/rcgate_rcgate-pi/config");
  const json payload = room_discovery(c, kitchen(), "kitchen");
  EXPECT_EQ(payload["avty"][0]["t"], "home/rcgate/bridge/state");
  EXPECT_EQ(payload["cmps"]["send"]["cmd_t"], "home/rcgate/kitchen/send");
}

TEST(Topics, SlugsAreSafeTopicLevels) {
  EXPECT_EQ(slug("kitchen"), "kitchen");
  EXPECT_EQ(slug("Camera-Alerts"), "camera-alerts");
  EXPECT_EQ(slug("Living room"), "living_room");
  EXPECT_EQ(slug("a/b+c#d"), "a_b_c_d");
  EXPECT_EQ(slug("café au lait"), "caf_au_lait");  // a run of other bytes is one '_'
  EXPECT_EQ(slug(""), "room");
  EXPECT_EQ(slug("//"), "room_");
  EXPECT_TRUE(reserved_level("bridge"));
  EXPECT_TRUE(reserved_level("event"));
  EXPECT_FALSE(reserved_level("kitchen"));
  EXPECT_EQ(object_id("a.b/c d"), "a_b_c_d");
}

TEST(Topics, DeviceStateCarriesTheLastMessageAndAvailability) {
  json d = kitchen();
  json s = device_state(d, "thread-1");
  EXPECT_EQ(s["last_message"], "hello");
  EXPECT_EQ(s["last_sender"], "alice");
  EXPECT_EQ(s["last_message_at"], "2024-05-01T10:00:00.000Z");
  EXPECT_EQ(s["last_thread_id"], "thread-1");
  EXPECT_EQ(s["availability"], "online");
  d["available"] = false;
  EXPECT_EQ(device_state(d, "")["availability"], "offline");
}

}  // namespace
}  // namespace rcgate::mqtt
