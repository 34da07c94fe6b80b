// The jeedom engine against a loopback server that answers like Jeedom's core/api/jeeApi.php:
// JSON-RPC 2.0 read from the request body, interact::tryToReply answering {"reply", "file"},
// emptyReply honoured, and jeeApi.php's own failures — an error object whose code is -32000
// minus the thrown code (a refused API key, thrown with -32001, arrives as code 1, with a null
// id because the catch block re-reads the request from a form field that a JSON body does not
// fill), the plain-text answer when no API key is configured, and the 404 page for a banned
// address. For the push and the ask write-back it also answers cmd::event (an info command's
// new value; "Commande introuvable" thrown with -32702 for an unknown id) and datastore::save
// (type "scenario", linkId -1: a global scenario variable; the dataStore checks on type, linkId
// and key), as core/api/jeeApi.php and core/class/dataStore.class.php do; a success is
// {"result": "ok"} (jsonrpc::makeSuccess's default).
#include "jeedom/jeedom.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "app/events.hpp"
#include "core/asks.hpp"
#include "core/devices.hpp"
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
  std::string plain_text;  // when set, answered to every request (an old jeeApi.php page)
  std::vector<net::Respond>& held;

  // Info commands that exist, and the values cmd::event gave them, in order of arrival.
  std::set<long long> commands = {101, 102, 201, 202};
  std::vector<std::pair<long long, std::string>> events;
  bool hold_events = false;  // keep cmd::event exchanges in held_events (answered by the test)
  std::vector<net::Respond> held_events;
  // Global scenario variables (datastore type "scenario", link_id -1).
  std::map<std::string, std::string> variables;

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
    if (!plain_text.empty()) {
      respond(text_response(200, plain_text, "text/html; charset=UTF-8"));
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
    const Json ok = {{"jsonrpc", "2.0"}, {"id", in["id"]}, {"result", "ok"}};
    if (in.value("method", "") == "cmd::event") {
      const Json& id = params["id"];
      const long long cmd = id.is_number_integer() ? id.get<long long>() : 0;
      if (commands.count(cmd) == 0) {
        respond(error(nullptr, -32702, "Commande introuvable : " +
                                           (id.is_string() ? id.get<std::string>() : id.dump())));
        return;
      }
      events.emplace_back(cmd, params.value("value", Json()).get<std::string>());
      if (hold_events) {
        held_events.push_back(std::move(respond));
        return;
      }
      respond(json_response(200, ok));
      return;
    }
    if (in.value("method", "") == "datastore::save") {
      const std::string type = params.value("type", "");
      const Json link = params.value("linkId", Json());
      const std::string key = params.value("key", "");
      if (type != "cmd" && type != "object" && type != "eqLogic" && type != "scenario" &&
          type != "eqReal") {
        respond(error(nullptr, 0, "Le type doit être un des suivants : cmd, object, eqLogic, "
                                  "scenario, eqReal"));
      } else if (!link.is_number()) {
        respond(error(nullptr, 0, "Link_id doit être un chiffre"));
      } else if (key.empty()) {
        respond(error(nullptr, 0, "La clef ne peut être vide"));
      } else {
        if (type == "scenario" && link == -1) variables[key] = params["value"].get<std::string>();
        respond(json_response(200, ok));
      }
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
  EXPECT_EQ(plugin_->event_types(), (std::vector<std::string>{"ask"}))
      << "no device pushed: device events are not built for it";
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

// ---- Push and ask write-back ------------------------------------------------------------------

// A room as rcgate's devices keep it; its event data is app::device_json of it.
core::Device room(std::string id, std::string name, std::string room_name, std::string message_id,
                  std::string text, std::string username, std::string display_name = "") {
  core::Device d;
  d.id = std::move(id);
  d.name = std::move(name);
  d.room_name = std::move(room_name);
  d.type = "c";
  d.last.id = std::move(message_id);
  d.last.text = std::move(text);
  d.last.sender_id = username.empty() ? "" : "u-" + username;
  d.last.sender_username = std::move(username);
  d.last.sender_name = std::move(display_name);
  d.last.at_ms = d.last.id.empty() ? 0 : 1'790'000'123'000;
  return d;
}

core::AskResult ended_ask(std::string id, core::AskResult::Status status, Json context) {
  core::AskResult r;
  r.id = std::move(id);
  r.status = status;
  r.question = "Fermer le portail ?";
  r.answers = {"Oui", "Non"};
  r.room_id = "GENERAL";
  r.question_message_id = "q-" + r.id;
  r.opened_ms = 1'790'000'000'000;
  r.deadline_ms = 1'790'000'300'000;
  if (status == core::AskResult::Status::Answered) {
    r.answer = "Oui";
    r.answer_index = 1;
    r.answered_by = {"u-alice", "alice", "Alice Martin"};
  }
  if (status != core::AskResult::Status::Open) r.closed_ms = 1'790'000'042'000;
  r.context = std::move(context);
  return r;
}

using Values = std::vector<std::pair<long long, std::string>>;

class JeedomPushTest : public JeedomTest {
 protected:
  // What rcgate's event bus hands the plugin.
  void device(const core::Device& d) { plugin_->on_event("device", app::device_json(d)); }
  void ask_ended(const core::AskResult& r) { plugin_->on_event("ask", app::ask_json(r)); }

  std::size_t requests() const { return jeedom_.server.requests.size(); }
  bool requests_reach(std::size_t n) {
    return run_until(loop_, [&] { return requests() >= n; });
  }
  // Lets the loop run a moment: whether more than `n` requests went out.
  bool more_than(std::size_t n) {
    return run_until(loop_, [&] { return requests() > n; }, 200ms);
  }
  bool logged(const std::string& part) {
    return run_until(loop_, [&] { return context_->log_.contains(part); });
  }
  std::size_t lines_with(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& line : context_->log_.lines) n += line.find(part) != std::string::npos;
    return n;
  }
  static Json push(Json entries) { return {{"push", std::move(entries)}}; }
};

TEST_F(JeedomPushTest, PushesTheLastMessageOfChosenDevicesIntoInfoCommands) {
  start(config(push(Json::array(
      {Json{{"device", "general"}, {"last_message", 101}, {"last_sender", "102"}}}))));
  EXPECT_TRUE(context_->log_.contains(
      "info: pushes the last message of 1 device into Jeedom info commands"));
  EXPECT_EQ(plugin_->event_types(), (std::vector<std::string>{"device", "ask"}));
  device(room("GENERAL", "general", "general", "m1", "le portail est ouvert", "alice",
              "Alice Martin"));
  device(room("KITCHEN", "cuisine", "cuisine", "m2", "on mange", "bob"));  // not chosen
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));

  const auto& request = jeedom_.server.requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/core/api/jeeApi.php");
  EXPECT_THAT(std::string(request.header("Content-Type")), HasSubstr("application/json"));
  // The sender first, so that a scenario triggered by the message reads the right sender.
  EXPECT_EQ(jeedom_.server.body_json(0), Json::parse(R"({
      "jsonrpc": "2.0", "id": 1, "method": "cmd::event",
      "params": {"apikey": "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF", "id": 102, "value": "alice"}})"));
  EXPECT_EQ(jeedom_.server.body_json(1), Json::parse(R"({
      "jsonrpc": "2.0", "id": 2, "method": "cmd::event",
      "params": {"apikey": "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF", "id": 101,
                 "value": "le portail est ouvert"}})"));
  EXPECT_EQ(jeedom_.events, (Values{{102, "alice"}, {101, "le portail est ouvert"}}));
  EXPECT_FALSE(context_->log_.contains("warn:")) << context_->log_.all();
}

