#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace rcgate::config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const Environment kNoEnv{};

std::string data_path(const std::string& name) { return test::data_dir() + "/config/" + name; }
std::string source_path(const std::string& name) {
  return std::string(RCGATE_SOURCE_DIR) + "/" + name;
}
std::string normal(const fs::path& path) { return fs::absolute(path).lexically_normal().string(); }

// Problems as one string, so a failing assertion shows all of them.
std::string describe(const LoadResult& result) {
  return result.problems.empty() ? "(no problems)" : format_problems("<config>", result.problems);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A minimal valid configuration; tests append keys to the rocketchat section or the top level.
const std::string kBase =
    "rocketchat:\n"
    "  url: https://chat.example.org\n"
    "  auth:\n"
    "    username: camera-bot\n"
    "    password: pw\n";

LoadResult load(const std::string& text, const Environment& env = kNoEnv) {
  return load_text(text, "/etc/rcgate/rcgate.yaml", env);
}

// ----- golden bad configurations: tests/data/config/bad/<name>.yaml + <name>.expected

std::vector<std::string> bad_configs() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(data_path("bad"))) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class BadConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(BadConfig, ReportMatchesGoldenText) {
  const std::string path = data_path("bad/" + GetParam() + ".yaml");
  const std::string expected_path = data_path("bad/" + GetParam() + ".expected");
  ASSERT_TRUE(fs::exists(expected_path)) << "every bad config needs its report: " << expected_path;
  const std::string expected =
      replace_all(replace_all(test::read_file(expected_path), "{{path}}", path), "{{dir}}",
                  normal(fs::path(path).parent_path()));

  const LoadResult result = load_file(path, kNoEnv);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(format_problems(path, result.problems), expected);
  for (const auto& problem : result.problems) {
    EXPECT_GT(problem.line, 0) << "no line for: " << problem.path << ": " << problem.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, BadConfig, ::testing::ValuesIn(bad_configs()),
                         [](const auto& info) { return replace_all(info.param, "-", "_"); });

TEST(BadConfigs, ThreeMistakesAreAllReported) {
  // The CLI test relies on this file holding exactly three independent mistakes.
  const LoadResult result = load_file(data_path("bad/three-mistakes.yaml"), kNoEnv);
  ASSERT_EQ(result.problems.size(), 3u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.url");
  EXPECT_EQ(result.problems[1].path, "rocketchat.heartbeat");
  EXPECT_EQ(result.problems[2].path, "rocketchat.connect_timeout");
}

TEST(BadConfigs, GoldenReportsHoldNoSecret) {
  // The bad configs use these values for every token and password they contain.
  for (const auto& name : bad_configs()) {
    const std::string report = test::read_file(data_path("bad/" + name + ".expected"));
    EXPECT_EQ(report.find("token-value-1234"), std::string::npos) << name;
    EXPECT_EQ(report.find("password-value-5678"), std::string::npos) << name;
    EXPECT_EQ(report.find("demo-password"), std::string::npos) << name;
  }
}

// ----- shipped and good configurations

TEST(GoodConfigs, ExampleLoadsAndDocumentsTheDefaults) {
  const LoadResult result =
      load_file(source_path("config/rcgate.example.yaml"), {{"RCGATE_PASSWORD", "from-env"}});
  ASSERT_TRUE(result.ok()) << describe(result);
  const Settings& s = result.settings;
  EXPECT_EQ(s.rocketchat.url.to_string(), "https://chat.example.org/");
  EXPECT_EQ(s.rocketchat.auth.method, AuthMethod::Password);
  EXPECT_EQ(s.rocketchat.auth.username, "camera-bot");
  EXPECT_EQ(s.rocketchat.auth.password, "from-env");

  // Every value the example spells out must be the built-in default it claims to document.
  const Settings defaults;
  const RocketChatSettings& rc = s.rocketchat;
  EXPECT_EQ(rc.tls.verify, defaults.rocketchat.tls.verify);
  EXPECT_EQ(rc.tls.ca_file, defaults.rocketchat.tls.ca_file);
  EXPECT_EQ(rc.ping_interval, defaults.rocketchat.ping_interval);
  EXPECT_EQ(rc.dead_after, defaults.rocketchat.dead_after);
  EXPECT_EQ(rc.connect_timeout, defaults.rocketchat.connect_timeout);
  EXPECT_EQ(rc.request_timeout, defaults.rocketchat.request_timeout);
  EXPECT_EQ(rc.backoff_initial, defaults.rocketchat.backoff_initial);
  EXPECT_EQ(rc.backoff_max, defaults.rocketchat.backoff_max);
  EXPECT_EQ(s.state_dir, defaults.state_dir);
  EXPECT_EQ(s.log.level, defaults.log.level);
}

TEST(GoodConfigs, ExampleNamesEveryKey) {
  const std::string text = test::read_file(source_path("config/rcgate.example.yaml"));
  for (const char* key :
       {"rocketchat:",      "url:",           "auth:",          "user_id:",
        "token:",           "token_file:",    "username:",      "password:",
        "password_file:",   "tls:",           "verify:",        "ca_file:",
        "heartbeat:",       "ping_interval:", "dead_after:",    "connect_timeout:",
        "request_timeout:", "reconnect:",     "initial_delay:", "max_delay:",
        "state_dir:",       "log:",           "level:"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
}

TEST(GoodConfigs, ExampleWithoutASecretSaysWhereThePasswordComesFrom) {
  const LoadResult result = load_file(source_path("config/rcgate.example.yaml"), kNoEnv);
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.auth");
  EXPECT_NE(result.problems[0].message.find("RCGATE_PASSWORD"), std::string::npos);
}

TEST(GoodConfigs, DemoTalksToTheLocalSimulator) {
  const std::string path = source_path("config/demo.yaml");
  const LoadResult result = load_file(path, kNoEnv);
  ASSERT_TRUE(result.ok()) << describe(result);
  const Settings& s = result.settings;
  EXPECT_EQ(s.source, path);
  EXPECT_EQ(s.rocketchat.url.scheme, "http");
  EXPECT_EQ(s.rocketchat.url.host, "127.0.0.1");
  EXPECT_EQ(s.rocketchat.url.port, 3300);
  EXPECT_EQ(s.rocketchat.auth.method, AuthMethod::Password);
  EXPECT_EQ(s.rocketchat.auth.username, "camera-bot");
  EXPECT_EQ(s.rocketchat.auth.password, "demo-password");
  EXPECT_EQ(s.state_dir, normal(source_path("config/demo-state")));
  EXPECT_EQ(s.log.level, "info");
}

TEST(GoodConfigs, TokenFromAFileLosesItsTrailingNewline) {
  const LoadResult result = load_file(data_path("good/token-file.yaml"), kNoEnv);
  ASSERT_TRUE(result.ok()) << describe(result);
  const AuthSettings& auth = result.settings.rocketchat.auth;
  EXPECT_EQ(auth.method, AuthMethod::Token);
  EXPECT_EQ(auth.user_id, "aBcDeFgHiJkLmNoPq");
  EXPECT_EQ(auth.token, "tok-file-value");
  EXPECT_EQ(auth.password, "");
  EXPECT_EQ(result.settings.rocketchat.url.path, "/chat");
}

TEST(GoodConfigs, RelativePathsStartAtTheConfigDirectory) {
  const std::string dir = normal(data_path("good"));
  const LoadResult result = load_file(data_path("good/relative-paths.yaml"), kNoEnv);
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.state_dir, dir + "/state");
  EXPECT_EQ(result.settings.rocketchat.tls.ca_file, dir + "/secrets/ca.pem");
  EXPECT_EQ(result.settings.rocketchat.auth.password, "pw-file-value");  // "\r\n" trimmed
}

TEST(GoodConfigs, RelativeConfigPathIsMadeAbsolute) {
  // Relative names must not depend on the working directory at the time they are used.
  const LoadResult result = load_text(kBase + "state_dir: state\n", "etc/rcgate.yaml", kNoEnv);
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.state_dir, normal(fs::current_path() / "etc/state"));
  EXPECT_TRUE(fs::path(result.settings.state_dir).is_absolute());

  const LoadResult bare = load_text(kBase + "state_dir: state\n", "rcgate.yaml", kNoEnv);
  EXPECT_EQ(bare.settings.state_dir, normal(fs::current_path() / "state"));
}

TEST(GoodConfigs, EnvironmentSuppliesTheToken) {
  const LoadResult result =
      load_file(data_path("good/env-secrets.yaml"), {{"RCGATE_TOKEN", "env-token"}});
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.rocketchat.auth.method, AuthMethod::Token);
  EXPECT_EQ(result.settings.rocketchat.auth.token, "env-token");

  const LoadResult without = load_file(data_path("good/env-secrets.yaml"), kNoEnv);
  ASSERT_EQ(without.problems.size(), 1u) << describe(without);
  EXPECT_NE(without.problems[0].message.find("RCGATE_TOKEN"), std::string::npos);
}

// ----- secrets

const std::string kPasswordOnly =
    "rocketchat:\n"
    "  url: https://chat.example.org\n"
    "  auth:\n"
    "    username: camera-bot\n";

TEST(Secrets, EnvironmentFillsInOnlyWhenTheKeyIsAbsent) {
  const Environment env{{"RCGATE_PASSWORD", "env-pw"}, {"RCGATE_TOKEN", "env-token"}};
  const LoadResult from_env = load(kPasswordOnly, env);
  ASSERT_TRUE(from_env.ok()) << describe(from_env);
  EXPECT_EQ(from_env.settings.rocketchat.auth.password, "env-pw");
  // RCGATE_TOKEN in the same environment does not turn this into a "both methods" error.
  EXPECT_EQ(from_env.settings.rocketchat.auth.method, AuthMethod::Password);

  const LoadResult from_file = load(kPasswordOnly + "    password: file-pw\n", env);
  ASSERT_TRUE(from_file.ok()) << describe(from_file);
  EXPECT_EQ(from_file.settings.rocketchat.auth.password, "file-pw");
}

TEST(Secrets, EmptyEnvironmentVariableCountsAsUnset) {
  const LoadResult result = load(kPasswordOnly, {{"RCGATE_PASSWORD", ""}});
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.auth");
  EXPECT_EQ(result.problems[0].line, 3);
}

TEST(Secrets, UnreadableSecretFileNamesTheFileAndTheReason) {
  const std::string dir = normal(data_path("good"));
  // A directory is unreadable as a file whoever runs the test (root ignores permissions).
  const LoadResult result = load_text(kPasswordOnly + "    password_file: secrets\n",
                                      data_path("good/inline.yaml"), kNoEnv);
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.auth.password_file");
  EXPECT_EQ(result.problems[0].message, "cannot read " + dir + "/secrets: Is a directory");
  EXPECT_EQ(result.problems[0].line, 5);
}

TEST(Secrets, EmptySecretFileOrNameIsRefused) {
  const LoadResult empty_file = load(kPasswordOnly + "    password_file: /dev/null\n");
  ASSERT_EQ(empty_file.problems.size(), 1u) << describe(empty_file);
  EXPECT_EQ(empty_file.problems[0].message, "/dev/null is empty");

  const LoadResult empty_name = load(kPasswordOnly + "    password_file: \"\"\n");
  ASSERT_EQ(empty_name.problems.size(), 1u) << describe(empty_name);
  EXPECT_EQ(empty_name.problems[0].path, "rocketchat.auth.password_file");
  EXPECT_EQ(empty_name.problems[0].message, "must not be empty");
}

TEST(Secrets, NeverAppearInProblems) {
  const std::string secret = "S3cr3t-Value-42";
  const std::vector<std::string> configs = {
      // both methods, secrets inline
      "rocketchat:\n  url: x\n  auth:\n    user_id: u\n    token: " + secret +
          "\n    username: b\n    password: " + secret + "\n",
      // secrets of the wrong type
      "rocketchat:\n  url: https://h\n  auth:\n    username: b\n    password: [" + secret + "]\n",
      "rocketchat:\n  url: https://h\n  auth:\n    user_id: u\n    token: {" + secret + ": 1}\n",
      "rocketchat:\n  url: https://h\n  auth: " + secret + "\n",
      // a misspelled secret key, a secret in the wrong section, a duplicate
      "rocketchat:\n  url: https://h\n  auth:\n    username: b\n    pasword: " + secret + "\n",
      "rocketchat:\n  url: https://h\n  password: " + secret + "\n  auth:\n    username: b\n",
      "rocketchat:\n  url: https://h\n  auth:\n    username: b\n    password: " + secret +
          "\n    password: " + secret + "\n",
      // inline and file at once; a secret in the URL
      "rocketchat:\n  url: https://h\n  auth:\n    username: b\n    password: " + secret +
          "\n    password_file: /nonexistent\n",
      "rocketchat:\n  url: https://bot:" + secret + "@h:99999\n  auth:\n    username: b\n",
      "rocketchat:\n  url: ftp://bot:" + secret + "@h/\n  auth:\n    username: b\n",
      // a secret where a boolean, a duration or a level is expected would be echoed back:
      // those keys are not secrets, so only the secret keys are covered here.
  };
  for (const auto& text : configs) {
    const LoadResult result = load(text);
    EXPECT_FALSE(result.ok()) << text;
    const std::string report = format_problems("/etc/rcgate/rcgate.yaml", result.problems);
    EXPECT_EQ(report.find(secret), std::string::npos) << report;
  }
}

TEST(Secrets, UrlCredentialsAreMaskedInTheMessage) {
  const LoadResult result = load(
      "rocketchat:\n  url: https://bot:hunter2@chat.example.org\n  auth:\n    username: b\n"
      "    password: p\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].message.find("hunter2"), std::string::npos);
  EXPECT_NE(result.problems[0].message.find("https://***@chat.example.org"), std::string::npos)
      << result.problems[0].message;
}

// ----- authentication

TEST(Auth, TokenAuthInline) {
  const LoadResult result =
      load("rocketchat:\n  url: https://h\n  auth:\n    user_id: uid\n    token: tok\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.rocketchat.auth.method, AuthMethod::Token);
  EXPECT_EQ(result.settings.rocketchat.auth.user_id, "uid");
  EXPECT_EQ(result.settings.rocketchat.auth.token, "tok");
}

TEST(Auth, BothMethodsExplainBothOptions) {
  const LoadResult result = load(kBase.substr(0, kBase.find("    username")) +
                                 "    user_id: uid\n    token: tok\n    username: b\n"
                                 "    password: p\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  const std::string& message = result.problems[0].message;
  EXPECT_NE(message.find("token auth (user_id + token"), std::string::npos) << message;
  EXPECT_NE(message.find("password auth (username + password"), std::string::npos) << message;
  EXPECT_EQ(result.problems[0].line, 3);
}

TEST(Auth, SectionMissingIsReportedAtTheParent) {
  const LoadResult result = load("log:\n  level: info\nrocketchat:\n  url: https://h\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.auth");
  EXPECT_EQ(result.problems[0].line, 3);
  EXPECT_EQ(result.problems[0].message.rfind("no login configured", 0), 0u);
}

TEST(Auth, SectionOfTheWrongTypeIsReportedOnce) {
  // Not followed by "no login configured": that would only repeat the same mistake.
  const LoadResult result = load("rocketchat:\n  url: https://h\n  auth: camera-bot\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.auth");
  EXPECT_EQ(result.problems[0].message, "expected a map of settings, got a single value");
  EXPECT_EQ(result.problems[0].line, 3);
}

// ----- values

struct DurationCase {
  std::string text;
  long long expected_ms;  // 0: must be refused
};

TEST(Values, Durations) {
  const std::vector<DurationCase> cases = {
      {"250ms", 250},
      {"15s", 15'000},
      {"2m", 120'000},
      {"1h", 3'600'000},
      {"15", 15'000},
      {"24h", 86'400'000},
      {"0", 0},
      {"0ms", 0},
      {"-1s", 0},
      {"1.5s", 0},
      {"15 s", 0},
      {"15sec", 0},
      {"s", 0},
      {"25h", 0},
      {"1d", 0},
      {"\"\"", 0},
      {"18446744073709551616ms", 0},
  };
  for (const auto& c : cases) {
    const LoadResult result = load(kBase + "  request_timeout: " + c.text + "\n");
    if (c.expected_ms > 0) {
      ASSERT_TRUE(result.ok()) << c.text << ": " << describe(result);
      EXPECT_EQ(result.settings.rocketchat.request_timeout.count(), c.expected_ms) << c.text;
    } else {
      ASSERT_EQ(result.problems.size(), 1u) << c.text << ": " << describe(result);
      EXPECT_EQ(result.problems[0].path, "rocketchat.request_timeout");
      EXPECT_EQ(result.problems[0].line, 6);
      EXPECT_EQ(result.settings.rocketchat.request_timeout, 30s) << "default kept";
    }
  }
}

TEST(Values, DeadAfterMustExceedPingIntervalEvenWhenOneIsDefault) {
  const LoadResult result = load(kBase + "  heartbeat:\n    ping_interval: 60s\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat.heartbeat.dead_after");
  EXPECT_EQ(result.problems[0].message, "must be longer than ping_interval (1m), got 1m");

  // No second complaint built on a value that was itself refused.
  const LoadResult bad =
      load(kBase + "  heartbeat:\n    ping_interval: soon\n    dead_after: 1s\n");
  ASSERT_EQ(bad.problems.size(), 1u) << describe(bad);
  EXPECT_EQ(bad.problems[0].path, "rocketchat.heartbeat.ping_interval");
}

TEST(Values, MaxDelayMayEqualInitialDelay) {
  const LoadResult result =
      load(kBase + "  reconnect:\n    initial_delay: 5s\n    max_delay: 5000ms\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.rocketchat.backoff_initial, 5s);
  EXPECT_EQ(result.settings.rocketchat.backoff_max, 5s);
}

TEST(Values, UrlForms) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"https://chat.example.org", "https://chat.example.org/"},
           {"wss://chat.example.org:8443/chat", "wss://chat.example.org:8443/chat"},
           {"http://127.0.0.1:3300", "http://127.0.0.1:3300/"},
           {"ws://[::1]:3000/rc/", "ws://[::1]:3000/rc/"},
       }) {
    const LoadResult result =
        load("rocketchat:\n  url: " + text + "\n  auth:\n    username: b\n    password: p\n");
    ASSERT_TRUE(result.ok()) << text << ": " << describe(result);
    EXPECT_EQ(result.settings.rocketchat.url.to_string(), expected);
  }
}

TEST(Values, BooleansAndLevels) {
  const LoadResult result = load(kBase + "  tls:\n    verify: false\nlog:\n  level: trace\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_FALSE(result.settings.rocketchat.tls.verify);
  EXPECT_EQ(result.settings.log.level, "trace");

  const LoadResult typo = load(kBase + "log:\n  level: eror\n");
  ASSERT_EQ(typo.problems.size(), 1u) << describe(typo);
  EXPECT_EQ(typo.problems[0].message,
            "expected one of trace, debug, info, warn, error, got 'eror' (did you mean 'error'?)");
}

TEST(Values, ExplicitNullKeepsTheDefault) {
  const LoadResult result = load(kBase + "  connect_timeout:\n  tls:\nstate_dir: ~\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.rocketchat.connect_timeout, 15s);
  EXPECT_EQ(result.settings.state_dir, "/var/lib/rcgate");
}

// ----- keys and the report

TEST(Keys, UnknownKeySuggestsTheClosestKnownOne) {
  const LoadResult result = load(kBase + "  reconect:\n    max_delay: 2m\nstatedir: /tmp\n");
  ASSERT_EQ(result.problems.size(), 2u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "rocketchat");
  EXPECT_EQ(result.problems[0].message, "unknown key 'reconect' (did you mean 'reconnect'?)");
  EXPECT_EQ(result.problems[0].line, 6);
  EXPECT_EQ(result.problems[1].path, "");
  EXPECT_EQ(result.problems[1].message, "unknown key 'statedir' (did you mean 'state_dir'?)");
  EXPECT_EQ(result.problems[1].line, 8);
}

TEST(Keys, FarOffUnknownKeyListsTheKnownOnes) {
  const LoadResult result = load(kBase + "mqtt:\n  host: localhost\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].message,
            "unknown key 'mqtt' (expected one of: rocketchat, state_dir, log)");
}

TEST(Report, AllProblemsAtOnceInFileOrder) {
  const LoadResult result = load(
      "log:\n  levle: info\n"
      "rocketchat:\n  url: nope\n  auth:\n    username: b\n    password: p\n"
      "  tls:\n    verify: maybe\n");
  ASSERT_EQ(result.problems.size(), 3u) << describe(result);
  EXPECT_EQ(result.problems[0].line, 2);
  EXPECT_EQ(result.problems[1].line, 4);
  EXPECT_EQ(result.problems[2].line, 9);
  EXPECT_EQ(result.problems[2].message, "expected true or false, got 'maybe'");
}

TEST(Report, SyntaxErrorIsOneProblemWithItsLine) {
  const LoadResult result = load(kBase + "  tls: [unclosed\nlog:\n  level: info\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "");
  EXPECT_EQ(result.problems[0].message.rfind("YAML syntax error: ", 0), 0u);
  EXPECT_GE(result.problems[0].line, 6);
}

TEST(Report, MissingFile) {
  const std::string path = data_path("no-such-dir/rcgate.yaml");
  const LoadResult result = load_file(path, kNoEnv);
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_EQ(result.problems[0].message, "cannot read " + path + ": No such file or directory");
  EXPECT_EQ(result.problems[0].line, 0);
  EXPECT_EQ(format_problems(path, result.problems), "rcgate: refusing to start: " + path +
                                                        " has 1 error\n  - cannot read " + path +
                                                        ": No such file or directory\n");
}

TEST(Report, Format) {
  const std::vector<Problem> problems = {
      {"rocketchat.url", "expected an http(s):// or ws(s):// URL, got 'chat.example.org'", 3},
      {"interactions.rules[2]", "unknown key 'pattren' (did you mean 'pattern'?)", 41},
  };
  EXPECT_EQ(
      format_problems("/etc/rcgate/rcgate.yaml", problems),
      "rcgate: refusing to start: /etc/rcgate/rcgate.yaml has 2 errors\n"
      "  - rocketchat.url: expected an http(s):// or ws(s):// URL, got 'chat.example.org' "
      "(line 3)\n"
      "  - interactions.rules[2]: unknown key 'pattren' (did you mean 'pattern'?) (line 41)\n");
}

TEST(ProcessEnvironment, ProcessEnvironmentKeepsOnlyRcgateVariables) {
  ASSERT_EQ(::setenv("RCGATE_CONFIG_TEST", "a=b", 1), 0);
  ASSERT_EQ(::setenv("OTHER_CONFIG_TEST", "x", 1), 0);
  const Environment env = process_environment();
  ::unsetenv("RCGATE_CONFIG_TEST");
  ::unsetenv("OTHER_CONFIG_TEST");
  ASSERT_EQ(env.count("RCGATE_CONFIG_TEST"), 1u);
  EXPECT_EQ(env.at("RCGATE_CONFIG_TEST"), "a=b");
  EXPECT_EQ(env.count("OTHER_CONFIG_TEST"), 0u);
}

}  // namespace
}  // namespace rcgate::config
