// The rules engine against its own tables: validation (every problem with its path), matching
// (keywords and regular expressions, blind to case and accents), per-rule users, templates, and
// HTTP actions against a real loopback server through rcgate's real HTTP client.
#include "rules/rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "plugin_test_support.hpp"

namespace rcgate::plugins::rules {
namespace {

using namespace rcgate::plugin_test;
using ::testing::HasSubstr;

// ---- Validation -------------------------------------------------------------------------------

struct BadConfig {
  const char* name;
  const char* yaml_like_json;  // the section
  const char* path;            // expected issue path
  const char* message;         // expected part of the message
};

const BadConfig kBadConfigs[] = {
    {"typo in a rule key", R"({"rules":[{"keywords":"a","reply":"b","pattren":"x"}]})",
     "rules[0].pattren", "unknown key 'pattren' (did you mean 'pattern'?)"},
    {"typo at the top", R"({"rule":[]})", "rule", "unknown key 'rule' (did you mean 'rules'?)"},
    {"rules missing", R"({})", "rules", "is required"},
    {"rules not a list", R"({"rules":{"a":1}})", "rules", "expected a list of rules"},
    {"rule not a map", R"({"rules":["hello"]})", "rules[0]", "expected a map of settings"},
    {"invalid regex", R"({"rules":[{"keywords":"a","reply":"b"},{"keywords":"c","reply":"d"},
        {"pattern":"(unclosed","reply":"x"}]})",
     "rules[2].pattern", "invalid regex: "},
    {"both matchers", R"({"rules":[{"keywords":"a","pattern":"b","reply":"c"}]})",
     "rules[0].pattern", "either 'keywords' or 'pattern'"},
    {"no matcher", R"({"rules":[{"reply":"c"}]})", "rules[0]", "needs 'keywords'"},
    {"no reply and no action", R"({"rules":[{"keywords":"a"}]})", "rules[0]",
     "needs a 'reply', an 'http' action, or both"},
    {"empty reply", R"({"rules":[{"keywords":"a","reply":"  "}]})", "rules[0].reply",
     "must not be empty"},
    {"keyword without a word", R"({"rules":[{"keywords":["lampe","?!"],"reply":"x"}]})",
     "rules[0].keywords[1]", "has no word in '?!'"},
    {"unknown placeholder", R"j({"rules":[{"pattern":"(?<name>\\w+)","reply":"hi {{nmae}}"}]})j",
     "rules[0].reply", "unknown placeholder '{{nmae}}' (did you mean 'name'?)"},
    {"json placeholder without action", R"({"rules":[{"keywords":"a","reply":"{{json.x}}"}]})",
     "rules[0].reply", "only available in the reply of a rule with an 'http' action"},
    {"unclosed placeholder", R"({"rules":[{"keywords":"a","reply":"{{user"}]})",
     "rules[0].reply", "'{{' without a closing '}}'"},
    {"publish is not available", R"({"rules":[{"keywords":"a","publish":{"topic":"t"}}]})",
     "rules[0].publish", "not available in this version of rcgate"},
    {"http without url", R"({"rules":[{"keywords":"a","http":{"method":"POST"}}]})",
     "rules[0].http.url", "is required"},
    {"http url not http", R"({"rules":[{"keywords":"a","http":{"url":"ftp://x/y"}}]})",
     "rules[0].http.url", "expected an http:// or https:// URL"},
    {"http host from the message",
     R"j({"rules":[{"pattern":"(?<host>\\S+)","http":{"url":"http://{{host}}/x"}}]})j",
     "rules[0].http.url", "scheme and host must be written out"},
    {"http bad method", R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","method":"PSOT"}}]})",
     "rules[0].http.method", "(did you mean 'POST'?)"},
    {"http body and json", R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","body":"a","json":{}}}]})",
     "rules[0].http.json", "either 'body' or 'json'"},
    {"http unknown placeholder in json",
     R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","json":{"who":["{{usr}}"]}}}]})",
     "rules[0].http.json.who[0]", "unknown placeholder '{{usr}}' (did you mean 'user'?)"},
    {"http missing env var",
     R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","headers":{"Authorization":"Bearer ${RCGATE_TEST_SURELY_UNSET}"}}}]})",
     "rules[0].http.headers.Authorization", "environment variable RCGATE_TEST_SURELY_UNSET is not set"},
    {"http timeout too small", R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","timeout":0.0001}}]})",
     "rules[0].http.timeout", "must be at least 1ms, got 0.0001"},
    {"http bad timeout", R"({"rules":[{"keywords":"a","http":{"url":"http://h/x","timeout":"10 parsecs"}}]})",
     "rules[0].http.timeout", "expected a duration such as 250ms, 15s, 2m or 1h"},
    {"http ca file missing", R"({"rules":[{"keywords":"a","http":{"url":"https://h/x","ca_file":"/nonexistent/ca.pem"}}]})",
     "rules[0].http.ca_file", "does not exist"},
    {"error_reply without action", R"({"rules":[{"keywords":"a","reply":"b","error_reply":"c"}]})",
     "rules[0].error_reply", "only used with an 'http' action"},
    {"reserved group name", R"j({"rules":[{"pattern":"(?<user>\\w+)","reply":"x"}]})j",
     "rules[0].pattern", "group name 'user' is a built-in placeholder"},
    {"group name twice", R"j({"rules":[{"pattern":"(?<a>x)(?<a>y)","reply":"x"}]})j",
     "rules[0].pattern", "group name 'a' is used twice"},
    {"look-behind", R"({"rules":[{"pattern":"(?<=a)b","reply":"x"}]})", "rules[0].pattern",
     "look-behind"},
    {"duplicate names", R"({"rules":[{"name":"lights","keywords":"a","reply":"b"},
        {"name":"lights","keywords":"c","reply":"d"}]})",
     "rules[1].name", "name 'lights' is already used by rules[0]"},
    {"users not text", R"({"rules":[{"keywords":"a","reply":"b","users":[1]}]})",
     "rules[0].users[0]", "expected non-empty text"},
    {"followup not a bool", R"({"rules":[{"keywords":"a","reply":"b","followup":"maybe"}]})",
     "rules[0].followup", "expected true or false"},
    {"section as a bare list", R"([{"keywords":"a","reply":"b"},{"pattern":"[","reply":"x"}])",
     "[1].pattern", "invalid regex"},
    {"denied reply placeholder", R"({"rules":[],"denied_reply":"no {{json}}"})", "denied_reply",
     "unknown placeholder '{{json}}'"},
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, ReportsTheProblemWithItsPath) {
  const BadConfig& bad = GetParam();
  const auto issues = validate(Json::parse(bad.yaml_like_json));
  std::string all;
  bool found = false;
  for (const auto& issue : issues) {
    all += issue.path + ": " + issue.message + "\n";
    if (issue.path == bad.path && issue.message.find(bad.message) != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << "expected " << bad.path << ": ..." << bad.message << "\ngot:\n" << all;
}

INSTANTIATE_TEST_SUITE_P(Rules, BadConfigTest, ::testing::ValuesIn(kBadConfigs),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(RulesValidation, ReportsEveryProblemAtOnce) {
  const auto issues = validate(Json::parse(R"({"rules":[
      {"keywords":"a","reply":"b","pattren":"x"},
      {"pattern":"(","reply":"b"},
      {"keywords":"a","http":{"url":"nope"}}
  ], "timeout": "-1s"})"));
  std::vector<std::string> paths;
  for (const auto& issue : issues) paths.push_back(issue.path);
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre("timeout", "rules[0].pattren",
                                                     "rules[1].pattern", "rules[2].http.url"));
}

TEST(RulesValidation, AcceptsAFullExample) {
  ::setenv("RCGATE_TEST_HA_TOKEN", "secret", 1);
  const auto issues = validate(Json::parse(R"({
    "timeout": "5s",
    "denied_reply": "Sorry {{user}}, ask an adult.",
    "rules": [
      {"name": "hello", "keywords": ["bonjour|hello|salut"], "reply": "Hello {{display_name}}!"},
      {"name": "scene", "pattern": "^(?:start|lance) (?:the )?(?P<scene>[a-z ]+) scene$",
       "users": ["alice", "Bob"], "roles": "adult", "followup": false,
       "http": {"method": "post", "url": "http://ha.lan:8123/api/services/scene/turn_on",
                "headers": {"Authorization": "Bearer ${RCGATE_TEST_HA_TOKEN}"},
                "json": {"entity_id": "scene.{{scene}}"}, "timeout": 3, "verify_tls": "no"},
       "reply": "{{scene}} started ({{status}}) {{json.0.state}}",
       "error_reply": "Could not start {{scene}}: {{error}}",
       "denied_reply": "Not you, {{user}}."}
    ]})"));
  for (const auto& issue : issues) ADD_FAILURE() << issue.path << ": " << issue.message;
}

// ---- Folding ----------------------------------------------------------------------------------

TEST(RulesFold, RemovesAccentsAndCase) {
  EXPECT_EQ(fold("Allumé la LUMIÈRE du salon", true), "allume la lumiere du salon");
  EXPECT_EQ(fold("Œuf, Straße, Ångström, Łódź", false), "OEuf, Strasse, Angstrom, Lodz");
  EXPECT_EQ(fold("l’éclairage “salon” — ok", true), "l'eclairage \"salon\" - ok");
  EXPECT_EQ(fold("2 × 3 = 6 ☀", true), "2 × 3 = 6 ☀");  // no plain form: kept as written
}

TEST(RulesFold, MapsEveryByteBackToTheOriginal) {
  const std::string text = "Véranda œil";
  std::vector<std::size_t> origin;
  const std::string folded = fold(text, false, &origin);
  ASSERT_EQ(folded, "Veranda oeil");
  ASSERT_EQ(origin.size(), folded.size() + 1);
  EXPECT_EQ(origin[1], 1u);   // 'e' came from the two bytes of 'é' at 1
  EXPECT_EQ(origin[2], 3u);   // 'r'
  EXPECT_EQ(origin[8], 9u);   // 'o' of "oe" from 'œ' at 9
  EXPECT_EQ(origin[9], 9u);   // 'e' of "oe" too
  EXPECT_EQ(origin.back(), text.size());
}

// ---- Matching ---------------------------------------------------------------------------------

class RulesMatchTest : public PluginFixture {
 protected:
  RulesMatchTest() : PluginFixture(plugin_info()) {}

  std::shared_ptr<InteractionEngine> engine_for(const char* section) {
    start(Json::parse(section));
    return context_->engines.at(0);
  }

  std::string reply_to(InteractionEngine& engine, const std::string& text,
                       const std::string& user = "Alice", const std::string& role = "") {
    Query q = make_query(text, user);
    q.role = role;
    Answer a = answer(engine, q);
    if (a.kind != Answer::Kind::Replied) return std::string("<") + kind_name(a.kind) + ">";
    return a.reply.text;
  }
};

TEST_F(RulesMatchTest, KeywordsMustAllAppearWhateverTheCaseAndAccents) {
  auto engine = engine_for(R"({"rules":[
      {"keywords":"lumière salon","reply":"Salon on"},
      {"keywords":["allume|active","chauffage"],"reply":"Heating on"},
      {"keywords":["temp*"],"reply":"21 degrees"},
      {"keywords":["bonne nuit"],"reply":"Good night"}
  ]})");
  EXPECT_EQ(engine->name(), "rules");
  EXPECT_EQ(reply_to(*engine, "Allume la LUMIERE du Salon stp"), "Salon on");
  EXPECT_EQ(reply_to(*engine, "salon: lumières?"), "<NotMine>");  // "lumieres" is another word
  EXPECT_EQ(reply_to(*engine, "allume la lumière"), "<NotMine>");  // "salon" is missing
  EXPECT_EQ(reply_to(*engine, "Active le CHAUFFAGE"), "Heating on");
  EXPECT_EQ(reply_to(*engine, "quelle température fait-il"), "21 degrees");
  EXPECT_EQ(reply_to(*engine, "Bonne nuit la maison"), "Good night");
  EXPECT_EQ(reply_to(*engine, "nuit bonne"), "<NotMine>");  // a phrase keeps its order
  EXPECT_EQ(reply_to(*engine, "   "), "<NotMine>");
}