TEST_F(JeedomPushTest, OnlyANewMessageIsPushed) {
  start(config(push(Json::array({Json{{"device", "general"}, {"last_message", 101}}}))));
  device(room("GENERAL", "general", "general", "", "", ""));  // nobody wrote yet
  device(room("GENERAL", "general", "general", "m1", "oui", "alice"));
  ASSERT_TRUE(requests_reach(1));
  // Renamed, then the same words in a new message: only the new message is pushed.
  device(room("GENERAL", "Général", "general", "m1", "oui", "alice"));
  device(room("GENERAL", "Général", "general", "m2", "oui", "bob"));
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));
  EXPECT_EQ(jeedom_.events, (Values{{101, "oui"}, {101, "oui"}}));
}

TEST_F(JeedomPushTest, DevicesAreFoundByIdNameOrRoomNameAndSendersByDisplayName) {
  start(config({{"sender", "name"},
                {"push", Json::array({Json{{"device", "GENERAL"}, {"last_message", 101}},
                                      Json{{"device", "#Cuisine"}, {"last_sender", 202}}})}}));
  device(room("GENERAL", "Salon", "salon", "m1", "bonsoir", "alice", "Alice Martin"));
  ASSERT_TRUE(requests_reach(1));
  device(room("KITCHEN", "Cuisine familiale", "cuisine", "m2", "à table", "bob", "Bob Durand"));
  ASSERT_TRUE(requests_reach(2));
  device(room("KITCHEN", "Cuisine familiale", "cuisine", "m3", "j'arrive", "carol"));
  ASSERT_TRUE(requests_reach(3));
  EXPECT_FALSE(more_than(3));
  // carol has no display name: her username instead.
  EXPECT_EQ(jeedom_.events, (Values{{101, "bonsoir"}, {202, "Bob Durand"}, {202, "carol"}}));
}

