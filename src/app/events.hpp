#pragma once
// What happens in rcgate, for whoever follows it (the MQTT bridge, plugins): one bus on the loop
// thread, handlers called synchronously in subscription order. Also the JSON views of devices and
// asks that the API, MQTT and the events share.
//
// Event types and their data:
//   message         a person wrote where the bot reads (new messages only; not the bot's own):
//                   {room_id, device (the device id, "" for a DM), room_name, room_type,
//                    message_id, thread_id, text, sender {user_id, username, name},
//                    direct, mention (mentions the bot), at (ISO time)}
//   device          a device was added or changed (renamed, new last message, settings):
//                   device_json(device, false): without its command list, which grows with
//                   everyone who spoke there and costs more to build than the rest of the
//                   message's path (GET /api/v1/devices/{device} has it)
//   device_removed  {id, name}: the bot left the room, or lost it
//   ask             an ask ended (answered, timed out, cancelled): ask_json(result)
//   link            the Rocket.Chat connection changed: {connected, state, reason}
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/asks.hpp"
#include "core/devices.hpp"

namespace rcgate::app {

struct Event {
  std::string type;
  nlohmann::json data;
};

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;

  std::uint64_t subscribe(Handler handler) {
    handlers_.push_back({next_, std::move(handler)});
    return next_++;
  }
  void unsubscribe(std::uint64_t id) {
    std::erase_if(handlers_, [id](const auto& h) { return h.first == id; });
  }
  // A handler may subscribe or unsubscribe while it runs: the list is copied first.
  void publish(const Event& event) const {
    const auto handlers = handlers_;
    for (const auto& [id, handler] : handlers) handler(event);
  }
  std::size_t size() const { return handlers_.size(); }

 private:
  std::vector<std::pair<std::uint64_t, Handler>> handlers_;
  std::uint64_t next_ = 1;
};

nlohmann::json device_json(const core::Device& device, bool with_commands = true);
nlohmann::json ask_json(const core::AskResult& result);

}  // namespace rcgate::app
