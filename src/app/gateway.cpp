#include "app/gateway.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/app.hpp"
#include "app/camera.hpp"
#include "persistence/atomic_file.hpp"
#include "rocketchat/rest_client.hpp"
#include "core/state.hpp"

namespace rcgate::app {

using json = nlohmann::json;

std::string json_text(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

namespace {

std::string where(const std::string& room_name, bool direct) {
  if (direct) return "DM";
  return room_name.empty() ? "a room" : "#" + room_name;
}

}  // namespace

core::RoomInfo room_info_from_json(const json& doc) {
  core::RoomInfo r;
  // Subscriptions carry the room id in `rid`; rooms in `_id`.
  r.id = json_text(doc, "rid");
  if (r.id.empty()) r.id = json_text(doc, "_id");
  r.name = json_text(doc, "name");
  r.fname = json_text(doc, "fname");
  r.type = json_text(doc, "t");
  r.parent_id = json_text(doc, "prid");
  r.team_id = json_text(doc, "teamId");
  auto tm = doc.find("teamMain");
  r.team_main = tm != doc.end() && tm->is_boolean() && tm->get<bool>();
  return r;
}

Gateway::Gateway(net::Loop& loop, const config::Settings& settings, rcgate::Scheduler& scheduler)
    : loop_(loop),
      settings_(settings),
      scheduler_(scheduler),
      devices_(settings.devices),
      users_(settings.users),
      router_({}, settings.interactions, settings.unknown_users, users_, devices_),
      engines_(scheduler, settings.interactions),
      save_timer_(loop),
      journal_(settings.state_dir.empty() ? "" : settings.state_dir + "/state.journal"),
      outbox_(
          scheduler, settings.outbox,
          [this](const core::OutboxItem& item, core::Outbox::Done done) {
            send_item(item, std::move(done));
          },
          [this](const core::OutboxOutcome& outcome) { on_outcome(outcome); }),
      asks_(settings.asks),
      ask_timer_(loop),
      catch_up_timer_(loop),
      queue_timer_(loop),
      writer_([&loop](std::function<void()> fn) { loop.post(std::move(fn)); }) {
  if (!settings.state_dir.empty()) {
    state_path_ = settings.state_dir + "/state.json";
    queue_path_ = settings.state_dir + "/queue.json";
  }
  engines_.on_audit([](const core::AuditRecord& record) {
    spdlog::info("audit: {}", core::format_audit(record));
  });
}

Gateway::~Gateway() { stop(); }

std::string Gateway::load_state() {
  if (state_path_.empty()) return {};
  std::string error;
  auto text = persistence::read_file(state_path_, &error);
  if (!text) {
    if (!error.empty()) spdlog::warn("state: {}; starting with an empty state", error);
    return replay_and_load_queue();
  }
  auto loaded = core::load_state(*text);
  if (loaded.status == core::StateLoad::Status::Newer) {
    return state_path_ + " was written by a newer rcgate (" + loaded.error +
           "); move it away to start afresh, or run the newer rcgate";
  }
  if (loaded.status == core::StateLoad::Status::Corrupt) {
    auto aside = persistence::set_aside(state_path_);
    spdlog::warn("state: {} is damaged ({}); set aside as {}; rebuilding from the server",
                 state_path_, loaded.error, aside.empty() ? "(rename failed)" : aside);
    return replay_and_load_queue();
  }
  for (const auto& w : loaded.warnings) spdlog::warn("state: {}", w);
  devices_.restore(std::move(loaded.state.devices));
  users_.restore(std::move(loaded.state.users));
  router_.restore(loaded.state.router);
  spdlog::info("state: {} devices and {} people restored from {}", devices_.size(),
               users_.seen().size(), state_path_);
  state_file_.saved = state_revision();
  return replay_and_load_queue();
}

// The journal holds what happened after the last writes of state.json and queue.json: both are
// read first, the journal is applied on top, then both are written and the journal emptied.
std::string Gateway::replay_and_load_queue() {
  if (auto error = load_queue(replay_journal()); !error.empty()) return error;
  if (journal_.records() > 0) save_now();
  return {};
}

// What was acted on after the last state.json write: replayed, then folded into state.json at
// once so that the journal starts empty.
Gateway::QueueReplay Gateway::replay_journal() {
  QueueReplay queue;
  std::vector<std::string> lines;
  if (auto err = persistence::ensure_directory(settings_.state_dir); !err.empty()) {
    spdlog::error("state: {}", err);
    return queue;
  }
  if (auto err = journal_.open(lines); !err.empty()) {
    spdlog::error("state: {}; what rcgate acts on and queues is saved with state.json and "
                  "queue.json only",
                  err);
    return queue;
  }
  std::size_t replayed = 0;
  for (const auto& line : lines) {
    json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && !json_text(record, "handled").empty()) {
      router_.remember_handled(json_text(record, "handled"));
    } else if (record.is_object() && !json_text(record, "noticed").empty()) {
      router_.remember_noticed(json_text(record, "noticed"));
    } else if (record.is_object() && !json_text(record, "done").empty()) {
      queue.ended.insert(json_text(record, "done"));
    } else if (record.is_object() && record.contains("queued") && record["queued"].is_object()) {
      queue.queued.push_back(std::move(record["queued"]));
    } else {
      spdlog::warn("state: skipped an unreadable line of {}: {:.100}", journal_.path(), line);
      continue;
    }
    ++replayed;
  }
  if (replayed > 0) {
    spdlog::info("state: {} record(s) of what was acted on or queued since the last save "
                 "replayed from {}",
                 replayed, journal_.path());
  }
  return queue;
}

// One line per message acted on: written out directly, without a JSON object per message.
void Gateway::journal(const char* what, const std::string& id) {
  if (state_path_.empty()) return;
  std::string line = "{\"";
  line += what;
  line += "\":";
  line += json(id).dump(-1, ' ', false, json::error_handler_t::replace);  // quoted and escaped
  line += '}';
  note_journal_error(journal_.append(line));
}

void Gateway::journal(const json& record) {
  note_journal_error(
      journal_.append(record.dump(-1, ' ', false, json::error_handler_t::replace)));
}

// A full or read-only disk: said once, and once more when it works again. rcgate goes on
// answering; what it acted on is then saved with state.json only (when that can be written).
void Gateway::note_journal_error(const std::string& error) {
  if (error.empty()) {
    if (journal_failing_) spdlog::info("state: {} is written again", journal_.path());
    journal_failing_ = false;
    return;
  }
  if (!journal_failing_) {
    spdlog::error("state: {}; a crash now could answer a message again after the restart", error);
  }
  journal_failing_ = true;
}

void Gateway::answer_after_sync(core::Decision decision) {
  to_answer_.push_back(std::move(decision));
  schedule_flush();
}

void Gateway::when_durable(std::function<void()> fn) {
  if (!journal_.is_open() || journal_failing_) {
    save_queue_now();
    return fn();
  }
  when_durable_.push_back(std::move(fn));
  schedule_flush();
}

void Gateway::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  loop_.post([this] { flush_pending(); });
}

