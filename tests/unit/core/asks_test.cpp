#include "core/asks.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rocketchat/classifier.hpp"
#include "rocketchat/message.hpp"
#include "support/fixtures.hpp"

namespace rcgate::core {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Kind = AskEffect::Kind;
using Status = AskResult::Status;

constexpr std::int64_t kNow = 1'773'000'000'000;  // March 2026
const Answerer kAlice{"t7EgqqFfkzCDKZrLg", "alice", "Alice Martin"};
const Answerer kBob{"u-bob", "bob", "Bob"};
const Answerer kBot{"BCmeyJm2r6b8hJiie", "camera-bot", "Camera bot"};

// Asks with predictable ids (ask-1, ask-2, ...) and times ("+<seconds since kNow>").
class AsksTest : public ::testing::Test {
 protected:
  AsksTest() { reset({}); }

  void reset(AskOptions options) {
    counter = 0;
    asks = Asks(
        std::move(options), [this] { return "ask-" + std::to_string(++counter); },
        [](std::int64_t ms) { return "+" + std::to_string((ms - kNow) / 1000) + "s"; });
    asks.set_bot(kBot.user_id, kBot.username);
  }

  // Opens an ask in `room` and records its question message id as "q-<ask id>".
  std::string open_in(const std::string& room, std::vector<std::string> answers,
                      std::vector<std::string> users = {}, std::int64_t at = kNow) {
    AskRequest r;
    r.question = "Close the garage?";
    r.answers = std::move(answers);
    r.users = std::move(users);
    r.room_id = room;
    const AskOpened opened = asks.open(r, at);
    EXPECT_TRUE(opened.ok) << opened.error;
    asks.set_question_message(opened.id, "q-" + opened.id);
    return opened.id;
  }

  static IncomingMessage said(const Answerer& who, const std::string& text,
                              const std::string& room = "GENERAL", bool direct = false) {
    IncomingMessage m;
    m.room_id = room;
    m.message_id = "m-" + text;
    m.direct = direct;
    m.sender = who;
    m.text = text;
    return m;
  }

  int counter = 0;
  Asks asks;
};

TEST(FoldForMatching, CaseAccentsSpacesAndPunctuation) {
  const struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"Yes", "yes"},
      {"  YES  ", "yes"},
      {"yes!", "yes"},
      {"Yes ?!", "yes"},
      {"oui.", "oui"},
      {"Éteindre", "eteindre"},
      {"ÉTEINDRE", "eteindre"},
      {"E\xCC\x81teindre", "eteindre"},  // decomposed: E + combining acute
      {"Straße", "strasse"},
      {"STRASSE", "strasse"},
      {"Œuf", "oeuf"},
      {"cœur", "coeur"},
      {"Æble", "aeble"},
      {"Ørsted", "orsted"},
      {"Łódź", "lodz"},
      {"garçon", "garcon"},
      {"Ñandú", "nandu"},
      {"Şcoală", "scoala"},
      {"Țară", "tara"},
      {"¿Sí?", "si"},
      {"¡Vale!", "vale"},
      {"ouvrir   la\tporte", "ouvrir la porte"},
      {"non\u00a0!", "non"},          // French spacing before "!"
      {"d’accord", "d'accord"},
      {"Ok…", "ok"},
      {"ПРИВЕТ", "привет"},
      {"Ёлка", "елка"},
      {"ΝΑΙ", "ναι"},
      {"2.", "2"},
      {"...", ""},
      {"", ""},
      {"\xFF" "abc", "\xFF" "abc"},  // a stray byte is kept
  };
  for (const auto& c : cases) EXPECT_EQ(fold_for_matching(c.in), c.out) << c.in;
}

TEST(CheckTemplate, KnownAndUnknownPlaceholders) {
  EXPECT_EQ(check_template("→ {answer} ({user}, {time})", {"answer", "user", "name", "time"}),
            "");
  EXPECT_EQ(check_template("no placeholder", {"answer"}), "");
  EXPECT_EQ(check_template("{answer} by {who}", {"answer", "user"}),
            "unknown placeholder {who}: use {answer}, {user}");
  EXPECT_EQ(check_template("an open { brace", {"answer"}), "");
  EXPECT_EQ(check_template("(timed out at {time})", {}),
            "unknown placeholder {time}: this text takes none");
}

