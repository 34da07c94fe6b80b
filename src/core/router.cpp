#include "core/router.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace rcgate::core {

const char* to_string(Decision::Kind kind) {
  switch (kind) {
    case Decision::Kind::Ignore:
      return "ignore";
    case Decision::Kind::NoticeEncrypted:
      return "notice-encrypted";
    case Decision::Kind::Refuse:
      return "refuse";
    case Decision::Kind::Ask:
      return "ask";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// RecentIds

RecentIds::RecentIds(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

bool RecentIds::insert(const std::string& id) {
  if (!set_.insert(id).second) return false;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

void RecentIds::restore(const std::vector<std::string>& ids) {
  order_.clear();
  set_.clear();
  for (const auto& id : ids) {
    if (!id.empty()) insert(id);  // a longer saved list keeps its newest entries
  }
}

// ---------------------------------------------------------------------------------------------
// Mention stripping

namespace {

// Rocket.Chat's default username pattern is [0-9a-zA-Z-_.]+.
bool username_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Length of "@username" at `at` (with a ':', ',' or sentence-ending '.' right after it), or 0
// when there is no whole mention of `username` there.
std::size_t mention_at(std::string_view text, std::size_t at, std::string_view username) {
  if (text[at] != '@' || (at > 0 && username_char(text[at - 1]))) return 0;
  const std::size_t end = at + 1 + username.size();
  if (end > text.size() || !same_letters(text.substr(at + 1, username.size()), username)) return 0;
  if (end == text.size()) return end - at;
  const char next = text[end];
  const bool name_goes_on =
      next == '.' ? end + 1 < text.size() && username_char(text[end + 1]) : username_char(next);
  if (name_goes_on) return 0;  // "@camera-bot2", "@camera-bot.old": someone else
  return next == ':' || next == ',' || next == '.' ? end + 1 - at : end - at;
}

std::string collapse_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool blank = c == ' ' || c == '\t';
    if (blank && (out.empty() || out.back() == ' ' || out.back() == '\n')) continue;
    if (c == '\n' && !out.empty() && out.back() == ' ') out.pop_back();
    out.push_back(blank ? ' ' : c);
  }
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  const auto first = out.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : out.substr(first);
}

}  // namespace

std::string strip_mention(std::string_view text, std::string_view username) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = username.empty() ? 0 : mention_at(text, i, username);
    if (length > 0) {
      out.push_back(' ');  // "x @bot,y" -> "x  y": never glue two words together
      i += length;
    } else {
      out.push_back(text[i++]);
    }
  }
  return collapse_spaces(out);
}

// ---------------------------------------------------------------------------------------------
// Router

namespace {

std::string followup_key(const std::string& room_id, const std::string& user_id) {
  return room_id + '\n' + user_id;
}

// Read positions may be a little behind a message the stream delivered late; fetching a few
// seconds more costs nothing, since messages already acted on are dropped as handled.
constexpr std::int64_t kCatchUpOverlapMs = 5000;

std::string format_window(ms window) {
  const auto count = window.count();
  if (count % 60'000 == 0) return std::to_string(count / 60'000) + "m";
  if (count % 1000 == 0) return std::to_string(count / 1000) + "s";
  return std::to_string(count) + "ms";
}

}  // namespace

Router::Router(BotIdentity bot, InteractionOptions interactions, UnknownUserOptions unknown_users,
               UserDirectory& users, const DeviceRegistry& devices, std::size_t handled_capacity)
    : bot_(std::move(bot)),
      options_(std::move(interactions)),
      unknown_(std::move(unknown_users)),
      users_(users),
      devices_(devices),
      handled_(handled_capacity) {}

void Router::set_options(InteractionOptions interactions, UnknownUserOptions unknown_users) {
  options_ = std::move(interactions);
  unknown_ = std::move(unknown_users);
  buckets_.clear();  // a new limit starts every bucket full
}

Decision Router::ignore(std::string reason, bool notable) const {
  Decision decision;
  decision.kind = Decision::Kind::Ignore;
  decision.reason = std::move(reason);
  decision.notable = notable;
  return decision;
}

bool Router::take(const rc::Message& message) {
  if (handled_.contains(message.id)) return false;
  mark_handled(message);
  advance_read_position(message);
  return true;
}

void Router::mark_handled(const rc::Message& message) {
  if (handled_.insert(message.id)) ++revision_;
}

void Router::advance_read_position(const rc::Message& message) {
  auto& position = read_positions_[message.rid];
  if (message.ts_ms > position) {
    position = message.ts_ms;
    ++revision_;
  }
}

void Router::prune_followups(std::int64_t now_ms) {
  if (followups_.size() < 64) return;
  for (auto it = followups_.begin(); it != followups_.end();) {
    it = it->second < now_ms ? followups_.erase(it) : std::next(it);
  }
}

