#pragma once
// What turns chat into a home-automation surface: the Rocket.Chat connection feeds the devices
// (one per room), the user directory and the router; questions go to the interaction engines and
// their answers are posted back where the question came from. State (devices, people seen,
// handled message ids, read positions) is kept in <state_dir>/state.json, written a few seconds
// after a change; what must never be repeated after a crash (a message acted on) is appended to
// <state_dir>/state.journal and flushed before anyone acts on it, once for all the messages of a
// loop turn, and folded into state.json at its next write.
//
// Everything the bot posts (answers, sends, ask questions and their edits, uploads) goes through
// one outbound queue (core::Outbox), kept with the open asks in <state_dir>/queue.json, written
// a second after a change. Each item queued and each item that ended is journaled too, so that a
// caller hears "queued" after one journal flush, not after a rewrite of the whole queue. Open asks
// see every readable message before the router: an answer (or a reply that is not one) is taken
// by the ask and never reaches the interaction engines.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/events.hpp"
#include "config/settings.hpp"
#include "core/asks.hpp"
#include "core/devices.hpp"
#include "core/outbox.hpp"
#include "core/engines.hpp"
#include "core/router.hpp"
#include "core/users.hpp"
#include "net/loop.hpp"
#include "persistence/background_writer.hpp"
#include "persistence/journal.hpp"
#include "rcgate/interaction.hpp"
#include "rcgate/plugin.hpp"
#include "rocketchat/realtime_client.hpp"

namespace rcgate::app {

class Camera;

// How long state.json waits after a change before it is written (one write for a burst). What
// must survive a crash at once goes to the journal.
inline constexpr std::chrono::milliseconds kStateSaveDelay{5000};

class Gateway {
 public:
  Gateway(net::Loop& loop, const config::Settings& settings, rcgate::Scheduler& scheduler);
  ~Gateway();

  // Loads the state file. Returns an error text when rcgate must not start (a state file written
  // by a newer rcgate); a damaged file is set aside with a warning and rcgate starts clean.
  std::string load_state();
  void set_engines(std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines);
  void start();
  void stop();

  rc::RealtimeClient& client() { return *client_; }
  const core::DeviceRegistry& devices() const { return devices_; }
  const core::UserDirectory& users() const { return users_; }
  // Extra status observers (the daemon reports to systemd and exits on fatal errors).
  void on_status(std::function<void(const rc::LinkStatus&)> fn) { status_observer_ = std::move(fn); }

  // Posts text to a room (in a thread when thread_id is set) through the outbound queue. `key`
  // makes the message id deterministic, so a repeat (even after a restart) never posts twice.
  void post(const std::string& room_id, const std::string& thread_id, const std::string& text,
            const std::string& key);

  // The outbound queue (sends, uploads, edits). Items of kind Upload carry
  // {path, file_name, content_type, description, msg, tmid, remove_after}; the file is removed
  // once the item ends when remove_after is true.
  core::Outbox& outbox() { return outbox_; }
  core::EnqueueResult enqueue(core::OutboxItem item, core::Outbox::Observer done = {});

  // Asks: open one (its question is queued at once), cancel one, read them.
  core::AskOpened open_ask(core::AskRequest request);
  std::optional<core::AskResult> cancel_ask(const std::string& id);
  const core::Asks& asks() const { return asks_; }
  // Hears every ask that ends (answered, timed out, cancelled).
  void on_ask_closed(std::function<void(const core::AskResult&)> fn) {
    ask_observers_.push_back(std::move(fn));
  }

  // What happens (messages, devices, asks, the link): see events.hpp.
  EventBus& events() { return events_; }

  bool online() const { return link_.state == rc::LinkState::Online; }
  const rc::LinkStatus& link() const { return link_; }
  std::int64_t now_ms() const { return scheduler_.now_ms(); }
  const config::Settings& settings() const { return settings_; }

  // Write state.json and queue.json (when anything changed) now, after the background writes
  // asked for before (shutdown; a journal that cannot be written). False: could not be written.
  void save_now();
  bool save_queue_now();
  // Calls `fn` once everything queued so far survives a crash: after the journal flush at the end
  // of this loop turn (one fdatasync for every caller of the turn), or, when the journal cannot
  // be written, after queue.json is written. Before answering "queued" to a caller.
  void when_durable(std::function<void()> fn);