// The end of a loop turn: one fdatasync for everything journaled during it, then the decisions
// and the callers waiting for it.
void Gateway::flush_pending() {
  flush_posted_ = false;
  if (to_answer_.empty() && when_durable_.empty()) return;
  if (journal_.unsynced()) note_journal_error(journal_.sync());
  if (journal_failing_ && !when_durable_.empty()) save_queue_now();
  auto decisions = std::move(to_answer_);
  to_answer_.clear();
  auto waiting = std::move(when_durable_);
  when_durable_.clear();
  if (running_) {
    for (const auto& decision : decisions) answer(decision);
  }
  for (auto& fn : waiting) fn();
}

void Gateway::set_engines(std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines) {
  engines_.set_engines(std::move(engines));
}

void Gateway::start() {
  if (running_) return;
  running_ = true;
  rc::RealtimeHandlers h;
  h.on_status = [this](const rc::LinkStatus& st) {
    link_ = st;
    // Items wait while the link is down and drain in order once it is back.
    outbox_.set_online(st.state == rc::LinkState::Online);
    json link = {{"connected", st.state == rc::LinkState::Online},
                 {"state", rc::to_string(st.state)},
                 {"reason", st.reason}};
    events_.publish({"link", std::move(link)});
    if (status_observer_) status_observer_(st);
  };
  h.on_online = [this](const rc::Identity& id) { on_online(id); };
  h.on_message = [this](const rc::Message& m, const rc::Classification& c) {
    on_message(m, c, core::Source::Live);
  };
  h.on_room_changed = [this](const std::string& a, const json& r) { on_room_changed(a, r); };
  h.on_subscription_changed = [this](const std::string& a, const json& s) {
    on_subscription_changed(a, s);
  };
  h.on_ephemeral = [](const json& m) {
    spdlog::warn("server notice: {}", m.value("msg", std::string{}));
  };
  client_ = std::make_unique<rc::RealtimeClient>(loop_, realtime_options(settings_), h);
  client_->start();
}

