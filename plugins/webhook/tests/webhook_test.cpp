// The webhook engine against a loopback server: the question goes out as JSON with every field,
// with the configured headers; the answer is JSON {text, attachments, followup} or plain text;
// 204 or an empty answer means "not mine"; anything else is a failure with a reason.
#include "webhook/webhook.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "plugin_test_support.hpp"

namespace rcgate::plugins::webhook {
namespace {

using namespace rcgate::plugin_test;
using ::testing::HasSubstr;

class WebhookTest : public PluginFixture {
 protected:
  WebhookTest() : PluginFixture(plugin_info()) {}
  void SetUp() override {
    ::unsetenv("RCGATE_WEBHOOK_TOKEN");
    dir_ = "/tmp/rcgate-webhook-test-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_ + "/out");
    std::ofstream(dir_ + "/out/chart.png") << "\x89PNG";
    server_ = std::make_unique<FakeServer>(loop_, [this](const net::ServerRequest& request,
                                                         net::Respond respond) {
      const Json in = Json::parse(request.body, nullptr, false);
      const std::string text = in.is_object() ? in.value("text", "") : "";
      if (text == "hold") {
        held_.push_back(std::move(respond));
      } else if (responses_.count(text)) {
        respond(responses_[text]);
      } else {
        respond(json_response(200, {{"text", "You said: " + text}}));
      }
    });
  }
  void TearDown() override {
    PluginFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }
  Json base_section() const override {
    return {{"url", server_->url() + "/hooks/rcgate?source=chat"}};
  }

  std::string dir_;
  std::unique_ptr<FakeServer> server_;
  std::map<std::string, net::ServerResponse> responses_;
};

TEST_F(WebhookTest, PostsEveryFieldOfTheQuestion) {
  auto& engine = start(config({{"headers", {{"X-Rcgate-Secret", "abc"}, {"X-Count", 3}}},
                               {"token", "t0k"}}));
  EXPECT_EQ(engine.name(), "webhook");
  Query q = make_query("quel temps fait-il ?", "Alice", "ROOM1", "cuisine");
  q.role = "adult";
  q.thread_id = "THREAD1";
  q.is_followup = true;
  Answer a = answer(engine, q);
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "You said: quel temps fait-il ?");