TEST_F(AsksTest, QuestionShowsANumberedListAndButtons) {
  AskRequest r;
  r.question = "Close the garage?";
  r.answers = {"Yes", "No"};
  r.room_id = "GENERAL";
  r.thread_id = "thread-root";
  const AskOpened opened = asks.open(r, kNow);
  ASSERT_TRUE(opened.ok) << opened.error;
  EXPECT_EQ(opened.id, "ask-1");
  EXPECT_EQ(opened.post.room_id, "GENERAL");
  EXPECT_EQ(opened.post.thread_id, "thread-root");
  EXPECT_EQ(opened.post.text, "Close the garage?\n1. Yes\n2. No");
  const json expected_attachments = json::parse(R"([{"actions": [
      {"type": "button", "text": "Yes", "msg": "Yes", "msg_in_chat_window": true,
       "msg_processing_type": "sendMessage"},
      {"type": "button", "text": "No", "msg": "No", "msg_in_chat_window": true,
       "msg_processing_type": "sendMessage"}]}])");
  EXPECT_EQ(opened.post.attachments, expected_attachments);
  EXPECT_EQ(opened.post.message(), (json{{"rid", "GENERAL"},
                                         {"msg", "Close the garage?\n1. Yes\n2. No"},
                                         {"tmid", "thread-root"},
                                         {"attachments", expected_attachments}}));
  const auto open = asks.get(opened.id);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, Status::Open);
  EXPECT_EQ(open->deadline_ms, kNow + 300'000);  // asks.timeout
}

TEST_F(AsksTest, FreeAnswerQuestionIsJustTheQuestion) {
  AskRequest r;
  r.question = "  What should I tell the plumber?  ";
  r.user = "@alice";
  r.timeout = 2min;
  const AskOpened opened = asks.open(r, kNow);
  ASSERT_TRUE(opened.ok) << opened.error;
  EXPECT_EQ(opened.post.text, "What should I tell the plumber?");
  EXPECT_EQ(opened.post.user, "alice");
  EXPECT_EQ(opened.post.room_id, "");
  EXPECT_TRUE(opened.post.attachments.empty());
  EXPECT_EQ(opened.post.message(), (json{{"msg", "What should I tell the plumber?"}}));
  EXPECT_EQ(asks.get(opened.id)->deadline_ms, kNow + 120'000);
}

TEST_F(AsksTest, MatchingIgnoresCaseAccentsSpacesAndTakesNumbers) {
  const struct {
    const char* reply;
    Kind kind;
    const char* answer;  // canonical
    int index;
  } cases[] = {
      {"Allumer", Kind::Answered, "Allumer", 1},
      {"allumer", Kind::Answered, "Allumer", 1},
      {"  ALLUMER  ", Kind::Answered, "Allumer", 1},
      {"allumer !", Kind::Answered, "Allumer", 1},
      {"Éteindre", Kind::Answered, "Éteindre", 2},
      {"eteindre", Kind::Answered, "Éteindre", 2},
      {"ÉTEINDRE.", Kind::Answered, "Éteindre", 2},
      {"Ne rien faire", Kind::Answered, "Ne rien faire", 3},
      {"ne   RIEN faire", Kind::Answered, "Ne rien faire", 3},
      {"1", Kind::Answered, "Allumer", 1},
      {" 2 ", Kind::Answered, "Éteindre", 2},
      {"3.", Kind::Answered, "Ne rien faire", 3},
      {"@camera-bot allumer", Kind::Answered, "Allumer", 1},
      {"@Camera-Bot: 2", Kind::Answered, "Éteindre", 2},
      {"4", Kind::NotAnAnswer, "", 0},
      {"0", Kind::NotAnAnswer, "", 0},
      {"allume", Kind::NotAnAnswer, "", 0},
      {"allumer la lumière", Kind::NotAnAnswer, "", 0},
      {"@camera-bot2 allumer", Kind::NotAnAnswer, "", 0},
  };
  for (const auto& c : cases) {
    reset({});
    const std::string id = open_in("GENERAL", {"Allumer", "Éteindre", "Ne rien faire"}, {"alice"});
    const AskEffect e = asks.on_message(said(kAlice, c.reply), kNow + 5000);
    EXPECT_EQ(e.kind, c.kind) << c.reply;
    EXPECT_EQ(e.ask_id, id) << c.reply;
    if (c.kind == Kind::Answered) {
      EXPECT_EQ(e.closed.result.answer, c.answer) << c.reply;
      EXPECT_EQ(e.closed.result.answer_index, c.index) << c.reply;
      EXPECT_EQ(asks.open_count(), 0u);
    } else {
      EXPECT_EQ(e.hint, "Please answer with one of: Allumer, Éteindre, Ne rien faire (or 1-3).")
          << c.reply;
      EXPECT_EQ(e.hint_room, "GENERAL");
      EXPECT_EQ(asks.open_count(), 1u) << "the ask keeps waiting";
    }
  }
}

TEST_F(AsksTest, AnAnswerThatIsANumberMatchesAsTextFirst) {
  const std::string id = open_in("GENERAL", {"19", "20", "1"});
  const AskEffect e = asks.on_message(said(kAlice, "1"), kNow);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.closed.result.answer, "1");
  EXPECT_EQ(e.closed.result.answer_index, 3);
  (void)id;
}