void Gateway::stop() {
  if (!running_) return;
  flush_pending();  // journaled already: their answers go to the queue saved below
  running_ = false;
  outbox_.set_online(false);
  if (client_) client_->stop("rcgate is shutting down");
  save_timer_.cancel();
  ask_timer_.cancel();
  queue_timer_.cancel();
  catch_up_timer_.cancel();
  save_now();
  save_queue_now();
}

// ---- connection events -------------------------------------------------------------------------

void Gateway::on_online(const rc::Identity& identity) {
  router_.set_bot({identity.user_id, identity.username});
  asks_.set_bot(identity.user_id, identity.username);
  devices_.set_self(identity.user_id);
  catch_up_timer_.cancel();
  catch_up_failures_ = 0;
  router_.begin_catch_up();
  reconcile_and_catch_up();
}

void Gateway::retry_catch_up() {
  if (catch_up_timer_.pending()) return;  // one retry covers every room that failed
  const auto wait = std::chrono::milliseconds(std::min<std::int64_t>(30000, 1000LL << std::min(catch_up_failures_, 5)));
  ++catch_up_failures_;
  spdlog::info("catch-up: trying again in {} ms", wait.count());
  catch_up_timer_.start(wait, [this] {
    // Back online on a new connection, on_online has caught up already.
    if (running_ && online()) reconcile_and_catch_up();
  });
}

void Gateway::reconcile_and_catch_up() {
  client_->rest().subscriptions([this](rc::RestResult r) {
    if (!running_) return;
    if (!r.ok()) {
      spdlog::warn("devices: cannot list the bot's rooms ({}); devices follow live events only",
                   r.error);
      retry_catch_up();
      return;
    }
    const json& list = r.body.contains("update") && r.body["update"].is_array()
                           ? r.body["update"]
                           : json::array();
    std::vector<core::RoomInfo> rooms;
    std::vector<core::RoomInfo> everything;
    for (const auto& sub : list) {
      if (!sub.is_object()) continue;
      auto info = room_info_from_json(sub);
      if (info.id.empty()) continue;
      // 8.x invitations are not memberships yet.
      if (json_text(sub, "status") == "INVITED") continue;
      everything.push_back(info);
      if (core::is_device_room(info.type)) rooms.push_back(info);
    }
    report(devices_.reconcile(rooms));
    schedule_save();
    for (const auto& room : everything) {
      if (room.type == "l") continue;
      catch_up_room(room.id, room.type, room.name);
    }
  });
}

// What a room's catch-up has read so far: the pages come newest first, and the messages are
// handled oldest first once the last page is in.
struct Gateway::CatchUp {
  std::string room_id;
  std::string type;
  rc::RoomMeta meta;
  rc::RestClient::HistoryPage page;
  std::vector<rc::Message> messages;  // newest first
  std::set<std::string> ids;          // a message on two pages is read once
};

void Gateway::catch_up_room(const std::string& room_id, const std::string& type,
                            const std::string& name) {
  auto since = router_.catch_up_since(room_id, scheduler_.now_ms());
  if (!since) return;
  auto read = std::make_shared<CatchUp>();
  read->room_id = room_id;
  read->type = type;
  read->meta.present = true;
  read->meta.participant = true;
  read->meta.room_type = type;
  read->meta.room_name = type == "d" ? "" : name;
  read->page.oldest_ms = *since;
  read->page.count = kCatchUpPage;
  read_history_page(std::move(read));
}

