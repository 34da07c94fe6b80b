#include "core/outbox.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "manual_scheduler.hpp"

namespace rcgate::core {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Status = OutboxOutcome::Status;
using State = OutboxStatus::State;

// An outbox whose Sender records each attempt; the test answers them when it wants.
class OutboxTest : public ::testing::Test {
 protected:
  struct Call {
    OutboxItem item;
    Outbox::Done done;
  };

  explicit OutboxTest(OutboxOptions options = {}) { make(options); }

  void make(OutboxOptions options) {
    outbox = std::make_unique<Outbox>(
        scheduler, options,
        [this](const OutboxItem& item, Outbox::Done done) {
          calls.push_back({item, std::move(done)});
          if (auto_answer) {
            auto d = calls.back().done;
            d(*auto_answer);
          }
        },
        [this](const OutboxOutcome& o) { outcomes.push_back(o); });
  }

  static OutboxItem to_room(const std::string& room, const std::string& text,
                            const std::string& id = {}) {
    OutboxItem item;
    item.id = id;
    item.room_id = room;
    item.payload = {{"msg", text}};
    return item;
  }

  std::string enqueue(const std::string& room, const std::string& text) {
    const auto r = outbox->enqueue(to_room(room, text));
    EXPECT_TRUE(r.accepted) << r.error;
    return r.id;
  }

  // The texts handed to the Sender, in order.
  std::vector<std::string> sent_texts() const {
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.item.payload.value("msg", ""));
    return out;
  }

  // Answers the n-th attempt (0-based, in the order the Sender was called).
  void answer(std::size_t n, SendResult result) {
    ASSERT_LT(n, calls.size());
    auto done = calls[n].done;
    done(std::move(result));
  }

  test::ManualScheduler scheduler;
  std::vector<Call> calls;
  std::vector<OutboxOutcome> outcomes;
  std::optional<SendResult> auto_answer;
  std::unique_ptr<Outbox> outbox;
};

TEST(OutboxIds, MeteorStyleAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = random_message_id();
    ASSERT_EQ(id.size(), 17u);
    for (char c : id) {
      EXPECT_NE(std::string("23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz").find(c),
                std::string::npos)
          << id;
    }
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(OutboxClassify, HttpOutcomes) {
  using K = SendResult::Kind;
  const struct {
    int status;
    const char* error_type;
    K expected;
  } cases[] = {
      {200, "", K::Sent},
      {0, "", K::Transient},
      {500, "", K::Transient},
      {502, "", K::Transient},
      {503, "", K::Transient},
      {408, "", K::Transient},
      {401, "Unauthorized", K::Transient},
      {429, "", K::RateLimited},
      {400, "error-too-many-requests", K::RateLimited},
      {400, "error-not-allowed", K::Permanent},
      {400, "error-invalid-room", K::Permanent},
      {403, "", K::Permanent},
      {404, "", K::Permanent},
      {413, "error-file-too-large", K::Permanent},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_http(c.status, c.error_type), c.expected)
        << c.status << " " << c.error_type;
  }
}

TEST_F(OutboxTest, OnlineAndIdleSendsAtOnceWithAChosenId) {
  outbox->set_online(true);
  EXPECT_TRUE(outbox->can_send_now("GENERAL"));
  const auto r = outbox->enqueue(to_room("GENERAL", "Door open"));
  ASSERT_TRUE(r.accepted) << r.error;
  EXPECT_TRUE(r.sending);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.id.size(), 17u);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].item.id, r.id);
  EXPECT_EQ(calls[0].item.attempts, 1);
  EXPECT_EQ(calls[0].item.created_ms, scheduler.now_ms());
  EXPECT_EQ(calls[0].item.expires_ms, scheduler.now_ms() + 3'600'000);
  EXPECT_EQ(outbox->status(r.id)->state, State::Sending);
  EXPECT_FALSE(outbox->can_send_now("GENERAL"));  // one in flight per room
  EXPECT_TRUE(outbox->can_send_now("OTHER"));

  answer(0, SendResult::sent({{"_id", r.id}, {"msg", "Door open"}}));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].id, r.id);
  EXPECT_EQ(outcomes[0].status, Status::Sent);
  EXPECT_EQ(outcomes[0].room_id, "GENERAL");
  EXPECT_EQ(outcomes[0].message["msg"], "Door open");
  EXPECT_EQ(outcomes[0].attempts, 1);
  EXPECT_EQ(outbox->depth(), 0u);
  const auto st = outbox->status(r.id);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, State::Sent);
  EXPECT_EQ(st->message["_id"], r.id);
}

