#include "app/events.hpp"

#include "rocketchat/message.hpp"

namespace rcgate::app {

using json = nlohmann::json;

namespace {
std::string iso_or_null(std::int64_t ms) { return ms > 0 ? rc::format_iso_time(ms) : ""; }
}  // namespace

// ---- views --------------------------------------------------------------------------------------

json device_json(const core::Device& d, bool with_commands) {
  json out = {{"id", d.id},
          {"name", d.name},
          {"room_name", d.room_name},
          {"room_type", d.type},
          {"available", d.available},
          {"mention_commands", d.mention_commands},
          {"last_message", d.last.text},
          {"last_message_id", d.last.id},
          {"last_sender", d.last.sender_username},
          {"last_sender_name", d.last.sender_name},
          {"last_message_at", iso_or_null(d.last.at_ms)}};
  if (!with_commands) return out;
  json commands = json::array();
  for (const auto& c : core::commands_of(d)) {
    json cmd = {{"id", c.id}, {"kind", c.kind == core::CommandKind::Action ? "action" : "info"}};
    if (!c.username.empty()) cmd["username"] = c.username;
    commands.push_back(std::move(cmd));
  }
  out["commands"] = std::move(commands);
  return out;
}

json ask_json(const core::AskResult& r) {
  json out = {{"id", r.id},
              {"status", core::to_string(r.status)},
              {"question", r.question},
              {"room_id", r.room_id},
              {"question_message_id", r.question_message_id},
              {"opened_at", iso_or_null(r.opened_ms)},
              {"deadline", iso_or_null(r.deadline_ms)}};
  if (r.status == core::AskResult::Status::Answered) {
    out["answer"] = r.answer;
    out["answer_index"] = r.answer_index;
    out["answered_by"] = {{"username", r.answered_by.username},
                          {"name", r.answered_by.name},
                          {"user_id", r.answered_by.user_id}};
    out["answered_at"] = iso_or_null(r.closed_ms);
  } else if (r.status != core::AskResult::Status::Open) {
    out["closed_at"] = iso_or_null(r.closed_ms);
  }
  out["answers"] = r.answers;
  if (!r.user.empty()) out["user"] = r.user;
  if (r.context.is_object()) out["context"] = r.context;
  return out;
}

}  // namespace rcgate::app