void Gateway::read_history_page(std::shared_ptr<CatchUp> read) {
  const auto page = read->page;
  client_->rest().history(read->type, read->room_id, page, [this, read](rc::RestResult r) {
    if (!running_) return;
    if (!r.ok()) {
      spdlog::warn("catch-up: cannot read the history of {} ({})", read->room_id, r.error);
      retry_catch_up();
      return;
    }
    if (!r.body.contains("messages") || !r.body["messages"].is_array()) return;
    const json& messages = r.body["messages"];
    for (const auto& doc : messages) {
      std::string why;
      auto m = rc::parse_rest_message(doc, read->meta, &why);
      if (!m) {
        spdlog::warn("catch-up: skipped a message of {} ({})", read->room_id, why);
        continue;
      }
      if (read->ids.insert(m->id).second) read->messages.push_back(std::move(*m));
    }
    // A full page: older messages may wait behind it. The next pages stop at the newest message
    // of the first one, so that messages arriving meanwhile (read live) do not shift the offsets.
    if (messages.size() >= static_cast<std::size_t>(read->page.count)) {
      if (read->messages.size() < kCatchUpMaxMessages) {
        if (read->page.latest_ms == 0 && !read->messages.empty()) {
          read->page.latest_ms = read->messages.front().ts_ms;
        }
        read->page.offset += static_cast<int>(messages.size());
        return read_history_page(read);
      }
      spdlog::warn("catch-up: more than {} messages in {} since rcgate last read it; the older "
                   "ones are not read",
                   kCatchUpMaxMessages, read->room_id);
    }
    finish_catch_up(*read);
  });
}

void Gateway::finish_catch_up(CatchUp& read) {
  // Handled in the order they were written.
  for (auto it = read.messages.rbegin(); it != read.messages.rend(); ++it) {
    auto c = client_->classifier().classify(*it);
    on_message(*it, c, core::Source::CatchUp);
  }
  router_.caught_up(read.room_id);
  schedule_save();
  if (!read.messages.empty()) {
    spdlog::debug("catch-up: {} messages read in {}", read.messages.size(), read.room_id);
  }
}

void Gateway::on_room_changed(const std::string& action, const json& room) {
  auto info = room_info_from_json(room);
  if (info.id.empty()) return;
  if (action == "removed") {
    report(devices_.remove_room(info.id));
  } else if (core::is_device_room(info.type)) {
    report(devices_.upsert_room(info));
  }
  schedule_save();
}

void Gateway::on_subscription_changed(const std::string& action, const json& sub) {
  auto info = room_info_from_json(sub);
  if (info.id.empty()) return;
  if (action == "removed") {
    report(devices_.remove_room(info.id));
  } else if (action == "inserted" && core::is_device_room(info.type) &&
             json_text(sub, "status") != "INVITED") {
    report(devices_.upsert_room(info));
  }
  schedule_save();
}

void Gateway::report(const core::DeviceChanges& changes) {
  for (const auto& c : changes) {
    const auto* d = devices_.find(c.device_id);
    if (d && d->available) {
      if (events_.wants("device")) events_.publish({"device", device_json(*d, false)});
    } else if (events_.wants("device_removed")) {
      events_.publish({"device_removed", {{"id", c.device_id}, {"name", d ? d->name : ""}}});
    }
    std::string name = d ? d->name : c.device_id;
    if (c.what == core::DeviceChange::What::LastMessage) {
      spdlog::debug("device '{}': last message updated", name);
    } else {
      spdlog::info("device '{}' ({}): {}{}", name, c.device_id, core::to_string(c.what),
                   c.detail.empty() ? "" : " " + c.detail);
    }
  }
}

// ---- messages ---------------------------------------------------------------------------------

void Gateway::on_message(const rc::Message& m, const rc::Classification& c, core::Source source) {
  if (auto seen = core::device_message(m, c)) report(devices_.on_message(*seen));
  if (c.kind == rc::MessageKind::New && source == core::Source::Live && !c.livechat &&
      m.u.id != client_->identity().user_id && events_.wants("message")) {
    const auto* d = devices_.find(m.rid);
    json sender = {{"user_id", m.u.id}, {"username", m.u.username}, {"name", m.u.name}};
    events_.publish({"message",
                     {{"room_id", m.rid},
                      {"device", d ? d->id : ""},
                      {"room_name", m.meta.room_name},
                      {"room_type", m.meta.room_type},
                      {"message_id", m.id},
                      {"thread_id", m.tmid},
                      {"text", m.text},
                      {"sender", std::move(sender)},
                      {"direct", c.direct},
                      {"mention", c.mentions_bot},
                      {"at", rc::format_iso_time(m.ts_ms)}}});
  }
  if (offer_to_asks(m, c)) {
    schedule_save();
    return;
  }
  auto decision = router_.route(m, c, scheduler_.now_ms(), source);
  switch (decision.kind) {
    case core::Decision::Kind::Ignore:
      if (decision.notable)
        spdlog::info("{} {}: ignored: {}", where(m.meta.room_name, c.direct), m.u.username,
                     decision.reason);
      else
        spdlog::debug("{} {}: ignored: {}", where(m.meta.room_name, c.direct), m.u.username,
                      decision.reason);
      schedule_save();
      return;
    case core::Decision::Kind::Refuse:
      spdlog::info("{} {}: refused: {}", where(m.meta.room_name, c.direct), m.u.username,
                   decision.reason);
      break;
    case core::Decision::Kind::NoticeEncrypted:
      spdlog::info("{}: encrypted message from {}; telling the room once",
                   where(m.meta.room_name, c.direct), m.u.username);
      break;
    case core::Decision::Kind::Ask:
      spdlog::info("{} {} asks: {:.200}", where(m.meta.room_name, c.direct), m.u.username,
                   decision.query.text);
      break;
  }
  // The message is marked handled before anyone acts on it, and that is on disk before the
  // engines run: a crash can lose an answer but never performs an action twice.
  journal("handled", m.id);
  if (decision.kind == core::Decision::Kind::NoticeEncrypted) journal("noticed", m.rid);
  schedule_save();
  answer_after_sync(std::move(decision));
}