TEST_F(OutboxTest, CallerChosenIdIsKept) {
  outbox->set_online(true);
  const auto r = outbox->enqueue(to_room("GENERAL", "hi", "Hq4Wm8SbYzK3tRf7N"));
  EXPECT_EQ(r.id, "Hq4Wm8SbYzK3tRf7N");
  EXPECT_EQ(calls.at(0).item.id, "Hq4Wm8SbYzK3tRf7N");
}

TEST_F(OutboxTest, ItemOwnCallbackHearsItsOutcomeBeforeTheObserver) {
  std::vector<std::string> order;
  outbox = std::make_unique<Outbox>(
      scheduler, OutboxOptions{},
      [this](const OutboxItem& item, Outbox::Done done) { calls.push_back({item, done}); },
      [&](const OutboxOutcome&) { order.push_back("observer"); });
  outbox->set_online(true);
  outbox->enqueue(to_room("R", "x"), [&](const OutboxOutcome& o) {
    order.push_back(std::string("item:") + to_string(o.status));
  });
  answer(0, SendResult::sent());
  EXPECT_EQ(order, (std::vector<std::string>{"item:sent", "observer"}));
}

TEST_F(OutboxTest, HoldsWhileOfflineAndDrainsInOrderPerRoom) {
  const auto a1 = outbox->enqueue(to_room("A", "a1"));
  EXPECT_TRUE(a1.accepted);
  EXPECT_FALSE(a1.sending);  // offline: the API answers "queued"
  enqueue("A", "a2");
  enqueue("B", "b1");
  enqueue("A", "a3");
  enqueue("B", "b2");
  scheduler.advance(10min);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(outbox->depth(), 5u);
  EXPECT_EQ(outbox->depth("A"), 3u);
  EXPECT_EQ(outbox->status(a1.id)->state, State::Queued);
  EXPECT_EQ(outbox->status(a1.id)->position, 0u);

  outbox->set_online(true);
  // One per room, oldest room first.
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(outbox->in_flight(), 2u);
  answer(1, SendResult::sent());  // b1
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "b2"}));
  answer(0, SendResult::sent());  // a1
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "b2", "a2"}));
  answer(3, SendResult::sent());  // a2
  answer(2, SendResult::sent());  // b2
  answer(4, SendResult::sent());  // a3
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "b2", "a2", "a3"}));
  EXPECT_EQ(outbox->depth(), 0u);
  ASSERT_EQ(outcomes.size(), 5u);
  for (const auto& o : outcomes) EXPECT_EQ(o.status, Status::Sent);
}

TEST_F(OutboxTest, PositionInItsRoom) {
  const std::string first = enqueue("A", "1");
  const std::string second = enqueue("A", "2");
  const std::string other = enqueue("B", "x");
  EXPECT_EQ(outbox->status(first)->position, 0u);
  EXPECT_EQ(outbox->status(second)->position, 1u);
  EXPECT_EQ(outbox->status(other)->position, 0u);
}

TEST_F(OutboxTest, TransientFailureIsRetriedWithTheSameIdAfterABackoff) {
  outbox->set_online(true);
  const std::string id = enqueue("GENERAL", "alarm");
  answer(0, SendResult::transient("connection reset"));
  EXPECT_TRUE(outcomes.empty());
  auto st = outbox->status(id);
  EXPECT_EQ(st->state, State::Queued);
  EXPECT_EQ(st->attempts, 1);
  EXPECT_EQ(st->error, "connection reset");

  scheduler.advance(1999ms);
  EXPECT_EQ(calls.size(), 1u);
  scheduler.advance(1ms);  // retry_initial: 2s
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].item.id, id);
  EXPECT_EQ(calls[1].item.attempts, 2);
  EXPECT_EQ(calls[1].item.payload, calls[0].item.payload);

  answer(1, SendResult::transient("HTTP 502"));
  scheduler.advance(3999ms);  // then 4s
  EXPECT_EQ(calls.size(), 2u);
  scheduler.advance(1ms);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].item.id, id);
  answer(2, SendResult::sent());
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Sent);
  EXPECT_EQ(outcomes[0].attempts, 3);
}

