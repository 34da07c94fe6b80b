#include "core/engines.hpp"

#include "manual_scheduler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rcgate::core {
namespace {

using namespace std::chrono_literals;
using Outcome = EngineAttempt::Outcome;

using rcgate::test::ManualScheduler;  // a clock that moves only when the test says so

// An engine with a scripted behaviour per question text ("*" for any).
class ScriptedEngine : public rcgate::InteractionEngine {
 public:
  enum class Act { Reply, NotMine, Fail, Throw, Hold };
  ScriptedEngine(std::string name, Act act, std::string text = {})
      : name_(std::move(name)), act_(act), text_(std::move(text)) {}

  std::string name() const override { return name_; }
  void ask(const rcgate::Query& query, std::function<void(rcgate::Answer)> done) override {
    asked.push_back(query.text);
    Act act = act_;
    if (const auto it = per_text.find(query.text); it != per_text.end()) act = it->second;
    switch (act) {
      case Act::Reply: {
        rcgate::Reply reply;
        reply.text = text_ + " (" + query.text + ")";
        reply.expects_followup = followup;
        done(rcgate::Answer::replied(reply));
        return;
      }
      case Act::NotMine:
        done(rcgate::Answer::not_mine());
        return;
      case Act::Fail:
        done(rcgate::Answer::failed("HTTP 500 from the service"));
        return;
      case Act::Throw:
        throw std::runtime_error("bad plugin");
      case Act::Hold:
        held[query.text] = std::move(done);
        return;
    }
  }

  std::vector<std::string> asked;
  std::map<std::string, std::function<void(rcgate::Answer)>> held;
  std::map<std::string, Act> per_text;
  bool followup = false;

 private:
  std::string name_;
  Act act_;
  std::string text_;
};

using Act = ScriptedEngine::Act;

rcgate::Query question(std::string text, std::string id = "m1") {
  rcgate::Query q;
  q.text = std::move(text);
  q.message_id = std::move(id);
  q.rc_username = "alice";
  q.automation_user = "alice_home";
  q.room_id = "GENERAL";
  q.room_name = "General";
  return q;
}

class EngineChainTest : public ::testing::Test {
 protected:
  EngineChainTest() {
    chain.on_audit([this](const AuditRecord& r) { audits.push_back(r); });
  }

  // Asks and records the result (if it comes).
  void ask(const std::string& text, const std::string& id = "m1") {
    chain.ask(question(text, id), [this, id](ChainResult r) {
      EXPECT_EQ(results.count(id), 0u) << "done called twice for " << id;
      results[id] = std::move(r);
    });
  }

  ManualScheduler scheduler;
  InteractionOptions options;
  EngineChain chain{scheduler, options};
  std::map<std::string, ChainResult> results;
  std::vector<AuditRecord> audits;
};

TEST_F(EngineChainTest, FirstEngineThatRepliesWins) {
  auto a = std::make_shared<ScriptedEngine>("rules", Act::NotMine);
  auto b = std::make_shared<ScriptedEngine>("homeassistant", Act::Reply, "from ha");
  auto c = std::make_shared<ScriptedEngine>("jeedom", Act::Reply, "from jeedom");
  chain.set_engines({a, b, c});
  ask("lights on");
  ASSERT_EQ(results.count("m1"), 1u);
  const ChainResult& r = results["m1"];
  EXPECT_EQ(r.kind, ChainResult::Kind::Replied);
  EXPECT_EQ(r.engine, "homeassistant");
  EXPECT_EQ(r.reply.text, "from ha (lights on)");
  EXPECT_EQ(a->asked.size(), 1u);
  EXPECT_EQ(b->asked.size(), 1u);
  EXPECT_TRUE(c->asked.empty()) << "not asked once an answer came";
  EXPECT_EQ(chain.in_flight(), 0u);
  EXPECT_EQ(scheduler.armed(), 0u) << "no timer left behind";

  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].engine, "homeassistant");
  EXPECT_EQ(audits[0].outcome, ChainResult::Kind::Replied);
  EXPECT_EQ(audits[0].rc_username, "alice");
  EXPECT_EQ(audits[0].automation_user, "alice_home");
  EXPECT_EQ(audits[0].room_id, "GENERAL");
  ASSERT_EQ(audits[0].attempts.size(), 2u);
  EXPECT_EQ(audits[0].attempts[0].outcome, Outcome::NotMine);
  EXPECT_EQ(audits[0].attempts[1].outcome, Outcome::Replied);
}

