#include "jeedom/push.hpp"

#include <utility>

namespace rcgate::plugins::jeedom {

namespace {

std::string without_hash(std::string text) {
  if (!text.empty() && text.front() == '#') text.erase(0, 1);
  return text;
}

// jeeApi.php throws "Commande introuvable" with code -32702; its catch block sends -32000 minus
// that: 702 on the wire.
bool is_unknown_command(const std::string& code) { return code == "702" || code == "-32702"; }

}  // namespace

bool Pusher::matches(const PushTarget& target, const Json& device) {
  const std::string wanted = without_hash(target.device);
  if (wanted == string_at(device, {"id"})) return true;
  const std::string folded = to_lower_ascii(wanted);
  return folded == to_lower_ascii(string_at(device, {"name"})) ||
         folded == to_lower_ascii(string_at(device, {"room_name"}));
}

void Pusher::on_device(const Json& device) {
  if (!device.is_object() || settings_.push.empty()) return;
  const std::string id = string_at(device, {"id"});
  if (id.empty()) return;
  const std::string text = string_at(device, {"last_message"});
  // The message id tells a new message from the same words written again ("oui", "oui").
  std::string key = string_at(device, {"last_message_id"});
  if (key.empty() && !text.empty()) key = string_at(device, {"last_message_at"}) + "\n" + text;
  if (key.empty()) return;  // nobody wrote in the room yet
  const std::string name = string_at(device, {"name"});
  for (const auto& target : settings_.push) {
    if (!matches(target, device)) continue;
    std::string& pushed = pushed_[target.path + "\n" + id];
    // A rename, the bot leaving and coming back, a setting: not a new message.
    if (pushed == key) continue;
    pushed = key;
    const std::string lane = "push:" + target.path + ":" + id;
    const std::string of_device = " of device " + in_quotes(name.empty() ? id : name);
    // The sender first: a Jeedom scenario triggered by the message reads an up-to-date sender.
    if (target.last_sender != 0) {
      std::string sender;
      if (settings_.sender == SenderField::Name) sender = string_at(device, {"last_sender_name"});
      if (sender.empty()) sender = string_at(device, {"last_sender"});
      const std::string path = target.path + ".last_sender";
      enqueue(lane, {Purpose::Push, "cmd::event",
                     Json{{"id", target.last_sender}, {"value", sender}},
                     "command " + std::to_string(target.last_sender) + " (" + path + of_device +
                         ")",
                     path, target.last_sender});
    }
    if (target.last_message != 0) {
      const std::string path = target.path + ".last_message";
      enqueue(lane, {Purpose::Push, "cmd::event",
                     Json{{"id", target.last_message}, {"value", text}},
                     "command " + std::to_string(target.last_message) + " (" + path + of_device +
                         ")",
                     path, target.last_message});
    }
  }
}

void Pusher::on_ask(const Json& ask) {
  if (!settings_.ask_variable || !ask.is_object()) return;
  const auto context = ask.find("context");
  if (context == ask.end() || !context->is_object()) return;
  const auto variable = context->find("jeedom_variable");
  if (variable == context->end() || variable->is_null()) return;  // not meant for Jeedom
  const std::string id = string_at(ask, {"id"});
  auto name_of = [&](const Json& value, const char* key) -> std::string {
    if (value.is_string() && !trim(value.get<std::string>()).empty()) {
      return trim(value.get<std::string>());
    }
    log_.warn("ask " + in_quotes(id) + ": context." + key +
              " must be the name of a Jeedom scenario variable, got " + kind_of(value) +
              "; nothing is written into it");
    return "";
  };
  const std::string answer_variable = name_of(*variable, "jeedom_variable");
  if (answer_variable.empty()) return;

  const std::string status = string_at(ask, {"status"});
  std::string value;
  if (status == "answered") {
    value = string_at(ask, {"answer"});
  } else if (status == "timed_out") {
    value = settings_.ask_timed_out;
  } else if (status == "cancelled") {
    value = settings_.ask_cancelled;
  } else {
    return;  // still open: the scenario keeps waiting
  }
  auto save = [&](const std::string& key, const std::string& what, std::string text) {
    // datastore::save with type "scenario" and linkId -1 is what Jeedom's own variable()
    // function and "variable" action read and write: a global scenario variable.
    enqueue("ask", {Purpose::Ask, "datastore::save",
                    Json{{"type", "scenario"}, {"linkId", -1}, {"key", key}, {"value", text}},
                    what + " of ask " + in_quotes(id) + " into Jeedom variable " + in_quotes(key),
                    "context." + key, 0});
  };
  // The sender first: the scenario wakes up when the answer variable is written.
  const auto sender_variable = context->find("jeedom_sender_variable");
  if (status == "answered" && sender_variable != context->end() && !sender_variable->is_null()) {
    const std::string key = name_of(*sender_variable, "jeedom_sender_variable");
    if (!key.empty()) {
      std::string sender;
      if (settings_.sender == SenderField::Name) sender = string_at(ask, {"answered_by", "name"});
      if (sender.empty()) sender = string_at(ask, {"answered_by", "username"});
      save(key, "the sender", sender);
    }
  }
  save(answer_variable, status == "answered" ? "the answer" : "the end (" + status + ")", value);
}

std::size_t Pusher::waiting() const {
  std::size_t n = 0;
  for (const auto& [name, lane] : lanes_) n += lane.waiting.size() + (lane.busy ? 1 : 0);
  return n;
}

void Pusher::enqueue(const std::string& name, Call call) {
  Lane& lane = lanes_[name];
  if (lane.waiting.size() >= kMaxWaiting) {
    lane.waiting.pop_front();
    if (!lane.overflow_reported) {
      lane.overflow_reported = true;
      log_.warn("Jeedom takes values more slowly than they come (" + call.what + "): " +
                std::to_string(kMaxWaiting) +
                " are waiting, so the oldest waiting one is dropped for each new one");
    }
  }
  lane.waiting.push_back(std::move(call));
  if (!lane.busy) send_next(name);
}

void Pusher::send_next(const std::string& name) {
  const auto it = lanes_.find(name);
  if (it == lanes_.end()) return;
  Lane& lane = it->second;
  if (lane.waiting.empty()) {
    lanes_.erase(it);
    return;
  }
  lane.busy = true;
  Call call = std::move(lane.waiting.front());
  lane.waiting.pop_front();
  HttpCall request = rpc_->request(call.method, call.params);
  // Held weakly: stopping the plugin drops what is still waiting.
  std::weak_ptr<Pusher> weak = weak_from_this();
  http_.request(std::move(request), [weak, name, call = std::move(call)](HttpResult result) {
    const auto self = weak.lock();
    if (!self) return;
    self->on_done(call, self->rpc_->read(result));
    self->send_next(name);
  });
}

void Pusher::on_done(const Call& call, const RpcOutcome& outcome) {
  if (!outcome.jeedom_wide() && !outage_.empty()) {
    // Jeedom answered again.
    log_.info("Jeedom takes values again" +
              (lost_ == 0 ? std::string()
                          : " (" + std::to_string(lost_) +
                                (lost_ == 1 ? " value was" : " values were") +
                                " not delivered while it failed)"));
    outage_.clear();
    lost_ = 0;
  }
  if (outcome.ok()) {
    if (call.command != 0) refused_commands_.erase(call.command);
    log_.debug((call.purpose == Purpose::Ask ? "wrote " : "pushed to ") + call.what);
    return;
  }
  if (call.purpose == Purpose::Ask) {
    // Every one is logged: a Jeedom scenario is waiting on this answer.
    log_.warn("could not write " + call.what + ": " + outcome.error +
              "; the Jeedom scenario waiting on it will only see its own timeout");
    if (outcome.jeedom_wide() && outage_.empty()) outage_ = outcome.error;
    return;
  }
  if (outcome.jeedom_wide()) {
    ++lost_;
    if (outage_.empty()) {
      outage_ = outcome.error;
      log_.warn("cannot push to Jeedom: " + outcome.error +
                "; new messages are still pushed as they come, and this is logged again only "
                "once Jeedom takes them");
    }
    return;
  }
  // Jeedom is up but refused this value: most often a wrong command id.
  if (refused_commands_.insert(call.command).second) {
    std::string hint;
    if (is_unknown_command(outcome.code)) {
      hint = "; check plugins.jeedom." + call.path +
             ": it must be the id of an info command (Jeedom shows it in the Commands tab of "
             "the equipment)";
    }
    log_.warn("Jeedom refused the value for " + call.what + ": " + outcome.error + hint);
  }
}

}  // namespace rcgate::plugins::jeedom