TEST_F(OutboxTest, RetryWaitsDoubleAndStopAtTheCap) {
  make({24h, 1000, 1s, 5s, 0ms});
  outbox->set_online(true);
  const std::string id = enqueue("R", "x");
  std::vector<std::int64_t> waits;
  for (int i = 0; i < 5; ++i) {
    const std::int64_t failed_at = scheduler.now_ms();
    const std::size_t before = calls.size();
    answer(calls.size() - 1, SendResult::transient("down"));
    while (calls.size() == before) scheduler.advance(100ms);
    waits.push_back(scheduler.now_ms() - failed_at);
  }
  EXPECT_EQ(waits, (std::vector<std::int64_t>{1000, 2000, 4000, 5000, 5000}));
  EXPECT_EQ(outbox->status(id)->attempts, 6);
}

TEST_F(OutboxTest, RoomsAreIndependent) {
  outbox->set_online(true);
  enqueue("A", "a1");
  enqueue("A", "a2");
  enqueue("B", "b1");
  enqueue("B", "b2");
  answer(0, SendResult::transient("HTTP 503"));  // a1 waits 2s; A is held behind it
  answer(1, SendResult::sent());                 // b1
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "b2"}));
  answer(2, SendResult::sent());  // b2
  EXPECT_EQ(sent_texts().size(), 3u);
  scheduler.advance(2s);
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "b2", "a1"}));
  answer(3, SendResult::sent());
  EXPECT_EQ(sent_texts().back(), "a2");
}

TEST_F(OutboxTest, PermanentFailureIsReportedAndNotRetried) {
  outbox->set_online(true);
  const std::string bad = enqueue("READONLY", "hello");
  const std::string next = enqueue("READONLY", "second");
  answer(0, SendResult::permanent("you are not allowed to post here [error-not-allowed]"));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].id, bad);
  EXPECT_EQ(outcomes[0].status, Status::Failed);
  EXPECT_EQ(outcomes[0].error, "you are not allowed to post here [error-not-allowed]");
  EXPECT_EQ(outbox->status(bad)->state, State::Failed);
  // The next item of the room goes on; the failed one never comes back.
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].item.id, next);
  answer(1, SendResult::permanent("no"));
  scheduler.advance(1h);
  EXPECT_EQ(calls.size(), 2u);
}

TEST_F(OutboxTest, RateLimitPausesEveryRoomUntilTheServersResetTime) {
  outbox->set_online(true);
  const std::string a = enqueue("A", "a");
  const std::int64_t reset_at = scheduler.now_ms() + 30'000;
  answer(0, SendResult::rate_limited("too many requests [error-too-many-requests]", std::nullopt,
                                     reset_at));
  EXPECT_EQ(outbox->paused_until(), reset_at);
  EXPECT_FALSE(outbox->can_send_now("B"));
  const auto b = outbox->enqueue(to_room("B", "b"));
  EXPECT_FALSE(b.sending);  // the API answers "queued"
  scheduler.advance(29'999ms);
  EXPECT_EQ(calls.size(), 1u);
  scheduler.advance(1ms);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].item.id, a);  // the oldest first, with its id
  EXPECT_EQ(calls[2].item.id, b.id);
  EXPECT_EQ(calls[1].item.attempts, 2);
}

