#include "loadgen.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "ddp_session.hpp"
#include "markup.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "sim.hpp"
#include "world.hpp"

namespace rcgate::sim {
namespace {

constexpr std::int64_t kTsPlaceholder = 1111111111111;  // 13 digits, like every epoch ms until 2286
const std::string kIdPlaceholder(17, '~');
constexpr std::size_t kMaxSamples = 1000000;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

double ms_between(LoadGen::Clock::time_point a, LoadGen::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::int64_t number_or(const nlohmann::json& body, const char* key, std::int64_t fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw std::invalid_argument(std::string("'") + key + "' must be a number");
  return it->get<std::int64_t>();
}

std::string text_or(const nlohmann::json& body, const char* key, const std::string& fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw std::invalid_argument(std::string("'") + key + "' must be a string");
  return it->get<std::string>();
}

}  // namespace

LoadGen::LoadGen(Sim& sim) : sim_(sim), timer_(sim.loop()) {}

LoadGen::~LoadGen() = default;

void LoadGen::build_templates() {
  templates_.clear();
  room_ids_.clear();
  room_speakers_.clear();
  World& world = sim_.world();
  const User* bot = world.user_by_username(sim_.bot_username());
  if (bot == nullptr) throw std::invalid_argument("the household has no bot user");
  for (const Room* room : world.rooms_of(bot->id)) {
    if (room->is_dm()) continue;
    std::vector<std::string> speakers;
    for (const auto& uid : room->member_ids) {
      if (uid == bot->id) continue;
      const User* user = world.user_by_id(uid);
      if (user == nullptr) continue;
      speakers.push_back(user->username);
      json message = {{"_id", kIdPlaceholder},
                      {"rid", room->id},
                      {"msg", chatter_text_},
                      {"ts", ddp::make_ejson_date(kTsPlaceholder)},
                      {"u", {{"_id", user->id}, {"username", user->username}, {"name", user->name}}},
                      {"_updatedAt", ddp::make_ejson_date(kTsPlaceholder)},
                      {"urls", json::array()},
                      {"mentions", json::array()},
                      {"channels", json::array()},
                      {"md", markdown_ast(chatter_text_)}};
      json meta = {{"roomParticipant", true}, {"roomType", room->type}, {"roomName", room->name}};
      Template t;
      t.frame = ddp::encode_stream_event("stream-room-messages", "__my_messages__",
                                         json::array({std::move(message), std::move(meta)}));
      t.id_at = t.frame.find(kIdPlaceholder);
      const std::string ts = std::to_string(kTsPlaceholder);
      for (auto at = t.frame.find(ts); at != std::string::npos; at = t.frame.find(ts, at + ts.size())) {
        t.ts_at.push_back(at);
      }
      if (t.id_at == std::string::npos) throw std::logic_error("load template without its id placeholder");
      templates_.push_back(std::move(t));
    }
    if (speakers.empty()) continue;
    room_ids_.push_back(room->id);
    room_speakers_.push_back(std::move(speakers));
  }
  if (templates_.empty()) throw std::invalid_argument("the bot is in no room with other members");
}

std::string LoadGen::chatter_frame() {
  const Template& t = templates_[next_template_];
  next_template_ = (next_template_ + 1) % templates_.size();
  std::string frame = t.frame;
  char id[24];
  std::snprintf(id, sizeof id, "L%016llu", static_cast<unsigned long long>(++next_id_));
  std::memcpy(frame.data() + t.id_at, id, 17);
  const std::string now = std::to_string(now_ms());
  if (now.size() == 13) {
    for (const auto at : t.ts_at) std::memcpy(frame.data() + at, now.data(), 13);
  }
  return frame;
}

// A real mention (stored, mentions computed) in the next room without a mention waiting for its
// reply. False when every room has one waiting.
bool LoadGen::queue_mention(const std::string& text, std::string* rid_out) {
  World& world = sim_.world();
  for (std::size_t tries = 0; tries < room_ids_.size(); ++tries) {
    const std::size_t r = next_mention_room_;
    next_mention_room_ = (next_mention_room_ + 1) % room_ids_.size();
    const std::string& rid = room_ids_[r];
    if (outstanding_.count(rid) != 0 || rid == burst_rid_) continue;
    const auto& speakers = room_speakers_[r];
    const User* user = world.user_by_username(speakers[mentions_ % speakers.size()]);
    Room* room = world.room_by_id(rid);
    if (user == nullptr || room == nullptr) continue;
    World::NewMessage m;
    m.rid = rid;
    m.text = text;
    // The frame is made here, for the bot's connection only, and timed when handed over.
    sim_.set_quiet_fanout(true);
    const json* stored = nullptr;
    try {
      stored = &world.post_message(user->id, std::move(m));
    } catch (...) {
      sim_.set_quiet_fanout(false);
      throw;
    }
    sim_.set_quiet_fanout(false);
    json meta = {{"roomParticipant", true}, {"roomType", room->type}, {"roomName", room->name}};
    pending_.push_back({ddp::encode_stream_event("stream-room-messages", "__my_messages__",
                                                 json::array({*stored, std::move(meta)})),
                        rid});
    outstanding_[rid] = Clock::time_point::max();  // reserved until handed over
    ++mentions_;
    if (rid_out != nullptr) *rid_out = rid;
    return true;
  }
  return false;
}

LoadGen::json LoadGen::start_rate(const json& body) {
  const std::int64_t rate = number_or(body, "rate", 1000);
  const std::int64_t seconds = number_or(body, "seconds", 10);
  const std::int64_t every = number_or(body, "mention_every", 20);
  if (rate <= 0 || rate > 10000000) throw std::invalid_argument("'rate' must be 1..10000000 messages/s");
  if (seconds <= 0 || seconds > 3600) throw std::invalid_argument("'seconds' must be 1..3600");
  if (every < 0) throw std::invalid_argument("'mention_every' must be >= 0 (0: no mentions)");
  if (rate_running_ || burst_ == BurstState::Sending || burst_ == BurstState::Waiting) {
    throw std::invalid_argument("a load is already running (POST /_sim/load/stop first)");
  }
  chatter_text_ = text_or(body, "text", chatter_text_);
  mention_text_ = text_or(body, "mention_text", mention_text_);
  build_templates();
  rate_ = static_cast<double>(rate);
  rate_total_ = static_cast<std::uint64_t>(rate * seconds);
  rate_generated_ = 0;
  mention_every_ = static_cast<std::uint64_t>(every);
  rate_start_ = Clock::now();
  rate_running_ = true;
  spdlog::info("sim load: {} messages/s for {} s, every {}th a mention", rate, seconds, every);
  tick();
  return stats();
}

LoadGen::json LoadGen::start_burst(const json& body) {
  const std::int64_t count = number_or(body, "count", 100000);
  if (count <= 0 || count > 100000000) throw std::invalid_argument("'count' must be 1..100000000");
  if (rate_running_ || burst_ == BurstState::Sending || burst_ == BurstState::Waiting) {
    throw std::invalid_argument("a load is already running (POST /_sim/load/stop first)");
  }
  if (!outstanding_.empty()) throw std::invalid_argument("mentions are still waiting for replies");
  mention_text_ = text_or(body, "mention_text", mention_text_);
  build_templates();
  burst_count_ = burst_remaining_ = static_cast<std::uint64_t>(count);
  burst_rid_.clear();
  burst_ = BurstState::Sending;
  burst_start_ = Clock::now();
  spdlog::info("sim load: burst of {} messages", count);
  pump();
  return stats();
}

LoadGen::json LoadGen::stop() {
  rate_running_ = false;
  if (burst_ == BurstState::Sending) {
    burst_remaining_ = 0;
    burst_ = BurstState::Idle;
  }
  return stats();
}

LoadGen::json LoadGen::reset() {
  stop();
  pending_.clear();
  outstanding_.clear();
  burst_ = BurstState::Idle;
  burst_rid_.clear();
  sent_ = mentions_ = replies_ = unmatched_replies_ = refusals_ = 0;
  latency_us_.clear();
  return stats();
}

void LoadGen::tick() {
  if (rate_running_) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - rate_start_).count();
    const auto due = std::min<std::uint64_t>(rate_total_, static_cast<std::uint64_t>(elapsed * rate_));
    while (rate_generated_ < due) {
      ++rate_generated_;
      if (mention_every_ != 0 && rate_generated_ % mention_every_ == 0 && queue_mention(mention_text_, nullptr)) {
        continue;
      }
      pending_.push_back({chatter_frame(), {}});
    }
    if (rate_generated_ >= rate_total_) rate_running_ = false;
  }
  pump();
}

