// The homeassistant engine against a loopback server that answers like Home Assistant's
// conversation API (developers.home-assistant.io, "Conversation API"): bearer token, the
// response envelope with response_type / speech.plain.speech / data.code, conversation_id and
// continue_conversation, and Home Assistant's own error answers (401 "401: Unauthorized",
// 404 "404: Not Found").
#include "homeassistant/homeassistant.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "plugin_test_support.hpp"

namespace rcgate::plugins::homeassistant {
namespace {

using namespace rcgate::plugin_test;
using ::testing::HasSubstr;

constexpr const char* kToken = "eyJhbGciOiJIUzI1NiJ9.test-long-lived-token";

// What Home Assistant does with POST /api/conversation/process, for the sentences the tests say.
class FakeHomeAssistant {
 public:
  FakeHomeAssistant(net::Loop& loop, std::vector<net::Respond>& held)
      : server(loop, [this](const net::ServerRequest& request, net::Respond respond) {
          handle(request, std::move(respond));
        }),
        held(held) {}

  FakeServer server;
  std::vector<net::Respond>& held;  // answers the test releases itself
  int conversations = 0;

 private:
  void handle(const net::ServerRequest& request, net::Respond respond) {
    // aiohttp's answers for a missing/invalid token and an unknown path.
    if (request.header("Authorization") != std::string("Bearer ") + kToken) {
      respond(text_response(401, "401: Unauthorized"));
      return;
    }
    if (request.method != "POST" || request.path != "/api/conversation/process") {
      respond(text_response(404, "404: Not Found"));
      return;
    }
    const Json in = Json::parse(request.body, nullptr, false);
    const std::string text = in.value("text", "");
    std::string id = in.value("conversation_id", "");
    if (id.empty()) id = "01JCONV" + std::to_string(++conversations);

    auto speech = [](const std::string& s) {
      return Json{{"plain", {{"speech", s}, {"extra_data", nullptr}}}};
    };
    Json response;
    bool follow = false;
    if (text == "turn on the kitchen lights") {
      response = {{"response_type", "action_done"},
                  {"language", "en"},
                  {"data",
                   {{"targets", {{{"type", "area"}, {"name", "Kitchen"}, {"id", "kitchen"}}}},
                    {"success",
                     {{{"type", "entity"}, {"name", "Kitchen light"}, {"id", "light.kitchen"}}}},
                    {"failed", Json::array()}}},
                  {"speech", speech("Turned on the lights")}};
    } else if (text == "what is the temperature") {
      response = {{"response_type", "query_answer"},
                  {"language", "en"},
                  {"data", {{"targets", Json::array()}, {"success", Json::array()},
                            {"failed", Json::array()}}},
                  {"speech", speech("It is 21 degrees")}};
    } else if (text == "set a timer") {
      response = {{"response_type", "query_answer"}, {"language", "en"},
                  {"speech", speech("For how long?")}};
      follow = true;
    } else if (text == "turn on the flux capacitor") {
      response = {{"response_type", "error"},
                  {"language", "en"},
                  {"data", {{"code", "no_valid_targets"}}},
                  {"speech", speech("Sorry, I am not aware of any device called flux capacitor")}};
    } else if (text == "break") {
      response = {{"response_type", "error"},
                  {"language", "en"},
                  {"data", {{"code", "failed_to_handle"}}},
                  {"speech", Json::object()}};
    } else if (text == "not json") {
      respond(text_response(200, "<html>proxy error</html>", "text/html"));
      return;
    } else if (text == "server error") {
      respond(text_response(500, "500 Internal Server Error\n\nServer got itself in trouble"));
      return;
    } else if (text == "hold") {
      held.push_back(std::move(respond));
      return;
    } else {
      response = {{"response_type", "error"},
                  {"language", "en"},
                  {"data", {{"code", "no_intent_match"}}},
                  {"speech", speech("Sorry, I couldn't understand that")}};
    }
    respond(json_response(200, {{"response", response},
                                {"conversation_id", id},
                                {"continue_conversation", follow}}));
  }
};

class HomeAssistantTest : public PluginFixture {
 protected:
  HomeAssistantTest() : PluginFixture(plugin_info()) {}
  void SetUp() override { ::unsetenv("RCGATE_HA_TOKEN"); }
  Json base_section() const override { return {{"url", ha_.server.url()}, {"token", kToken}}; }

