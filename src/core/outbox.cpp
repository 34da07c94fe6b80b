#include "core/outbox.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <utility>

namespace rcgate::core {

using json = nlohmann::json;

namespace {

constexpr int kDocumentVersion = 1;
constexpr std::size_t kRememberedOutcomes = 1000;

// "1h", "90s", "1500ms": the shortest exact spelling, as the configuration writes durations.
std::string format_duration(std::int64_t ms) {
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Resets a flag when a scope ends, also through an exception from a callback.
class FlagGuard {
 public:
  explicit FlagGuard(bool& flag) : flag_(flag) { flag_ = true; }
  ~FlagGuard() { flag_ = false; }
  FlagGuard(const FlagGuard&) = delete;
  FlagGuard& operator=(const FlagGuard&) = delete;

 private:
  bool& flag_;
};

}  // namespace

std::string random_message_id() {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  constexpr std::size_t kSize = sizeof(kAlphabet) - 1;
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uniform_int_distribution<std::size_t> pick(0, kSize - 1);
  std::string id;
  id.reserve(17);
  for (int i = 0; i < 17; ++i) id.push_back(kAlphabet[pick(engine)]);
  return id;
}

const char* to_string(OutboxKind kind) {
  switch (kind) {
    case OutboxKind::Message: return "message";
    case OutboxKind::Upload: return "upload";
    case OutboxKind::Edit: return "edit";
  }
  return "message";
}

std::optional<OutboxKind> outbox_kind_from_string(std::string_view text) {
  if (text == "message") return OutboxKind::Message;
  if (text == "upload") return OutboxKind::Upload;
  if (text == "edit") return OutboxKind::Edit;
  return std::nullopt;
}

const char* to_string(SendResult::Kind kind) {
  switch (kind) {
    case SendResult::Kind::Sent: return "sent";
    case SendResult::Kind::Transient: return "transient";
    case SendResult::Kind::RateLimited: return "rate limited";
    case SendResult::Kind::Permanent: return "permanent";
  }
  return "sent";
}

const char* to_string(OutboxOutcome::Status status) {
  switch (status) {
    case OutboxOutcome::Status::Sent: return "sent";
    case OutboxOutcome::Status::Failed: return "failed";
    case OutboxOutcome::Status::Expired: return "expired";
    case OutboxOutcome::Status::Cancelled: return "cancelled";
  }
  return "sent";
}

const char* to_string(OutboxStatus::State state) {
  switch (state) {
    case OutboxStatus::State::Queued: return "queued";
    case OutboxStatus::State::Sending: return "sending";
    case OutboxStatus::State::Sent: return "sent";
    case OutboxStatus::State::Failed: return "failed";
    case OutboxStatus::State::Expired: return "expired";
    case OutboxStatus::State::Cancelled: return "cancelled";
  }
  return "queued";
}

SendResult SendResult::sent(json message, std::string room_id) {
  SendResult r;
  r.kind = Kind::Sent;
  r.message = std::move(message);
  r.room_id = std::move(room_id);
  return r;
}

SendResult SendResult::transient(std::string error) {
  SendResult r;
  r.kind = Kind::Transient;
  r.error = std::move(error);
  return r;
}

SendResult SendResult::permanent(std::string error) {
  SendResult r;
  r.kind = Kind::Permanent;
  r.error = std::move(error);
  return r;
}

SendResult SendResult::rate_limited(std::string error, std::optional<std::int64_t> retry_after_ms,
                                    std::optional<std::int64_t> reset_at_ms) {
  SendResult r;
  r.kind = Kind::RateLimited;
  r.error = std::move(error);
  r.retry_after_ms = retry_after_ms;
  r.reset_at_ms = reset_at_ms;
  return r;
}

SendResult::Kind classify_http(int status, std::string_view error_type) {
  if (status == 429 || error_type == "error-too-many-requests" || error_type == "too-many-requests") {
    return SendResult::Kind::RateLimited;
  }
  if (status == 0 || status == 408 || status >= 500) return SendResult::Kind::Transient;
  // The link renews an expired session by logging in again; the item waits for that rather than
  // being lost to a token that is about to be replaced.
  if (status == 401) return SendResult::Kind::Transient;
  if (status >= 400) return SendResult::Kind::Permanent;
  return SendResult::Kind::Sent;
}

// ---------------------------------------------------------------------------------------------

Outbox::Outbox(rcgate::Scheduler& scheduler, OutboxOptions options, Sender sender,
               Observer observer)
    : scheduler_(scheduler),
      options_(options),
      sender_(std::move(sender)),
      observer_(std::move(observer)) {}

Outbox::~Outbox() = default;

void Outbox::set_options(OutboxOptions options) {
  options_ = options;
  run();
}

EnqueueResult Outbox::enqueue(OutboxItem item, Observer done) {
  EnqueueResult result;
  if (!item.user.empty() && item.user.front() == '@') item.user.erase(0, 1);
  if (item.room_id.empty() && item.user.empty()) {
    result.error = "nowhere to post: give a room id or a username";
    return result;
  }
  if (item.id.empty()) {
    item.id = random_message_id();
  } else if (auto it = entries_.find(item.id); it != entries_.end()) {
    if (done) it->second.done.push_back(std::move(done));
    result.accepted = true;
    result.duplicate = true;
    result.id = item.id;
    result.sending = it->second.in_flight;
    return result;
  }
  const auto max_items = static_cast<std::size_t>(std::max(options_.max_items, 0));
  if (entries_.size() >= max_items + (item.owed ? answer_reserve() : 0)) {
    result.id = item.id;
    result.error = "the outbound queue is full (" + std::to_string(entries_.size()) +
                   " items waiting, outbox.max_items is " + std::to_string(max_items) +
                   (item.owed ? " plus " + std::to_string(answer_reserve()) + " for answers" : "") +
                   "): Rocket.Chat has been unreachable or refusing messages for a while; this " +
                   "one was not queued";
    return result;
  }
  const std::int64_t now = scheduler_.now_ms();
  if (item.created_ms == 0) item.created_ms = now;
  if (item.expires_ms == 0) item.expires_ms = item.created_ms + options_.ttl.count();
  result.accepted = true;
  result.id = item.id;
  std::vector<Observer> observers;
  if (done) observers.push_back(std::move(done));
  add_entry(std::move(item), std::move(observers));
  run();
  // Handed to the Sender during run(): in flight now, or already ended after an attempt.
  if (const auto st = status(result.id)) {
    using State = OutboxStatus::State;
    result.sending = st->state == State::Sending ||
                     ((st->state == State::Sent || st->state == State::Failed) && st->attempts > 0);
  }
  return result;
}

void Outbox::add_entry(OutboxItem item, std::vector<Observer> done) {
  const std::string id = item.id;
  Room& room = rooms_[item.destination()];
  room.ids.push_back(id);
  Entry entry;
  entry.item = std::move(item);
  entry.seq = next_seq_++;
  entry.done = std::move(done);
  entries_.emplace(id, std::move(entry));
  ++revision_;
}

bool Outbox::can_send_now(const std::string& destination) const {
  const std::int64_t now = scheduler_.now_ms();
  if (!online_ || now < paused_until_) return false;
  const auto it = rooms_.find(destination);
  if (it == rooms_.end()) return true;
  const Room& room = it->second;
  if (room.sending || !room.ids.empty()) return false;
  return options_.room_interval.count() <= 0 || room.last_sent_ms == 0 ||
         now >= room.last_sent_ms + options_.room_interval.count();
}

void Outbox::set_online(bool online) {
  if (online == online_) return;
  online_ = online;
  if (online_) {
    // The link is back: the waits after failures were most likely about the link itself. The
    // server's own rate-limit pause still holds.
    for (auto& [id, entry] : entries_) entry.not_before_ms = 0;
  }
  run();
}

bool Outbox::cancel(const std::string& id) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || it->second.in_flight) return false;
  finish(id, OutboxOutcome::Status::Cancelled, "cancelled", nullptr, {}, scheduler_.now_ms());
  run();
  return true;
}