TEST_F(EngineChainTest, FollowUpRequestTravelsWithTheReply) {
  auto a = std::make_shared<ScriptedEngine>("homeassistant", Act::Reply, "for what time?");
  a->followup = true;
  chain.set_engines({a});
  ask("set an alarm");
  EXPECT_TRUE(results["m1"].reply.expects_followup);
}

TEST_F(EngineChainTest, FailingAndThrowingEnginesAreSkipped) {
  auto failing = std::make_shared<ScriptedEngine>("jeedom", Act::Fail);
  auto throwing = std::make_shared<ScriptedEngine>("webhook", Act::Throw);
  auto rules = std::make_shared<ScriptedEngine>("rules", Act::Reply, "ok");
  chain.set_engines({failing, throwing, rules});
  ask("status");
  EXPECT_EQ(results["m1"].engine, "rules");
  ASSERT_EQ(audits.size(), 1u);
  const auto& attempts = audits[0].attempts;
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].outcome, Outcome::Failed);
  EXPECT_EQ(attempts[0].error, "HTTP 500 from the service");
  EXPECT_EQ(attempts[1].outcome, Outcome::Failed);
  EXPECT_EQ(attempts[1].error, "threw: bad plugin");
  EXPECT_EQ(scheduler.armed(), 0u);
}

TEST_F(EngineChainTest, SlowEngineTimesOutAndItsLateAnswerIsDropped) {
  auto slow = std::make_shared<ScriptedEngine>("homeassistant", Act::Hold);
  auto rules = std::make_shared<ScriptedEngine>("rules", Act::Reply, "rules");
  chain.set_engines({slow, rules});
  ask("lights");
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(chain.in_flight(), 1u);
  scheduler.advance(9'999ms);
  EXPECT_TRUE(results.empty()) << "still within the 10s timeout";
  scheduler.advance(1ms);
  ASSERT_EQ(results.count("m1"), 1u);
  EXPECT_EQ(results["m1"].engine, "rules");
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].attempts[0].outcome, Outcome::TimedOut);
  EXPECT_EQ(audits[0].attempts[0].latency_ms, 10'000);
  EXPECT_EQ(audits[0].latency_ms, 10'000);

  // The slow engine answers at last: nobody is told twice.
  slow->held["lights"](rcgate::Answer::replied({"too late", {}, false}));
  EXPECT_EQ(results["m1"].engine, "rules");
  EXPECT_EQ(audits.size(), 1u);
}

TEST_F(EngineChainTest, TimeoutFollowsTheConfiguration) {
  InteractionOptions quick;
  quick.timeout = 500ms;
  chain.set_options(quick);
  auto slow = std::make_shared<ScriptedEngine>("homeassistant", Act::Hold);
  chain.set_engines({slow});
  ask("lights");
  scheduler.advance(499ms);
  EXPECT_TRUE(results.empty());
  scheduler.advance(1ms);
  EXPECT_EQ(results["m1"].kind, ChainResult::Kind::Fallback);
}

TEST_F(EngineChainTest, NobodyAnswersSoTheFallbackIsSaid) {
  chain.set_engines({std::make_shared<ScriptedEngine>("rules", Act::NotMine),
                     std::make_shared<ScriptedEngine>("jeedom", Act::Fail)});
  ask("sing a song");
  const ChainResult& r = results["m1"];
  EXPECT_EQ(r.kind, ChainResult::Kind::Fallback);
  EXPECT_EQ(r.reply.text, "Sorry, I did not understand.");
  EXPECT_EQ(r.engine, "");
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].engine, "");
  EXPECT_EQ(audits[0].outcome, ChainResult::Kind::Fallback);
}

TEST_F(EngineChainTest, EmptyFallbackMeansSilence) {
  InteractionOptions quiet;
  quiet.fallback = "";
  chain.set_options(quiet);
  chain.set_engines({std::make_shared<ScriptedEngine>("rules", Act::NotMine)});
  ask("sing a song");
  EXPECT_EQ(results["m1"].kind, ChainResult::Kind::Silent);
  EXPECT_EQ(results["m1"].reply.text, "");
}

TEST_F(EngineChainTest, NoEnginesOnlyTheFallback) {
  ask("hello");
  EXPECT_EQ(results["m1"].kind, ChainResult::Kind::Fallback);
  EXPECT_EQ(audits.at(0).attempts.size(), 0u);
}