TEST_F(RulesMatchTest, RegexCapturesComeFromTheTextAsWritten) {
  auto engine = engine_for(R"j({"rules":[
      {"pattern":"(?<device>lampe|radio) (?:du|de la) (?<place>\\w+)",
       "reply":"OK {{user}}: {{device}} in {{place}} ({{room}}, {{display_name}})"},
      {"pattern":"^température\\s*\\?$","reply":"It is 21 degrees"}
  ]})j");
  EXPECT_EQ(reply_to(*engine, "allume la radio du Salon"),
            "OK Alice: radio in Salon (general, Alice Example)");
  EXPECT_EQ(reply_to(*engine, "Éteins la LAMPE de la Véranda!"),
            "OK Alice: LAMPE in Véranda (general, Alice Example)");
  EXPECT_EQ(reply_to(*engine, "TEMPERATURE ?"), "It is 21 degrees");
  EXPECT_EQ(reply_to(*engine, "la température ?"), "<NotMine>");  // anchored
}

TEST_F(RulesMatchTest, TheFirstMatchingRuleWins) {
  auto engine = engine_for(R"({"rules":[
      {"name":"specific","keywords":"porte garage","reply":"Garage door"},
      {"name":"general","keywords":"porte","reply":"Which door?","followup":true}
  ]})");
  EXPECT_EQ(reply_to(*engine, "ouvre la porte du garage"), "Garage door");
  Answer a = answer(*engine, make_query("ouvre la porte"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied);
  EXPECT_EQ(a.reply.text, "Which door?");
  EXPECT_TRUE(a.reply.expects_followup);
}