TEST_F(OutboxTest, RateLimitWithRetryAfterAndWithoutAnyHint) {
  outbox->set_online(true);
  enqueue("A", "a");
  answer(0, SendResult::rate_limited("slow down", 5000));
  scheduler.advance(4999ms);
  EXPECT_EQ(calls.size(), 1u);
  scheduler.advance(1ms);
  ASSERT_EQ(calls.size(), 2u);
  // No hint at all: wait like a transient failure (2s, then 4s for the next one in a row).
  answer(1, SendResult::rate_limited("slow down"));
  scheduler.advance(1999ms);
  EXPECT_EQ(calls.size(), 2u);
  scheduler.advance(1ms);
  ASSERT_EQ(calls.size(), 3u);
  answer(2, SendResult::rate_limited("slow down"));
  scheduler.advance(3999ms);
  EXPECT_EQ(calls.size(), 3u);
  scheduler.advance(1ms);
  EXPECT_EQ(calls.size(), 4u);
}

TEST_F(OutboxTest, ARateLimitResetOnAWrongServerClockIsBounded) {
  outbox->set_online(true);
  enqueue("A", "a");
  // Already past by our clock: not an immediate retry, but a wait like a transient failure.
  answer(0, SendResult::rate_limited("slow down", std::nullopt, scheduler.now_ms() - 60'000));
  EXPECT_EQ(outbox->paused_until(), scheduler.now_ms() + 2000);
  scheduler.advance(2s);
  ASSERT_EQ(calls.size(), 2u);
  // A day ahead: held for retry_max (5m) at most.
  answer(1, SendResult::rate_limited("slow down", std::nullopt, scheduler.now_ms() + 86'400'000));
  EXPECT_EQ(outbox->paused_until(), scheduler.now_ms() + 300'000);
  scheduler.advance(5min);
  EXPECT_EQ(calls.size(), 3u);
}

TEST_F(OutboxTest, RoomIntervalPacesPostsInOneRoom) {
  make({1h, 1000, 2s, 5min, 1500ms});
  outbox->set_online(true);
  enqueue("A", "a1");
  enqueue("A", "a2");
  enqueue("B", "b1");
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1"}));
  answer(0, SendResult::sent());
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_FALSE(outbox->can_send_now("A"));
  scheduler.advance(1499ms);
  EXPECT_EQ(calls.size(), 2u);
  scheduler.advance(1ms);
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"a1", "b1", "a2"}));
  answer(2, SendResult::sent());
  EXPECT_FALSE(outbox->can_send_now("A"));
  scheduler.advance(1500ms);
  EXPECT_TRUE(outbox->can_send_now("A"));
}

TEST_F(OutboxTest, ExpiredItemsAreReportedNotDropped) {
  // Offline the whole time: the item never leaves.
  const std::string id = enqueue("GENERAL", "Smoke in the kitchen");
  OutboxItem shorter = to_room("GENERAL", "short-lived");
  shorter.expires_ms = scheduler.now_ms() + 60'000;  // per-item override
  const auto s = outbox->enqueue(shorter);
  scheduler.advance(59'999ms);
  EXPECT_TRUE(outcomes.empty());
  scheduler.advance(1ms);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].id, s.id);
  EXPECT_EQ(outcomes[0].status, Status::Expired);
  EXPECT_EQ(outcomes[0].error, "not delivered within 1m (Rocket.Chat could not be reached)");
  scheduler.advance(1h);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[1].id, id);
  EXPECT_EQ(outcomes[1].status, Status::Expired);
  EXPECT_EQ(outbox->status(id)->state, State::Expired);
  EXPECT_EQ(outbox->depth(), 0u);
  EXPECT_TRUE(calls.empty());
}

TEST_F(OutboxTest, ExpiryNamesTheLastError) {
  make({10s, 1000, 6s, 5min, 0ms});
  outbox->set_online(true);
  enqueue("A", "x");
  answer(0, SendResult::transient("HTTP 503 Service Unavailable"));
  scheduler.advance(6s);
  answer(1, SendResult::transient("HTTP 503 Service Unavailable"));  // next try would be at 18s
  scheduler.advance(3999ms);
  EXPECT_TRUE(outcomes.empty());
  scheduler.advance(1ms);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Expired);
  EXPECT_EQ(outcomes[0].error,
            "not delivered within 10s (last error: HTTP 503 Service Unavailable)");
  EXPECT_EQ(outcomes[0].attempts, 2);
}

