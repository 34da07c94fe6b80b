#pragma once
// What the jeedom plugin writes into Jeedom as rcgate's events happen (see README.md):
//   - the last message and last sender of chosen devices, into Jeedom info commands
//     (JSON-RPC cmd::event), once per new message;
//   - the end of an ask created with context.jeedom_variable, into that Jeedom scenario variable
//     (JSON-RPC datastore::save, type "scenario", linkId -1: a global scenario variable), so that
//     a Jeedom scenario can wait on it.
// Calls of one device (or one ask) go out one after the other, in order; a failure is logged
// once per outage, never with the API key.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "jeedom/jsonrpc.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::plugins::jeedom {

// One entry of plugins.jeedom.push.
struct PushTarget {
  std::string device;         // a device's id, name or room name (a leading '#' is ignored)
  long long last_message = 0; // Jeedom info command id; 0: not pushed
  long long last_sender = 0;  // Jeedom info command id; 0: not pushed
  std::string path;           // "push[0]", for messages
};

enum class SenderField { Username, Name };

struct PushSettings {
  std::vector<PushTarget> push;
  bool ask_variable = true;
  SenderField sender = SenderField::Username;
  std::string ask_timed_out = "timeout";  // written when an ask times out
  std::string ask_cancelled = "cancelled";
};

// At most this many calls wait per device (or for asks) while Jeedom is slow; beyond, the oldest
// waiting value is dropped.
inline constexpr std::size_t kMaxWaiting = 100;

class Pusher : public std::enable_shared_from_this<Pusher> {
 public:
  Pusher(PushSettings settings, std::shared_ptr<JsonRpcClient> rpc, PluginHttpClient& http,
         PluginLog& log)
      : settings_(std::move(settings)), rpc_(std::move(rpc)), http_(http), log_(log) {}

  // rcgate's "device" event: device_json (id, name, room_name, last_message, last_message_id,
  // last_sender, last_sender_name, ...).
  void on_device(const Json& device);
  // rcgate's "ask" event: ask_json (id, status, answer, answered_by, context, ...).
  void on_ask(const Json& ask);

  // The rcgate events it needs: "device" when a device is pushed, "ask" when answers are
  // written back.
  std::vector<std::string> event_types() const {
    std::vector<std::string> types;
    if (!settings_.push.empty()) types.push_back("device");
    if (settings_.ask_variable) types.push_back("ask");
    return types;
  }

  // Calls made and waiting (for tests and stop()).
  std::size_t waiting() const;

 private:
  enum class Purpose { Push, Ask };
  struct Call {
    Purpose purpose = Purpose::Push;
    std::string method;
    Json params;
    std::string what;  // "command 12 (push[0].last_message of device 'general')"
    std::string path;  // the configuration key behind it: "push[0].last_message"
    long long command = 0;  // cmd::event: the command id
  };
  struct Lane {
    std::deque<Call> waiting;
    bool busy = false;  // a call of this lane is out
    bool overflow_reported = false;
  };

  void enqueue(const std::string& lane, Call call);
  void send_next(const std::string& lane);
  void on_done(const Call& call, const RpcOutcome& outcome);

  static bool matches(const PushTarget& target, const Json& device);

  PushSettings settings_;
  std::shared_ptr<JsonRpcClient> rpc_;
  PluginHttpClient& http_;
  PluginLog& log_;
  std::map<std::string, Lane> lanes_;
  // Per push entry and device id: the last message already handed to Jeedom.
  std::map<std::string, std::string> pushed_;
  // Jeedom as a whole failing: the reason logged, and how many pushes were lost since.
  std::string outage_;
  std::size_t lost_ = 0;
  // Commands Jeedom refused (unknown id, ...), reported once until they work.
  std::set<long long> refused_commands_;
};

}  // namespace rcgate::plugins::jeedom