TEST_F(JeedomPushTest, CallsOfADeviceGoOutOneAtATimeInOrder) {
  start(config(push(Json::array(
      {Json{{"device", "general"}, {"last_message", 101}, {"last_sender", 102}}}))));
  jeedom_.hold_events = true;
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  device(room("GENERAL", "general", "general", "m2", "deux", "bob"));
  device(room("GENERAL", "general", "general", "m3", "trois", "carol"));
  ASSERT_TRUE(requests_reach(1));
  EXPECT_FALSE(more_than(1));  // the next waits for Jeedom's answer
  for (std::size_t i = 0; i < 6; ++i) {
    ASSERT_EQ(jeedom_.held_events.size(), i + 1);
    if (i == 5) jeedom_.hold_events = false;
    jeedom_.held_events[i](
        json_response(200, {{"jsonrpc", "2.0"}, {"id", i + 1}, {"result", "ok"}}));
    if (i < 5) {
      ASSERT_TRUE(requests_reach(i + 2));
    }
  }
  EXPECT_FALSE(more_than(6));
  EXPECT_EQ(jeedom_.events, (Values{{102, "alice"},
                                    {101, "un"},
                                    {102, "bob"},
                                    {101, "deux"},
                                    {102, "carol"},
                                    {101, "trois"}}));
}

TEST_F(JeedomPushTest, ASlowJeedomLosesTheOldestWaitingValuesNotTheNewest) {
  start(config(push(Json::array({Json{{"device", "general"}, {"last_message", 101}}}))));
  jeedom_.hold_events = true;
  // One out, 100 waiting, then one more: the oldest waiting ("n1") makes room for it.
  for (int i = 0; i < 102; ++i) {
    device(room("GENERAL", "general", "general", "m" + std::to_string(i), "n" + std::to_string(i),
                "alice"));
  }
  EXPECT_EQ(lines_with("warn: Jeedom takes values more slowly than they come (command 101 "
                       "(push[0].last_message of device 'general')): 100 are waiting, so the "
                       "oldest waiting one is dropped for each new one"),
            1u)
      << context_->log_.all();
  for (std::size_t i = 0; i < 101; ++i) {
    ASSERT_TRUE(run_until(loop_, [&] { return jeedom_.held_events.size() > i; })) << i;
    if (i == 100) jeedom_.hold_events = false;
    jeedom_.held_events[i](
        json_response(200, {{"jsonrpc", "2.0"}, {"id", i + 1}, {"result", "ok"}}));
  }
  EXPECT_FALSE(more_than(101));
  ASSERT_EQ(jeedom_.events.size(), 101u);
  EXPECT_EQ(jeedom_.events[0].second, "n0");
  EXPECT_EQ(jeedom_.events[1].second, "n2");
  EXPECT_EQ(jeedom_.events[100].second, "n101");
}

