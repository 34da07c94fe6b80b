// The gateway's outbound side: the outbound queue's sender (chat.sendMessage, uploads,
// chat.update, im.create for messages to a person), the open asks, and queue.json.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/gateway.hpp"
#include "persistence/atomic_file.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/rest_client.hpp"

namespace rcgate::app {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kQueueVersion = 1;

// One attempt's REST outcome, as the queue sees it.
core::SendResult send_result(const rc::RestResult& r, const std::string& room_id) {
  if (r.ok()) {
    json message = r.body.is_object() && r.body.contains("message") ? r.body["message"] : json();
    return core::SendResult::sent(std::move(message), room_id);
  }
  // Nothing left rcgate (a missing file, a size over the server's limit): retrying cannot help.
  if (r.status == 0 && r.stage == net::FailStage::None) return core::SendResult::permanent(r.error);
  switch (core::classify_http(r.status, r.error_type)) {
    case core::SendResult::Kind::Transient:
      return core::SendResult::transient(r.error);
    case core::SendResult::Kind::RateLimited:
      return core::SendResult::rate_limited(r.error, r.retry_after_ms);
    case core::SendResult::Kind::Sent:  // 2xx with an error in the body
    case core::SendResult::Kind::Permanent:
      break;
  }
  return core::SendResult::permanent(r.error);
}

}  // namespace

std::string upload_files_dir(const config::Settings& settings) {
  return settings.state_dir.empty() ? std::string() : settings.state_dir + "/files";
}

core::EnqueueResult Gateway::enqueue(core::OutboxItem item, core::Outbox::Observer done) {
  auto result = outbox_.enqueue(std::move(item), std::move(done));
  if (!result.accepted) spdlog::warn("outbox: {}", result.error);
  if (result.accepted && !result.duplicate && !state_path_.empty()) {
    // Null when it ended already (sent at once): its "done" record is in the journal then.
    if (json queued = outbox_.item_json(result.id); !queued.is_null()) {
      journal(json{{"queued", std::move(queued)}});
    }
  }
  schedule_queue_save();
  return result;
}

void Gateway::send_item(const core::OutboxItem& item, core::Outbox::Done done) {
  if (!client_) return done(core::SendResult::transient("not connected"));
  if (!item.room_id.empty()) return send_in_room(item, item.room_id, std::move(done));
  if (auto it = dm_rooms_.find(item.user); it != dm_rooms_.end()) {
    return send_in_room(item, it->second, std::move(done));
  }
  // A message to a person: open (or find) the DM first; the room id is kept for later ones.
  client_->rest().im_create(item.user, [this, item, done = std::move(done)](rc::RestResult r) {
    if (!running_) return;
    std::string room_id;
    if (r.ok() && r.body.is_object() && r.body.contains("room") && r.body["room"].is_object()) {
      room_id = json_text(r.body["room"], "rid");
      if (room_id.empty()) room_id = json_text(r.body["room"], "_id");
    }
    if (room_id.empty()) {
      if (r.ok()) r.error = "the server's answer has no room id";
      r.error = "cannot open a direct message with @" + item.user + ": " + r.error;
      return done(send_result(r, {}));
    }
    dm_rooms_[item.user] = room_id;
    send_in_room(item, room_id, done);
  });
}

void Gateway::send_in_room(const core::OutboxItem& item, const std::string& room_id,
                           core::Outbox::Done done) {
  auto finish = [this, room_id, done = std::move(done)](rc::RestResult r) {
    if (!running_) return;
    done(send_result(r, room_id));
  };
  switch (item.kind) {
    case core::OutboxKind::Message: {
      json message = item.payload.is_object() ? item.payload : json::object();
      message["_id"] = item.id;
      message["rid"] = room_id;
      client_->rest().send_message(std::move(message), std::move(finish));
      return;
    }
    case core::OutboxKind::Edit: {
      json body = {{"roomId", room_id},
                   {"msgId", json_text(item.payload, "msgId")},
                   {"text", json_text(item.payload, "text")}};
      client_->rest().post("/api/v1/chat.update", std::move(body), std::move(finish));
      return;
    }
    case core::OutboxKind::Upload: {
      rc::UploadSpec spec;
      spec.path = json_text(item.payload, "path");
      spec.file_name = json_text(item.payload, "file_name");
      spec.content_type = json_text(item.payload, "content_type");
      spec.description = json_text(item.payload, "description");
      spec.msg = json_text(item.payload, "msg");
      spec.tmid = json_text(item.payload, "tmid");
      client_->rest().upload(room_id, std::move(spec), std::move(finish));
      return;
    }
  }
}

