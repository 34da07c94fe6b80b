#pragma once
// Open questions (issue 4, point 3): an automation asks a person something and waits for the
// answer. Pure: time is passed in, nothing is posted from here; every call returns what to post
// or edit, and the caller sends it (through the outbox) and reports the result to whoever asked.
//
// Life of an ask:
//   open()                  -> the question message to post (text with a numbered list of the
//                              answers, plus legacy attachment buttons, PROTOCOL.md §7.2)
//   set_question_message()  -> the posted message's id (known at enqueue time: it is the outbox
//                              item's client id) and, for a DM, its room once known
//   on_message()            -> for each readable chat message: Answered (with the edit of the
//                              question), NotAnAnswer (post the hint; do not route the message),
//                              Late (a click on a closed ask's button; drop it) or NotForAsks
//                              (route it as usual)
//   expire(now)             -> asks whose time is up, each with the edit of its question
//
// Who may answer: the ask's users (usernames, any case), or when it names none, anyone but the
// bot (for a DM ask: the person asked). Messages from other people are NotForAsks: they reach the router and the engines as
// usual, so a room with an open ask still works for everyone else.
//
// Which messages count: those in the ask's room (for a DM ask whose room is not known yet: any
// direct message from that person), in the room itself, in the ask's thread, or in the thread
// of the question message. When several open asks could take a message (the same room, the same
// person), the newest one whose answers match takes it; a number or a free-answer ask always
// matches, so for those the newest ask wins. A message that matches none gets the hint of the
// newest ask, but only when it is meant for an ask: in a DM, from a target user of the ask, in
// the question's thread, or mentioning the bot. Chatter in a room with an ask open to anyone is
// left alone (NotForAsks).
//
// Matching (fold_for_matching): case, accents (é->e, ß->ss, œ->oe), surrounding spaces, inner
// runs of spaces and trailing punctuation are ignored; a leading @mention of the bot is dropped;
// "2" picks the second answer (an answer that is itself "2" is matched first, as text).
// Free-answer asks take any non-empty text, trimmed.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/options.hpp"
#include "rocketchat/classifier.hpp"
#include "rocketchat/message.hpp"

namespace rcgate::core {

// Lower case, accents folded to ASCII (é->e, ß->ss, œ->oe, æ->ae, ø->o, ł->l; combining marks
// dropped; Greek and Cyrillic lowered), spaces trimmed and collapsed, trailing . ! ? , ; : …
// and leading ¿ ¡ removed.
std::string fold_for_matching(std::string_view text);

// Checks the {placeholders} of a configured text: "" when all are known, else a sentence naming
// the unknown one and the allowed ones.
std::string check_template(std::string_view text, std::initializer_list<std::string_view> allowed);

inline constexpr std::size_t kMaxAskAnswers = 20;

struct AskRequest {
  std::string id;                    // "" : a random one is chosen
  std::string question;
  std::vector<std::string> answers;  // empty: any text answers
  ms timeout{0};                     // 0: asks.timeout
  std::vector<std::string> users;    // usernames who may answer; empty: anyone but the bot
  std::string room_id;               // the room to ask in, or
  std::string user;                  // the person whose DM to ask in (room_id "")
  std::string thread_id;             // ask in this thread; "" for the room itself
  // The caller's own data, kept with the ask and given back with its result (a Jeedom variable
  // to write the answer to, a correlation id): null or an object.
  nlohmann::json context;
  std::string callback_url;  // where the result is POSTed when the ask ends ("" for none)
};

// The question message to post.
struct AskPost {
  std::string room_id;  // "" for a DM not opened yet: post to `user`
  std::string user;
  std::string thread_id;
  std::string text;                                   // question + "\n1. Yes\n2. No"
  nlohmann::json attachments = nlohmann::json::array();  // [{actions: [buttons]}]; [] for free

  // The chat.sendMessage message object: {rid?, msg, tmid?, attachments?}; the caller adds _id.
  nlohmann::json message() const;
};

struct AskOpened {
  bool ok = false;
  std::string error;  // not ok: what is wrong with the request, for people
  std::string id;
  AskPost post;
};

struct Answerer {
  std::string user_id;
  std::string username;
  std::string name;  // display name; may be ""