TEST_F(AsksTest, AnsweredResultAndTheEditOfTheQuestion) {
  const std::string id = open_in("GENERAL", {"Yes", "No"}, {"alice"});
  IncomingMessage m = said(kAlice, "yes");
  m.message_id = "answer-msg";
  const AskEffect e = asks.on_message(m, kNow + 42'000);
  ASSERT_EQ(e.kind, Kind::Answered);
  const AskResult& r = e.closed.result;
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.status, Status::Answered);
  EXPECT_EQ(r.answer, "Yes");
  EXPECT_EQ(r.answered_by, kAlice);
  EXPECT_EQ(r.closed_ms, kNow + 42'000);
  EXPECT_EQ(r.answer_message_id, "answer-msg");
  EXPECT_EQ(r.question_message_id, "q-" + id);
  EXPECT_EQ(r.room_id, "GENERAL");
  ASSERT_TRUE(e.closed.edit);
  EXPECT_EQ(e.closed.edit->room_id, "GENERAL");
  EXPECT_EQ(e.closed.edit->message_id, "q-" + id);
  EXPECT_EQ(e.closed.edit->text, "Close the garage?\n→ Yes (alice, +42s)");
  // The result stays readable after the ask closed.
  const auto later = asks.get(id);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, Status::Answered);
  EXPECT_EQ(later->answer, "Yes");
}

TEST_F(AsksTest, AnsweredTextUsesTheConfiguredTemplate) {
  AskOptions options;
  options.answered = "✔ {answer} — {name} à {time}";
  reset(options);
  open_in("GENERAL", {"Oui", "Non"});
  const AskEffect e = asks.on_message(said(kAlice, "oui"), kNow + 60'000);
  ASSERT_TRUE(e.closed.edit);
  EXPECT_EQ(e.closed.edit->text, "Close the garage?\n✔ Oui — Alice Martin à +60s");
}

TEST_F(AsksTest, FreeAnswerAsksTakeAnyText) {
  AskRequest r;
  r.question = "What should I tell the plumber?";
  r.room_id = "GENERAL";
  r.users = {"alice"};
  const std::string id = asks.open(r, kNow).id;
  EXPECT_EQ(asks.on_message(said(kAlice, "   "), kNow).kind, Kind::NotForAsks);  // nothing said
  const AskEffect e = asks.on_message(said(kAlice, "  Come after 5pm, the code is 1234.  "), kNow);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, id);
  EXPECT_EQ(e.closed.result.answer, "Come after 5pm, the code is 1234.");
  EXPECT_EQ(e.closed.result.answer_index, 0);
}

TEST_F(AsksTest, NonTargetUsersAreRoutedAsUsualThenTheTargetAnswers) {
  const std::string id = open_in("GENERAL", {"Yes", "No"}, {"@Alice"});
  EXPECT_EQ(asks.on_message(said(kBob, "yes"), kNow).kind, Kind::NotForAsks);
  EXPECT_EQ(asks.on_message(said(kBob, "what is this?"), kNow).kind, Kind::NotForAsks);
  EXPECT_EQ(asks.open_count(), 1u);
  const AskEffect e = asks.on_message(said(kAlice, "No"), kNow);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, id);
  EXPECT_EQ(e.closed.result.answered_by.username, "alice");
}

TEST_F(AsksTest, TheBotNeverAnswers) {
  open_in("GENERAL", {"Yes", "No"});
  EXPECT_EQ(asks.on_message(said(kBot, "Yes"), kNow).kind, Kind::NotForAsks);
  Answerer renamed_id = kBot;  // same username, seen before the id was known
  renamed_id.user_id = "";
  EXPECT_EQ(asks.on_message(said(renamed_id, "Yes"), kNow).kind, Kind::NotForAsks);
  EXPECT_EQ(asks.open_count(), 1u);
}

