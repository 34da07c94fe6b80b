#include "core/engines.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace rcgate::core {

const char* to_string(EngineAttempt::Outcome outcome) {
  switch (outcome) {
    case EngineAttempt::Outcome::Replied:
      return "replied";
    case EngineAttempt::Outcome::NotMine:
      return "not mine";
    case EngineAttempt::Outcome::Failed:
      return "failed";
    case EngineAttempt::Outcome::TimedOut:
      return "timed out";
  }
  return "unknown";
}

const char* to_string(ChainResult::Kind kind) {
  switch (kind) {
    case ChainResult::Kind::Replied:
      return "replied";
    case ChainResult::Kind::Fallback:
      return "fallback";
    case ChainResult::Kind::Silent:
      return "silent";
  }
  return "unknown";
}

std::string format_audit(const AuditRecord& r) {
  std::string out = r.rc_username;
  if (!r.automation_user.empty()) out += " (automation user " + r.automation_user + ")";
  out += r.is_direct ? " in a direct message" : " in " + r.room_name;
  out += " [" + r.room_id + "]: ";
  switch (r.outcome) {
    case ChainResult::Kind::Replied:
      out += "answered by " + r.engine;
      break;
    case ChainResult::Kind::Fallback:
      out += "no engine answered, said the fallback";
      break;
    case ChainResult::Kind::Silent:
      out += "no engine answered, said nothing";
      break;
  }
  out += " in " + std::to_string(r.latency_ms) + "ms";
  std::string others;
  for (const auto& a : r.attempts) {
    if (a.outcome == EngineAttempt::Outcome::Replied) continue;
    others += (others.empty() ? "" : ", ") + a.engine + ": " + to_string(a.outcome);
    if (!a.error.empty()) others += " (" + a.error + ")";
    others += " after " + std::to_string(a.latency_ms) + "ms";
  }
  if (!others.empty()) out += " (" + others + ")";
  return out;
}

struct EngineChain::Pending {
  std::uint64_t id = 0;
  rcgate::Query query;
  std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines;
  std::function<void(ChainResult)> done;
  std::size_t index = 0;      // the engine being asked
  std::uint64_t attempt = 0;  // bumped per engine asked: a late answer names an old attempt
  bool finished = false;
  std::int64_t started_ms = 0;
  std::int64_t attempt_started_ms = 0;
  std::unique_ptr<rcgate::TimerHandle> timer;
  std::vector<EngineAttempt> attempts;
};

EngineChain::EngineChain(rcgate::Scheduler& scheduler, const InteractionOptions& options)
    : scheduler_(scheduler), timeout_(options.timeout), fallback_(options.fallback) {}

EngineChain::~EngineChain() {
  // Outstanding answers find their question gone (weak references) and do nothing.
  pending_.clear();
}

void EngineChain::set_options(const InteractionOptions& options) {
  timeout_ = options.timeout;
  fallback_ = options.fallback;
}

void EngineChain::set_engines(std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines) {
  engines_.clear();
  for (auto& engine : engines) {
    if (engine) engines_.push_back(std::move(engine));
  }
}

void EngineChain::ask(const rcgate::Query& query, std::function<void(ChainResult)> done) {
  auto pending = std::make_shared<Pending>();
  pending->id = next_id_++;
  pending->query = query;
  pending->engines = engines_;
  pending->done = std::move(done);
  pending->started_ms = scheduler_.now_ms();
  pending_.emplace(pending->id, pending);
  try_next(pending);
}

void EngineChain::try_next(const std::shared_ptr<Pending>& pending) {
  if (pending->index >= pending->engines.size()) {
    ChainResult result;
    if (!fallback_.empty()) {
      result.kind = ChainResult::Kind::Fallback;
      result.reply.text = fallback_;
    }
    finish(pending, std::move(result));
    return;
  }
  const auto engine = pending->engines[pending->index];
  const std::uint64_t attempt = ++pending->attempt;
  pending->attempt_started_ms = scheduler_.now_ms();
  const std::weak_ptr<Pending> weak = pending;
  // The callbacks look the question up before touching the chain: a question alive means the
  // chain that owns it is alive, so an engine answering after the chain is gone does nothing.
  pending->timer = scheduler_.after(timeout_, [this, weak, attempt] {
    if (const auto alive = weak.lock()) on_timeout(alive, attempt);
  });
  // Plugins are someone else's code: whatever they throw becomes a failed attempt, so one broken
  // engine cannot take the others (or the daemon) down.
  std::string thrown;
  try {
    engine->ask(pending->query, [this, weak, attempt](rcgate::Answer answer) {
      if (const auto alive = weak.lock()) on_answer(alive, attempt, std::move(answer));
    });
    return;
  } catch (const std::exception& e) {
    thrown = std::string("threw: ") + e.what();
  } catch (...) {
    thrown = "threw an exception that is not a std::exception";
  }
  on_answer(pending, attempt, rcgate::Answer::failed(std::move(thrown)));
}