  bool operator==(const Answerer&) const = default;
};

struct AskResult {
  enum class Status { Open, Answered, TimedOut, Cancelled };
  std::string id;
  Status status = Status::Open;
  std::string question;
  std::string answer;     // Answered: the canonical answer (as written in the request), or the
                          // trimmed text of a free answer
  int answer_index = 0;   // Answered: 1-based position in the answers; 0 for a free answer
  Answerer answered_by;
  std::string answer_message_id;
  std::int64_t opened_ms = 0;
  std::int64_t deadline_ms = 0;
  std::int64_t closed_ms = 0;  // answered / timed out / cancelled at
  std::string room_id;
  std::string question_message_id;
  std::vector<std::string> answers;  // the allowed answers; empty for a free answer
  std::string user;                  // a DM ask: the person asked
  nlohmann::json context;            // AskRequest::context
  std::string callback_url;          // AskRequest::callback_url
};
const char* to_string(AskResult::Status status);

// Edit the question message (chat.update {roomId, msgId, text}). The buttons stay (chat.update
// changes the text only); a late click is recognised (AskEffect::Late) and dropped.
struct AskEdit {
  std::string room_id;
  std::string message_id;
  std::string text;  // question + "\n→ Yes (alice, 14:02)" / "\n(no answer — timed out)"
};

struct AskClosed {
  AskResult result;
  std::optional<AskEdit> edit;  // none when the question was never posted (no message id yet)
};

// A readable chat message, as the asks need it.
struct IncomingMessage {
  std::string room_id;
  std::string thread_id;  // tmid; "" when not in a thread
  std::string message_id;
  bool direct = false;        // a DM
  bool mentions_bot = false;  // mentions[] holds the bot
  Answerer sender;
  std::string text;
};

// A classified message as the asks want it. Pass only what a person wrote and the bot can read
// (Classification New; not OwnEcho, System, Encrypted, Removed or an edit): an edit is not a
// second answer.
IncomingMessage incoming_message(const rc::Message& message, const rc::Classification& c);

struct AskEffect {
  enum class Kind {
    NotForAsks,   // route the message as usual
    Answered,     // `closed`: report the result, send the edit; do not route the message
    NotAnAnswer,  // post `hint` (when not empty) in hint_room / hint_thread; do not route
    Late,         // repeats the answer of an ask closed a moment ago (a second click); drop it
  };
  Kind kind = Kind::NotForAsks;
  std::string ask_id;  // Answered, NotAnAnswer, Late
  AskClosed closed;
  std::string hint;
  std::string hint_room;
  std::string hint_thread;
};
const char* to_string(AskEffect::Kind kind);

class Asks {
 public:
  using IdMaker = std::function<std::string()>;
  using TimeFormat = std::function<std::string(std::int64_t epoch_ms)>;

  // `make_id` defaults to random_message_id(); `format_time` (for {time}) to local HH:MM.
  explicit Asks(AskOptions options = {}, IdMaker make_id = {}, TimeFormat format_time = {},
                std::size_t kept_results = 1000);

  void set_options(AskOptions options) { options_ = std::move(options); }
  // The bot's own messages never answer, and "@bot yes" reads as "yes".
  void set_bot(std::string user_id, std::string username);

  // Validates the request (a question; a room or a user; answers non-empty, distinct once folded,
  // at most kMaxAskAnswers; a timeout up to 24h; asks.max_open not reached; an unused id) and
  // opens the ask.
  AskOpened open(AskRequest request, std::int64_t now_ms);

  // The posted question's message id and (for a DM) its room. False for an unknown or closed ask.
  bool set_question_message(const std::string& id, const std::string& message_id,
                            const std::string& room_id = {});

  AskEffect on_message(const IncomingMessage& message, std::int64_t now_ms);

  // Closes the asks whose deadline is at or before now, oldest deadline first.
  std::vector<AskClosed> expire(std::int64_t now_ms);
  // The earliest deadline of the open asks, for the caller's timer.
  std::optional<std::int64_t> next_deadline() const;

  // Cancelled by whoever asked (the HTTP caller went away, or asked to). nullopt when not open.
  std::optional<AskClosed> cancel(const std::string& id, std::int64_t now_ms);

  // An open ask, or one closed recently (the last `kept_results`).
  std::optional<AskResult> get(const std::string& id) const;
  std::vector<AskResult> open_asks() const;  // oldest first
  std::size_t open_count() const { return open_.size(); }

  // Persistence: the open asks and the recent results, so that a restart neither loses a
  // question nor forgets an answer not yet collected. restore() skips (and describes) entries it
  // cannot use; an ask whose deadline passed while rcgate was down closes at the next expire().
  nlohmann::json to_json() const;
  std::vector<std::string> restore(const nlohmann::json& document);
  std::uint64_t revision() const { return revision_; }

 private:
  struct Open {
    AskRequest request;  // users without '@'; timeout resolved
    std::uint64_t seq = 0;
    std::int64_t opened_ms = 0;
    std::int64_t deadline_ms = 0;
    std::string question_message_id;
    std::string room_id;  // request.room_id, or the DM's once known
  };

  bool may_answer(const Open& ask, const Answerer& sender) const;
  bool in_scope(const Open& ask, const IncomingMessage& message) const;
  // 1-based answer index; 0 for a free answer; nullopt when the text does not answer.
  std::optional<int> match(const Open& ask, const std::string& folded) const;
  AskClosed close(const std::string& id, AskResult::Status status, std::int64_t now_ms,
                  const Answerer& by = {}, std::string answer = {}, int index = 0,
                  std::string answer_message_id = {});
  AskResult result_of(const Open& ask) const;
  std::string hint_for(const Open& ask) const;
  std::string strip_bot_mention(std::string_view text) const;
  void keep(AskResult result);

  AskOptions options_;
  IdMaker make_id_;
  TimeFormat format_time_;
  std::size_t kept_results_;
  std::string bot_id_;
  std::string bot_username_;
  std::uint64_t next_seq_ = 1;
  std::map<std::string, Open> open_;
  std::deque<std::string> closed_order_;
  std::unordered_map<std::string, AskResult> closed_;
  std::deque<std::pair<std::int64_t, Open>> late_;  // recently closed asks, with when they closed
  std::uint64_t revision_ = 0;
};

}  // namespace rcgate::core
