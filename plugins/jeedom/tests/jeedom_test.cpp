// The jeedom engine against a loopback server that answers like Jeedom's core/api/jeeApi.php:
// JSON-RPC 2.0 read from the request body, interact::tryToReply answering {"reply", "file"},
// emptyReply honoured, and jeeApi.php's own failures — an error object whose code is -32000
// minus the thrown code (a refused API key, thrown with -32001, arrives as code 1, with a null
// id because the catch block re-reads the request from a form field that a JSON body does not
// fill), the plain-text answer when no API key is configured, and the 404 page for a banned
// address.
#include "jeedom/jeedom.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "plugin_test_support.hpp"

namespace rcgate::plugins::jeedom {
namespace {

using namespace rcgate::plugin_test;
using ::testing::HasSubstr;

constexpr const char* kApiKey = "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF";

class FakeJeedom {
 public:
  FakeJeedom(net::Loop& loop, std::vector<net::Respond>& held)
      : server(loop, [this](const net::ServerRequest& request, net::Respond respond) {
          handle(request, std::move(respond));
        }),
        held(held) {}

  FakeServer server;
  std::string camera_file;   // what "photo entrée" returns as file
  bool no_api_key_configured = false;
  bool banned = false;
  std::vector<net::Respond>& held;

 private:
  static net::ServerResponse error(const Json& id, int thrown_code, const std::string& message) {
    return json_response(200, {{"jsonrpc", "2.0"},
                               {"id", id},
                               {"error", {{"code", -32000 - thrown_code}, {"message", message}}}});
  }

  void handle(const net::ServerRequest& request, net::Respond respond) {
    if (banned || request.path != "/core/api/jeeApi.php") {
      respond(text_response(404,
                            "<h1>404 Not Found</h1>The page that you have requested could not be "
                            "found.",
                            "text/html"));
      return;
    }
    if (no_api_key_configured) {
      respond(text_response(200,
                            "Vous n'avez aucune clé API configurée, veuillez d'abord en générer "
                            "une (Page Général -> Administration -> Configuration",
                            "text/html; charset=UTF-8"));
      return;
    }
    const Json in = Json::parse(request.body, nullptr, false);
    if (!in.is_object() || in.value("jsonrpc", "") != "2.0") {
      respond(error(nullptr, -32001, "Requête invalide. Version JSON-RPC invalide : "));
      return;
    }
    const Json params = in.value("params", Json::object());
    if (params.value("apikey", "") != kApiKey) {
      respond(error(nullptr, -32001, "Vous n'êtes pas autorisé à effectuer cette action 2"));
      return;
    }
    if (in.value("method", "") != "interact::tryToReply") {
      respond(error(nullptr, -32500, "Aucune méthode correspondante : " + in.value("method", "")));
      return;
    }
    const std::string query = params.value("query", "");
    const std::string profile = params.value("profile", "");
    Json result;
    if (query == "allume la lumière du salon") {
      result = {{"reply", "C'est fait (Salon Lumière On)"}};
    } else if (query == "qui suis-je") {
      result = {{"reply", profile.empty() ? "Je ne sais pas" : "Tu es " + profile}};
    } else if (query == "photo entrée") {
      result = {{"reply", "Voici la photo"}, {"file", Json::array({camera_file})}};
    } else if (query == "photo seule") {
      result = {{"reply", ""}, {"file", camera_file}};
    } else if (query == "ancienne version") {
      respond(json_response(200, {{"jsonrpc", "2.0"}, {"id", in["id"]}, {"result", "Ok"}}));
      return;
    } else if (query == "attends") {
      held.push_back(std::move(respond));
      return;
    } else {
      // interactQuery::tryToReply: nothing understood; "sorry" unless emptyReply is set.
      const bool empty = params.contains("emptyReply") && params["emptyReply"] != 0;
      result = {{"reply", empty ? "" : "Désolé " + profile + " je n'ai pas compris"}};
    }
    respond(json_response(200, {{"jsonrpc", "2.0"}, {"id", in["id"]}, {"result", result}}));
  }
};

class JeedomTest : public PluginFixture {
 protected:
  JeedomTest() : PluginFixture(plugin_info()) {}
  void SetUp() override {
    ::unsetenv("RCGATE_JEEDOM_API_KEY");
    dir_ = "/tmp/rcgate-jeedom-test-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_ + "/cam");
    std::ofstream(dir_ + "/cam/entree.jpg") << "\xFF\xD8\xFF jpeg";
  }
  void TearDown() override {
    PluginFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }
  Json base_section() const override {
    return {{"url", jeedom_.server.url()}, {"api_key", kApiKey}};
  }