  ASSERT_EQ(server_->requests.size(), 1u);
  const auto& request = server_->requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hooks/rcgate?source=chat");
  EXPECT_EQ(request.header("X-Rcgate-Secret"), "abc");
  EXPECT_EQ(request.header("X-Count"), "3");
  EXPECT_EQ(request.header("Authorization"), "Bearer t0k");
  EXPECT_THAT(std::string(request.header("Content-Type")), HasSubstr("application/json"));
  Json expected = {{"text", "quel temps fait-il ?"},
                   {"message_id", q.message_id},
                   {"rc_user_id", "uid-alice"},
                   {"rc_username", "alice"},
                   {"rc_display_name", "Alice Example"},
                   {"automation_user", "Alice"},
                   {"role", "adult"},
                   {"room_id", "ROOM1"},
                   {"room_name", "cuisine"},
                   {"room_type", "c"},
                   {"device_id", "ROOM1"},
                   {"thread_id", "THREAD1"},
                   {"is_direct", false},
                   {"is_followup", true}};
  EXPECT_EQ(server_->body_json(0), expected);
}

TEST_F(WebhookTest, AJsonAnswerWithAttachmentsAndAFollowup) {
  responses_["graph"] = json_response(
      200, {{"text", "Here is the chart"},
            {"followup", true},
            {"attachments",
             {{{"url", "https://grafana.lan/render/d/abc.png"}, {"title", "Temperatures"}},
              {{"path", dir_ + "/out/chart.png"}, {"description", "Last 24h"}},
              {{"path", "/etc/passwd"}},
              {{"path", dir_ + "/out/missing.png"}},
              {{"url", "file:///etc/passwd"}},
              {{"title", "nothing"}},
              "not an object"}}});
  auto& engine = start(config({{"local_files", Json::array({dir_ + "/out"})}}));
  Answer a = answer(engine, make_query("graph"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "Here is the chart");
  EXPECT_TRUE(a.reply.expects_followup);
  ASSERT_EQ(a.reply.attachments.size(), 2u);
  EXPECT_EQ(a.reply.attachments[0].url, "https://grafana.lan/render/d/abc.png");
  EXPECT_EQ(a.reply.attachments[0].title, "Temperatures");
  EXPECT_EQ(a.reply.attachments[1].path, dir_ + "/out/chart.png");
  EXPECT_EQ(a.reply.attachments[1].description, "Last 24h");
  const std::string log = context_->log_.all();
  EXPECT_THAT(log, HasSubstr("attachments[2]: '/etc/passwd' is not under plugins.webhook.local_files"));
  EXPECT_THAT(log, HasSubstr("attachments[3]: cannot read"));
  EXPECT_THAT(log, HasSubstr("attachments[4]: expected an http:// or https:// URL"));
  EXPECT_THAT(log, HasSubstr("attachments[5] has neither 'url' nor 'path'"));
  EXPECT_THAT(log, HasSubstr("attachments[6] is not an object"));
}

TEST_F(WebhookTest, WithoutLocalFilesNoPathIsTaken) {
  responses_["graph"] =
      json_response(200, {{"text", "chart"}, {"attachments", {{{"path", dir_ + "/out/chart.png"}}}}});
  auto& engine = start(config());
  Answer a = answer(engine, make_query("graph"));
  EXPECT_EQ(a.reply.text, "chart");
  EXPECT_TRUE(a.reply.attachments.empty());
}

TEST_F(WebhookTest, APlainTextAnswerIsTheReply) {
  responses_["hello"] = text_response(200, "  Hello from the house  \n");
  auto& engine = start(config());
  Answer a = answer(engine, make_query("hello"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "Hello from the house");
  EXPECT_FALSE(a.reply.expects_followup);
}

TEST_F(WebhookTest, NothingToSayIsNotMine) {
  responses_["a"] = text_response(204, "", "");
  responses_["b"] = text_response(200, "", "");
  responses_["c"] = json_response(200, {{"text", ""}});
  responses_["d"] = json_response(200, Json::object());
  auto& engine = start(config());
  for (const char* text : {"a", "b", "c", "d"}) {
    EXPECT_EQ(answer(engine, make_query(text)).kind, Answer::Kind::NotMine) << text;
  }
}

TEST_F(WebhookTest, ErrorsAreFailures) {
  responses_["500"] = text_response(500, "Traceback: KeyError 'text'");
  responses_["bad json"] = text_response(200, "{\"text\": ", "application/json");
  responses_["list"] = json_response(200, Json::array({1, 2}));
  auto& engine = start(config());
  const std::string where = "webhook " + server_->url() + "/hooks/rcgate";
  Answer a = answer(engine, make_query("500"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error, where + " answered HTTP 500: Traceback: KeyError 'text'");
  Answer b = answer(engine, make_query("bad json"));
  ASSERT_EQ(b.kind, Answer::Kind::Failed);
  EXPECT_EQ(b.error, where + " answered invalid JSON: {\"text\":");
  Answer c = answer(engine, make_query("list"));
  ASSERT_EQ(c.kind, Answer::Kind::Failed);
  EXPECT_EQ(c.error, where + " answered JSON that is not an object: [1,2]");
}

TEST_F(WebhookTest, TimeoutsAndRefusedConnectionsFail) {
  auto& engine = start(config({{"timeout", "300ms"}}));
  Answer slow = answer(engine, make_query("hold"));
  ASSERT_EQ(slow.kind, Answer::Kind::Failed);
  EXPECT_THAT(slow.error, HasSubstr("webhook " + server_->url() + "/hooks/rcgate did not answer: "));

  auto& refused =
      start({{"url", "http://127.0.0.1:" + std::to_string(closed_port(loop_)) + "/hook"}});
  Answer r = answer(refused, make_query("x"));
  ASSERT_EQ(r.kind, Answer::Kind::Failed);
  EXPECT_THAT(r.error, HasSubstr("refused"));
}

TEST_F(WebhookTest, SeveralQuestionsInFlightAtOnce) {
  auto& engine = start(config());
  std::vector<std::string> answers;
  engine.ask(make_query("hold"), [&](Answer a) { answers.push_back("held: " + a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 1; }));
  engine.ask(make_query("quick"), [&](Answer a) { answers.push_back(a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 1; }));
  EXPECT_EQ(answers[0], "You said: quick");
  held_[0](text_response(200, "finally"));
  held_.clear();
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers[1], "held: finally");
}

TEST_F(WebhookTest, TheTokenCanComeFromTheEnvironment) {
  ::setenv("RCGATE_WEBHOOK_TOKEN", "env-token", 1);
  auto& engine = start(config());
  answer(engine, make_query("x"));
  EXPECT_EQ(server_->requests.at(0).header("Authorization"), "Bearer env-token");
  ::unsetenv("RCGATE_WEBHOOK_TOKEN");
}

// ---- Configuration ----------------------------------------------------------------------------

std::string issues_of(const Json& section) { return issue_lines(validate(section)); }

TEST(WebhookConfig, ReportsEveryProblemWithItsPath) {
  ::unsetenv("RCGATE_WEBHOOK_TOKEN");
  EXPECT_EQ(issues_of(Json::object()), "url: is required\n");
  EXPECT_EQ(issues_of({{"url", "http://n8n.lan/webhook/x"},
                       {"header", {{"a", "b"}}},
                       {"headers", {{"Bad Name", "x"}, {"X-List", Json::array()}}},
                       {"timeout", 0},
                       {"local_files", "relative/dir"}}),
            "header: unknown key 'header' (did you mean 'headers'?)\n"
            "headers.X-List: expected text, got a list\n"
            "timeout: must be greater than zero\n"
            "local_files[0]: expected an absolute directory, got 'relative/dir'\n");
  EXPECT_EQ(issues_of({{"url", "http://n8n.lan/webhook/x"},
                       {"headers", {{"Bad Name", "x"}}}}),
            "headers.Bad Name: invalid header name 'Bad Name'\n");
  EXPECT_EQ(issues_of({{"url", "http://n8n.lan/webhook/x"},
                       {"headers", {{"Authorization", "Basic eA=="}}},
                       {"token", "t"}}),
            "token: an Authorization header is already given in 'headers'\n");
  EXPECT_EQ(issues_of({{"url", "https://n8n.lan/webhook/x"},
                       {"headers", {{"X-Key", "k"}}},
                       {"timeout", "20s"},
                       {"verify_tls", true},
                       {"local_files", Json::array({"/var/lib/rcgate/files"})}}),
            "");
}

}  // namespace
}  // namespace rcgate::plugins::webhook