std::size_t Outbox::depth(const std::string& destination) const {
  const auto it = rooms_.find(destination);
  return it == rooms_.end() ? 0 : it->second.ids.size();
}

std::size_t Outbox::in_flight() const {
  std::size_t n = 0;
  for (const auto& [destination, room] : rooms_) n += room.sending ? 1 : 0;
  return n;
}

std::optional<OutboxStatus> Outbox::status(const std::string& id) const {
  OutboxStatus st;
  st.id = id;
  if (const auto it = entries_.find(id); it != entries_.end()) {
    const Entry& e = it->second;
    st.state = e.in_flight ? OutboxStatus::State::Sending : OutboxStatus::State::Queued;
    st.kind = e.item.kind;
    st.room_id = e.item.room_id;
    st.user = e.item.user;
    st.attempts = e.item.attempts;
    st.error = e.item.last_error;
    st.expires_ms = e.item.expires_ms;
    if (const auto room = rooms_.find(e.item.destination()); room != rooms_.end()) {
      const auto& ids = room->second.ids;
      st.position = static_cast<std::size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
    }
    return st;
  }
  const auto it = recent_.find(id);
  if (it == recent_.end()) return std::nullopt;
  const OutboxOutcome& o = it->second;
  switch (o.status) {
    case OutboxOutcome::Status::Sent: st.state = OutboxStatus::State::Sent; break;
    case OutboxOutcome::Status::Failed: st.state = OutboxStatus::State::Failed; break;
    case OutboxOutcome::Status::Expired: st.state = OutboxStatus::State::Expired; break;
    case OutboxOutcome::Status::Cancelled: st.state = OutboxStatus::State::Cancelled; break;
  }
  st.kind = o.kind;
  st.room_id = o.room_id;
  st.user = o.user;
  st.attempts = o.attempts;
  st.error = o.error;
  st.message = o.message;
  return st;
}