  FakeHomeAssistant ha_{loop_, held_};
};

TEST_F(HomeAssistantTest, SendsTheDocumentedRequest) {
  auto& engine = start(config({{"agent_id", "conversation.home_assistant"}, {"language", "fr"}}));
  EXPECT_EQ(engine.name(), "homeassistant");
  Answer a = answer(engine, make_query("turn on the kitchen lights"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "Turned on the lights");
  EXPECT_FALSE(a.reply.expects_followup);

  ASSERT_EQ(ha_.server.requests.size(), 1u);
  const auto& request = ha_.server.requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/api/conversation/process");
  EXPECT_EQ(request.header("Authorization"), std::string("Bearer ") + kToken);
  EXPECT_THAT(std::string(request.header("Content-Type")), HasSubstr("application/json"));
  EXPECT_EQ(ha_.server.body_json(0),
            Json({{"text", "turn on the kitchen lights"},
                  {"language", "fr"},
                  {"agent_id", "conversation.home_assistant"}}));
}

TEST_F(HomeAssistantTest, LeavesOutWhatIsNotConfigured) {
  auto& engine = start(config());
  ASSERT_EQ(answer(engine, make_query("what is the temperature")).reply.text, "It is 21 degrees");
  EXPECT_EQ(ha_.server.body_json(0), Json({{"text", "what is the temperature"}}));
}

TEST_F(HomeAssistantTest, KeepsOneConversationPerRoomAndPerson) {
  auto& engine = start(config({{"conversation_timeout", "5m"}}));
  auto send = [&](const std::string& user, const std::string& room) {
    Query q = make_query("what is the temperature", user, room, room);
    EXPECT_EQ(answer(engine, q).kind, Answer::Kind::Replied);
    return ha_.server.body_json(ha_.server.requests.size() - 1).value("conversation_id", "");
  };
  EXPECT_EQ(send("Alice", "KITCHEN"), "");           // new: Home Assistant hands out 01JCONV1
  EXPECT_EQ(send("Alice", "KITCHEN"), "01JCONV1");   // carried on
  EXPECT_EQ(send("Bob", "KITCHEN"), "");             // another person: 01JCONV2
  EXPECT_EQ(send("Alice", "GARAGE"), "");            // another room: 01JCONV3
  EXPECT_EQ(send("Bob", "KITCHEN"), "01JCONV2");
  EXPECT_EQ(send("Alice", "KITCHEN"), "01JCONV1");

  context_->clock_.advance(std::chrono::minutes(4));
  EXPECT_EQ(send("Alice", "KITCHEN"), "01JCONV1");   // used 4 minutes ago: still alive
  context_->clock_.advance(std::chrono::minutes(5) + 1s);
  EXPECT_EQ(send("Alice", "KITCHEN"), "");           // expired: a new conversation (01JCONV4)
  EXPECT_EQ(send("Alice", "KITCHEN"), "01JCONV4");
}

TEST_F(HomeAssistantTest, ContinueConversationAsksForAFollowup) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("set a timer"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "For how long?");
  EXPECT_TRUE(a.reply.expects_followup);
}

TEST_F(HomeAssistantTest, NoIntentMatchIsNotMine) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("sing me a song"));
  EXPECT_EQ(a.kind, Answer::Kind::NotMine);
  // The conversation still goes on: Home Assistant gave it an id.
  answer(engine, make_query("what is the temperature"));
  EXPECT_EQ(ha_.server.body_json(1).value("conversation_id", ""), "01JCONV1");
}

TEST_F(HomeAssistantTest, OtherErrorsAnswerWithHomeAssistantsSpeech) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("turn on the flux capacitor"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "Sorry, I am not aware of any device called flux capacitor");
}

TEST_F(HomeAssistantTest, AnErrorWithoutSpeechFails) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("break"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error, "Home Assistant could not handle it (failed_to_handle)");
}