TEST_F(OutboxTest, AnItemInFlightAtItsExpiryWaitsForItsOutcome) {
  make({10s, 1000, 2s, 5min, 0ms});
  outbox->set_online(true);
  const std::string sent = enqueue("A", "x");
  scheduler.advance(20s);
  EXPECT_TRUE(outcomes.empty());  // it may well have been posted
  answer(0, SendResult::sent());
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Sent);

  const std::string lost = enqueue("A", "y");
  scheduler.advance(20s);
  answer(1, SendResult::transient("timeout"));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[1].id, lost);
  EXPECT_EQ(outcomes[1].status, Status::Expired);
}

TEST_F(OutboxTest, BackOnlineRetriesAtOnceButKeepsTheServersPause) {
  outbox->set_online(true);
  enqueue("A", "a");
  outbox->set_online(false);
  answer(0, SendResult::transient("connection refused"));
  scheduler.advance(10min);  // long past its retry wait: nothing sent while offline
  EXPECT_EQ(calls.size(), 1u);
  outbox->set_online(true);
  EXPECT_EQ(calls.size(), 2u);

  answer(1, SendResult::rate_limited("slow down", 20'000));
  outbox->set_online(false);
  outbox->set_online(true);
  EXPECT_EQ(calls.size(), 2u);
  scheduler.advance(20s);
  EXPECT_EQ(calls.size(), 3u);
}

TEST_F(OutboxTest, CapacityLimitIsReportedClearly) {
  make({1h, 2, 2s, 5min, 0ms});
  enqueue("A", "1");
  enqueue("B", "2");
  const auto r = outbox->enqueue(to_room("A", "3"));
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.error,
            "the outbound queue is full (2 items waiting, outbox.max_items is 2): Rocket.Chat "
            "has been unreachable or refusing messages for a while; this one was not queued");
  EXPECT_EQ(outbox->depth(), 2u);
  EXPECT_FALSE(outbox->status(r.id));
  EXPECT_TRUE(outcomes.empty());
}

// A queue full of alerts still takes what the bot owes people (answers, edits of questions),
// up to a reserve of a tenth of max_items (at least 10); then those are refused too, saying so.
TEST_F(OutboxTest, AnswersMayUseAReserveAboveTheCapacityLimit) {
  make({1h, 20, 2s, 5min, 0ms});
  for (int i = 0; i < 20; ++i) enqueue("A", "alert " + std::to_string(i));
  EXPECT_FALSE(outbox->enqueue(to_room("A", "one alert too many")).accepted);
  EXPECT_EQ(outbox->answer_reserve(), 10u);
  for (int i = 0; i < 10; ++i) {
    auto answer = to_room("B", "answer " + std::to_string(i));
    answer.owed = true;
    EXPECT_TRUE(outbox->enqueue(answer).accepted) << i;
  }
  auto late = to_room("B", "one answer too many");
  late.owed = true;
  const auto r = outbox->enqueue(late);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("outbox.max_items is 20 plus 10 for answers"), std::string::npos) << r.error;
  EXPECT_EQ(outbox->depth(), 30u);
  EXPECT_FALSE(outbox->enqueue(to_room("A", "still no alert")).accepted);
}

TEST_F(OutboxTest, NoDestinationIsRefused) {
  OutboxItem item;
  item.payload = {{"msg", "x"}};
  const auto r = outbox->enqueue(item);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.error, "nowhere to post: give a room id or a username");
}

TEST_F(OutboxTest, SameIdIsNotQueuedTwice) {
  const auto first = outbox->enqueue(to_room("A", "reply", "abcdefghijkmnopqr"));
  int heard = 0;
  const auto again =
      outbox->enqueue(to_room("A", "reply", "abcdefghijkmnopqr"), [&](const auto&) { ++heard; });
  EXPECT_TRUE(again.accepted);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(outbox->depth(), 1u);
  outbox->set_online(true);
  answer(0, SendResult::sent());
  EXPECT_EQ(heard, 1);
  EXPECT_EQ(calls.size(), 1u);
}

