#pragma once
// An interaction engine answers what people say to the bot (a DM, or an @-mention in a room).
// Engines are asked in the configured order; the first one that answers wins.
#include <functional>
#include <string>
#include <vector>

namespace rcgate {

struct Query {
  std::string text;             // what the person said, the bot's @mention removed
  std::string message_id;       // Rocket.Chat message id (unique per question)
  std::string rc_user_id;       // who said it, on Rocket.Chat
  std::string rc_username;
  std::string rc_display_name;
  std::string automation_user;  // the mapped automation user (config users[].name)
  std::string role;             // the mapped user's role ("" when none)
  std::string room_id;
  std::string room_name;        // display name; "" for DMs
  std::string room_type;        // "c", "p", "d"
  std::string device_id;        // the room's device id; "" for DMs
  std::string thread_id;        // thread root when the question was asked in a thread
  bool is_direct = false;
  bool is_followup = false;     // no mention, but the engine asked for a follow-up last time
};

struct Attachment {
  std::string path;         // a local file to upload, or
  std::string url;          // a URL to fetch and upload
  std::string title;
  std::string description;
};

struct Reply {
  std::string text;
  std::vector<Attachment> attachments;
  bool expects_followup = false;  // the next message from this person here needs no mention
};

struct Answer {
  enum class Kind { Replied, NotMine, Failed } kind = Kind::NotMine;
  Reply reply;         // Replied
  std::string error;   // Failed: why, for the logs
  static Answer replied(Reply r) { return {Kind::Replied, std::move(r), {}}; }
  static Answer not_mine() { return {Kind::NotMine, {}, {}}; }
  static Answer failed(std::string why) { return {Kind::Failed, {}, std::move(why)}; }
};

class InteractionEngine {
 public:
  virtual ~InteractionEngine() = default;
  virtual std::string name() const = 0;
  // Calls done exactly once, possibly later, on the loop thread. Must not block.
  virtual void ask(const Query& query, std::function<void(Answer)> done) = 0;
};

}  // namespace rcgate