TEST_F(HomeAssistantTest, ARefusedTokenSaysWhatToCheck) {
  auto& engine = start(config({{"token", "wrong"}}));
  Answer a = answer(engine, make_query("turn on the kitchen lights"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error, "Home Assistant refused the token (check plugins.homeassistant.token)");
}

TEST_F(HomeAssistantTest, AWrongUrlSaysWhatToCheck) {
  auto& engine = start(config({{"url", ha_.server.url() + "/homeassistant"}}));
  Answer a = answer(engine, make_query("turn on the kitchen lights"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_THAT(a.error, HasSubstr("Home Assistant has no conversation API at " + ha_.server.url() +
                                 "/homeassistant/api/conversation/process"));
  EXPECT_EQ(ha_.server.requests.at(0).target, "/homeassistant/api/conversation/process");
}

TEST_F(HomeAssistantTest, ServerErrorsAndGarbageFail) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("server error"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error,
            "Home Assistant answered HTTP 500: 500 Internal Server Error  Server got itself in "
            "trouble");
  Answer b = answer(engine, make_query("not json"));
  ASSERT_EQ(b.kind, Answer::Kind::Failed);
  EXPECT_EQ(b.error,
            "Home Assistant's answer is not a conversation response: <html>proxy error</html>");
}

TEST_F(HomeAssistantTest, TimeoutsAndRefusedConnectionsFail) {
  auto& engine = start(config({{"timeout", "300ms"}}));
  Answer slow = answer(engine, make_query("hold"));
  ASSERT_EQ(slow.kind, Answer::Kind::Failed);
  EXPECT_THAT(slow.error, HasSubstr("Home Assistant at " + ha_.server.url() + " did not answer: "));

  const auto port = closed_port(loop_);
  auto& refused_engine = start(config({{"url", "http://127.0.0.1:" + std::to_string(port)}}));
  Answer refused = answer(refused_engine, make_query("turn on the kitchen lights"));
  ASSERT_EQ(refused.kind, Answer::Kind::Failed);
  EXPECT_THAT(refused.error, HasSubstr("did not answer: "));
  EXPECT_THAT(refused.error, HasSubstr("refused"));
}

TEST_F(HomeAssistantTest, SeveralQuestionsInFlightAtOnce) {
  auto& engine = start(config());
  std::vector<std::string> answers;
  engine.ask(make_query("hold"), [&](Answer a) { answers.push_back("held: " + a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return ha_.held.size() == 1; }));
  engine.ask(make_query("what is the temperature", "Bob"),
             [&](Answer a) { answers.push_back(a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 1; }));
  EXPECT_EQ(answers[0], "It is 21 degrees");
  ha_.held[0](json_response(
      200, {{"response",
             {{"response_type", "query_answer"},
              {"speech", {{"plain", {{"speech", "Done thinking"}}}}}}},
            {"conversation_id", "01JLATE"}}));
  ha_.held.clear();
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers[1], "held: Done thinking");
}

TEST_F(HomeAssistantTest, AStoppedEngineStillAnswersOnce) {
  std::vector<Answer::Kind> kinds;
  {
    auto& engine = start(config());
    engine.ask(make_query("hold"), [&](Answer a) { kinds.push_back(a.kind); });
    ASSERT_TRUE(run_until(loop_, [&] { return ha_.held.size() == 1; }));
    plugin_->stop();
    context_->engines.clear();  // the last owner lets go
  }
  ha_.held[0](json_response(200, {{"response", {{"response_type", "action_done"}}}}));
  ha_.held.clear();
  ASSERT_TRUE(run_until(loop_, [&] { return !kinds.empty(); }));
  EXPECT_EQ(kinds, std::vector<Answer::Kind>{Answer::Kind::Failed});
}

// ---- Configuration ----------------------------------------------------------------------------

std::string issues_of(const Json& section) { return issue_lines(validate(section)); }

TEST(HomeAssistantConfig, ReportsEveryProblemWithItsPath) {
  ::unsetenv("RCGATE_HA_TOKEN");
  EXPECT_EQ(issues_of(Json::object()),
            "url: is required\n"
            "token: is required: set 'token', 'token_file' (a file holding it), or the "
            "environment variable RCGATE_HA_TOKEN\n");
  EXPECT_EQ(issues_of({{"url", "homeassistant.local:8123"}, {"token", "t"}, {"agent", "x"},
                       {"timeout", "soon"}, {"verify_tls", "perhaps"}}),
            "agent: unknown key 'agent' (did you mean 'agent_id'?)\n"
            "url: expected an http:// or https:// URL, got 'homeassistant.local:8123'\n"
            "timeout: expected a duration such as 250ms, 15s, 2m or 1h, got 'soon'\n"
            "verify_tls: expected true or false, got the text 'perhaps'\n");
  EXPECT_EQ(issues_of({{"url", "http://ha.lan:8123/api/"}, {"token", "t"}}),
            "url: give Home Assistant's address without /api, e.g. "
            "http://homeassistant.local:8123\n");
  EXPECT_EQ(issues_of({{"url", "http://ha.lan:8123"}, {"token", "t"}, {"token_file", "/x"}}),
            "token_file: give either 'token' or 'token_file', not both\n");
  EXPECT_EQ(issues_of({{"url", "http://ha.lan:8123"}, {"token_file", "/nonexistent/token"}}),
            "token_file: file '/nonexistent/token' does not exist\n");
  EXPECT_EQ(issues_of({{"url", "https://ha.lan"}, {"token", "t"}, {"agent_id", "conversation.x"},
                       {"language", "fr"}, {"timeout", 2.5}, {"conversation_timeout", "10m"},
                       {"verify_tls", false}}),
            "");
}

TEST_F(HomeAssistantTest, TheTokenCanComeFromAFileOrTheEnvironment) {
  const std::string path = "/tmp/rcgate-ha-token-" + std::to_string(::getpid());
  {
    std::ofstream out(path);
    out << "  " << kToken << "  \nsecond line ignored\n";
  }
  auto& from_file = start({{"url", ha_.server.url()}, {"token_file", path}});
  EXPECT_EQ(answer(from_file, make_query("what is the temperature")).reply.text,
            "It is 21 degrees");
  std::remove(path.c_str());

  ::setenv("RCGATE_HA_TOKEN", kToken, 1);
  EXPECT_EQ(issues_of({{"url", "http://ha.lan"}}), "");
  auto& from_env = start({{"url", ha_.server.url()}});
  EXPECT_EQ(answer(from_env, make_query("what is the temperature")).reply.text,
            "It is 21 degrees");
  ::unsetenv("RCGATE_HA_TOKEN");
}

}  // namespace
}  // namespace rcgate::plugins::homeassistant