  FakeJeedom jeedom_{loop_, held_};
  std::string dir_;
};

TEST_F(JeedomTest, SendsTheDocumentedJsonRpcRequest) {
  auto& engine = start(config());
  EXPECT_EQ(engine.name(), "jeedom");
  Answer a = answer(engine, make_query("allume la lumière du salon", "Alice"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "C'est fait (Salon Lumière On)");

  Answer b = answer(engine, make_query("qui suis-je", "Alice"));
  EXPECT_EQ(b.reply.text, "Tu es alice");

  ASSERT_EQ(jeedom_.server.requests.size(), 2u);
  const auto& request = jeedom_.server.requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/core/api/jeeApi.php");
  EXPECT_THAT(std::string(request.header("Content-Type")), HasSubstr("application/json"));
  EXPECT_EQ(jeedom_.server.body_json(0), Json::parse(R"({
      "jsonrpc": "2.0", "id": 1, "method": "interact::tryToReply",
      "params": {"apikey": "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF",
                 "query": "allume la lumière du salon", "profile": "alice", "emptyReply": 1}})"));
  EXPECT_EQ(jeedom_.server.body_json(1)["id"], 2);  // one id per request
}

TEST_F(JeedomTest, AnUnmappedPersonSendsNoProfile) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("qui suis-je", ""));
  EXPECT_EQ(a.reply.text, "Je ne sais pas");
  EXPECT_FALSE(jeedom_.server.body_json(0)["params"].contains("profile"));
}

TEST_F(JeedomTest, NotUnderstoodIsNotMineUnlessJeedomShouldSaySo) {
  auto& engine = start(config());
  EXPECT_EQ(answer(engine, make_query("chante une chanson")).kind, Answer::Kind::NotMine);

  auto& talkative = start(config({{"not_understood", "jeedom"}}));
  Answer a = answer(talkative, make_query("chante une chanson", "Bob"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "Désolé bob je n'ai pas compris");
  EXPECT_FALSE(jeedom_.server.body_json(1)["params"].contains("emptyReply"));
}

TEST_F(JeedomTest, ARefusedApiKeyIsAClearFailure) {
  auto& engine = start(config({{"api_key", "wrong"}}));
  Answer a = answer(engine, make_query("allume la lumière du salon"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error,
            "Jeedom refused the request: Vous n'êtes pas autorisé à effectuer cette action 2 "
            "(JSON-RPC error 1); check plugins.jeedom.api_key and that Jeedom's JSON-RPC API is "
            "enabled");
}

TEST_F(JeedomTest, OtherJsonRpcErrorsKeepJeedomsWords) {
  jeedom_.server.set_handler([](const net::ServerRequest&, net::Respond respond) {
    respond(json_response(200, {{"jsonrpc", "2.0"},
                                {"id", nullptr},
                                {"error", {{"code", -32001}, {"message", "Clé API invalide"}}}}));
  });
  auto& engine = start(config());
  Answer refused = answer(engine, make_query("x"));
  EXPECT_EQ(refused.error,
            "Jeedom refused the request: Clé API invalide (JSON-RPC error -32001); check "
            "plugins.jeedom.api_key and that Jeedom's JSON-RPC API is enabled");

  jeedom_.server.set_handler([](const net::ServerRequest&, net::Respond respond) {
    respond(json_response(200, {{"jsonrpc", "2.0"},
                                {"id", 1},
                                {"error", {{"code", -31500}, {"message", "Mysql non lancé"}}}}));
  });
  Answer down = answer(engine, make_query("x"));
  EXPECT_EQ(down.error, "Jeedom could not answer: Mysql non lancé (JSON-RPC error -31500)");
}

TEST_F(JeedomTest, PlainTextAnswersAndBansFail) {
  jeedom_.no_api_key_configured = true;
  auto& engine = start(config());
  Answer a = answer(engine, make_query("x"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_THAT(a.error, HasSubstr("Jeedom's answer is not JSON-RPC: Vous n'avez aucune clé API"));

  jeedom_.no_api_key_configured = false;
  jeedom_.banned = true;
  Answer b = answer(engine, make_query("x"));
  ASSERT_EQ(b.kind, Answer::Kind::Failed);
  EXPECT_EQ(b.error, "Jeedom answered HTTP 404 for " + jeedom_.server.url() +
                         "/core/api/jeeApi.php (check plugins.jeedom.url; Jeedom also answers "
                         "404 to an address it has banned after failed logins)");
}

TEST_F(JeedomTest, AnOlderJeedomAnswersWithTextAlone) {
  auto& engine = start(config());
  Answer a = answer(engine, make_query("ancienne version"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "Ok");
}

TEST_F(JeedomTest, FilesOnThisHostAreUploaded) {
  jeedom_.camera_file = dir_ + "/cam/entree.jpg";
  auto& engine = start(config({{"local_files", Json::array({"/nonexistent", dir_ + "/cam/"})}}));
  Answer a = answer(engine, make_query("photo entrée"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "Voici la photo");
  ASSERT_EQ(a.reply.attachments.size(), 1u);
  EXPECT_EQ(a.reply.attachments[0].path, dir_ + "/cam/entree.jpg");
  EXPECT_EQ(a.reply.attachments[0].url, "");

  // A file alone (and given as a string) is still an answer.
  Answer b = answer(engine, make_query("photo seule"));
  ASSERT_EQ(b.kind, Answer::Kind::Replied);
  EXPECT_EQ(b.reply.text, "");
  ASSERT_EQ(b.reply.attachments.size(), 1u);
}

TEST_F(JeedomTest, FilesOutsideTheAllowedDirectoriesAreNotRead) {
  jeedom_.camera_file = dir_ + "/cam/entree.jpg";
  auto& engine = start(config({{"local_files", Json::array({dir_ + "/other"})}}));
  Answer a = answer(engine, make_query("photo entrée"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_TRUE(a.reply.attachments.empty());
  EXPECT_TRUE(context_->log_.contains("warn: Jeedom's reply names the file '" + dir_ +
                                      "/cam/entree.jpg', which rcgate cannot reach"))
      << context_->log_.all();

  jeedom_.camera_file = dir_ + "/cam/../../../etc/passwd";
  auto& sneaky = start(config({{"local_files", Json::array({dir_})}}));
  Answer b = answer(sneaky, make_query("photo entrée"));
  EXPECT_TRUE(b.reply.attachments.empty());
}

TEST_F(JeedomTest, FilesOnJeedomsHostBecomeUrlsUnderItsWebRoot) {
  jeedom_.camera_file = "/var/www/html/plugins/camera/data/snapshots/entree.jpg";
  auto& engine = start(config({{"web_root", "/var/www/html/"}, {"local_files", Json::array()}}));
  Answer a = answer(engine, make_query("photo entrée"));
  ASSERT_EQ(a.reply.attachments.size(), 1u);
  EXPECT_EQ(a.reply.attachments[0].url,
            jeedom_.server.url() + "/plugins/camera/data/snapshots/entree.jpg");

  jeedom_.camera_file = "http://cam.lan/snapshot.jpg?user=viewer";
  Answer b = answer(engine, make_query("photo entrée"));
  ASSERT_EQ(b.reply.attachments.size(), 1u);
  EXPECT_EQ(b.reply.attachments[0].url, "http://cam.lan/snapshot.jpg?user=viewer");

  jeedom_.camera_file = "/tmp/jeedom/cache/x.jpg";  // neither here nor under the web root
  Answer c = answer(engine, make_query("photo entrée"));
  EXPECT_TRUE(c.reply.attachments.empty());
  EXPECT_EQ(c.reply.text, "Voici la photo");

  auto& no_files = start(config({{"files", "none"}, {"web_root", "/var/www/html"}}));
  jeedom_.camera_file = "http://cam.lan/snapshot.jpg";
  EXPECT_TRUE(answer(no_files, make_query("photo entrée")).reply.attachments.empty());
}

TEST_F(JeedomTest, TimeoutsAndRefusedConnectionsFail) {
  auto& engine = start(config({{"timeout", "300ms"}}));
  Answer slow = answer(engine, make_query("attends"));
  ASSERT_EQ(slow.kind, Answer::Kind::Failed);
  EXPECT_THAT(slow.error, HasSubstr("Jeedom at " + jeedom_.server.url() + " did not answer: "));

  auto& refused = start(config({{"url", "http://127.0.0.1:" + std::to_string(closed_port(loop_))}}));
  Answer r = answer(refused, make_query("x"));
  ASSERT_EQ(r.kind, Answer::Kind::Failed);
  EXPECT_THAT(r.error, HasSubstr("refused"));
}

TEST_F(JeedomTest, SeveralQuestionsInFlightAtOnce) {
  auto& engine = start(config());
  std::vector<std::string> answers;
  engine.ask(make_query("attends"), [&](Answer a) { answers.push_back("held: " + a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return jeedom_.held.size() == 1; }));
  engine.ask(make_query("allume la lumière du salon"),
             [&](Answer a) { answers.push_back(a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 1; }));
  EXPECT_EQ(answers[0], "C'est fait (Salon Lumière On)");
  jeedom_.held[0](json_response(200, {{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"reply", "Fini"}}}}));
  jeedom_.held.clear();
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers[1], "held: Fini");
}

// ---- Configuration ----------------------------------------------------------------------------

std::string issues_of(const Json& section) { return issue_lines(validate(section)); }

TEST(JeedomConfig, ReportsEveryProblemWithItsPath) {
  ::unsetenv("RCGATE_JEEDOM_API_KEY");
  EXPECT_EQ(issues_of(Json::object()),
            "url: is required\n"
            "api_key: is required: set 'api_key', 'api_key_file' (a file holding it), or the "
            "environment variable RCGATE_JEEDOM_API_KEY\n");
  EXPECT_EQ(issues_of({{"url", "http://jeedom.lan/core/api/jeeApi.php"},
                       {"apikey", "x"},
                       {"not_understood", "nxt"},
                       {"files", "all"},
                       {"local_files", Json::array({"tmp/jeedom"})},
                       {"web_root", "html"}}),
            "apikey: unknown key 'apikey' (did you mean 'api_key'?)\n"
            "url: give Jeedom's address without /core/api/jeeApi.php, e.g. http://jeedom.local\n"
            "api_key: is required: set 'api_key', 'api_key_file' (a file holding it), or the "
            "environment variable RCGATE_JEEDOM_API_KEY\n"
            "not_understood: expected 'next' (ask the next engine) or 'jeedom' (post Jeedom's own "
            "answer), got 'nxt' (did you mean 'next'?)\n"
            "files: expected 'auto' or 'none', got 'all'\n"
            "local_files[0]: expected an absolute directory, got 'tmp/jeedom'\n"
            "web_root: expected an absolute directory (Jeedom's web root on its own host, e.g. "
            "/var/www/html), got 'html'\n");
  ::setenv("RCGATE_JEEDOM_API_KEY", "from-env", 1);
  EXPECT_EQ(issues_of({{"url", "https://jeedom.lan"}, {"timeout", "5s"}, {"verify_tls", false}}),
            "");
  ::unsetenv("RCGATE_JEEDOM_API_KEY");
}

TEST_F(JeedomTest, TheApiKeyCanComeFromAFile) {
  const std::string path = dir_ + "/apikey";
  std::ofstream(path) << kApiKey << "\n";
  auto& engine = start({{"url", jeedom_.server.url()}, {"api_key_file", path}});
  EXPECT_EQ(answer(engine, make_query("allume la lumière du salon")).reply.text,
            "C'est fait (Salon Lumière On)");
}

}  // namespace
}  // namespace rcgate::plugins::jeedom