TEST_F(RulesMatchTest, RulesCanBeLimitedToUsersOrRoles) {
  auto engine = engine_for(R"({"rules":[
      {"name":"alarm","keywords":"alarme","users":["bob"],"roles":["adult"],"reply":"Alarm off"},
      {"name":"oven","keywords":"four","users":"bob","reply":"Oven on",
       "denied_reply":"Not you, {{user}} ({{text}})."},
      {"name":"quiet","keywords":"tv","users":"bob","reply":"TV on","denied_reply":""},
      {"name":"alarm-status","keywords":"alarme statut","reply":"The alarm is on"}
  ]})");
  EXPECT_EQ(reply_to(*engine, "coupe l'alarme", "Bob"), "Alarm off");    // by name
  EXPECT_EQ(reply_to(*engine, "coupe l'alarme", "Carol", "ADULT"), "Alarm off");  // by role
  EXPECT_EQ(reply_to(*engine, "coupe l'alarme", "Alice", "child"),
            "Sorry, you are not allowed to do that.");
  EXPECT_EQ(reply_to(*engine, "coupe l'alarme", ""), "Sorry, you are not allowed to do that.");
  // A later rule the person may use still answers.
  EXPECT_EQ(reply_to(*engine, "alarme statut", "Alice"), "The alarm is on");
  EXPECT_EQ(reply_to(*engine, "allume le four", "Alice"), "Not you, Alice (allume le four).");
  EXPECT_EQ(reply_to(*engine, "allume la tv", "Alice"), "<NotMine>");  // denied silently
  EXPECT_TRUE(context_->log_.contains("rule 'oven' matched but 'Alice' may not use it"))
      << context_->log_.all();
}