bool Router::take_token(const std::string& user_id, std::int64_t now_ms, bool& first_refusal) {
  const std::int64_t rate = std::max(options_.rate_limit.messages, 1);
  const std::int64_t cost = std::max<std::int64_t>(options_.rate_limit.per.count(), 1);
  const std::int64_t capacity = rate * cost;
  auto refilled = [&](const Bucket& bucket) {
    const std::int64_t elapsed = std::max<std::int64_t>(now_ms - bucket.refilled_ms, 0);
    // elapsed * rate may not fit once elapsed is large, but then the bucket is full anyway.
    if (elapsed >= cost) return capacity;
    return std::min(capacity, bucket.units + elapsed * rate);
  };
  if (buckets_.size() > 1000) {
    // Forget the people whose bucket has refilled: they would start full again anyway.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = refilled(it->second) >= capacity ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(user_id, Bucket{capacity, now_ms, false});
  Bucket& bucket = it->second;
  if (!inserted) {
    bucket.units = refilled(bucket);
    bucket.refilled_ms = std::max(bucket.refilled_ms, now_ms);
  }
  if (bucket.units >= cost) {
    bucket.units -= cost;
    bucket.limited = false;
    return true;
  }
  first_refusal = !bucket.limited;
  bucket.limited = true;
  return false;
}

Decision Router::route(const rc::Message& message, const rc::Classification& classification,
                       std::int64_t now_ms, Source source) {
  using Kind = rc::MessageKind;
  const auto& c = classification;

  if (c.kind == Kind::OwnEcho || (!bot_.user_id.empty() && message.u.id == bot_.user_id)) {
    return ignore("own message");
  }
  if (c.livechat) return ignore("livechat room");
  if (!c.direct) {
    if (!c.member) return ignore("not a member of the room");
    // The stream's metadata is the server's view at the time of the message, newer than ours
    // (the bot may have been added back a moment ago); without it (per-room streams, history
    // fetches) the registry knows best.
    const Device* device = devices_.find(message.rid);
    if (!message.meta.present && device != nullptr && !device->available) {
      return ignore("the bot left the room");
    }
  }
  advance_read_position(message);  // a repeat was read too (catch-up overlaps the live stream)
  if (handled_.contains(message.id)) return ignore("already handled");

  switch (c.kind) {
    case Kind::Removed:
      return ignore("removed message");
    case Kind::System:
      return ignore("system message (t=" + message.t + ")");
    case Kind::Edit:
      return ignore("edit of an earlier message");
    case Kind::Mutation:
      return ignore("change to an earlier message (reaction, thread, preview)");
    case Kind::OwnEcho:  // handled above
    case Kind::Encrypted:
    case Kind::New:
      break;
  }
  if (source == Source::CatchUp &&
      (options_.catch_up.count() == 0 || message.ts_ms < now_ms - options_.catch_up.count())) {
    return ignore("missed while away, and older than interactions.catch_up");
  }
  users_.note_seen(message.u.id, message.u.username, message.u.name, message.ts_ms);

  if (c.kind == Kind::Encrypted) {
    if (options_.encrypted_notice.empty()) return ignore("encrypted message");
    if (encrypted_noticed_.count(message.rid) != 0) {
      return ignore("encrypted message (the room was told already)");
    }
    encrypted_noticed_.insert(message.rid);
    mark_handled(message);
    ++revision_;
    Decision decision;
    decision.kind = Decision::Kind::NoticeEncrypted;
    decision.reason = "encrypted message";
    decision.room_id = message.rid;
    decision.thread_id = message.tmid;
    decision.text = options_.encrypted_notice;
    return decision;
  }

  if (c.from_bot && !options_.allow_bots) {
    return ignore("message from a bot (interactions.allow_bots is off)");
  }

  // Addressed to the bot?
  const std::string key = followup_key(message.rid, message.u.id);
  prune_followups(now_ms);
  const auto pending = followups_.find(key);
  const bool followup_open = pending != followups_.end() && pending->second >= now_ms;
  bool is_followup = false;
  if (!c.direct && !c.mentions_bot) {
    // "@all dinner is ready" speaks to everyone, not to the bot, even during a follow-up.
    if (c.mentions_group) return ignore("@all/@here without mentioning the bot");
    if (!followup_open) {
      if (pending != followups_.end()) followups_.erase(pending);  // expired
      return ignore("not addressed to the bot");
    }
    is_followup = true;
  }
  // Used up: the answer to this message decides whether another follow-up may come.
  if (pending != followups_.end()) followups_.erase(pending);

  std::string text = strip_mention(message.text, bot_.username);
  for (const auto& mention : message.mentions) {
    // The server resolved the mention by id; its username there is current even if ours is not.
    if (mention.id == bot_.user_id && !mention.username.empty() &&
        mention.username != bot_.username) {
      text = strip_mention(text, mention.username);
    }
  }
  if (text.empty()) return ignore("nothing to answer: no text besides the mention");

  bool first_refusal = false;
  if (!take_token(message.u.id, now_ms, first_refusal)) {
    mark_handled(message);  // a replay after a restart must not be answered either
    return ignore("rate limited: " + message.u.username + " sent more than " +
                      std::to_string(options_.rate_limit.messages) + " messages in " +
                      format_window(options_.rate_limit.per),
                  first_refusal);
  }
  mark_handled(message);

  Decision decision;
  decision.room_id = message.rid;
  decision.thread_id = message.tmid;
  const UserLookup who = users_.lookup(message.u.username);
  if (!who.known) {
    decision.kind = Decision::Kind::Refuse;
    decision.reason = "unknown user '" + message.u.username + "' (not listed under users:)";
    decision.text = unknown_.polite ? unknown_.message : std::string();
    return decision;
  }
  if (!who.allowed) {
    // The operator chose to keep this person out: no explanation invites discussion.
    decision.kind = Decision::Kind::Refuse;
    decision.reason = "user '" + message.u.username + "' has interactions: deny";
    return decision;
  }

  decision.kind = Decision::Kind::Ask;
  decision.reason = c.direct ? "direct message" : is_followup ? "follow-up" : "mention";
  rcgate::Query& q = decision.query;
  q.text = std::move(text);
  q.message_id = message.id;
  q.rc_user_id = message.u.id;
  q.rc_username = message.u.username;
  q.rc_display_name = message.u.name;
  q.automation_user = who.automation_user;
  q.role = who.role;
  q.room_id = message.rid;
  q.thread_id = message.tmid;
  q.is_direct = c.direct;
  q.is_followup = is_followup;
  if (c.direct) {
    q.room_type = "d";
  } else {
    const Device* device = devices_.find(message.rid);
    q.device_id = message.rid;
    q.room_name = device ? device->name : message.meta.room_name;
    q.room_type = device ? device->type : message.meta.room_type;
  }
  return decision;
}

void Router::on_answered(const rcgate::Query& query, bool expects_followup, std::int64_t now_ms) {
  const std::string key = followup_key(query.room_id, query.rc_user_id);
  if (expects_followup && options_.followup_window.count() > 0) {
    followups_[key] = now_ms + options_.followup_window.count();
  } else {
    followups_.erase(key);
  }
}

std::int64_t Router::read_position(const std::string& room_id) const {
  const auto it = read_positions_.find(room_id);
  return it == read_positions_.end() ? 0 : it->second;
}

std::optional<std::int64_t> Router::catch_up_since(const std::string& room_id,
                                                   std::int64_t now_ms) const {
  if (options_.catch_up.count() == 0) return std::nullopt;
  const std::int64_t oldest = now_ms - options_.catch_up.count();
  const std::int64_t position = read_position(room_id);
  return position == 0 ? oldest : std::max(oldest, position - kCatchUpOverlapMs);
}

void Router::begin_catch_up() {
  // Rooms caught up in the previous round are safe from their current position on; the others
  // keep the floor they had (try_emplace leaves it alone).
  for (const auto& room : caught_up_) {
    const auto it = read_positions_.find(room);
    if (it != read_positions_.end()) floors_[room] = it->second;
  }
  if (!catching_up_) {
    for (const auto& [room, position] : read_positions_) floors_.try_emplace(room, position);
  }
  caught_up_.clear();
  catching_up_ = true;
}

void Router::caught_up(const std::string& room_id) {
  if (!catching_up_) return;
  if (floors_.erase(room_id) > 0 || caught_up_.count(room_id) == 0) ++revision_;
  caught_up_.insert(room_id);
}

void Router::remember_handled(const std::string& message_id) {
  if (handled_.insert(message_id)) ++revision_;
}

void Router::remember_noticed(const std::string& room_id) {
  if (encrypted_noticed_.insert(room_id).second) ++revision_;
}

RouterMemory Router::memory() const {
  RouterMemory out{handled_.ids(), {}, {encrypted_noticed_.begin(), encrypted_noticed_.end()}};
  if (!catching_up_ || options_.catch_up.count() == 0) {
    out.read_positions = read_positions_;
    return out;
  }
  for (const auto& [room, position] : read_positions_) {
    if (caught_up_.count(room) != 0) {
      out.read_positions[room] = position;
    } else if (const auto floor = floors_.find(room); floor != floors_.end()) {
      if (floor->second > 0) out.read_positions[room] = std::min(position, floor->second);
    }
    // else: first heard of during this catch-up; saved once the room's history was read.
  }
  return out;
}

void Router::restore(const RouterMemory& memory) {
  handled_.restore(memory.handled_ids);
  read_positions_ = memory.read_positions;
  encrypted_noticed_ = {memory.encrypted_noticed.begin(), memory.encrypted_noticed.end()};
  catching_up_ = false;
  floors_.clear();
  caught_up_.clear();
  ++revision_;
}

// ---------------------------------------------------------------------------------------------

std::optional<MessageSeen> device_message(const rc::Message& message,
                                          const rc::Classification& classification) {
  const auto kind = classification.kind;
  if (kind != rc::MessageKind::New && kind != rc::MessageKind::Edit) return std::nullopt;
  if (classification.direct || classification.livechat || !classification.member) {
    return std::nullopt;
  }
  MessageSeen seen;
  seen.room_id = message.rid;
  seen.message_id = message.id;
  seen.sender_id = message.u.id;
  seen.sender_username = message.u.username;
  seen.sender_name = message.u.name;
  seen.text = message.text;
  seen.ts_ms = message.ts_ms;
  seen.edit = kind == rc::MessageKind::Edit;
  return seen;
}

}  // namespace rcgate::core