TEST_F(JeedomPushTest, AnUnknownCommandIsReportedOnceWithWhatToFix) {
  start(config(push(Json::array(
      {Json{{"device", "general"}, {"last_message", 4242}, {"last_sender", 102}}}))));
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  device(room("GENERAL", "general", "general", "m2", "deux", "bob"));
  ASSERT_TRUE(requests_reach(4));
  EXPECT_FALSE(more_than(4));
  EXPECT_EQ(jeedom_.events, (Values{{102, "alice"}, {102, "bob"}}));  // the other still works
  EXPECT_EQ(lines_with("4242"), 1u) << context_->log_.all();
  EXPECT_TRUE(context_->log_.contains(
      "warn: Jeedom refused the value for command 4242 (push[0].last_message of device "
      "'general'): Jeedom could not answer: Commande introuvable : 4242 (JSON-RPC error 702); "
      "check plugins.jeedom.push[0].last_message: it must be the id of an info command (Jeedom "
      "shows it in the Commands tab of the equipment)"))
      << context_->log_.all();
}

TEST_F(JeedomPushTest, ARefusedKeyIsLoggedOncePerOutageAndNeverShown) {
  start(config({{"api_key", "wrong-key-7f3a"},
                {"push", Json::array({Json{{"device", "general"}, {"last_message", 101}}})}}));
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  device(room("GENERAL", "general", "general", "m2", "deux", "alice"));
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));
  EXPECT_EQ(lines_with("cannot push to Jeedom"), 1u) << context_->log_.all();
  EXPECT_TRUE(context_->log_.contains(
      "warn: cannot push to Jeedom: Jeedom refused the request: Vous n'êtes pas autorisé à "
      "effectuer cette action 2 (JSON-RPC error 1); check plugins.jeedom.api_key and that "
      "Jeedom's JSON-RPC API is enabled; new messages are still pushed as they come, and this is "
      "logged again only once Jeedom takes them"))
      << context_->log_.all();
  EXPECT_FALSE(context_->log_.contains("wrong-key-7f3a"));
  EXPECT_TRUE(jeedom_.events.empty());
}

TEST_F(JeedomPushTest, AfterAnOutageJeedomTakesValuesAgain) {
  start(config(push(Json::array({Json{{"device", "general"}, {"last_message", 101}}}))));
  jeedom_.banned = true;
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  device(room("GENERAL", "general", "general", "m2", "deux", "alice"));
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));
  EXPECT_EQ(lines_with("warn: cannot push to Jeedom: Jeedom answered HTTP 404 for " +
                       jeedom_.server.url() + "/core/api/jeeApi.php"),
            1u)
      << context_->log_.all();

  jeedom_.banned = false;
  device(room("GENERAL", "general", "general", "m3", "trois", "alice"));
  ASSERT_TRUE(logged("info: Jeedom takes values again (2 values were not delivered while it "
                     "failed)"))
      << context_->log_.all();
  EXPECT_EQ(jeedom_.events, (Values{{101, "trois"}}));
  EXPECT_EQ(lines_with("warn:"), 1u);
}