void Gateway::on_outcome(const core::OutboxOutcome& o) {
  journal("done", o.id);  // not sent again after a crash before queue.json's next write
  const std::string where = o.room_id.empty() ? "@" + o.user : o.room_id;
  switch (o.status) {
    case core::OutboxOutcome::Status::Sent:
      spdlog::debug("outbox: {} {} sent in {} ({} attempts)", core::to_string(o.kind), o.id, where,
                    o.attempts);
      break;
    case core::OutboxOutcome::Status::Failed:
      spdlog::error("outbox: {} {} for {} failed: {}", core::to_string(o.kind), o.id, where,
                    o.error);
      break;
    case core::OutboxOutcome::Status::Expired:
      spdlog::warn("outbox: {} {} for {} expired undelivered after {} attempts{}",
                   core::to_string(o.kind), o.id, where, o.attempts,
                   o.error.empty() ? "" : " (last error: " + o.error + ")");
      break;
    case core::OutboxOutcome::Status::Cancelled:
      spdlog::info("outbox: {} {} for {} cancelled", core::to_string(o.kind), o.id, where);
      break;
  }
  // A copy made for the upload (a snapshot, bytes from a request) is removed once it is done.
  if (o.kind == core::OutboxKind::Upload) {
    const std::string dir = upload_files_dir(settings_);
    std::error_code ec;
    if (!dir.empty() && fs::is_directory(dir, ec)) {
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().rfind(o.id + "-", 0) == 0) fs::remove(entry.path(), ec);
      }
    }
  }
  // The question of an ask: learn the DM it went to, or end the ask when it cannot be asked.
  for (const auto& ask : asks_.open_asks()) {
    if (ask.question_message_id != o.id) continue;
    if (o.status == core::OutboxOutcome::Status::Sent) {
      if (!o.room_id.empty()) asks_.set_question_message(ask.id, o.id, o.room_id);
    } else {
      spdlog::warn("ask {}: the question could not be posted ({}); the ask is cancelled", ask.id,
                   o.error.empty() ? core::to_string(o.status) : o.error);
      if (auto closed = asks_.cancel(ask.id, scheduler_.now_ms())) {
        closed->edit.reset();  // nothing to edit: the question is not there
        on_asks_closed({std::move(*closed)});
      }
    }
    break;
  }
  schedule_queue_save();
}

// ---- asks ---------------------------------------------------------------------------------------

core::AskOpened Gateway::open_ask(core::AskRequest request) {
  auto opened = asks_.open(std::move(request), scheduler_.now_ms());
  if (!opened.ok) return opened;
  core::OutboxItem item;
  item.id = core::random_message_id();
  item.kind = core::OutboxKind::Message;
  item.room_id = opened.post.room_id;
  item.user = opened.post.user;
  if (item.room_id.empty()) {
    if (auto it = dm_rooms_.find(item.user); it != dm_rooms_.end()) item.room_id = it->second;
  }
  item.payload = opened.post.message();
  item.payload.erase("rid");
  asks_.set_question_message(opened.id, item.id, item.room_id);
  auto queued = enqueue(std::move(item));
  if (!queued.accepted) {
    asks_.cancel(opened.id, scheduler_.now_ms());
    core::AskOpened refused;
    refused.error = "cannot post the question: " + queued.error;
    return refused;
  }
  spdlog::info("ask {}: asking in {}", opened.id,
               opened.post.room_id.empty() ? "@" + opened.post.user : opened.post.room_id);
  arm_ask_timer();
  return opened;
}