 private:
  void on_online(const rc::Identity& identity);
  void on_message(const rc::Message& message, const rc::Classification& c, core::Source source);
  void on_room_changed(const std::string& action, const nlohmann::json& room);
  void on_subscription_changed(const std::string& action, const nlohmann::json& sub);
  void reconcile_and_catch_up();
  // Reads what a room said since rcgate last read it (at most the catch-up window), a page of
  // kCatchUpPage at a time, up to kCatchUpMaxMessages, then handles it oldest first.
  struct CatchUp;
  static constexpr int kCatchUpPage = 100;
  static constexpr std::size_t kCatchUpMaxMessages = 5000;
  void catch_up_room(const std::string& room_id, const std::string& type, const std::string& name);
  void read_history_page(std::shared_ptr<CatchUp> read);
  void finish_catch_up(CatchUp& read);
  // A failed listing or history read (a server restarting answers 502/503 or 429 at first):
  // reconcile and catch up again later, while the link stays up.
  void retry_catch_up();
  void report(const core::DeviceChanges& changes);
  void answer(const core::Decision& decision);
  // The message behind `decision` is journaled now; the decision is acted on once the journal
  // is flushed (after the other messages of this loop turn).
  void answer_after_sync(core::Decision decision);
  void flush_pending();
  void schedule_flush();
  void journal(const char* what, const std::string& id);
  void journal(const nlohmann::json& record);
  void note_journal_error(const std::string& error);
  // What the journal says about the queue, for load_queue().
  struct QueueReplay {
    std::set<std::string> ended;        // items that ended after queue.json was last written
    std::vector<nlohmann::json> queued;  // items queued since (in order; some may be in it)
  };
  QueueReplay replay_journal();
  std::string replay_and_load_queue();
  // Empties the journal once state.json and queue.json both hold what it says.
  void fold_journal();
  // One of the two files rewritten whole, and what is known of its copy on disk.
  struct SavedFile {
    std::uint64_t saved = 0;  // the revision on disk
    bool stale = false;       // out of date whatever the revision says (loaded, then changed)
    bool writing = false;     // a background write is on its way
    bool up_to_date(std::uint64_t revision) const { return !stale && saved == revision; }
  };
  std::uint64_t queue_revision() const { return outbox_.revision() + asks_.revision(); }
  std::string state_document() const;
  std::string queue_document() const;
  // Writes `content` as `revision` of `file`: at once (true when written), or on the writer's
  // thread (false; the loop hears the outcome later and writes again if it changed meanwhile).
  bool write_file(SavedFile& file, const std::string& path, const char* what,
                  std::uint64_t revision, std::string content, bool now);
  // The timers' writes: in the background, one at a time per file.
  void save_state_in_background();
  void save_queue_in_background();
  void schedule_save();
  // Moves whenever anything state.json holds changes.
  std::uint64_t state_revision() const {
    return devices_.revision() + users_.revision() + router_.revision();
  }
  // Open asks see the message first; true when one took it.
  bool offer_to_asks(const rc::Message& m, const rc::Classification& c);
  void on_asks_closed(std::vector<core::AskClosed> closed);
  void arm_ask_timer();
  void fetch_and_upload(const rcgate::Attachment& a, const std::string& room,
                        const std::string& thread, const std::string& id);
  void send_item(const core::OutboxItem& item, core::Outbox::Done done);
  void send_in_room(const core::OutboxItem& item, const std::string& room_id,
                    core::Outbox::Done done);
  void on_outcome(const core::OutboxOutcome& outcome);
  std::string load_queue(QueueReplay replay);
  void schedule_queue_save();

  net::Loop& loop_;
  const config::Settings& settings_;
  rcgate::Scheduler& scheduler_;
  core::DeviceRegistry devices_;
  core::UserDirectory users_;
  core::Router router_;
  core::EngineChain engines_;
  std::unique_ptr<rc::RealtimeClient> client_;
  std::function<void(const rc::LinkStatus&)> status_observer_;
  std::string state_path_;
  net::Timer save_timer_;
  SavedFile state_file_;
  persistence::Journal journal_;
  bool journal_failing_ = false;           // logged once until it works again
  std::vector<core::Decision> to_answer_;           // waiting for the journal flush
  std::vector<std::function<void()>> when_durable_;  // likewise
  bool flush_posted_ = false;
  rc::LinkStatus link_;
  EventBus events_;
  core::Outbox outbox_;
  core::Asks asks_;
  std::vector<std::function<void(const core::AskResult&)>> ask_observers_;
  std::map<std::string, std::string> dm_rooms_;  // username -> DM room id (im.create)
  std::string queue_path_;
  net::Timer ask_timer_;
  net::Timer catch_up_timer_;
  int catch_up_failures_ = 0;
  net::Timer queue_timer_;
  SavedFile queue_file_;
  std::map<std::uint64_t, std::unique_ptr<Camera>> fetches_;  // attachments being fetched
  std::uint64_t next_fetch_ = 1;
  bool running_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // the writer's reports check it
  persistence::BackgroundWriter writer_;  // last: finishes its writes before the rest goes
};

// Where copies of files to upload wait (<state_dir>/files); each is named "<item id>-<name>" and
// removed when its item ends.
std::string upload_files_dir(const config::Settings& settings);

// doc[key] when it is a string, else "" (server documents, queue payloads).
std::string json_text(const nlohmann::json& doc, const char* key);

// A room or subscription document (rooms-changed, subscriptions-changed, subscriptions.get) as
// the device registry wants it.
core::RoomInfo room_info_from_json(const nlohmann::json& doc);

}  // namespace rcgate::app