TEST_F(AsksTest, TwoAsksInTwoRoomsAreAnsweredSeparately) {
  const std::string garage = open_in("GARAGE", {"Close", "Leave open"});
  const std::string heating = open_in("HEATING", {"19", "20", "21"});
  const AskEffect h = asks.on_message(said(kBob, "2", "HEATING"), kNow);
  ASSERT_EQ(h.kind, Kind::Answered);
  EXPECT_EQ(h.ask_id, heating);
  EXPECT_EQ(h.closed.result.answer, "20");
  EXPECT_EQ(asks.on_message(said(kBob, "close", "HEATING"), kNow).kind, Kind::NotForAsks);
  const AskEffect g = asks.on_message(said(kAlice, "close", "GARAGE"), kNow);
  ASSERT_EQ(g.kind, Kind::Answered);
  EXPECT_EQ(g.ask_id, garage);
  EXPECT_EQ(g.closed.result.answer, "Close");
}

TEST_F(AsksTest, NewestAskWinsInOneRoom) {
  const std::string older = open_in("GENERAL", {"Yes", "No"}, {"alice"}, kNow);
  const std::string newer = open_in("GENERAL", {"Yes", "Later"}, {"alice"}, kNow + 1000);
  // Both would take "yes": the newest does.
  AskEffect e = asks.on_message(said(kAlice, "yes"), kNow + 2000);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, newer);
  // Now only the older one is open.
  e = asks.on_message(said(kAlice, "2"), kNow + 3000);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, older);
  EXPECT_EQ(e.closed.result.answer, "No");
}

TEST_F(AsksTest, AnOlderAskTakesWhatOnlyItMatches) {
  const std::string older = open_in("GENERAL", {"Yes", "No"}, {"alice"}, kNow);
  const std::string newer = open_in("GENERAL", {"19", "20"}, {"alice"}, kNow + 1000);
  AskEffect e = asks.on_message(said(kAlice, "no"), kNow + 2000);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, older);
  // A miss hints for the newest one.
  e = asks.on_message(said(kAlice, "warmer"), kNow + 3000);
  ASSERT_EQ(e.kind, Kind::NotAnAnswer);
  EXPECT_EQ(e.ask_id, newer);
  EXPECT_EQ(e.hint, "Please answer with one of: 19, 20 (or 1-2).");
}

TEST_F(AsksTest, HintsOnlyForMessagesMeantForTheAsk) {
  // Open to anyone in a room: chatter is left alone, a mention or a reply in the question's
  // thread gets the hint.
  const std::string id = open_in("GENERAL", {"Yes", "No"});
  EXPECT_EQ(asks.on_message(said(kBob, "lunch anyone?"), kNow).kind, Kind::NotForAsks);
  IncomingMessage mention = said(kBob, "@camera-bot lights on");
  mention.mentions_bot = true;
  AskEffect e = asks.on_message(mention, kNow);
  EXPECT_EQ(e.kind, Kind::NotAnAnswer);
  EXPECT_EQ(e.hint_thread, "");
  IncomingMessage in_thread = said(kBob, "hmm");
  in_thread.thread_id = "q-" + id;
  e = asks.on_message(in_thread, kNow);
  EXPECT_EQ(e.kind, Kind::NotAnAnswer);
  EXPECT_EQ(e.hint_thread, "q-" + id);
  // A reply in the question's thread answers too.
  in_thread.text = "YES";
  EXPECT_EQ(asks.on_message(in_thread, kNow).kind, Kind::Answered);
}

TEST_F(AsksTest, MessagesInOtherThreadsAreNotForTheAsk) {
  open_in("GENERAL", {"Yes", "No"}, {"alice"});
  IncomingMessage elsewhere = said(kAlice, "yes");
  elsewhere.thread_id = "another-thread";
  EXPECT_EQ(asks.on_message(elsewhere, kNow).kind, Kind::NotForAsks);
}

TEST_F(AsksTest, AskInAThreadTakesRepliesInTheThreadAndTheRoom) {
  AskRequest r;
  r.question = "Close the garage?";
  r.answers = {"Yes", "No"};
  r.room_id = "GENERAL";
  r.thread_id = "root";
  r.users = {"alice"};
  asks.open(r, kNow);
  asks.open(r, kNow);
  IncomingMessage in_thread = said(kAlice, "yes");
  in_thread.thread_id = "root";
  EXPECT_EQ(asks.on_message(in_thread, kNow).kind, Kind::Answered);
  EXPECT_EQ(asks.on_message(said(kAlice, "no"), kNow).kind, Kind::Answered);  // a button click
}