// ---- the pump ---------------------------------------------------------------------------------

// Everything that changes the queue ends here. Callbacks it calls (the Sender answering at once,
// outcome observers that enqueue more) come back into run(), which then only asks for another
// round, so no container is changed while it is being walked.
void Outbox::run() {
  if (running_) {
    again_ = true;
    return;
  }
  {
    FlagGuard guard(running_);
    do {
      again_ = false;
      const std::int64_t now = scheduler_.now_ms();
      expire_due(now);
      deliver_reports();
      start_ready(scheduler_.now_ms());
      deliver_reports();
    } while (again_);
  }
  arm_timer(scheduler_.now_ms());
}

void Outbox::expire_due(std::int64_t now) {
  std::vector<std::string> due;
  for (const auto& [id, entry] : entries_) {
    // An item in flight waits for its outcome: it may well have been posted.
    if (!entry.in_flight && entry.item.expires_ms <= now) due.push_back(id);
  }
  std::sort(due.begin(), due.end(),
            [this](const std::string& a, const std::string& b) {
              return entries_.at(a).seq < entries_.at(b).seq;
            });
  for (const auto& id : due) {
    const OutboxItem& item = entries_.at(id).item;
    std::string error = "not delivered within " +
                        format_duration(item.expires_ms - item.created_ms) + " (";
    if (!item.last_error.empty()) {
      error += "last error: " + item.last_error;
    } else if (item.attempts == 0) {
      error += "Rocket.Chat could not be reached";
    } else {
      error += std::to_string(item.attempts) + " attempts";
    }
    error += ")";
    finish(id, OutboxOutcome::Status::Expired, std::move(error), nullptr, {}, now);
  }
}

