#pragma once
// What automations can do (issue 4): the ApiService (api.hpp) over the gateway. It checks each
// request, finds where it goes (a device, a room, a person's DM), queues what is posted in the
// gateway's outbound queue and answers "sent" or "queued", opens asks and answers when they end
// (long poll, polling, or a callback URL), fetches camera snapshots and keeps uploaded bytes in
// <state_dir>/files until they are posted.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/api.hpp"
#include "app/events.hpp"
#include "app/gateway.hpp"

namespace rcgate::net {
class Loop;
class Timer;
}  // namespace rcgate::net

namespace rcgate::app {

class Camera;

class Scenarios : public ApiService {
 public:
  Scenarios(net::Loop& loop, Gateway& gateway, const config::Settings& settings);
  ~Scenarios() override;
  Scenarios(const Scenarios&) = delete;
  Scenarios& operator=(const Scenarios&) = delete;

  void call(ApiCall call, Reply reply) override;

 private:
  struct Waiter;
  struct Target {
    std::string room_id;
    std::string user;
    std::string thread;
  };

  void health(Reply reply);
  void devices(Reply reply);
  void device(const nlohmann::json& params, Reply reply);
  void users(Reply reply);
  void send(const nlohmann::json& params, Reply reply);
  void message(const nlohmann::json& params, Reply reply);
  void upload(ApiCall call, Reply reply);
  void ask(const nlohmann::json& params, Reply reply);
  void ask_status(const nlohmann::json& params, Reply reply);
  void ask_cancel(const nlohmann::json& params, Reply reply);

  // Where a request goes: exactly one of device, room, user. False (and replied) when wrong.
  bool target_of(const nlohmann::json& params, Target& out, const Reply& reply) const;
  const core::Device* find_device(const std::string& name_or_id) const;
  // Queues an item and answers "sent" (when it went out within api.send_wait) or "queued".
  void queue_and_answer(core::OutboxItem item, Reply reply);
  void upload_file(core::OutboxItem item, Reply reply);
  void wait_for_ask(const std::string& id, std::chrono::milliseconds wait, Reply reply);
  void on_ask_closed(const core::AskResult& result);
  void post_callback(const std::string& url, const nlohmann::json& body);

  net::Loop& loop_;
  Gateway& gateway_;
  const config::Settings& settings_;
  std::map<std::string, std::unique_ptr<Camera>> cameras_;
  std::multimap<std::string, std::shared_ptr<Waiter>> ask_waiters_;  // by ask id
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rcgate::app