TEST_F(RulesMatchTest, ASectionWideDeniedReply) {
  auto engine = engine_for(R"({"denied_reply":"Ask an adult, {{display_name}}.","rules":[
      {"keywords":"alarme","roles":"adult","reply":"Alarm off"}]})");
  EXPECT_EQ(reply_to(*engine, "alarme", "Tim", "child"), "Ask an adult, Tim Example.");
}

TEST_F(RulesMatchTest, AVeryLongMessageDoesNotMatchARegexAndDoesNotCrash) {
  auto engine = engine_for(R"({"rules":[{"pattern":"(a|b)*c","reply":"matched"}]})");
  EXPECT_EQ(reply_to(*engine, std::string(5000, 'a') + "c"), "<NotMine>");
  EXPECT_EQ(reply_to(*engine, "aabc"), "matched");
}

TEST_F(RulesMatchTest, AnInvalidSectionMakesStartThrowWithEveryProblem) {
  context_ = std::make_unique<TestContext>(
      loop_, Json::parse(R"({"rules":[{"pattern":"(","reply":"x"},{"keywords":"a"}]})"));
  auto plugin = plugin_info().create(*context_);
  try {
    plugin->start();
    FAIL() << "start() accepted an invalid section";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("rules[0].pattern: invalid regex"));
    EXPECT_THAT(e.what(), HasSubstr("rules[1]: needs a 'reply'"));
  }
  EXPECT_TRUE(context_->engines.empty());
}