std::int64_t Outbox::ready_at(const Room& room, const Entry& head) const {
  std::int64_t at = std::max(head.not_before_ms, paused_until_);
  if (options_.room_interval.count() > 0 && room.last_sent_ms > 0) {
    at = std::max(at, room.last_sent_ms + options_.room_interval.count());
  }
  return at;
}

void Outbox::start_ready(std::int64_t now) {
  if (!online_ || now < paused_until_) return;
  // The oldest heads first, so that after a pause the rooms go in the order they were written to.
  std::vector<std::pair<std::uint64_t, std::string>> heads;
  for (const auto& [destination, room] : rooms_) {
    if (room.sending || room.ids.empty()) continue;
    const Entry& head = entries_.at(room.ids.front());
    if (ready_at(room, head) <= now) heads.emplace_back(head.seq, room.ids.front());
  }
  std::sort(heads.begin(), heads.end());
  for (const auto& [seq, id] : heads) {
    // An answer given at once by the Sender may have paused everything, or taken the link down.
    const std::int64_t at = scheduler_.now_ms();
    if (!online_ || at < paused_until_) return;
    const auto it = entries_.find(id);
    if (it == entries_.end() || it->second.in_flight) continue;
    const auto room = rooms_.find(it->second.item.destination());
    if (room == rooms_.end() || room->second.sending || room->second.ids.front() != id) continue;
    start(id);
  }
}

void Outbox::start(const std::string& id) {
  Entry& entry = entries_.at(id);
  Room& room = rooms_.at(entry.item.destination());
  entry.in_flight = true;
  entry.attempt_token = next_token_++;
  ++entry.item.attempts;
  room.sending = true;
  ++revision_;
  // The Sender gets a copy: it may answer at once, which ends the entry while it still runs.
  const OutboxItem item = entry.item;
  std::weak_ptr<int> alive = alive_;
  const std::uint64_t token = entry.attempt_token;
  Done done = [this, alive, id, token](SendResult result) {
    if (alive.expired()) return;
    on_result(id, token, std::move(result));
  };
  try {
    sender_(item, std::move(done));
  } catch (const std::exception& e) {
    on_result(id, token, SendResult::permanent(std::string("could not send: ") + e.what()));
  } catch (...) {
    on_result(id, token, SendResult::permanent("could not send: unknown error"));
  }
}

void Outbox::on_result(const std::string& id, std::uint64_t token, SendResult result) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.in_flight || it->second.attempt_token != token) return;
  Entry& entry = it->second;
  entry.in_flight = false;
  const std::int64_t now = scheduler_.now_ms();
  if (auto room = rooms_.find(entry.item.destination()); room != rooms_.end()) {
    room->second.sending = false;
    if (result.kind == SendResult::Kind::Sent) room->second.last_sent_ms = now;
  }
  ++revision_;
  switch (result.kind) {
    case SendResult::Kind::Sent:
      rate_limit_streak_ = 0;
      finish(id, OutboxOutcome::Status::Sent, {}, std::move(result.message),
             std::move(result.room_id), now);
      break;
    case SendResult::Kind::Permanent:
      entry.item.last_error = result.error.empty() ? "refused by the server" : result.error;
      finish(id, OutboxOutcome::Status::Failed, entry.item.last_error, nullptr,
             std::move(result.room_id), now);
      break;
    case SendResult::Kind::Transient:
      entry.item.last_error = result.error.empty() ? "no answer from the server" : result.error;
      entry.not_before_ms = now + retry_wait(entry.item.attempts);
      break;
    case SendResult::Kind::RateLimited: {
      entry.item.last_error = result.error.empty() ? "too many requests" : result.error;
      // The wait the server asked for wins. X-RateLimit-Reset is the server's clock, though: a
      // reset time that is already past (a server clock behind ours) would retry at once and
      // hammer it, one far ahead (a clock ahead) would hold everything for no reason, so it is
      // bounded by retry_max; with no usable hint the pause grows like a retry wait.
      const std::int64_t cap = std::max(options_.retry_max.count(), options_.retry_initial.count());
      std::int64_t until = 0;
      if (result.reset_at_ms && *result.reset_at_ms > now) {
        until = std::min(*result.reset_at_ms, now + cap);
      }
      if (result.retry_after_ms && *result.retry_after_ms > 0) {
        until = std::max(until, now + *result.retry_after_ms);
      }
      if (until <= now) until = now + retry_wait(++rate_limit_streak_);
      paused_until_ = std::max(paused_until_, until);
      break;
    }
  }
  // An item that expired while in flight is reported by expire_due() now.
  run();
}