TEST_F(AsksTest, EmptyHintTextSwallowsTheMessageQuietly) {
  AskOptions options;
  options.hint = "";
  reset(options);
  open_in("GENERAL", {"Yes", "No"}, {"alice"});
  const AskEffect e = asks.on_message(said(kAlice, "maybe"), kNow);
  EXPECT_EQ(e.kind, Kind::NotAnAnswer);
  EXPECT_EQ(e.hint, "");
}

TEST_F(AsksTest, SingleAnswerHint) {
  open_in("GENERAL", {"Done"}, {"alice"});
  EXPECT_EQ(asks.on_message(said(kAlice, "ok"), kNow).hint,
            "Please answer with one of: Done (or 1).");
}

TEST_F(AsksTest, DirectMessageAskBeforeAndAfterItsRoomIsKnown) {
  AskRequest r;
  r.question = "Arm the alarm?";
  r.answers = {"Yes", "No"};
  r.user = "alice";
  const std::string first = asks.open(r, kNow).id;
  // The question is still in the outbox: its message id is known, its DM room is not.
  asks.set_question_message(first, "q1");
  EXPECT_EQ(asks.on_message(said(kBob, "yes", "DM-bob", true), kNow).kind, Kind::NotForAsks);
  EXPECT_EQ(asks.on_message(said(kAlice, "yes", "GENERAL", false), kNow).kind, Kind::NotForAsks);
  AskEffect e = asks.on_message(said(kAlice, "maybe", "DM-alice", true), kNow);
  EXPECT_EQ(e.kind, Kind::NotAnAnswer);  // in a DM every miss gets the hint
  e = asks.on_message(said(kAlice, "yes", "DM-alice", true), kNow + 1000);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.closed.result.room_id, "DM-alice");
  ASSERT_TRUE(e.closed.edit);
  EXPECT_EQ(e.closed.edit->room_id, "DM-alice");
  EXPECT_EQ(e.closed.edit->message_id, "q1");

  // Posted, and the outbox said which room: only that room counts.
  const std::string second = asks.open(r, kNow).id;
  asks.set_question_message(second, "q2", "DM-alice");
  EXPECT_EQ(asks.on_message(said(kAlice, "no", "OTHER-DM", true), kNow).kind, Kind::NotForAsks);
  e = asks.on_message(said(kAlice, "no", "DM-alice", true), kNow);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, second);
}

