#pragma once
// Decides what an incoming message event is (PROTOCOL.md §5.3). Keeps a bounded memory of the
// messages it has seen so that edits, reactions and thread counters are told apart from new
// messages.
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "rocketchat/message.hpp"

namespace rcgate::rc {

enum class MessageKind {
  New,        // first sighting of a fresh message
  Edit,       // seen before, editedAt changed
  Mutation,   // seen before with the same editedAt (reaction, thread counter, preview, pin...),
              // or first seen long after it was written (a change to an old message)
  System,     // t present (uj, ul, au, ru, r, ...), except e2e and rm
  OwnEcho,    // written by the bot itself
  Encrypted,  // e2e: cannot be read
  Removed,    // t == "rm": soft-deleted placeholder
};
const char* to_string(MessageKind kind);

struct Classification {
  MessageKind kind = MessageKind::New;
  bool thread_reply = false;     // tmid present
  bool direct = false;           // DM (meta.roomType == "d")
  bool mentions_bot = false;     // mentions[]._id == bot user id
  bool mentions_group = false;   // @all / @here
  bool from_bot = false;         // the message carries a "bot" marker (integration / app)
  bool member = true;            // meta.roomParticipant (false: public room the bot has not joined)
  bool livechat = false;         // roomType "l"
};

class Classifier {
 public:
  // An old message first seen more than `fresh_window` after it was written counts as a mutation.
  explicit Classifier(std::string bot_user_id = {}, std::size_t capacity = 10000,
                      std::int64_t fresh_window_ms = 60000);

  void set_bot_user_id(std::string id) { bot_user_id_ = std::move(id); }
  const std::string& bot_user_id() const { return bot_user_id_; }

  Classification classify(const Message& message);
  std::size_t remembered() const { return seen_.size(); }

 private:
  struct Seen {
    std::optional<std::int64_t> edited_ms;
    std::list<std::string>::iterator order;
  };
  void remember(const Message& message);

  std::string bot_user_id_;
  std::size_t capacity_;
  std::int64_t fresh_window_ms_;
  std::list<std::string> order_;  // oldest first
  std::unordered_map<std::string, Seen> seen_;
};

}  // namespace rcgate::rc