void LoadGen::pump() {
  auto session = sim_.bot_session();
  if (session) {
    for (;;) {
      if (pending_.empty()) {
        if (burst_ != BurstState::Sending) break;
        if (burst_remaining_ > 0) {
          --burst_remaining_;
          pending_.push_back({chatter_frame(), {}});
        } else {
          if (!queue_mention(mention_text_, &burst_rid_)) break;
          burst_ = BurstState::Waiting;
        }
      }
      Pending& next = pending_.front();
      // send() takes the frame by value and drops it when refused: hand over a copy.
      if (!session->try_send(std::string(next.frame))) {
        ++refusals_;
        break;
      }
      ++sent_;
      if (!next.mention_rid.empty()) {
        outstanding_[next.mention_rid] = Clock::now();
        if (next.mention_rid == burst_rid_) burst_queued_ = Clock::now();
      }
      pending_.pop_front();
    }
  }
  arm();
}

void LoadGen::arm() {
  const bool more = rate_running_ || !pending_.empty() || burst_ == BurstState::Sending;
  if (!more) {
    timer_.cancel();
    return;
  }
  if (!timer_.pending()) timer_.start(std::chrono::milliseconds(1), [this] { tick(); });
}

void LoadGen::on_bot_message(const json& message) {
  const auto rid = message.find("rid");
  if (rid == message.end() || !rid->is_string()) return;
  const std::string room = rid->get<std::string>();
  const auto it = outstanding_.find(room);
  if (it == outstanding_.end() || it->second == Clock::time_point::max()) {
    ++unmatched_replies_;
    return;
  }
  const auto now = Clock::now();
  ++replies_;
  if (room == burst_rid_ && burst_ == BurstState::Waiting) {
    burst_reply_ = now;
    burst_ = BurstState::Done;
    burst_rid_.clear();
  } else if (latency_us_.size() < kMaxSamples) {
    latency_us_.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
  }
  outstanding_.erase(it);
}