TEST_F(OutboxTest, UserItemsQueueUnderTheUsernameAndReportTheirRoom) {
  outbox->set_online(true);
  OutboxItem item;
  item.user = "@alice";
  item.payload = {{"msg", "Your parcel arrived"}};
  const auto r = outbox->enqueue(item);
  ASSERT_TRUE(r.accepted);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].item.user, "alice");
  EXPECT_EQ(calls[0].item.destination(), "@alice");
  EXPECT_EQ(outbox->depth("@alice"), 1u);
  answer(0, SendResult::sent({{"_id", r.id}}, "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg"));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].room_id, "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg");
  EXPECT_EQ(outcomes[0].user, "alice");

  // The DM cannot be opened: no such user. Permanent.
  OutboxItem nobody;
  nobody.user = "nobody";
  nobody.payload = {{"msg", "x"}};
  outbox->enqueue(nobody);
  answer(1, SendResult::permanent("no user named 'nobody' [error-invalid-user]"));
  EXPECT_EQ(outcomes.back().status, Status::Failed);
}

TEST_F(OutboxTest, CancelRemovesAQueuedItemButNotOneInFlight) {
  outbox->set_online(true);
  const std::string first = enqueue("A", "1");
  const std::string second = enqueue("A", "2");
  EXPECT_FALSE(outbox->cancel(first));  // in flight
  EXPECT_TRUE(outbox->cancel(second));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Cancelled);
  EXPECT_EQ(outbox->status(second)->state, State::Cancelled);
  EXPECT_FALSE(outbox->cancel(second));
  EXPECT_FALSE(outbox->cancel("unknown"));
  answer(0, SendResult::sent());
  EXPECT_EQ(calls.size(), 1u);
}

TEST_F(OutboxTest, SenderAnsweringAtOnceDrainsARoom) {
  auto_answer = SendResult::sent();
  outbox->set_online(true);
  const auto r = outbox->enqueue(to_room("A", "1"));
  EXPECT_TRUE(r.sending);  // handed over (and already sent)
  EXPECT_EQ(outbox->status(r.id)->state, State::Sent);
  auto_answer.reset();
  outbox->set_online(false);
  enqueue("A", "2");
  enqueue("A", "3");
  auto_answer = SendResult::sent();
  outbox->set_online(true);
  EXPECT_EQ(sent_texts(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(outcomes.size(), 3u);
}

TEST_F(OutboxTest, ObserverMayEnqueueFromItsCallback) {
  outbox = std::make_unique<Outbox>(
      scheduler, OutboxOptions{},
      [this](const OutboxItem& item, Outbox::Done done) { calls.push_back({item, done}); },
      [this](const OutboxOutcome& o) {
        outcomes.push_back(o);
        if (o.status == Status::Failed) {
          outbox->enqueue(to_room("LOG", "could not post " + o.id));
        }
      });
  outbox->set_online(true);
  enqueue("A", "x");
  answer(0, SendResult::permanent("no"));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].item.room_id, "LOG");
}

TEST_F(OutboxTest, SecondAnswerAndAnswersAfterDestructionAreIgnored) {
  outbox->set_online(true);
  enqueue("A", "1");
  enqueue("A", "2");
  auto first = calls[0].done;
  first(SendResult::sent());
  first(SendResult::permanent("late"));  // ignored
  first(SendResult::sent());
  EXPECT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(calls.size(), 2u);
  auto second = calls[1].done;
  outbox.reset();
  second(SendResult::sent());  // the outbox is gone: nothing happens
  EXPECT_EQ(outcomes.size(), 1u);
}

TEST_F(OutboxTest, ASenderThatThrowsFailsTheItem) {
  outbox = std::make_unique<Outbox>(
      scheduler, OutboxOptions{},
      [](const OutboxItem&, Outbox::Done) { throw std::runtime_error("no such file"); },
      [this](const OutboxOutcome& o) { outcomes.push_back(o); });
  outbox->set_online(true);
  OutboxItem item = to_room("A", "x");
  item.kind = OutboxKind::Upload;
  outbox->enqueue(item);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Failed);
  EXPECT_EQ(outcomes[0].kind, OutboxKind::Upload);
  EXPECT_EQ(outcomes[0].error, "could not send: no such file");
}

