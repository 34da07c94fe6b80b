#include "mqtt/discovery.hpp"

namespace rcgate::mqtt {

using json = nlohmann::json;

std::string slug(std::string_view name) {
  std::string out;
  bool replaced = false;
  for (unsigned char ch : name) {
    const char c = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.';
    if (keep) {
      out += c;
      replaced = false;
    } else if (!replaced) {
      out += '_';
      replaced = true;
    }
  }
  if (out.empty() || out == "_" || out == "." || out == "..") out = "room" + out;
  return out;
}

std::string object_id(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    out += keep ? c : '_';
  }
  return out;
}

bool reserved_level(std::string_view level) { return level == "bridge" || level == "event"; }

std::string bridge_state_topic(const TopicContext& c) { return c.base + "/bridge/state"; }
std::string bridge_info_topic(const TopicContext& c) { return c.base + "/bridge/info"; }
std::string device_state_topic(const TopicContext& c, const std::string& device) {
  return c.base + "/" + device;
}
std::string device_availability_topic(const TopicContext& c, const std::string& device) {
  return c.base + "/" + device + "/availability";
}

std::string room_device_identifier(const TopicContext&, const std::string& room_id) {
  return "rcgate_" + object_id(room_id);
}
std::string gateway_identifier(const TopicContext& c) { return "rcgate_" + object_id(c.client_id); }
std::string room_discovery_topic(const TopicContext& c, const std::string& room_id) {
  return c.prefix + "/device/" + room_device_identifier(c, room_id) + "/config";
}
std::string gateway_discovery_topic(const TopicContext& c) {
  return c.prefix + "/device/" + gateway_identifier(c) + "/config";
}

namespace {

json origin(const TopicContext& c) {
  return {{"name", "rcgate"}, {"sw", c.version}};
}

json availability(const std::string& topic) {
  return {{"t", topic}, {"pl_avail", "online"}, {"pl_not_avail", "offline"}};
}

template <std::size_t N>
json event_types(const char* const (&types)[N]) {
  json out = json::array();
  for (const char* t : types) out.push_back(t);
  return out;
}

}  // namespace

json room_discovery(const TopicContext& c, const json& device, const std::string& device_topic) {
  const std::string room_id = device.value("id", "");
  const std::string uid = room_device_identifier(c, room_id);
  const std::string state = device_state_topic(c, device_topic);
  const std::string send = state + "/send";
  const std::string type = device.value("room_type", "");
  json dev = {{"ids", json::array({uid})},
              {"name", device.value("name", room_id)},
              {"mf", "Rocket.Chat"},
              {"mdl", type == "p" ? "Private group" : "Channel"},
              {"sw", c.version},
              {"via_device", gateway_identifier(c)}};
  json cmps = {
      {"send",
       {{"p", "notify"}, {"name", "Send"}, {"cmd_t", send}, {"uniq_id", uid + "_send"},
        {"ic", "mdi:send"}}},
      {"compose",
       {{"p", "text"}, {"name", "Message"}, {"cmd_t", send}, {"mode", "text"}, {"min", 0},
        {"max", 255}, {"uniq_id", uid + "_compose"}, {"ic", "mdi:message-draw"}}},
      // HA refuses states over 255 characters: the state is cut there, the attributes carry the
      // whole text and the ids.
      {"last_message",
       {{"p", "sensor"}, {"name", "Last message"}, {"stat_t", state},
        {"val_tpl", "{{ value_json.last_message[:255] }}"}, {"json_attr_t", state},
        {"json_attr_tpl",
         "{{ {'text': value_json.last_message, 'room_id': value_json.id, 'room_name': "
         "value_json.room_name, 'message_id': value_json.last_message_id, 'thread_id': "
         "value_json.last_thread_id, 'sender': value_json.last_sender, 'at': "
         "value_json.last_message_at} | tojson }}"},
        {"uniq_id", uid + "_last_message"}, {"ic", "mdi:message-text"}}},
      {"last_sender",
       {{"p", "sensor"}, {"name", "Last sender"}, {"stat_t", state},
        {"val_tpl", "{{ value_json.last_sender }}"}, {"uniq_id", uid + "_last_sender"},
        {"ic", "mdi:account"}}},
      {"event",
       {{"p", "event"}, {"name", "Chat"}, {"stat_t", state + "/event"},
        {"evt_typ", event_types(kRoomEventTypes)},
        {"uniq_id", uid + "_event"}, {"ic", "mdi:chat"}}},
  };
  return {{"dev", std::move(dev)},
          {"o", origin(c)},
          {"avty", json::array({availability(bridge_state_topic(c)),
                                availability(device_availability_topic(c, device_topic))})},
          {"avty_mode", "all"},
          {"qos", 1},
          {"cmps", std::move(cmps)}};
}

json gateway_discovery(const TopicContext& c) {
  const std::string uid = gateway_identifier(c);
  const std::string info = bridge_info_topic(c);
  json dev = {{"ids", json::array({uid})},
              {"name", "rcgate"},
              {"mf", "rcgate"},
              {"mdl", "Rocket.Chat gateway"},
              {"sw", c.version}};
  json cmps = {
      {"connectivity",
       {{"p", "binary_sensor"}, {"name", "Rocket.Chat"}, {"dev_cla", "connectivity"},
        {"stat_t", info}, {"val_tpl", "{{ 'ON' if value_json.connected else 'OFF' }}"},
        {"pl_on", "ON"}, {"pl_off", "OFF"}, {"json_attr_t", info},
        {"uniq_id", uid + "_connectivity"}, {"ent_cat", "diagnostic"}}},
      {"queue_depth",
       {{"p", "sensor"}, {"name", "Queue depth"}, {"stat_t", info},
        {"val_tpl", "{{ value_json.queue_depth }}"}, {"stat_cla", "measurement"},
        {"unit_of_meas", "messages"}, {"uniq_id", uid + "_queue_depth"}, {"ic", "mdi:tray-full"},
        {"ent_cat", "diagnostic"}}},
      {"server_version",
       {{"p", "sensor"}, {"name", "Server version"}, {"stat_t", info},
        {"val_tpl", "{{ value_json.server_version }}"}, {"uniq_id", uid + "_server_version"},
        {"ic", "mdi:information-outline"}, {"ent_cat", "diagnostic"}}},
      {"direct",
       {{"p", "event"}, {"name", "Direct message"}, {"stat_t", c.base + "/bridge/event"},
        {"evt_typ", event_types(kGatewayEventTypes)},
        {"uniq_id", uid + "_direct"}, {"ic", "mdi:message-lock"}}},
  };
  return {{"dev", std::move(dev)},
          {"o", origin(c)},
          {"avty", json::array({availability(bridge_state_topic(c))})},
          {"qos", 1},
          {"cmps", std::move(cmps)}};
}

json device_state(const json& device, const std::string& last_thread_id) {
  return {{"id", device.value("id", "")},
          {"name", device.value("name", "")},
          {"room_name", device.value("room_name", "")},
          {"room_type", device.value("room_type", "")},
          {"last_message", device.value("last_message", "")},
          {"last_message_id", device.value("last_message_id", "")},
          {"last_thread_id", last_thread_id},
          {"last_sender", device.value("last_sender", "")},
          {"last_sender_name", device.value("last_sender_name", "")},
          {"last_message_at", device.value("last_message_at", "")},
          {"availability", device.value("available", true) ? "online" : "offline"}};
}

}  // namespace rcgate::mqtt