TEST_F(JeedomPushTest, AKeyEchoedByJeedomIsMaskedInTheLog) {
  // Some jeeApi.php pages print the key they refused.
  jeedom_.plain_text = std::string("Clé API non valide (ou vide) . Demande venant de :127.0.0.1. "
                                   "Clé API : ") +
                       kApiKey;
  start(config(push(Json::array({Json{{"device", "general"}, {"last_message", 101}}}))));
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  ASSERT_TRUE(logged("warn: cannot push to Jeedom: Jeedom's answer is not JSON-RPC: Clé API non "
                     "valide (ou vide) . Demande venant de :127.0.0.1. Clé API : <api key>"))
      << context_->log_.all();
  EXPECT_FALSE(context_->log_.contains(kApiKey));
}

TEST_F(JeedomPushTest, AnAskAnswerIsWrittenIntoTheScenarioVariable) {
  start(config());
  ask_ended(ended_ask("a1b2", core::AskResult::Status::Answered,
                      {{"jeedom_variable", "rcgate_answer"},
                       {"jeedom_sender_variable", "rcgate_who"}}));
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));
  EXPECT_EQ(jeedom_.server.body_json(0), Json::parse(R"({
      "jsonrpc": "2.0", "id": 1, "method": "datastore::save",
      "params": {"apikey": "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF", "type": "scenario", "linkId": -1,
                 "key": "rcgate_who", "value": "alice"}})"));
  // The answer last: the scenario waits on it.
  EXPECT_EQ(jeedom_.server.body_json(1), Json::parse(R"({
      "jsonrpc": "2.0", "id": 2, "method": "datastore::save",
      "params": {"apikey": "Jx9vQ2mN4bL7tR1sK8wE3yU6iO0pA5dF", "type": "scenario", "linkId": -1,
                 "key": "rcgate_answer", "value": "Oui"}})"));
  EXPECT_EQ(jeedom_.variables,
            (std::map<std::string, std::string>{{"rcgate_answer", "Oui"}, {"rcgate_who", "alice"}}));
  EXPECT_FALSE(context_->log_.contains("warn:")) << context_->log_.all();
}

TEST_F(JeedomPushTest, OnlyEndedAsksWithAJeedomVariableAreWritten) {
  start(config({{"ask_cancelled", "annulée"}}));
  using S = core::AskResult::Status;
  ask_ended(ended_ask("a1", S::Answered, nullptr));                   // no context
  ask_ended(ended_ask("a2", S::Answered, {{"callback", "x"}}));       // not for Jeedom
  ask_ended(ended_ask("a3", S::Open, {{"jeedom_variable", "v3"}}));   // still open
  ask_ended(ended_ask("a4", S::Answered, {{"jeedom_variable", 42}}));  // not a name
  EXPECT_FALSE(more_than(0));
  EXPECT_TRUE(context_->log_.contains(
      "warn: ask 'a4': context.jeedom_variable must be the name of a Jeedom scenario variable, "
      "got the number 42; nothing is written into it"))
      << context_->log_.all();

  ask_ended(ended_ask("a5", S::TimedOut, {{"jeedom_variable", "v5"}}));
  ask_ended(ended_ask("a6", S::Cancelled, {{"jeedom_variable", " v6 "}}));
  ASSERT_TRUE(requests_reach(2));
  EXPECT_FALSE(more_than(2));
  EXPECT_EQ(jeedom_.variables,
            (std::map<std::string, std::string>{{"v5", "timeout"}, {"v6", "annulée"}}));

  start(config({{"ask_variable", false}}));
  ask_ended(ended_ask("a7", S::Answered, {{"jeedom_variable", "v7"}}));
  EXPECT_FALSE(more_than(2));
}