void LoadGen::on_bot_subscribed() {
  bot_subscribed_at_ms_ = now_ms();
  ++bot_subscriptions_;
}

LoadGen::json LoadGen::stats() const {
  json latency = {{"count", latency_us_.size()},
                  {"p50", percentile(latency_us_, 50)},
                  {"p90", percentile(latency_us_, 90)},
                  {"p99", percentile(latency_us_, 99)},
                  {"max", latency_us_.empty() ? 0.0 : *std::max_element(latency_us_.begin(), latency_us_.end())}};
  static constexpr const char* kBurst[] = {"idle", "sending", "waiting", "done"};
  json burst = {{"state", kBurst[static_cast<int>(burst_)]}, {"count", burst_count_}};
  if (burst_ == BurstState::Waiting || burst_ == BurstState::Done) {
    burst["queued_ms"] = ms_between(burst_start_, burst_queued_);
  }
  if (burst_ == BurstState::Done) {
    const double ms = ms_between(burst_start_, burst_reply_);
    burst["reply_ms"] = ms;
    burst["rate"] = ms > 0 ? static_cast<double>(burst_count_) * 1000.0 / ms : 0.0;
    burst["send_rate"] = static_cast<double>(burst_count_) * 1000.0 / std::max(0.001, ms_between(burst_start_, burst_queued_));
  }
  return {{"running", rate_running_ || burst_ == BurstState::Sending},
          {"generated", rate_generated_},
          {"pending", pending_.size()},
          {"sent", sent_},
          {"mentions", mentions_},
          {"replies", replies_},
          {"unmatched_replies", unmatched_replies_},
          {"waiting", outstanding_.size()},
          {"refusals", refusals_},
          {"latency_us", latency},
          {"burst", burst},
          {"bot_connected", static_cast<bool>(const_cast<Sim&>(sim_).bot_session())},
          {"bot_subscribed_at_ms", bot_subscribed_at_ms_},
          {"bot_subscriptions", bot_subscriptions_}};
}

}  // namespace rcgate::sim