TEST_F(EngineChainTest, ASlowQuestionDoesNotHoldUpOthers) {
  auto engine = std::make_shared<ScriptedEngine>("homeassistant", Act::Reply, "ha");
  engine->per_text["slow one"] = Act::Hold;
  chain.set_engines({engine});
  ask("slow one", "m1");
  ask("quick one", "m2");
  ask("another", "m3");
  EXPECT_EQ(results.count("m1"), 0u);
  EXPECT_EQ(results["m2"].reply.text, "ha (quick one)");
  EXPECT_EQ(results["m3"].reply.text, "ha (another)");
  EXPECT_EQ(chain.in_flight(), 1u);

  scheduler.advance(1500ms);
  engine->held["slow one"](rcgate::Answer::replied({"done", {}, false}));
  EXPECT_EQ(results["m1"].reply.text, "done");
  EXPECT_EQ(audits.back().latency_ms, 1500);
  EXPECT_EQ(chain.in_flight(), 0u);
  EXPECT_EQ(scheduler.armed(), 0u);
}

TEST_F(EngineChainTest, AnEngineAnsweringTwiceIsHeardOnce) {
  class Twice : public rcgate::InteractionEngine {
   public:
    std::string name() const override { return "twice"; }
    void ask(const rcgate::Query&, std::function<void(rcgate::Answer)> done) override {
      done(rcgate::Answer::not_mine());
      done(rcgate::Answer::replied({"second answer", {}, false}));
    }
  };
  auto next = std::make_shared<ScriptedEngine>("rules", Act::Reply, "rules");
  chain.set_engines({std::make_shared<Twice>(), next});
  ask("hi");
  EXPECT_EQ(results["m1"].engine, "rules");
  EXPECT_EQ(next->asked.size(), 1u);
}

TEST_F(EngineChainTest, EnginesChangedMidQuestionDoNotAffectIt) {
  auto slow = std::make_shared<ScriptedEngine>("homeassistant", Act::Hold);
  auto rules = std::make_shared<ScriptedEngine>("rules", Act::Reply, "rules");
  chain.set_engines({slow, rules});
  ask("lights");
  chain.set_engines({});
  slow->held["lights"](rcgate::Answer::not_mine());
  EXPECT_EQ(results["m1"].engine, "rules");
}

TEST(EngineChain, DestroyedChainNeverCallsBack) {
  ManualScheduler scheduler;
  auto slow = std::make_shared<ScriptedEngine>("homeassistant", Act::Hold);
  bool called = false;
  {
    EngineChain chain(scheduler, InteractionOptions{});
    chain.set_engines({slow});
    chain.ask(question("lights"), [&](ChainResult) { called = true; });
  }
  slow->held["lights"](rcgate::Answer::replied({"late", {}, false}));
  scheduler.advance(20s);
  EXPECT_FALSE(called);
  EXPECT_EQ(scheduler.armed(), 0u) << "destroying the chain cancelled its timers";
}

TEST(EngineChain, OrderFollowsTheConfiguration) {
  auto rules = std::make_shared<ScriptedEngine>("rules", Act::NotMine);
  auto ha = std::make_shared<ScriptedEngine>("homeassistant", Act::NotMine);
  std::vector<std::string> missing;
  const auto ordered = order_engines({"homeassistant", "jeedom", "rules"}, {rules, ha}, &missing);
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0]->name(), "homeassistant");
  EXPECT_EQ(ordered[1]->name(), "rules");
  EXPECT_EQ(missing, std::vector<std::string>{"jeedom"});
  EXPECT_TRUE(order_engines({}, {rules, ha}).empty()) << "an engine not named is not asked";
}

TEST(EngineChain, AuditLine) {
  AuditRecord r;
  r.rc_username = "alice";
  r.automation_user = "alice_home";
  r.room_id = "GENERAL";
  r.room_name = "General";
  r.outcome = ChainResult::Kind::Replied;
  r.engine = "rules";
  r.latency_ms = 12;
  r.attempts = {{"homeassistant", Outcome::NotMine, "", 3},
                {"jeedom", Outcome::Failed, "HTTP 500", 5},
                {"rules", Outcome::Replied, "", 4}};
  EXPECT_EQ(format_audit(r),
            "alice (automation user alice_home) in General [GENERAL]: answered by rules in 12ms "
            "(homeassistant: not mine after 3ms, jeedom: failed (HTTP 500) after 5ms)");
  r.is_direct = true;
  r.room_id = "DM";
  r.outcome = ChainResult::Kind::Silent;
  r.engine.clear();
  r.attempts.clear();
  EXPECT_EQ(format_audit(r),
            "alice (automation user alice_home) in a direct message [DM]: no engine answered, said "
            "nothing in 12ms");
}

}  // namespace
}  // namespace rcgate::core