void EngineChain::on_answer(const std::shared_ptr<Pending>& pending, std::uint64_t attempt,
                            rcgate::Answer answer) {
  if (pending->finished || attempt != pending->attempt) {
    // Too late (it timed out and the next engine was asked), or a second answer: the contract
    // says exactly once, but a buggy engine must not answer the same question twice.
    return;
  }
  pending->timer.reset();
  const std::string& name = pending->engines[pending->index]->name();
  EngineAttempt record{
      name, EngineAttempt::Outcome::NotMine, {}, scheduler_.now_ms() - pending->attempt_started_ms};
  switch (answer.kind) {
    case rcgate::Answer::Kind::Replied: {
      record.outcome = EngineAttempt::Outcome::Replied;
      pending->attempts.push_back(std::move(record));
      ChainResult result{ChainResult::Kind::Replied, std::move(answer.reply), name};
      finish(pending, std::move(result));
      return;
    }
    case rcgate::Answer::Kind::Failed:
      record.outcome = EngineAttempt::Outcome::Failed;
      record.error = answer.error.empty() ? "no reason given" : answer.error;
      spdlog::warn("interaction engine '{}' failed on message {}: {}; asking the next one", name,
                   pending->query.message_id, record.error);
      break;
    case rcgate::Answer::Kind::NotMine:
      break;
  }
  pending->attempts.push_back(std::move(record));
  ++pending->index;
  try_next(pending);
}

void EngineChain::on_timeout(const std::shared_ptr<Pending>& pending, std::uint64_t attempt) {
  if (pending->finished || attempt != pending->attempt) return;
  const std::string& name = pending->engines[pending->index]->name();
  const std::int64_t waited = scheduler_.now_ms() - pending->attempt_started_ms;
  spdlog::warn("interaction engine '{}' did not answer message {} within {}ms; asking the next one",
               name, pending->query.message_id, timeout_.count());
  pending->attempts.push_back({name, EngineAttempt::Outcome::TimedOut, {}, waited});
  ++pending->attempt;  // its answer, should it come, is now late
  ++pending->index;
  try_next(pending);  // replaces (destroys) the handle of the timer that is running: see header
}

void EngineChain::finish(const std::shared_ptr<Pending>& pending, ChainResult result) {
  pending->finished = true;
  pending->timer.reset();
  auto done = std::move(pending->done);
  pending_.erase(pending->id);  // the caller's shared_ptr keeps it alive until we return

  AuditRecord record;
  const rcgate::Query& q = pending->query;
  record.message_id = q.message_id;
  record.rc_username = q.rc_username;
  record.automation_user = q.automation_user;
  record.room_id = q.room_id;
  record.room_name = q.room_name;
  record.is_direct = q.is_direct;
  record.outcome = result.kind;
  record.engine = result.engine;
  record.latency_ms = scheduler_.now_ms() - pending->started_ms;
  record.attempts = std::move(pending->attempts);
  if (audit_) audit_(record);
  if (done) done(std::move(result));
}

std::vector<std::shared_ptr<rcgate::InteractionEngine>> order_engines(
    const std::vector<std::string>& names,
    const std::vector<std::shared_ptr<rcgate::InteractionEngine>>& provided,
    std::vector<std::string>* missing) {
  std::vector<std::shared_ptr<rcgate::InteractionEngine>> out;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& engine : provided) {
      if (engine && engine->name() == name) {
        out.push_back(engine);
        found = true;
        break;
      }
    }
    if (!found && missing) missing->push_back(name);
  }
  return out;
}

}  // namespace rcgate::core