void Gateway::answer(const core::Decision& decision) {
  const std::string key = decision.query.message_id.empty() ? decision.room_id + decision.reason
                                                            : decision.query.message_id;
  if (decision.kind == core::Decision::Kind::Refuse ||
      decision.kind == core::Decision::Kind::NoticeEncrypted) {
    if (!decision.text.empty())
      post(decision.room_id, decision.thread_id, decision.text, "reply:" + key);
    return;
  }
  if (decision.kind != core::Decision::Kind::Ask) return;
  auto query = decision.query;
  auto room = decision.room_id;
  auto thread = decision.thread_id;
  engines_.ask(query, [this, query, room, thread](core::ChainResult result) {
    if (!running_) return;
    router_.on_answered(query, result.reply.expects_followup, scheduler_.now_ms());
    schedule_save();
    if (result.kind == core::ChainResult::Kind::Silent) return;
    if (!result.reply.text.empty())
      post(room, thread, result.reply.text, "reply:" + query.message_id);
    // Files in the reply are uploaded after the text, in order (one queue per room).
    int n = 0;
    for (const auto& a : result.reply.attachments) {
      ++n;
      const std::string id = ddp::derived_id(client_->identity().user_id + "/reply:" +
                                             query.message_id + "/" + std::to_string(n));
      if (a.path.empty()) {
        if (!a.url.empty()) fetch_and_upload(a, room, thread, id);
        continue;
      }
      core::OutboxItem item;
      item.id = id;
      item.kind = core::OutboxKind::Upload;
      item.room_id = room;
      item.payload = {{"path", a.path},
                      {"description", a.description.empty() ? a.title : a.description},
                      {"tmid", thread},
                      {"remove_after", false}};
      item.owed = true;
      enqueue(std::move(item));
    }
    // The answer is on its way already (the queue sends at once when the room is free); the
    // queue file follows within a second (enqueue schedules it), which is what keeps an answer
    // that must wait for the server (5xx, 429, link down) across a restart. Writing it here,
    // before the next message is read, would cost every answer two fsyncs on the loop.
  });
}

