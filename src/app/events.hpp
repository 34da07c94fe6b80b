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
#include <string_view>
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

  // `types`: the event types the handler wants; empty for all of them.
  std::uint64_t subscribe(Handler handler, std::vector<std::string> types = {}) {
    subscribers_.push_back({next_, std::move(types), std::move(handler)});
    return next_++;
  }
  void unsubscribe(std::uint64_t id) {
    std::erase_if(subscribers_, [id](const auto& s) { return s.id == id; });
  }
  // Whether anyone listens to `type`: events are built only then (a device event costs more
  // than the rest of a message's path).
  bool wants(std::string_view type) const {
    for (const auto& s : subscribers_)
      if (s.takes(type)) return true;
    return false;
  }
  // A handler may subscribe or unsubscribe while it runs: the list is copied first.
  void publish(const Event& event) const {
    const auto subscribers = subscribers_;
    for (const auto& s : subscribers)
      if (s.takes(event.type)) s.handler(event);
  }
  std::size_t size() const { return subscribers_.size(); }

 private:
  struct Subscriber {
    std::uint64_t id;
    std::vector<std::string> types;
    Handler handler;
    bool takes(std::string_view type) const {
      if (types.empty()) return true;
      for (const auto& t : types)
        if (t == type) return true;
      return false;
    }
  };
  std::vector<Subscriber> subscribers_;
  std::uint64_t next_ = 1;
};

nlohmann::json device_json(const core::Device& device, bool with_commands = true);
nlohmann::json ask_json(const core::AskResult& result);

}  // namespace rcgate::app