TEST_F(JeedomPushTest, AFailedAskWriteBackIsLoggedEveryTime) {
  start(config({{"api_key", "wrong-key-7f3a"}}));
  ask_ended(ended_ask("a1", core::AskResult::Status::Answered, {{"jeedom_variable", "r"}}));
  ask_ended(ended_ask("a2", core::AskResult::Status::TimedOut, {{"jeedom_variable", "r"}}));
  ASSERT_TRUE(logged("warn: could not write the end (timed_out) of ask 'a2'"))
      << context_->log_.all();
  EXPECT_TRUE(context_->log_.contains(
      "warn: could not write the answer of ask 'a1' into Jeedom variable 'r': Jeedom refused the "
      "request: Vous n'êtes pas autorisé à effectuer cette action 2 (JSON-RPC error 1); check "
      "plugins.jeedom.api_key and that Jeedom's JSON-RPC API is enabled; the Jeedom scenario "
      "waiting on it will only see its own timeout"))
      << context_->log_.all();
  EXPECT_FALSE(context_->log_.contains("wrong-key-7f3a"));
}

TEST_F(JeedomPushTest, StoppingDropsWhatIsWaiting) {
  start(config(push(Json::array({Json{{"device", "general"}, {"last_message", 101}}}))));
  jeedom_.hold_events = true;
  device(room("GENERAL", "general", "general", "m1", "un", "alice"));
  device(room("GENERAL", "general", "general", "m2", "deux", "alice"));
  ASSERT_TRUE(requests_reach(1));
  plugin_->stop();
  jeedom_.hold_events = false;
  jeedom_.held_events[0](json_response(200, {{"jsonrpc", "2.0"}, {"id", 1}, {"result", "ok"}}));
  EXPECT_FALSE(more_than(1));
  device(room("GENERAL", "general", "general", "m3", "trois", "alice"));  // after stop: ignored
  EXPECT_FALSE(more_than(1));
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

TEST(JeedomConfig, ChecksThePushAndAskSettings) {
  const Json base = {{"url", "http://jeedom.lan"}, {"api_key", "k"}};
  auto with = [&](Json extra) {
    Json section = base;
    section.update(extra);
    return issues_of(section);
  };
  EXPECT_EQ(with({{"push", Json::array({Json{{"device", "general"}, {"last_message", "abc"}},
                                        Json{{"last_sender", 101}},
                                        Json{{"device", "cuisine"}},
                                        Json{{"device", "salon"},
                                             {"last_message", 101},
                                             {"last_sender", "0"},
                                             {"last_mesage", 7}},
                                        "general"})},
                  {"ask_variable", "maybe"},
                  {"sender", "nom"},
                  {"ask_timed_out", ""}}),
            "push[0].last_message: expected the id of a Jeedom info command (a number such as "
            "1234, shown in the Commands tab of its equipment), got 'abc'\n"
            "push[1].device: is required\n"
            "push[2]: give last_message or last_sender (or both): ids of Jeedom info commands\n"
            "push[3].last_mesage: unknown key 'last_mesage' (did you mean 'last_message'?)\n"
            "push[3].last_message: command 101 is already given to push[1].last_sender: a Jeedom "
            "command shows one value\n"
            "push[3].last_sender: expected the id of a Jeedom info command (a number such as "
            "1234, shown in the Commands tab of its equipment), got '0'\n"
            "push[4]: expected a map of settings, got the text 'general'\n"
            "ask_variable: expected true or false, got the text 'maybe'\n"
            "sender: expected 'username' or 'name' (the display name), got 'nom' (did you mean "
            "'name'?)\n"
            "ask_timed_out: must not be empty\n");
  EXPECT_EQ(with({{"push", Json{{"device", "general"}}}}),
            "push: expected a list of {device, last_message, last_sender}, got a map\n");
  EXPECT_EQ(with({{"push", Json::array({Json{{"device", "#general"},
                                             {"last_message", "1234"},
                                             {"last_sender", 1235}}})},
                  {"ask_variable", "off"},
                  {"sender", "username"},
                  {"ask_timed_out", "Pas de réponse"},
                  {"ask_cancelled", "Annulée"}}),
            "");
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
