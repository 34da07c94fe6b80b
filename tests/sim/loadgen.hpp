#pragma once
// The benchmark's load generator (POST /_sim/load/..., sim-contract.md): streams room messages
// to the bot's __my_messages__ subscription at a rate or as fast as its connection takes them,
// a share of them mentioning the bot, and times each mention from the moment its frame is handed
// to the bot's connection to the moment the bot's reply arrives in that room (REST or DDP), on
// the simulator's own steady clock. At most one mention per room is waiting for its reply, so a
// reply is matched to its mention by room.
//
// Chatter frames are made from per-(room, sender) templates (only the id and the timestamps
// change) and are not stored in the world: the simulator must outrun the bot it measures.
// Mentions are real messages (stored, mentions computed), so a threaded reply to one works.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "net/loop.hpp"

namespace rcgate::sim {

class Sim;

class LoadGen {
 public:
  using json = nlohmann::json;
  using Clock = std::chrono::steady_clock;

  explicit LoadGen(Sim& sim);
  ~LoadGen();
  LoadGen(const LoadGen&) = delete;
  LoadGen& operator=(const LoadGen&) = delete;

  // POST /_sim/load/rate {"rate":1000, "seconds":10, "mention_every":20, "text"?, "mention_text"?}
  json start_rate(const json& body);
  // POST /_sim/load/burst {"count":N, "mention_text"?}: N chatter messages as fast as the bot's
  // connection accepts them, then one mention; done when the bot answers it.
  json start_burst(const json& body);
  json stop();   // POST /_sim/load/stop: stops generating (queued frames still go out)
  json reset();  // POST /_sim/load/reset: counters and samples cleared
  json stats() const;  // GET /_sim/load

  // From the simulator: a new message by the bot (any route), and the bot subscribing to
  // __my_messages__ (the end of its start-up).
  void on_bot_message(const json& message);
  void on_bot_subscribed();

 private:
  struct Template {
    std::string frame;
    std::size_t id_at = 0;
    std::vector<std::size_t> ts_at;
  };
  struct Pending {
    std::string frame;
    std::string mention_rid;  // set for a mention: timed from the moment it is handed over
  };
  enum class BurstState { Idle, Sending, Waiting, Done };

  void build_templates();
  std::string chatter_frame();
  bool queue_mention(const std::string& text, std::string* rid_out);
  void tick();
  void pump();
  void arm();

  Sim& sim_;
  net::Timer timer_;
  std::vector<Template> templates_;
  std::vector<std::string> room_ids_;
  std::vector<std::vector<std::string>> room_speakers_;  // usernames per room (bot excluded)
  std::uint64_t next_id_ = 0;
  std::size_t next_template_ = 0;
  std::size_t next_mention_room_ = 0;
  std::string chatter_text_ = "the washing machine has finished";
  std::string mention_text_ = "@camera-bot ping";

  std::deque<Pending> pending_;
  std::map<std::string, Clock::time_point> outstanding_;  // rid -> mention handed over

  // Rate mode.
  bool rate_running_ = false;
  double rate_ = 0;
  std::uint64_t rate_total_ = 0;
  std::uint64_t rate_generated_ = 0;
  std::uint64_t mention_every_ = 0;
  Clock::time_point rate_start_;

  // Burst mode.
  BurstState burst_ = BurstState::Idle;
  std::uint64_t burst_count_ = 0;
  std::uint64_t burst_remaining_ = 0;
  std::string burst_rid_;
  Clock::time_point burst_start_, burst_queued_, burst_reply_;

  // Counters.
  std::uint64_t sent_ = 0;
  std::uint64_t mentions_ = 0;
  std::uint64_t replies_ = 0;
  std::uint64_t unmatched_replies_ = 0;
  std::uint64_t refusals_ = 0;  // times the bot's connection queue was full
  std::vector<double> latency_us_;
  std::int64_t bot_subscribed_at_ms_ = 0;  // system clock, epoch ms
  std::uint64_t bot_subscriptions_ = 0;
};

}  // namespace rcgate::sim