TEST_F(AsksTest, TimeoutClosesWithTheEditAndOrder) {
  const std::string late = open_in("A", {"Yes", "No"}, {}, kNow);
  AskRequest r;
  r.question = "Water the plants?";
  r.answers = {"Yes", "No"};
  r.room_id = "B";
  r.timeout = 60s;
  const std::string soon = asks.open(r, kNow).id;  // never posted: no message id
  EXPECT_EQ(asks.next_deadline(), kNow + 60'000);
  EXPECT_TRUE(asks.expire(kNow + 59'999).empty());
  auto closed = asks.expire(kNow + 60'000);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].result.id, soon);
  EXPECT_EQ(closed[0].result.status, Status::TimedOut);
  EXPECT_FALSE(closed[0].edit);  // nothing to edit
  EXPECT_EQ(asks.next_deadline(), kNow + 300'000);

  closed = asks.expire(kNow + 400'000);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].result.id, late);
  EXPECT_EQ(closed[0].result.status, Status::TimedOut);
  EXPECT_EQ(closed[0].result.closed_ms, kNow + 400'000);
  ASSERT_TRUE(closed[0].edit);
  EXPECT_EQ(closed[0].edit->text, "Close the garage?\n(no answer — timed out)");
  EXPECT_EQ(closed[0].edit->message_id, "q-" + late);
  EXPECT_FALSE(asks.next_deadline());
  EXPECT_EQ(asks.get(late)->status, Status::TimedOut);
  // Too late to answer.
  EXPECT_NE(asks.on_message(said(kAlice, "maybe"), kNow + 500'000).kind, Kind::Answered);
}

TEST_F(AsksTest, ASecondClickAfterTheAnswerIsDropped) {
  open_in("GENERAL", {"Yes", "No"});
  EXPECT_EQ(asks.on_message(said(kAlice, "Yes"), kNow).kind, Kind::Answered);
  EXPECT_EQ(asks.on_message(said(kBob, "No"), kNow + 2000).kind, Kind::Late);
  EXPECT_EQ(asks.on_message(said(kBob, "hello"), kNow + 2000).kind, Kind::NotForAsks);
  EXPECT_EQ(asks.on_message(said(kBob, "No", "ELSEWHERE"), kNow + 2000).kind, Kind::NotForAsks);
  // Long after, "no" is just a word again.
  EXPECT_EQ(asks.on_message(said(kBob, "No"), kNow + 11 * 60'000).kind, Kind::NotForAsks);
}

TEST_F(AsksTest, CancelClosesWithItsOwnLine) {
  const std::string id = open_in("GENERAL", {"Yes", "No"});
  const auto closed = asks.cancel(id, kNow + 1000);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->result.status, Status::Cancelled);
  ASSERT_TRUE(closed->edit);
  EXPECT_EQ(closed->edit->text, "Close the garage?\n(cancelled)");
  EXPECT_FALSE(asks.cancel(id, kNow + 2000));
  EXPECT_FALSE(asks.set_question_message(id, "x"));
}

TEST_F(AsksTest, RequestsThatCannotBeAsked) {
  const auto refused = [&](AskRequest r) { return asks.open(std::move(r), kNow).error; };
  AskRequest base;
  base.question = "Close the garage?";
  base.answers = {"Yes", "No"};
  base.room_id = "GENERAL";

  AskRequest r = base;
  r.question = "   ";
  EXPECT_EQ(refused(r), "the question is empty");
  r = base;
  r.room_id = "";
  EXPECT_EQ(refused(r), "nowhere to ask: give a room id or a username");
  r = base;
  r.user = "alice";
  EXPECT_EQ(refused(r), "give a room id or a username to ask, not both");
  r = base;
  r.answers = {"Yes", ""};
  EXPECT_EQ(refused(r), "answer 2 is empty");
  r = base;
  r.answers = {"?!", "No"};
  EXPECT_EQ(refused(r), "answer 1 is empty once punctuation is ignored");
  r = base;
  r.answers = {"Oui", "Non", "OUI!"};
  EXPECT_EQ(refused(r), "answers 'Oui' and 'OUI!' are the same once case, accents and "
                        "punctuation are ignored");
  r = base;
  r.answers = std::vector<std::string>(21, "x");
  EXPECT_EQ(refused(r), "at most 20 answers, got 21");
  r = base;
  r.timeout = -1s;
  EXPECT_EQ(refused(r), "the timeout must not be negative");
  r = base;
  r.timeout = 25h;
  EXPECT_EQ(refused(r), "the timeout must be at most 24h, got 90000s");
  r = base;
  r.id = "mine";
  EXPECT_EQ(asks.open(r, kNow).id, "mine");
  EXPECT_EQ(refused(r), "an ask with id 'mine' already exists");
}

TEST_F(AsksTest, OpenAsksAreLimited) {
  AskOptions options;
  options.max_open = 2;
  reset(options);
  open_in("A", {"Yes"});
  open_in("B", {"Yes"});
  AskRequest r;
  r.question = "Third?";
  r.room_id = "C";
  EXPECT_EQ(asks.open(r, kNow).error,
            "too many open asks (2, asks.max_open): wait for some to be answered or time out");
}

// ---- recorded messages

// The message events of a fixture, classified as the gateway does, as the asks see them.
std::vector<IncomingMessage> incoming_of(const std::string& name) {
  std::vector<IncomingMessage> out;
  rc::Classifier classifier(kBot.user_id);
  const json fixture = test::fixture(name);
  for (const auto& frame : fixture["server"]) {
    if (frame.value("collection", "") != "stream-room-messages") continue;
    std::string why;
    const auto message = rc::parse_stream_args(frame["fields"]["args"], &why);
    EXPECT_TRUE(message) << name << ": " << why;
    if (message) out.push_back(incoming_message(*message, classifier.classify(*message)));
  }
  EXPECT_FALSE(out.empty()) << name;
  return out;
}

TEST_F(AsksTest, RecordedDirectMessageAnswersADirectAsk) {
  const IncomingMessage dm = incoming_of("dm-message.json").at(0);
  EXPECT_TRUE(dm.direct);
  EXPECT_EQ(dm.sender, (Answerer{"t7EgqqFfkzCDKZrLg", "alice", "Alice Example"}));
  AskRequest r;
  r.question = "Someone is at the door. What now?";
  r.answers = {"Snapshot", "Open the door", "Nothing"};
  r.user = "alice";
  const std::string id = asks.open(r, kNow).id;
  asks.set_question_message(id, "question-1");
  const AskEffect e = asks.on_message(dm, kNow + 1000);  // "snapshot"
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.closed.result.answer, "Snapshot");
  EXPECT_EQ(e.closed.result.answer_message_id, "wfvudEKte7xbWZbX7");
  ASSERT_TRUE(e.closed.edit);
  EXPECT_EQ(e.closed.edit->room_id, "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg");
}

TEST_F(AsksTest, RecordedMentionAnswersOnceTheMentionIsDropped) {
  const IncomingMessage mention = incoming_of("channel-message-mention.json").at(0);
  EXPECT_TRUE(mention.mentions_bot);
  open_in("GENERAL", {"Snapshot please", "Nothing"}, {"alice"});
  const AskEffect e = asks.on_message(mention, kNow);  // "@camera-bot snapshot please"
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.closed.result.answer, "Snapshot please");
}

TEST_F(AsksTest, RecordedThreadReplyAnswersTheQuestionItRepliesTo) {
  const auto messages = incoming_of("thread-reply.json");
  const IncomingMessage& reply = messages.at(0);  // "and the driveway too", in thread gwfL9...
  ASSERT_EQ(reply.thread_id, "gwfL9C5wjoXJTF6Yr");
  AskRequest r;
  r.question = "Anything else to check?";
  r.room_id = "GENERAL";
  r.users = {"alice"};
  const std::string id = asks.open(r, kNow).id;
  asks.set_question_message(id, "some-other-message");
  EXPECT_EQ(asks.on_message(reply, kNow).kind, Kind::NotForAsks);  // another thread
  const std::string second = asks.open(r, kNow).id;
  asks.set_question_message(second, "gwfL9C5wjoXJTF6Yr");
  const AskEffect e = asks.on_message(reply, kNow);
  ASSERT_EQ(e.kind, Kind::Answered);
  EXPECT_EQ(e.ask_id, second);
  EXPECT_EQ(e.closed.result.answer, "and the driveway too");
}

// ---- persistence

TEST_F(AsksTest, PersistenceRoundTripKeepsOpenAsksAndResults) {
  const std::string room_ask = open_in("GENERAL", {"Yes", "No"}, {"alice"}, kNow);
  AskRequest dm;
  dm.question = "Arm the alarm?";
  dm.user = "bob";
  dm.thread_id = "t1";
  dm.context = {{"jeedom_variable", "alarm_answer"}};
  dm.callback_url = "http://127.0.0.1:8123/api/webhook/rcgate";
  const std::string dm_ask = asks.open(dm, kNow + 1000).id;
  const std::string answered = open_in("HEATING", {"19", "20"}, {}, kNow + 2000);
  ASSERT_EQ(asks.on_message(said(kBob, "20", "HEATING"), kNow + 3000).kind, Kind::Answered);
  const json saved = asks.to_json();

  Asks restored({}, [] { return std::string("fresh"); },
                [](std::int64_t ms) { return "+" + std::to_string((ms - kNow) / 1000) + "s"; });
  restored.set_bot(kBot.user_id, kBot.username);
  const auto warnings = restored.restore(json::parse(saved.dump()));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(restored.to_json(), saved);
  EXPECT_EQ(restored.open_count(), 2u);
  const auto open = restored.open_asks();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].id, room_ask);
  EXPECT_EQ(open[1].id, dm_ask);
  const auto result = restored.get(answered);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, Status::Answered);
  EXPECT_EQ(result->answer, "20");
  EXPECT_EQ(result->answered_by, kBob);

  // The restored asks work: an answer, a DM answer before the room is known, a timeout.
  AskEffect e = restored.on_message(said(kAlice, "oui? no: YES"), kNow + 4000);
  EXPECT_EQ(e.kind, Kind::NotAnAnswer);
  e = restored.on_message(said(kAlice, "yes"), kNow + 4000);
  ASSERT_EQ(e.kind, Kind::Answered);
  ASSERT_TRUE(e.closed.edit);
  EXPECT_EQ(e.closed.edit->text, "Close the garage?\n→ Yes (alice, +4s)");
  const auto closed = restored.expire(kNow + 1000 + 300'000);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].result.id, dm_ask);
  // The caller's context and the ask's shape come back with the result.
  EXPECT_EQ(closed[0].result.context, json({{"jeedom_variable", "alarm_answer"}}));
  EXPECT_EQ(closed[0].result.user, "bob");
  EXPECT_EQ(closed[0].result.callback_url, "http://127.0.0.1:8123/api/webhook/rcgate");
  EXPECT_EQ(restored.get(answered)->answers, (std::vector<std::string>{"19", "20"}));
}

TEST_F(AsksTest, AskDueWhileDownTimesOutAtTheNextExpire) {
  const std::string id = open_in("GENERAL", {"Yes", "No"});
  const json saved = asks.to_json();
  Asks restored;
  restored.restore(saved);
  EXPECT_EQ(restored.next_deadline(), kNow + 300'000);
  const auto closed = restored.expire(kNow + 3'600'000);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].result.id, id);
  ASSERT_TRUE(closed[0].edit);
  EXPECT_EQ(closed[0].edit->message_id, "q-" + id);
}

TEST_F(AsksTest, RestoreSkipsDamagedEntriesAndSaysWhy) {
  open_in("GENERAL", {"Yes"});  // ask-1 is already known
  const json document = json::parse(R"({
    "version": 1,
    "open": [
      {"id": "good", "question": "Q?", "answers": ["A", "B"], "users": ["alice"],
       "room_id": "R", "user": "", "thread_id": "", "question_message_id": "qm",
       "opened": 1773000000000, "deadline": 1773000300000},
      7,
      {"question": "no id", "deadline": 1},
      {"id": "noq", "deadline": 1, "room_id": "R"},
      {"id": "badanswers", "question": "Q?", "answers": "A;B", "deadline": 1, "room_id": "R"},
      {"id": "badusers", "question": "Q?", "users": [1, 2], "deadline": 1, "room_id": "R"},
      {"id": "nodeadline", "question": "Q?", "room_id": "R"},
      {"id": "nowhere", "question": "Q?", "deadline": 1},
      {"id": "ask-1", "question": "Q?", "deadline": 1, "room_id": "R"}
    ],
    "results": [
      {"id": "r1", "status": "answered", "answer": "A", "answered_by": {"username": "bob"}},
      {"id": "r2", "status": "open"},
      "junk"
    ]})");
  const auto warnings = asks.restore(document);
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "asks.open[1]: not an object; skipped",
                          "asks.open[2]: no id; skipped",
                          "asks.open[3] (noq): no question; skipped",
                          "asks.open[4] (badanswers): answers is not a list of texts; skipped",
                          "asks.open[5] (badusers): users is not a list of names; skipped",
                          "asks.open[6] (nodeadline): no deadline; skipped",
                          "asks.open[7] (nowhere): neither room_id nor user; skipped",
                          "asks.open[8] (ask-1): already known; skipped",
                          "asks.results[1] (r2): no id, an unknown status or already known; "
                          "skipped",
                          "asks.results[2]: not an object; skipped",
                      }));
  EXPECT_EQ(asks.open_count(), 2u);
  const auto good = asks.get("good");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->question_message_id, "qm");
  EXPECT_EQ(asks.get("r1")->answered_by.username, "bob");
  EXPECT_EQ(asks.on_message(said(kAlice, "b", "R"), kNow).kind, Kind::Answered);

  EXPECT_EQ(asks.restore(json::array()),
            std::vector<std::string>{"asks: not an asks document; nothing restored"});
  EXPECT_EQ(asks.restore(json{{"open", "x"}, {"results", 3}}),
            (std::vector<std::string>{"asks.open: not a list; no open ask restored",
                                      "asks.results: not a list; no result restored"}));
}

TEST_F(AsksTest, KeptResultsAreBounded) {
  asks = Asks({}, [this] { return "ask-" + std::to_string(++counter); }, {}, 2);
  const std::string a = open_in("R", {"Yes"});
  const std::string b = open_in("R", {"Yes"});
  const std::string c = open_in("R", {"Yes"});
  asks.expire(kNow + 1'000'000);
  EXPECT_FALSE(asks.get(a));
  EXPECT_TRUE(asks.get(b));
  EXPECT_TRUE(asks.get(c));
}

TEST_F(AsksTest, RevisionMovesWithChanges) {
  const auto r0 = asks.revision();
  const std::string id = open_in("R", {"Yes"});
  EXPECT_GT(asks.revision(), r0);
  const auto r1 = asks.revision();
  asks.on_message(said(kAlice, "what?", "OTHER"), kNow);
  EXPECT_EQ(asks.revision(), r1);
  asks.on_message(said(kAlice, "yes", "R"), kNow);
  EXPECT_GT(asks.revision(), r1);
  (void)id;
}

}  // namespace
}  // namespace rcgate::core
