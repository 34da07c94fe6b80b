#pragma once
// Asks the interaction engines, in the configured order, until one answers (issue 3, point 6).
// An engine that says "not mine", fails, throws or does not answer within the timeout is skipped
// (and logged); each question runs on its own, so a slow engine delays only the question it is
// working on. When no engine answers, the configured fallback is said (or nothing).
//
// Time comes from the rcgate::Scheduler it is given (the loop-backed one in rcgate, a manual one
// in tests). The scheduler must allow a timer handle to be destroyed from inside its own callback,
// as net::Timer does.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/options.hpp"
#include "rcgate/interaction.hpp"
#include "rcgate/plugin.hpp"

namespace rcgate::core {

struct EngineAttempt {
  enum class Outcome { Replied, NotMine, Failed, TimedOut };
  std::string engine;
  Outcome outcome = Outcome::NotMine;
  std::string error;  // Failed: the engine's reason
  std::int64_t latency_ms = 0;
};
const char* to_string(EngineAttempt::Outcome outcome);

struct ChainResult {
  enum class Kind {
    Replied,   // an engine answered: post `reply`
    Fallback,  // nobody did: post `reply` (the fallback text)
    Silent,    // nobody did and the fallback is "": post nothing
  };
  Kind kind = Kind::Silent;
  rcgate::Reply reply;
  std::string engine;  // Replied: the engine that answered
};
const char* to_string(ChainResult::Kind kind);

// One per question that reached the engines: who asked, where, who answered, how long it took.
struct AuditRecord {
  std::string message_id;
  std::string rc_username;
  std::string automation_user;
  std::string room_id;
  std::string room_name;
  bool is_direct = false;
  ChainResult::Kind outcome = ChainResult::Kind::Silent;
  std::string engine;  // the engine that answered; "" when none did
  std::int64_t latency_ms = 0;
  std::vector<EngineAttempt> attempts;  // in the order asked
};
// One log line: "alice (automation user alice) in general [GENERAL]: answered by rules in 12ms
// (homeassistant: not mine after 3ms)".
std::string format_audit(const AuditRecord& record);

class EngineChain {
 public:
  // Uses interactions.timeout and interactions.fallback.
  EngineChain(rcgate::Scheduler& scheduler, const InteractionOptions& options);
  ~EngineChain();
  EngineChain(const EngineChain&) = delete;
  EngineChain& operator=(const EngineChain&) = delete;

  void set_options(const InteractionOptions& options);
  // The engines, in the order to ask them (see order_engines). Questions already being asked
  // keep the list they started with.
  void set_engines(std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines);
  void on_audit(std::function<void(const AuditRecord&)> sink) { audit_ = std::move(sink); }

  // Asks the engines; `done` is called exactly once, possibly before ask() returns (an engine
  // that answers at once), and never after the chain is destroyed.
  void ask(const rcgate::Query& query, std::function<void(ChainResult)> done);

  std::size_t in_flight() const { return pending_.size(); }

 private:
  struct Pending;
  void try_next(const std::shared_ptr<Pending>& pending);
  void on_answer(const std::shared_ptr<Pending>& pending, std::uint64_t attempt,
                 rcgate::Answer answer);
  void on_timeout(const std::shared_ptr<Pending>& pending, std::uint64_t attempt);
  void finish(const std::shared_ptr<Pending>& pending, ChainResult result);

  rcgate::Scheduler& scheduler_;
  ms timeout_;
  std::string fallback_;
  std::vector<std::shared_ptr<rcgate::InteractionEngine>> engines_;
  std::function<void(const AuditRecord&)> audit_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
};

// The engines the plugins provided, in the order interactions.engines names them. Names with no
// engine are listed in *missing (the configuration check reports them before start).
std::vector<std::shared_ptr<rcgate::InteractionEngine>> order_engines(
    const std::vector<std::string>& names,
    const std::vector<std::shared_ptr<rcgate::InteractionEngine>>& provided,
    std::vector<std::string>* missing = nullptr);

}  // namespace rcgate::core