std::optional<core::AskResult> Gateway::cancel_ask(const std::string& id) {
  auto closed = asks_.cancel(id, scheduler_.now_ms());
  if (!closed) return std::nullopt;
  auto result = closed->result;
  on_asks_closed({std::move(*closed)});
  return result;
}

bool Gateway::offer_to_asks(const rc::Message& m, const rc::Classification& c) {
  if (asks_.open_count() == 0) return false;
  // Only what a person just wrote where the bot reads: not edits, echoes, system messages.
  if (c.kind != rc::MessageKind::New || c.livechat || (!c.direct && !c.member)) return false;
  if (m.u.id == client_->identity().user_id || router_.handled(m.id)) return false;
  auto effect = asks_.on_message(core::incoming_message(m, c), scheduler_.now_ms());
  switch (effect.kind) {
    case core::AskEffect::Kind::NotForAsks:
      return false;
    case core::AskEffect::Kind::Answered:
      router_.take(m);
      journal("handled", m.id);
      on_asks_closed({std::move(effect.closed)});
      return true;
    case core::AskEffect::Kind::NotAnAnswer:
      router_.take(m);
      journal("handled", m.id);
      spdlog::info("ask {}: {} replied with something that is not an answer", effect.ask_id,
                   m.u.username);
      if (!effect.hint.empty())
        post(effect.hint_room, effect.hint_thread, effect.hint, "hint:" + m.id);
      return true;
    case core::AskEffect::Kind::Late:
      router_.take(m);
      journal("handled", m.id);
      spdlog::debug("ask {}: a late repeat of the answer from {} dropped", effect.ask_id,
                    m.u.username);
      return true;
  }
  return false;
}

void Gateway::on_asks_closed(std::vector<core::AskClosed> closed) {
  for (auto& c : closed) {
    const auto& r = c.result;
    switch (r.status) {
      case core::AskResult::Status::Answered:
        spdlog::info("ask {}: answered by {}: {:.100}", r.id, r.answered_by.username, r.answer);
        break;
      case core::AskResult::Status::TimedOut:
        spdlog::info("ask {}: timed out without an answer", r.id);
        break;
      default:
        spdlog::info("ask {}: {}", r.id, core::to_string(r.status));
        break;
    }
    if (c.edit && !c.edit->message_id.empty()) {
      const auto question = outbox_.status(c.edit->message_id);
      if (question && question->state == core::OutboxStatus::State::Queued &&
          outbox_.cancel(c.edit->message_id)) {
        // Never posted (Rocket.Chat was away): nobody saw the question, so nothing to edit.
      } else {
        core::OutboxItem item;
        item.id = ddp::derived_id("ask-edit/" + r.id);
        item.kind = core::OutboxKind::Edit;
        item.room_id = c.edit->room_id;
        // A DM question in flight or just sent: its room, or the person's queue behind it.
        if (item.room_id.empty() && question) {
          item.room_id = question->room_id;
          if (item.room_id.empty()) item.user = question->user;
        }
        item.payload = {{"msgId", c.edit->message_id}, {"text", c.edit->text}};
        item.owed = true;  // the question must not stay open-looking in the room
        if (!item.destination().empty() && item.destination() != "@") enqueue(std::move(item));
      }
    }
    for (const auto& observer : ask_observers_) observer(r);
    events_.publish({"ask", ask_json(r)});
  }
  arm_ask_timer();
  schedule_queue_save();
}

void Gateway::arm_ask_timer() {
  auto next = asks_.next_deadline();
  if (!next) {
    ask_timer_.cancel();
    return;
  }
  auto wait = std::max<std::int64_t>(0, *next - scheduler_.now_ms());
  ask_timer_.start(std::chrono::milliseconds(wait), [this] {
    on_asks_closed(asks_.expire(scheduler_.now_ms()));
  });
}

// ---- queue.json ---------------------------------------------------------------------------------

