#pragma once
// The outbound queue (issue 4, point 2): everything rcgate posts (replies, sends, asks, uploads,
// edits) goes through it, so that nothing is posted twice, nothing is lost while Rocket.Chat is
// away, and the server's rate limits are respected.
//
//  - Each item carries its client message id from enqueue on; every retry (and a retry after a
//    restart) posts with that same _id, and the server ignores a second message with an id it
//    already has (PROTOCOL.md §4.1, §7.2).
//  - Ordered per destination: one item in flight per room, the next waits for its outcome; rooms
//    are independent, so a room that refuses messages does not hold up the others.
//  - Paced: after a 429 every room waits until the server's reset time (a global pause); an
//    optional least interval between two posts in one room (outbox.room_interval).
//  - Transient failures (no response, 5xx, 429) are retried with a doubling wait until the item
//    expires; permanent ones (other 4xx: not allowed, no such room, too large) are reported failed
//    at once. An item that expires is reported expired, never dropped silently.
//  - While the link is down (set_online(false)) nothing is sent and items wait; back online, every
//    room drains in order at once.
//  - to_json()/restore() keep the queued items across restarts.
//
// The queue does not talk to Rocket.Chat: a Sender the caller supplies posts one item and reports
// a SendResult. Messages to a person (`user` instead of `room_id`) are queued under "@username";
// the Sender opens the DM (im.create, cached by the caller) before posting and says which room it
// was in SendResult::room_id. A failure to open the DM is reported like any other (a 4xx "no such
// user" is permanent). Items for "@alice" and for her DM's room id are separate queues.
//
// Time comes from the rcgate::Scheduler (timers for retries, pacing and expiry; now_ms()). The
// scheduler must allow a timer handle to be destroyed from inside its own callback, as net::Timer
// does. Single-threaded: call everything from the loop's thread.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/options.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::core {

// A Meteor-style random id: 17 characters of [23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz],
// from a generator seeded by the OS (ids must not repeat across restarts).
std::string random_message_id();

enum class OutboxKind {
  Message,  // payload: the chat.sendMessage message object (the Sender sets _id = item id)
  Upload,   // payload: what the Sender needs to upload (file, caption, thread)
  Edit,     // payload: {msgId, text} for chat.update
};
const char* to_string(OutboxKind kind);
std::optional<OutboxKind> outbox_kind_from_string(std::string_view text);

struct OutboxItem {
  std::string id;       // client message id; "" at enqueue: a random one is chosen
  OutboxKind kind = OutboxKind::Message;
  std::string room_id;  // where to post, or
  std::string user;     // the username whose DM to post in (when room_id is "")
  nlohmann::json payload = nlohmann::json::object();
  std::int64_t created_ms = 0;  // 0 at enqueue: now
  std::int64_t expires_ms = 0;  // 0 at enqueue: created + outbox.ttl
  int attempts = 0;             // attempts made so far
  std::string last_error;       // of the last failed attempt
  // Something the bot owes a person (an answer, the edit of a question that ended): it may use
  // the reserve above max_items (Outbox::answer_reserve()), so that a queue full of alerts does
  // not silence the answers. Not kept across restarts (restore() applies no limit).
  bool owed = false;

  // The queue the item waits in: its room id, or "@username".
  std::string destination() const { return room_id.empty() ? "@" + user : room_id; }
};

// What the Sender reports for one attempt.
struct SendResult {
  enum class Kind {
    Sent,         // posted (or already there: the server knew the _id)
    Transient,    // no response, 5xx, timeout: retried after a wait
    RateLimited,  // 429 / error-too-many-requests: every room pauses, then the item is retried
    Permanent,    // refused for good (4xx): reported failed, not retried
  };
  Kind kind = Kind::Sent;
  nlohmann::json message;  // Sent: the server's message object (may be null)
  std::string room_id;     // the room it went to (the DM opened for a user item); may be ""
  std::string error;       // a sentence for people; "" when sent
  std::optional<std::int64_t> retry_after_ms;  // RateLimited: the wait the server asked for
  std::optional<std::int64_t> reset_at_ms;     // RateLimited: X-RateLimit-Reset (epoch ms, the
                                               // server's clock: honoured up to retry_max ahead)

  static SendResult sent(nlohmann::json message = nullptr, std::string room_id = {});
  static SendResult transient(std::string error);
  static SendResult permanent(std::string error);
  static SendResult rate_limited(std::string error,
                                 std::optional<std::int64_t> retry_after_ms = std::nullopt,
                                 std::optional<std::int64_t> reset_at_ms = std::nullopt);
};
const char* to_string(SendResult::Kind kind);

// How to treat an HTTP outcome: 0 (no response), 408 and 5xx are transient; 429, or an errorType
// of error-too-many-requests at any status, is a rate limit; 401 is transient (the session is
// being renewed by the link; the item waits for it); other 4xx are permanent; 2xx is sent.
SendResult::Kind classify_http(int status, std::string_view error_type = {});

// The end of an item, reported once.
struct OutboxOutcome {
  enum class Status { Sent, Failed, Expired, Cancelled };
  std::string id;
  Status status = Status::Sent;
  OutboxKind kind = OutboxKind::Message;
  std::string room_id;      // the room (for a user item: the DM, when the Sender said which)
  std::string user;         // user items: the username
  nlohmann::json message;   // Sent: the server's message object
  std::string error;        // Failed, Expired: what went wrong, for people
  int attempts = 0;
  std::int64_t at_ms = 0;   // when it ended
};
const char* to_string(OutboxOutcome::Status status);