std::int64_t Outbox::retry_wait(int attempts) const {
  const std::int64_t initial = std::max<std::int64_t>(options_.retry_initial.count(), 1);
  const std::int64_t cap = std::max<std::int64_t>(options_.retry_max.count(), initial);
  std::int64_t wait = initial;
  for (int i = 1; i < attempts && wait < cap; ++i) wait *= 2;
  return std::min(wait, cap);
}

void Outbox::finish(const std::string& id, OutboxOutcome::Status status, std::string error,
                    json message, std::string room_id, std::int64_t now) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  const std::string destination = entry.item.destination();
  if (auto room = rooms_.find(destination); room != rooms_.end()) {
    auto& ids = room->second.ids;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    const bool pacing = options_.room_interval.count() > 0 && room->second.last_sent_ms > 0 &&
                        now < room->second.last_sent_ms + options_.room_interval.count();
    if (ids.empty() && !room->second.sending && !pacing) rooms_.erase(room);
  }
  OutboxOutcome outcome;
  outcome.id = id;
  outcome.status = status;
  outcome.kind = entry.item.kind;
  outcome.room_id = !room_id.empty() ? std::move(room_id) : entry.item.room_id;
  outcome.user = entry.item.user;
  outcome.message = std::move(message);
  outcome.error = std::move(error);
  outcome.attempts = entry.item.attempts;
  outcome.at_ms = now;
  remember(outcome);
  reports_.push_back({std::move(outcome), std::move(entry.done)});
  entries_.erase(it);
  ++revision_;
}

