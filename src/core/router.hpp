#pragma once
// Decides what to do with each classified message (issue 3, point 5): ask the interaction
// engines, refuse an unknown or denied person, tell once that encrypted rooms cannot be read, or
// ignore it, and why. Pure: time is passed in, nothing is sent from here; the caller acts on the
// Decision.
//
// The router also keeps what makes "at most once" hold across reconnects and restarts: the ids of
// the messages it acted on (a bounded set), the per-room read position for catch-up, and the
// rooms already told about encryption. memory()/restore() move these in and out of the state
// file.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/devices.hpp"
#include "core/options.hpp"
#include "core/users.hpp"
#include "rcgate/interaction.hpp"
#include "rocketchat/classifier.hpp"
#include "rocketchat/message.hpp"

namespace rcgate::core {

struct BotIdentity {
  std::string user_id;
  std::string username;
};

// A bounded set of ids that forgets the oldest first.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity = 5000);
  bool contains(const std::string& id) const { return set_.count(id) != 0; }
  bool insert(const std::string& id);  // false when already present
  std::vector<std::string> ids() const { return {order_.begin(), order_.end()}; }  // oldest first
  void restore(const std::vector<std::string>& ids);
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> set_;
};

struct Decision {
  enum class Kind {
    Ignore,           // nothing to do; `reason` says why (for debug logs)
    NoticeEncrypted,  // post `text` (the encrypted notice) in room_id
    Refuse,           // unknown or denied person: post `text` when not empty, log `reason`
    Ask,              // ask the interaction engines `query`, answer in room_id / thread_id
  };
  Kind kind = Kind::Ignore;
  std::string reason;
  bool notable = false;  // an Ignore worth an info line (the first rate-limited message of a burst)
  std::string room_id;   // where to answer
  std::string thread_id;  // the thread to answer in; "" for the room itself
  std::string text;       // NoticeEncrypted, Refuse
  rcgate::Query query;    // Ask
};
const char* to_string(Decision::Kind kind);

// Where a message came from: the live stream, or a history fetch after a restart or reconnect.
enum class Source { Live, CatchUp };

struct RouterMemory {
  std::vector<std::string> handled_ids;                // oldest first
  std::map<std::string, std::int64_t> read_positions;  // room id -> newest message ts seen
  std::vector<std::string> encrypted_noticed;          // rooms already told
};

class Router {
 public:
  // `users` records who spoke (and is asked who they are); `devices` tells which rooms the bot
  // has left. Both must outlive the router.
  Router(BotIdentity bot, InteractionOptions interactions, UnknownUserOptions unknown_users,
         UserDirectory& users, const DeviceRegistry& devices, std::size_t handled_capacity = 5000);

  void set_bot(BotIdentity bot) { bot_ = std::move(bot); }
  void set_options(InteractionOptions interactions, UnknownUserOptions unknown_users);

  // Routing rules, in order:
  //  - own messages, messages already acted on, removed/system messages, edits and mutations,
  //    livechat and rooms the bot is not a member of: Ignore;
  //  - encrypted: NoticeEncrypted once per room (when a notice is configured), else Ignore;
  //  - bot-marked messages unless interactions.allow_bots: Ignore;
  //  - addressed to the bot: a DM, a new message that mentions the bot (mentions[]._id), or a
  //    follow-up from the same person in the same room within followup_window; @all/@here
  //    without the bot is not addressed;
  //  - over the person's rate limit: Ignore("rate limited"), notable once per burst;
  //  - unknown person: Refuse with the polite message (or silently); denied person: silent Refuse;
  //  - otherwise Ask, with the bot's @name removed from the text, in the message's thread.
  // CatchUp messages older than interactions.catch_up are ignored (all of them when it is 0).
  Decision route(const rc::Message& message, const rc::Classification& classification,
                 std::int64_t now_ms, Source source = Source::Live);

  // After the engines answered a question: an answer that expects a follow-up lets the person's
  // next message in that room through without a mention, for followup_window.
  void on_answered(const rcgate::Query& query, bool expects_followup, std::int64_t now_ms);

  // Catch-up: the newest message time seen in a room (0 when none), and from when to fetch a
  // room's history after a restart or reconnect (inclusive; repeats are dropped as handled).
  // Returns nullopt when catch-up is off.
  std::int64_t read_position(const std::string& room_id) const;
  std::optional<std::int64_t> catch_up_since(const std::string& room_id, std::int64_t now_ms) const;

  // A message something else acted on (the answer to an ask): false when it was handled
  // already (a repeat from catch-up); otherwise it is marked handled and the room's read
  // position moves past it, so that neither a repeat nor a catch-up routes it later.
  bool take(const rc::Message& message);
  bool handled(const std::string& message_id) const { return handled_.contains(message_id); }

  // Catch-up bookkeeping, so that a crash during a catch-up never skips what it had yet to read:
  // live messages move a room's read position at once, but until that room's catch-up has ended
  // memory() keeps the position the catch-up started from (and leaves out rooms first heard of
  // during it). begin_catch_up() when the bot is online again, caught_up(room) when a room's
  // history was read.
  void begin_catch_up();
  void caught_up(const std::string& room_id);

  // Journal replay (see Gateway): a message acted on, a room told about encryption.
  void remember_handled(const std::string& message_id);
  void remember_noticed(const std::string& room_id);

  // What goes to the state file: handled ids, read positions as described above, rooms told.
  RouterMemory memory() const;
  void restore(const RouterMemory& memory);
  std::uint64_t revision() const { return revision_; }

 private:
  // Integer arithmetic, so that "5 per minute" refills exactly one message every 12 s: a
  // message costs `per` units and each millisecond refills `messages` units.
  struct Bucket {
    std::int64_t units = 0;
    std::int64_t refilled_ms = 0;
    bool limited = false;  // the current burst was already reported
  };
  bool take_token(const std::string& user_id, std::int64_t now_ms, bool& first_refusal);
  Decision ignore(std::string reason, bool notable = false) const;
  void mark_handled(const rc::Message& message);
  void advance_read_position(const rc::Message& message);
  void prune_followups(std::int64_t now_ms);

  BotIdentity bot_;
  InteractionOptions options_;
  UnknownUserOptions unknown_;
  UserDirectory& users_;
  const DeviceRegistry& devices_;
  RecentIds handled_;
  std::map<std::string, std::int64_t> read_positions_;
  std::set<std::string> encrypted_noticed_;
  bool catching_up_ = false;                   // begin_catch_up() was called
  std::map<std::string, std::int64_t> floors_;  // rooms not caught up: the position to keep
  std::set<std::string> caught_up_;             // rooms caught up since begin_catch_up()
  std::unordered_map<std::string, std::int64_t> followups_;  // room + '\n' + user id -> until
  std::unordered_map<std::string, Bucket> buckets_;          // by user id
  std::uint64_t revision_ = 0;
};

// The message as the device registry wants it, or nullopt for what does not count as someone
// speaking in a room: own echoes, system, removed and encrypted messages, mutations, DMs, rooms
// the bot has not joined.
std::optional<MessageSeen> device_message(const rc::Message& message,
                                          const rc::Classification& classification);

// Removes every "@username" (case-insensitive, as a whole name, with a ':', ',' or '.' right
// after it) and collapses the spaces left behind: "@bot:  lights on" -> "lights on".
std::string strip_mention(std::string_view text, std::string_view username);

}  // namespace rcgate::core