struct OutboxStatus {
  enum class State { Queued, Sending, Sent, Failed, Expired, Cancelled };
  State state = State::Queued;
  std::string id;
  OutboxKind kind = OutboxKind::Message;
  std::string room_id;
  std::string user;
  int attempts = 0;
  std::string error;            // the last error
  nlohmann::json message;       // Sent
  std::size_t position = 0;     // Queued: items ahead of it in its room
  std::int64_t expires_ms = 0;  // Queued, Sending
};
const char* to_string(OutboxStatus::State state);

struct EnqueueResult {
  bool accepted = false;
  std::string id;      // the item's id (chosen when the item had none)
  std::string error;   // not accepted: why, for people
  bool sending = false;    // handed to the Sender already (online, nothing ahead): worth waiting
                           // a moment for its outcome before answering "queued"
  bool duplicate = false;  // an item with this id was already queued; nothing new was added
};

class Outbox {
 public:
  // Reports the result of one attempt. Call it exactly once, now or later; later calls, and calls
  // after the outbox is gone, are ignored.
  using Done = std::function<void(SendResult)>;
  // Posts one item (a copy: it may outlive the queue's own entry).
  using Sender = std::function<void(const OutboxItem& item, Done done)>;
  using Observer = std::function<void(const OutboxOutcome& outcome)>;

  // `observer` hears every outcome (after the item's own callback, if it has one). Starts
  // offline: nothing is sent before set_online(true).
  Outbox(rcgate::Scheduler& scheduler, OutboxOptions options, Sender sender,
         Observer observer = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // New limits apply to items enqueued from now on (and to the next retry wait).
  void set_options(OutboxOptions options);

  // Queues an item. `done` hears its outcome (not kept across a restart). When the queue is
  // online and nothing waits ahead in that room, the item is handed to the Sender before this
  // returns; `done` may then even be called before it returns. Refused: no destination, or
  // outbox.max_items already waiting (owed items: max_items + answer_reserve()). An item with the id of one still queued is not added twice
  // (`duplicate`; `done` is attached to the queued one).
  EnqueueResult enqueue(OutboxItem item, Observer done = {});

  // Whether an item for `destination` (room id or "@username") would be handed to the Sender at
  // once: online, no rate-limit pause, nothing queued or in flight there, room interval passed.
  bool can_send_now(const std::string& destination) const;

  void set_online(bool online);
  bool online() const { return online_; }

  // Removes a queued item that is not in flight (reported Cancelled). False when unknown,
  // finished, or already being sent.
  bool cancel(const std::string& id);

  // A queued item, or one that ended recently (the last 1000 outcomes are remembered).
  std::optional<OutboxStatus> status(const std::string& id) const;
  std::size_t depth() const { return entries_.size(); }  // queued + in flight
  // Room above outbox.max_items for owed items: a tenth of it, at least 10.
  std::size_t answer_reserve() const;
  std::size_t depth(const std::string& destination) const;
  std::size_t in_flight() const;
  // The end of the current rate-limit pause (epoch ms); 0 or past when none.
  std::int64_t paused_until() const { return paused_until_; }

  // Persistence. The document lists the queued items (in flight ones too: their outcome is not
  // known, and their id keeps a second post from showing twice) in enqueue order.
  nlohmann::json to_json() const;
  // One queued item as to_json() writes it (null when `id` is not queued): what a journal keeps
  // of an item between two writes of the whole document. restore() reads a list of them.
  nlohmann::json item_json(const std::string& id) const;
  // Adds the items of a document written by to_json() after those already queued, skipping (and
  // describing in the returned warnings) entries that cannot be used and ids already queued.
  // Items past their expiry are reported expired shortly after, from a timer, as are the others
  // sent once online: restore() itself calls no callback. The capacity limit does not apply: a
  // persisted alert is never dropped.
  std::vector<std::string> restore(const nlohmann::json& document);

  // Bumped on every change worth saving; the caller compares it to debounce its writes.
  std::uint64_t revision() const { return revision_; }

 private:
  struct Entry {
    OutboxItem item;
    std::uint64_t seq = 0;
    std::int64_t not_before_ms = 0;  // retry wait after a transient failure
    bool in_flight = false;
    std::uint64_t attempt_token = 0;  // matches a Done to the attempt it belongs to
    std::vector<Observer> done;
  };
  struct Room {
    std::deque<std::string> ids;  // in order; the front one is next (or in flight)
    bool sending = false;
    std::int64_t last_sent_ms = 0;
  };

  void run();
  void expire_due(std::int64_t now);
  void start_ready(std::int64_t now);
  void start(const std::string& id);
  void on_result(const std::string& id, std::uint64_t token, SendResult result);
  void finish(const std::string& id, OutboxOutcome::Status status, std::string error,
              nlohmann::json message, std::string room_id, std::int64_t now);
  void deliver_reports();
  void arm_timer(std::int64_t now);
  std::int64_t ready_at(const Room& room, const Entry& head) const;
  std::int64_t retry_wait(int attempts) const;
  void remember(const OutboxOutcome& outcome);
  void add_entry(OutboxItem item, std::vector<Observer> done);

  rcgate::Scheduler& scheduler_;
  OutboxOptions options_;
  Sender sender_;
  Observer observer_;
  bool online_ = false;
  std::int64_t paused_until_ = 0;
  int rate_limit_streak_ = 0;  // 429s in a row without a Retry/Reset hint
  std::uint64_t next_seq_ = 1;
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::string, Room> rooms_;  // by destination
  struct Report {
    OutboxOutcome outcome;
    std::vector<Observer> done;
  };
  std::vector<Report> reports_;
  std::deque<std::string> recent_order_;
  std::unordered_map<std::string, OutboxOutcome> recent_;
  std::unique_ptr<rcgate::TimerHandle> timer_;
  std::int64_t timer_due_ = -1;
  bool running_ = false;
  bool again_ = false;
  std::uint64_t revision_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // Done callbacks hold a weak_ptr
};

}  // namespace rcgate::core