// ---- persistence

TEST_F(OutboxTest, PersistenceRoundTripKeepsIdsOrderAndAttempts) {
  outbox->set_online(true);
  const std::string a1 = enqueue("A", "a1");
  answer(0, SendResult::transient("HTTP 502"));  // attempts 1, last error
  const std::string a2 = enqueue("A", "a2");
  OutboxItem dm;
  dm.user = "alice";
  dm.payload = {{"msg", "hi"}};
  const std::string d = outbox->enqueue(dm).id;  // in flight when saved
  OutboxItem edit;
  edit.kind = OutboxKind::Edit;
  edit.room_id = "B";
  edit.payload = {{"msgId", "q1"}, {"text", "Close the garage?\n→ Yes"}};
  edit.expires_ms = scheduler.now_ms() + 5000;
  const std::string e = outbox->enqueue(edit).id;
  const json saved = outbox->to_json();
  EXPECT_EQ(saved["version"], 1);
  ASSERT_EQ(saved["items"].size(), 4u);

  // A restart: a new outbox, offline, later.
  calls.clear();
  outcomes.clear();
  scheduler.advance(1s);
  make({});
  const auto warnings = outbox->restore(json::parse(saved.dump()));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(outbox->depth(), 4u);
  EXPECT_EQ(outbox->to_json(), saved);
  EXPECT_EQ(outbox->status(a1)->attempts, 1);
  EXPECT_EQ(outbox->status(a1)->error, "HTTP 502");
  EXPECT_EQ(outbox->status(d)->state, State::Queued);  // was in flight: sent again, same id
  EXPECT_EQ(outbox->status(e)->expires_ms, edit.expires_ms);

  outbox->set_online(true);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].item.id, a1);
  EXPECT_EQ(calls[0].item.attempts, 2);
  EXPECT_EQ(calls[1].item.id, d);
  EXPECT_EQ(calls[1].item.user, "alice");
  EXPECT_EQ(calls[2].item.id, e);
  EXPECT_EQ(calls[2].item.kind, OutboxKind::Edit);
  EXPECT_EQ(calls[2].item.payload["msgId"], "q1");
  answer(0, SendResult::sent());
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[3].item.id, a2);
}

TEST_F(OutboxTest, ItemsThatExpiredWhileDownAreReportedFromTheLoop) {
  OutboxItem item = to_room("A", "Water leak");
  item.id = "Kq4Wm8SbYzK3tRf7N";
  item.created_ms = scheduler.now_ms() - 2 * 3'600'000;
  item.expires_ms = scheduler.now_ms() - 3'600'000;
  const json document = {{"version", 1},
                         {"items",
                          {{{"id", item.id},
                            {"kind", "message"},
                            {"room_id", "A"},
                            {"payload", item.payload},
                            {"created", item.created_ms},
                            {"expires", item.expires_ms}}}}};
  EXPECT_TRUE(outbox->restore(document).empty());
  EXPECT_TRUE(outcomes.empty());  // not from inside restore()
  scheduler.run_due();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].id, item.id);
  EXPECT_EQ(outcomes[0].status, Status::Expired);
  EXPECT_EQ(outcomes[0].error, "not delivered within 1h (Rocket.Chat could not be reached)");
}

