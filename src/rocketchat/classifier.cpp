#include "rocketchat/classifier.hpp"

#include <iterator>
#include <utility>

namespace rcgate::rc {

const char* to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::New:
      return "new";
    case MessageKind::Edit:
      return "edit";
    case MessageKind::Mutation:
      return "mutation";
    case MessageKind::System:
      return "system";
    case MessageKind::OwnEcho:
      return "own-echo";
    case MessageKind::Encrypted:
      return "encrypted";
    case MessageKind::Removed:
      return "removed";
  }
  return "unknown";
}

Classifier::Classifier(std::string bot_user_id, std::size_t capacity, std::int64_t fresh_window_ms)
    : bot_user_id_(std::move(bot_user_id)),
      capacity_(capacity),
      fresh_window_ms_(fresh_window_ms < 0 ? 0 : fresh_window_ms) {}

namespace {

// updated - ts > window, without the signed overflow a hostile pair of dates could cause.
bool older_than(std::int64_t ts_ms, std::int64_t updated_ms, std::int64_t window_ms) {
  if (updated_ms <= ts_ms) return false;  // clock skew or no change: treat as fresh
  const auto age = static_cast<std::uint64_t>(updated_ms) - static_cast<std::uint64_t>(ts_ms);
  return age > static_cast<std::uint64_t>(window_ms);
}

}  // namespace

Classification Classifier::classify(const Message& message) {
  Classification c;
  c.thread_reply = !message.tmid.empty();
  c.direct = message.meta.room_type == "d";
  c.livechat = message.meta.room_type == "l";
  c.member = message.meta.present ? message.meta.participant : true;
  c.from_bot = message.from_integration;
  for (const auto& mention : message.mentions) {
    if (!bot_user_id_.empty() && mention.id == bot_user_id_) c.mentions_bot = true;
    if (mention.id == "all" || mention.id == "here") c.mentions_group = true;
  }

  // Memory is consulted before it is updated, and updated for every message whatever its kind.
  // Rules 1-4 below read the message's current fields; the memory records what this _id has done
  // so far. Remembering system, encrypted, removed and own messages as well keeps that record
  // complete, so a delivery that falls through to rule 5 is judged against its real history and
  // cannot pass for a first sighting: e.g. own messages seen before set_bot_user_id() learned (or
  // changed) the bot id, or a re-broadcast whose marker (`content`, `t`) is gone. Such a message
  // is then a Mutation (or an Edit if editedAt moved), never a New that would run a command no
  // one just sent. The cost is capacity spent on messages that never reach rule 5, which the
  // bound keeps small. Storing editedAt on every sighting also keeps edit detection exact: a
  // second identical delivery of an edit is a Mutation, not another Edit.
  const auto it = seen_.find(message.id);
  const bool first_sight = it == seen_.end();
  const std::optional<std::int64_t> previous_edit =
      first_sight ? std::nullopt : it->second.edited_ms;
  remember(message);

  // PROTOCOL.md §5.3, in order.
  if (!bot_user_id_.empty() && message.u.id == bot_user_id_) {
    c.kind = MessageKind::OwnEcho;
  } else if (message.t == "rm") {
    c.kind = MessageKind::Removed;
  } else if (message.t == "e2e" || message.encrypted) {
    c.kind = MessageKind::Encrypted;
  } else if (!message.t.empty()) {
    c.kind = MessageKind::System;  // includes `t` values this build has never heard of
  } else if (first_sight) {
    // First sighting: new, unless it was written long before this change (a reaction on
    // yesterday's message, or a message evicted from memory and mutated since). An edit arriving
    // before its original (the streamer does not order events) is also fresh enough to be New;
    // the late original then finds it remembered and is a Mutation, so nothing runs twice.
    c.kind = older_than(message.ts_ms, message.updated_ms, fresh_window_ms_) ? MessageKind::Mutation
                                                                             : MessageKind::New;
  } else if (message.edited_ms.has_value() && message.edited_ms != previous_edit) {
    c.kind = MessageKind::Edit;
  } else {
    // Same editedAt (or none): reaction, thread counters, URL preview, read flag, pin...
    c.kind = MessageKind::Mutation;
  }
  return c;
}

void Classifier::remember(const Message& message) {
  if (capacity_ == 0) return;  // no memory: every sighting is a first sighting
  auto it = seen_.find(message.id);
  if (it != seen_.end()) {
    // Eviction is by first sighting, so later deliveries do not move the entry. A busy message
    // that falls out anyway is caught by the age check on its next delivery (it is then old).
    it->second.edited_ms = message.edited_ms;
    return;
  }
  if (seen_.size() >= capacity_) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(message.id);
  seen_.emplace(message.id, Seen{message.edited_ms, std::prev(order_.end())});
}

}  // namespace rcgate::rc