// ---- HTTP actions -----------------------------------------------------------------------------

class RulesHttpTest : public RulesMatchTest {
 protected:
  void SetUp() override {
    ::setenv("RCGATE_TEST_RULES_TOKEN", "s3cret", 1);
    server_ = std::make_unique<FakeServer>(loop_, [this](const net::ServerRequest& request,
                                                         net::Respond respond) {
      if (request.path == "/never") {
        held_.push_back(std::move(respond));
        return;
      }
      if (request.path == "/fail") {
        respond(text_response(500, "boom"));
        return;
      }
      if (request.path == "/slow") {
        held_.push_back(std::move(respond));
        return;
      }
      respond(json_response(200, {{"state", "on"},
                                  {"attributes", {{"unit", "°C"}, {"list", {"a", "b"}}}},
                                  {"path", request.target}}));
    });
  }

  std::string section(const std::string& rules) const {
    std::string out = R"({"timeout":"3s","rules":[)" + rules + "]}";
    const std::string marker = "SERVER";
    for (auto pos = out.find(marker); pos != std::string::npos; pos = out.find(marker)) {
      out.replace(pos, marker.size(), server_->url());
    }
    return out;
  }

  std::unique_ptr<FakeServer> server_;
};

TEST_F(RulesHttpTest, SendsTheRequestTheRuleDescribes) {
  auto engine = engine_for(section(R"(
      {"name":"scene","pattern":"^(?:lance|start) (?<scene>[\\s\\S]+)$",
       "http":{"url":"SERVER/api/scene/{{scene}}?by={{user}}",
               "headers":{"Authorization":"Bearer ${RCGATE_TEST_RULES_TOKEN}","X-Said":"{{text}}"},
               "json":{"entity_id":"scene.{{scene}}","who":["{{display_name}}"],"n":1}},
       "reply":"{{scene}}: {{status}} {{json.state}} {{json.attributes.unit}} {{json.attributes.list.1}} {{json.missing}}!"})").c_str());
  Answer a = answer(*engine, make_query("lance Soirée \"ciné\"&co\nX-Evil: 1"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "Soirée \"ciné\"&co\nX-Evil: 1: 200 on °C b !");
  ASSERT_EQ(server_->requests.size(), 1u);
  const auto& request = server_->requests[0];
  EXPECT_EQ(request.method, "POST");  // json body: POST unless told otherwise
  EXPECT_EQ(request.target,
            "/api/scene/Soir%C3%A9e%20%22cin%C3%A9%22%26co%0AX-Evil%3A%201?by=Alice");
  EXPECT_EQ(request.header("Authorization"), "Bearer s3cret");
  EXPECT_EQ(request.header("X-Said"), "lance Soirée \"ciné\"&co X-Evil: 1");
  EXPECT_EQ(request.header("X-Evil"), "");
  EXPECT_THAT(std::string(request.header("Content-Type")), HasSubstr("application/json"));
  const Json body = server_->body_json(0);
  EXPECT_EQ(body, Json::parse(R"({"entity_id":"scene.Soirée \"ciné\"&co\nX-Evil: 1",
                                 "who":["Alice Example"],"n":1})"));
}

TEST_F(RulesHttpTest, GetWithoutABodyAndDoneAsTheDefaultReply) {
  auto engine = engine_for(section(R"(
      {"keywords":"volets","http":{"url":"SERVER/covers/close"}})").c_str());
  Answer a = answer(*engine, make_query("ferme les volets"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "Done.");
  ASSERT_EQ(server_->requests.size(), 1u);
  EXPECT_EQ(server_->requests[0].method, "GET");
  EXPECT_EQ(server_->requests[0].body, "");
}

TEST_F(RulesHttpTest, AFailedActionIsAClearFailure) {
  auto engine = engine_for(section(R"(
      {"name":"boiler","keywords":"chaudiere","http":{"method":"PUT","url":"SERVER/fail?token=x","body":"on"},
       "reply":"Boiler on"})").c_str());
  Answer a = answer(*engine, make_query("allume la chaudière"));
  ASSERT_EQ(a.kind, Answer::Kind::Failed);
  EXPECT_EQ(a.error, "rule 'boiler': PUT " + server_->url() + "/fail failed: HTTP 500: boom");
  EXPECT_EQ(server_->requests.at(0).body, "on");
}

TEST_F(RulesHttpTest, AnErrorReplyTellsThePersonInstead) {
  auto engine = engine_for(section(R"j(
      {"name":"boiler","keywords":"chaudiere","http":{"url":"SERVER/fail"},
       "reply":"Boiler on","error_reply":"The boiler did not answer ({{error}}, {{status}})"})j").c_str());
  Answer a = answer(*engine, make_query("chaudière"));
  ASSERT_EQ(a.kind, Answer::Kind::Replied) << a.error;
  EXPECT_EQ(a.reply.text, "The boiler did not answer (HTTP 500: boom, 500)");
  EXPECT_TRUE(context_->log_.contains("warn: rule 'boiler': GET")) << context_->log_.all();
}

TEST_F(RulesHttpTest, ConnectionRefusedAndTimeoutAreFailures) {
  const auto port = closed_port(loop_);
  const std::string rules = R"({"name":"refused","keywords":"un","http":{"url":"http://127.0.0.1:)" +
                            std::to_string(port) + R"(/x"}},
      {"name":"slow","keywords":"deux","http":{"url":"SERVER/never","timeout":"300ms"}})";
  auto engine = engine_for(section(rules).c_str());

  Answer refused = answer(*engine, make_query("un"));
  ASSERT_EQ(refused.kind, Answer::Kind::Failed);
  EXPECT_THAT(refused.error, HasSubstr("rule 'refused': GET http://127.0.0.1:"));
  EXPECT_THAT(refused.error, HasSubstr("refused"));

  const auto start = std::chrono::steady_clock::now();
  Answer slow = answer(*engine, make_query("deux"));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(slow.kind, Answer::Kind::Failed);
  EXPECT_THAT(slow.error, HasSubstr("rule 'slow': GET " + server_->url() + "/never failed: "));
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 250ms);
}

TEST_F(RulesHttpTest, SeveralQuestionsInFlightAtOnce) {
  auto engine = engine_for(section(R"(
      {"name":"slow","keywords":"lent","http":{"url":"SERVER/slow"},"reply":"slow {{status}}"},
      {"name":"fast","keywords":"vite","http":{"url":"SERVER/fast"},"reply":"fast {{status}}"})").c_str());
  std::vector<std::string> answers;
  engine->ask(make_query("lent"), [&](Answer a) { answers.push_back(a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return held_.size() == 1; }));
  engine->ask(make_query("vite"), [&](Answer a) { answers.push_back(a.reply.text); });
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 1; }));
  EXPECT_EQ(answers[0], "fast 200");  // not queued behind the slow one
  held_[0](text_response(200, "ok"));
  ASSERT_TRUE(run_until(loop_, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers[1], "slow 200");
}

}  // namespace
}  // namespace rcgate::plugins::rules
