#pragma once
// The topic grammar and Home Assistant's MQTT discovery payloads, as pure functions (no socket),
// so each payload can be checked field by field.
//
// Topics (base = mqtt.base_topic, default "rcgate"; <device> = device_topic()):
//   <base>/bridge/state                 retained "online" / "offline" (last will)
//   <base>/bridge/info                  retained {version, connected, link, server, server_version,
//                                       user, queue_depth, open_asks}
//   <base>/bridge/event                 {event_type: direct|answer, ...} for DMs (no room device)
//   <base>/bridge/request/<verb>        a JSON object: the verb's params and an optional
//                                       "transaction", answered on
//   <base>/bridge/response/<verb>       {status, data | error+code, transaction}
//   <base>/<device>                     retained state {id, name, room_name, room_type,
//                                       last_message, last_message_id, last_thread_id,
//                                       last_sender, last_sender_name, last_message_at,
//                                       availability}
//   <base>/<device>/availability        retained "online" / "offline" (the bot is in the room)
//   <base>/<device>/send                plain text, or JSON: the HTTP API's send fields
//   <base>/<device>/event               {event_type: message|mention|direct|answer, ...}
//   <base>/event/<type>                 every EventBus event (message, ask, device, ...)
//
// Home Assistant (prefix = mqtt.discovery_prefix, default "homeassistant"), device-based:
//   <prefix>/device/rcgate_<room id>/config   one device per room: notify, text, sensor last
//                                             message, sensor last sender, event
//   <prefix>/device/rcgate_<client id>/config the gateway: connectivity, queue depth, server
//                                             version, direct messages (event)
//   An empty retained payload on a device's config topic removes it from Home Assistant.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace rcgate::mqtt {

struct TopicContext {
  std::string base = "rcgate";
  std::string prefix = "homeassistant";
  std::string client_id = "rcgate";
  std::string version;  // rcgate's version, for the device and origin blocks
};

// A room name as a topic level: lower case ASCII letters, digits, '-', '_' and '.' kept, any
// other run of characters (spaces, '/', '+', '#', non-ASCII) becomes one '_'. Never empty.
std::string slug(std::string_view name);
// A discovery object id: only [a-zA-Z0-9_-] (what Home Assistant accepts there).
std::string object_id(std::string_view text);

// Topic levels rcgate uses itself under <base>: a room whose slug is one of them gets its id
// appended.
bool reserved_level(std::string_view level);

std::string bridge_state_topic(const TopicContext& c);
std::string bridge_info_topic(const TopicContext& c);
std::string device_state_topic(const TopicContext& c, const std::string& device);
std::string device_availability_topic(const TopicContext& c, const std::string& device);

// The identifiers Home Assistant keeps entities by: stable across room renames.
std::string room_device_identifier(const TopicContext& c, const std::string& room_id);
std::string gateway_identifier(const TopicContext& c);
std::string room_discovery_topic(const TopicContext& c, const std::string& room_id);
std::string gateway_discovery_topic(const TopicContext& c);

// device: the API's device view (id, name, room_type, ...); device_topic: its <device> level.
nlohmann::json room_discovery(const TopicContext& c, const nlohmann::json& device,
                              const std::string& device_topic);
nlohmann::json gateway_discovery(const TopicContext& c);

// The retained state published on <base>/<device>.
nlohmann::json device_state(const nlohmann::json& device, const std::string& last_thread_id);

// HA's event types on a room's event entity, and on the gateway's.
inline constexpr const char* kRoomEventTypes[] = {"message", "mention", "direct", "answer"};
inline constexpr const char* kGatewayEventTypes[] = {"direct", "answer"};

}  // namespace rcgate::mqtt