std::string Gateway::load_queue(QueueReplay replay) {
  if (queue_path_.empty()) return {};
  std::string error;
  auto text = persistence::read_file(queue_path_, &error);
  std::size_t ended = 0;
  const auto ended_before_restart = [&replay](const json& item) {
    return item.is_object() && replay.ended.count(json_text(item, "id")) != 0;
  };
  if (text) {
    json doc = json::parse(*text, nullptr, false);
    const int version = doc.is_object() ? doc.value("version", 0) : 0;
    if (version > kQueueVersion) {
      return queue_path_ + " was written by a newer rcgate (version " + std::to_string(version) +
             "); move it away to start afresh, or run the newer rcgate";
    }
    if (version < 1 || !doc.contains("outbox") || !doc.contains("asks")) {
      auto aside = persistence::set_aside(queue_path_);
      spdlog::error("queue: {} is damaged; set aside as {} (queued messages in it are not sent)",
                    queue_path_, aside.empty() ? "(rename failed)" : aside);
    } else {
      // Items that ended after queue.json was last written (the journal says so) are not sent
      // again: a crash loop shorter than the queue's save delay would otherwise redo the same
      // head of the queue at every start.
      if (auto items = doc["outbox"].find("items"); items != doc["outbox"].end() && items->is_array()) {
        ended = items->size();
        std::erase_if(items->get_ref<json::array_t&>(), ended_before_restart);
        ended -= items->size();
      }
      if (ended > 0) spdlog::info("queue: {} items that ended before the restart dropped", ended);
      for (const auto& w : outbox_.restore(doc["outbox"])) spdlog::warn("queue: {}", w);
      for (const auto& w : asks_.restore(doc["asks"])) spdlog::warn("queue: {}", w);
      spdlog::info("queue: {} queued items and {} open asks restored", outbox_.depth(),
                   asks_.open_count());
    }
  } else if (!error.empty()) {
    spdlog::warn("queue: {}", error);
  }
  // Items queued after queue.json was written (acknowledged as queued once journaled): after
  // the ones it holds, in the order they were queued.
  json later = json::array();
  for (auto& item : replay.queued) {
    if (ended_before_restart(item) || outbox_.status(json_text(item, "id"))) continue;
    later.push_back(std::move(item));
  }
  if (!later.empty()) {
    const std::size_t before = outbox_.depth();
    for (const auto& w : outbox_.restore(json{{"items", later}})) spdlog::warn("queue: {}", w);
    spdlog::info("queue: {} items queued after the last save restored from {}",
                 outbox_.depth() - before, journal_.path());
  }
  // What is on disk is what was read, unless the journal changed it.
  queue_file_.saved = queue_revision();
  queue_file_.stale = ended > 0 || !later.empty();
  // Files made for uploads that are no longer queued (a crash between the end and the removal).
  const std::string dir = upload_files_dir(settings_);
  std::error_code ec;
  if (!dir.empty() && fs::is_directory(dir, ec)) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      const auto dash = name.find('-');
      const auto owner = dash == std::string::npos ? std::nullopt
                                                   : outbox_.status(name.substr(0, dash));
      if (!owner || owner->state != core::OutboxStatus::State::Queued) fs::remove(entry.path(), ec);
    }
  }
  arm_ask_timer();
  return {};
}

void Gateway::schedule_queue_save() {
  if (queue_path_.empty() || queue_timer_.pending()) return;
  queue_timer_.start(std::chrono::milliseconds(1000), [this] { save_queue_in_background(); });
}

std::string Gateway::queue_document() const {
  return json{{"version", kQueueVersion}, {"outbox", outbox_.to_json()}, {"asks", asks_.to_json()}}
      .dump();
}

bool Gateway::save_queue_now() {
  if (queue_path_.empty()) return true;
  const std::uint64_t revision = queue_revision();
  if (queue_file_.up_to_date(revision)) return true;
  queue_timer_.cancel();
  return write_file(queue_file_, queue_path_, "queue", revision, queue_document(), /*now=*/true);
}

void Gateway::save_queue_in_background() {
  const std::uint64_t revision = queue_revision();
  if (queue_path_.empty() || queue_file_.writing || queue_file_.up_to_date(revision)) return;
  write_file(queue_file_, queue_path_, "queue", revision, queue_document(), /*now=*/false);
}

}  // namespace rcgate::app