void Outbox::remember(const OutboxOutcome& outcome) {
  if (recent_.count(outcome.id) == 0) recent_order_.push_back(outcome.id);
  recent_[outcome.id] = outcome;
  while (recent_order_.size() > kRememberedOutcomes) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

void Outbox::deliver_reports() {
  while (!reports_.empty()) {
    std::vector<Report> batch;
    batch.swap(reports_);
    for (auto& report : batch) {
      for (auto& done : report.done) {
        if (done) done(report.outcome);
      }
      if (observer_) observer_(report.outcome);
    }
  }
}

void Outbox::arm_timer(std::int64_t now) {
  std::int64_t wake = std::numeric_limits<std::int64_t>::max();
  for (const auto& [id, entry] : entries_) {
    if (!entry.in_flight) wake = std::min(wake, entry.item.expires_ms);
  }
  if (online_) {
    for (const auto& [destination, room] : rooms_) {
      if (room.sending || room.ids.empty()) continue;
      wake = std::min(wake, ready_at(room, entries_.at(room.ids.front())));
    }
  }
  if (wake == std::numeric_limits<std::int64_t>::max()) {
    timer_.reset();
    timer_due_ = -1;
    return;
  }
  if (timer_ && timer_due_ == wake) return;
  timer_due_ = wake;
  timer_ = scheduler_.after(std::chrono::milliseconds(std::max<std::int64_t>(wake - now, 0)),
                            [this] {
                              timer_due_ = -1;
                              run();
                            });
}

// ---- persistence ------------------------------------------------------------------------------

namespace {

json item_document(const OutboxItem& item) {
  return {{"id", item.id},
          {"kind", to_string(item.kind)},
          {"room_id", item.room_id},
          {"user", item.user},
          {"payload", item.payload},
          {"created", item.created_ms},
          {"expires", item.expires_ms},
          {"attempts", item.attempts},
          {"last_error", item.last_error}};
}

}  // namespace

json Outbox::to_json() const {
  std::vector<const Entry*> ordered;
  ordered.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) ordered.push_back(&entry);
  std::sort(ordered.begin(), ordered.end(),
            [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
  json items = json::array();
  for (const Entry* e : ordered) items.push_back(item_document(e->item));
  return {{"version", kDocumentVersion}, {"items", std::move(items)}};
}

std::size_t Outbox::answer_reserve() const {
  return std::max<std::size_t>(10, static_cast<std::size_t>(std::max(options_.max_items, 0)) / 10);
}

json Outbox::item_json(const std::string& id) const {
  const auto it = entries_.find(id);
  return it == entries_.end() ? json() : item_document(it->second.item);
}

std::vector<std::string> Outbox::restore(const json& document) {
  std::vector<std::string> warnings;
  const json* items = nullptr;
  if (document.is_object() && document.contains("items")) {
    items = &document["items"];
    const auto version = document.find("version");
    if (version != document.end() && version->is_number_integer() &&
        version->get<int>() > kDocumentVersion) {
      warnings.push_back("outbox: written by a newer rcgate (version " +
                         std::to_string(version->get<int>()) + "); reading what it can");
    }
  }
  if (!items || !items->is_array()) {
    warnings.push_back("outbox: not a list of queued items; nothing restored");
    return warnings;
  }
  const std::int64_t now = scheduler_.now_ms();
  std::size_t restored = 0;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const json& e = (*items)[i];
    const std::string where = "outbox.items[" + std::to_string(i) + "]";
    if (!e.is_object()) {
      warnings.push_back(where + ": not an object; skipped");
      continue;
    }
    const auto text = [&](const char* key) -> std::string {
      const auto it = e.find(key);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const auto number = [&](const char* key) -> std::optional<std::int64_t> {
      const auto it = e.find(key);
      if (it == e.end() || !it->is_number_integer()) return std::nullopt;
      return it->get<std::int64_t>();
    };
    OutboxItem item;
    item.id = text("id");
    if (item.id.empty()) {
      warnings.push_back(where + ": no id; skipped");
      continue;
    }
    const auto kind = outbox_kind_from_string(text("kind"));
    if (!kind) {
      warnings.push_back(where + " (" + item.id + "): unknown kind '" + text("kind") +
                         "'; skipped");
      continue;
    }
    item.kind = *kind;
    item.room_id = text("room_id");
    item.user = text("user");
    if (item.room_id.empty() && item.user.empty()) {
      warnings.push_back(where + " (" + item.id + "): neither room_id nor user; skipped");
      continue;
    }
    const auto payload = e.find("payload");
    if (payload == e.end() || payload->is_null()) {
      warnings.push_back(where + " (" + item.id + "): no payload; skipped");
      continue;
    }
    item.payload = *payload;
    if (entries_.count(item.id) != 0) {
      warnings.push_back(where + " (" + item.id + "): already queued; skipped");
      continue;
    }
    item.created_ms = number("created").value_or(now);
    item.expires_ms = number("expires").value_or(item.created_ms + options_.ttl.count());
    item.attempts = static_cast<int>(
        std::clamp<std::int64_t>(number("attempts").value_or(0), 0, 1'000'000));
    item.last_error = text("last_error");
    add_entry(std::move(item), {});
    ++restored;
  }
  if (restored > 0 && !running_) {
    // Outcomes (expired while rcgate was down) come from the loop, not from inside restore().
    timer_due_ = now;
    timer_ = scheduler_.after(std::chrono::milliseconds(0), [this] {
      timer_due_ = -1;
      run();
    });
  }
  return warnings;
}

}  // namespace rcgate::core