// An image an engine gave by URL (a camera proxy, a chart): fetched like a camera snapshot (no
// login, 15 s, 20 MiB at most), then uploaded; when it cannot be fetched the link is posted
// instead, so that nothing is silently lost.
void Gateway::fetch_and_upload(const rcgate::Attachment& a, const std::string& room,
                               const std::string& thread, const std::string& id) {
  const std::string dir = upload_files_dir(settings_);
  auto url = parse_url(a.url);
  const std::string caption = a.description.empty() ? a.title : a.description;
  auto post_link = [this, a, room, thread, id] {
    core::OutboxItem item;
    item.id = id;
    item.room_id = room;
    item.payload = {{"msg", a.title.empty() ? a.url : a.title + ": " + a.url}};
    if (!thread.empty()) item.payload["tmid"] = thread;
    enqueue(std::move(item));
  };
  if (dir.empty() || !url || (url->scheme != "http" && url->scheme != "https")) return post_link();
  config::CameraSettings source;
  source.name = "attachment";
  source.url = *url;
  source.timeout = std::chrono::seconds(15);
  source.max_size_mb = 20;
  const std::uint64_t key = next_fetch_++;
  auto& camera = fetches_[key];
  camera = std::make_unique<Camera>(loop_, source, dir);
  camera->snapshot([this, key, room, thread, id, caption, dir, post_link](SnapshotResult r) {
    // The fetcher is done: drop it once its callback has returned.
    loop_.post([this, key] { fetches_.erase(key); });
    if (!running_) return;
    if (!r.ok()) {
      spdlog::warn("answer: could not fetch an attachment ({}); posting the link", r.error);
      return post_link();
    }
    const std::string stored = dir + "/" + id + "-" + r.snapshot->file_name;
    std::error_code ec;
    std::filesystem::rename(r.snapshot->path, stored, ec);
    if (ec) {
      std::filesystem::remove(r.snapshot->path, ec);
      return post_link();
    }
    core::OutboxItem item;
    item.id = id;
    item.kind = core::OutboxKind::Upload;
    item.room_id = room;
    item.payload = {{"path", stored},
                    {"file_name", r.snapshot->file_name},
                    {"content_type", r.snapshot->content_type},
                    {"description", caption},
                    {"tmid", thread},
                    {"remove_after", true}};
    item.owed = true;  // part of an answer
    enqueue(std::move(item));
  });
}

void Gateway::post(const std::string& room_id, const std::string& thread_id,
                   const std::string& text, const std::string& key) {
  core::OutboxItem item;
  item.id = ddp::derived_id(client_->identity().user_id + "/" + key);
  item.kind = core::OutboxKind::Message;
  item.room_id = room_id;
  item.payload = {{"msg", text}};
  if (!thread_id.empty()) item.payload["tmid"] = thread_id;
  item.owed = true;  // answers, hints and notices to people
  enqueue(std::move(item));
}

// ---- state --------------------------------------------------------------------------------------

void Gateway::schedule_save() {
  if (state_path_.empty() || save_timer_.pending()) return;
  save_timer_.start(kStateSaveDelay, [this] { save_state_in_background(); });
}

std::string Gateway::state_document() const {
  core::State state;
  state.devices = devices_.snapshot();
  state.users = users_.seen();
  state.router = router_.memory();
  return core::dump_state(state);
}

void Gateway::save_now() {
  if (state_path_.empty()) return;
  // queue.json first: once both files are written, the journal's records are in them.
  save_queue_now();
  const std::uint64_t revision = state_revision();
  if (!state_file_.up_to_date(revision)) {
    save_timer_.cancel();
    write_file(state_file_, state_path_, "state", revision, state_document(), /*now=*/true);
  }
  fold_journal();
}

void Gateway::save_state_in_background() {
  const std::uint64_t revision = state_revision();
  if (state_path_.empty() || state_file_.writing || state_file_.up_to_date(revision)) return;
  write_file(state_file_, state_path_, "state", revision, state_document(), /*now=*/false);
}

bool Gateway::write_file(SavedFile& file, const std::string& path, const char* what,
                         std::uint64_t revision, std::string content, bool now) {
  if (auto err = persistence::ensure_directory(settings_.state_dir); !err.empty()) {
    spdlog::error("{}: {}", what, err);
    return false;
  }
  if (now) {
    writer_.wait_idle();  // an older copy must not land after this one
    if (auto err = persistence::write_atomic(path, content, 0600); !err.empty()) {
      spdlog::error("{}: {}", what, err);
      return false;
    }
    file.saved = std::max(file.saved, revision);
    file.stale = false;
    return true;
  }
  file.writing = true;
  writer_.write(path, std::move(content), 0600,
                [this, &file, what, revision, alive = std::weak_ptr<int>(alive_)](std::string err) {
                  if (alive.expired()) return;
                  file.writing = false;
                  if (!err.empty()) {
                    spdlog::error("{}: {}", what, err);
                  } else {
                    file.saved = std::max(file.saved, revision);
                    file.stale = false;
                    fold_journal();
                  }
                  // Changed while it was written, or not written: again after the usual delay.
                  if (!state_file_.up_to_date(state_revision())) schedule_save();
                  if (!queue_file_.up_to_date(queue_revision())) schedule_queue_save();
                });
  return false;
}

void Gateway::fold_journal() {
  if (journal_.records() == 0 || !state_file_.up_to_date(state_revision()) ||
      !queue_file_.up_to_date(queue_revision())) {
    return;
  }
  note_journal_error(journal_.reset());
}

}  // namespace rcgate::app