TEST_F(OutboxTest, RestoreSkipsDamagedEntriesAndSaysWhy) {
  outbox->enqueue(to_room("A", "already here", "Aaaaaaaaaaaaaaaaa"));
  const json document = json::parse(R"({
    "version": 1,
    "items": [
      {"id": "Good1111111111111", "kind": "message", "room_id": "A", "payload": {"msg": "ok"},
       "created": 1773000000000, "expires": 1773003600000, "attempts": 2, "last_error": "HTTP 502"},
      "not an object",
      {"kind": "message", "room_id": "A", "payload": {"msg": "no id"}},
      {"id": "Kind1111111111111", "kind": "fax", "room_id": "A", "payload": {}},
      {"id": "Dest1111111111111", "kind": "message", "payload": {"msg": "nowhere"}},
      {"id": "Pay11111111111111", "kind": "upload", "room_id": "A"},
      {"id": "Aaaaaaaaaaaaaaaaa", "kind": "message", "room_id": "A", "payload": {"msg": "dup"}},
      {"id": "Wrong111111111111", "kind": "message", "user": "bob", "payload": {"msg": "t"},
       "created": "yesterday", "attempts": -4, "last_error": 7}
    ]})");
  const auto warnings = outbox->restore(document);
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "outbox.items[1]: not an object; skipped",
                          "outbox.items[2]: no id; skipped",
                          "outbox.items[3] (Kind1111111111111): unknown kind 'fax'; skipped",
                          "outbox.items[4] (Dest1111111111111): neither room_id nor user; skipped",
                          "outbox.items[5] (Pay11111111111111): no payload; skipped",
                          "outbox.items[6] (Aaaaaaaaaaaaaaaaa): already queued; skipped",
                      }));
  EXPECT_EQ(outbox->depth(), 3u);
  const auto good = outbox->status("Good1111111111111");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->attempts, 2);
  EXPECT_EQ(good->error, "HTTP 502");
  EXPECT_EQ(good->position, 1u);  // after the item already queued in A
  // Unreadable fields take their defaults.
  const auto wrong = outbox->status("Wrong111111111111");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->attempts, 0);
  EXPECT_EQ(wrong->error, "");
  EXPECT_EQ(wrong->expires_ms, scheduler.now_ms() + 3'600'000);
}

TEST_F(OutboxTest, RestoreOfSomethingElseRestoresNothing) {
  EXPECT_EQ(outbox->restore(json::array()),
            std::vector<std::string>{"outbox: not a list of queued items; nothing restored"});
  EXPECT_EQ(outbox->restore(json{{"items", "x"}}),
            std::vector<std::string>{"outbox: not a list of queued items; nothing restored"});
  EXPECT_EQ(outbox->depth(), 0u);
  const auto newer = outbox->restore(json{{"version", 7}, {"items", json::array()}});
  EXPECT_EQ(newer, std::vector<std::string>{
                       "outbox: written by a newer rcgate (version 7); reading what it can"});
}

TEST_F(OutboxTest, RestoreIgnoresTheCapacityLimit) {
  make({1h, 1, 2s, 5min, 0ms});
  json items = json::array();
  for (int i = 0; i < 3; ++i) {
    items.push_back({{"id", "Item" + std::to_string(i) + "000000000000"},
                     {"kind", "message"},
                     {"room_id", "A"},
                     {"payload", {{"msg", std::to_string(i)}}}});
  }
  EXPECT_TRUE(outbox->restore({{"version", 1}, {"items", items}}).empty());
  EXPECT_EQ(outbox->depth(), 3u);
  EXPECT_FALSE(outbox->enqueue(to_room("A", "more")).accepted);
}

TEST_F(OutboxTest, RevisionMovesWithEveryChangeWorthSaving) {
  const auto r0 = outbox->revision();
  enqueue("A", "x");
  const auto r1 = outbox->revision();
  EXPECT_GT(r1, r0);
  outbox->set_online(true);  // an attempt: attempts changed
  const auto r2 = outbox->revision();
  EXPECT_GT(r2, r1);
  answer(0, SendResult::sent());
  EXPECT_GT(outbox->revision(), r2);
  const auto r3 = outbox->revision();
  scheduler.advance(1min);
  EXPECT_EQ(outbox->revision(), r3);
}

TEST_F(OutboxTest, NoTimerIsLeftWhenNothingWaits) {
  outbox->set_online(true);
  enqueue("A", "x");
  answer(0, SendResult::sent());
  EXPECT_EQ(scheduler.armed(), 0u);
  outbox->set_online(false);
  enqueue("A", "y");
  EXPECT_EQ(scheduler.armed(), 1u);  // its expiry
}

}  // namespace
}  // namespace rcgate::core
