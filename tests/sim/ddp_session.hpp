#pragma once
// One DDP client connection on /websocket: handshake, heartbeat, login, methods, subscriptions.
// Frames of one connection are handled in order, one at a time, like Meteor does.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/loop.hpp"
#include "rocketchat/ddp/codec.hpp"

namespace rcgate::net {
class WsServerConnection;
}

namespace rcgate::sim {

class Sim;
struct Room;

class DdpSession : public std::enable_shared_from_this<DdpSession> {
 public:
  using json = nlohmann::json;

  DdpSession(Sim& sim, std::shared_ptr<net::WsServerConnection> connection);
  ~DdpSession();

  void start();  // greeting (if configured); the heartbeat starts after `connected`
  void on_text(std::string_view text);
  void on_closed(const std::string& reason);
  void drop();   // TCP drop, no close frame

  std::uint64_t id() const { return id_; }
  bool closed() const { return closed_; }
  const std::string& user_id() const { return user_id_; }

  // Fan-out from the world. Each matching subscription gets its own frame, like the server.
  void deliver_message(const json& message, const Room& room);
  void deliver_user_event(const std::string& uid, const std::string& event, const json& args);
  void deliver_logged_event(const std::string& event, const json& args);

  // {"connection","name","event"} for every live subscription.
  void describe_subscriptions(json& out) const;

  // A raw frame from the control API (recorded server frames replayed to the client).
  void inject(std::string frame) { send(std::move(frame)); }
  // The load generator's frames: false (frame dropped) while the connection's queue is full.
  bool try_send(std::string frame);
  bool has_my_messages() const;

 private:
  struct Subscription {
    std::string id;
    std::string name;   // publication, e.g. "stream-room-messages"
    std::string event;  // params[0]
  };

  void send(std::string frame);
  void mark_closed();
  void close(std::uint16_t code, std::string reason);

  void on_connect(const json& frame);
  void on_ping(const json& frame);
  void on_method(const json& frame);
  void on_sub(const json& frame);
  void on_unsub(const json& frame);

  void reply(const std::string& id, const json& result);
  void reply_empty(const std::string& id);
  void reply_error(const std::string& id, const ddp::Error& error);

  // Methods. Each one answers through reply*/reply_error exactly once.
  void do_login(const std::string& id, const json& params);
  void do_logout(const std::string& id);
  void do_send_message(const std::string& id, const json& params);
  void do_update_message(const std::string& id, const json& params);
  void do_set_reaction(const std::string& id, const json& params);
  void do_rooms_get(const std::string& id, const json& params);
  void do_subscriptions_get(const std::string& id, const json& params);
  void do_create_direct_message(const std::string& id, const json& params);
  void do_get_single_message(const std::string& id, const json& params);
  void do_get_room_id(const std::string& id, const json& params);
  void do_join_room(const std::string& id, const json& params);
  void do_set_status(const std::string& id, const std::string& method, const json& params);

  // The Meteor accounts rule: 5 login calls per 10 s per connection.
  bool login_rate_limited(std::int64_t* time_to_reset_ms);
  bool require_login(const std::string& id, const std::string& method);

  void arm_heartbeat();
  void on_idle();
  void on_heartbeat_timeout();

  Sim& sim_;
  std::shared_ptr<net::WsServerConnection> connection_;
  std::uint64_t id_;
  bool connected_ = false;
  bool closed_ = false;
  std::string session_id_;
  std::string user_id_;
  std::string login_token_;  // the token this connection logged in with (logout deletes it)
  std::vector<Subscription> subscriptions_;
  std::int64_t login_window_start_ = 0;
  int login_window_calls_ = 0;
  net::Timer idle_timer_;
  net::Timer timeout_timer_;
};

}  // namespace rcgate::sim
