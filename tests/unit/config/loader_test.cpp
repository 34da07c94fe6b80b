#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/process.hpp"

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

  EXPECT_EQ(s.devices.mention_commands, defaults.devices.mention_commands);
  EXPECT_TRUE(s.devices.rooms.empty());
  EXPECT_TRUE(s.users.empty());
  EXPECT_EQ(s.unknown_users.polite, defaults.unknown_users.polite);
  EXPECT_EQ(s.unknown_users.message, defaults.unknown_users.message);
  const core::InteractionOptions& i = s.interactions;
  EXPECT_EQ(i.engines, defaults.interactions.engines);
  EXPECT_EQ(i.fallback, defaults.interactions.fallback);
  EXPECT_EQ(i.timeout, defaults.interactions.timeout);
  EXPECT_EQ(i.allow_bots, defaults.interactions.allow_bots);
  EXPECT_EQ(i.rate_limit.messages, defaults.interactions.rate_limit.messages);
  EXPECT_EQ(i.rate_limit.per, defaults.interactions.rate_limit.per);
  EXPECT_EQ(i.followup_window, defaults.interactions.followup_window);
  EXPECT_EQ(i.catch_up, defaults.interactions.catch_up);
  EXPECT_EQ(i.encrypted_notice, defaults.interactions.encrypted_notice);
  const core::OutboxOptions& o = s.outbox;
  EXPECT_EQ(o.ttl, defaults.outbox.ttl);
  EXPECT_EQ(o.max_items, defaults.outbox.max_items);
  EXPECT_EQ(o.retry_initial, defaults.outbox.retry_initial);
  EXPECT_EQ(o.retry_max, defaults.outbox.retry_max);
  EXPECT_EQ(o.room_interval, defaults.outbox.room_interval);
  const core::AskOptions& a = s.asks;
  EXPECT_EQ(a.timeout, defaults.asks.timeout);
  EXPECT_EQ(a.max_open, defaults.asks.max_open);
  EXPECT_EQ(a.hint, defaults.asks.hint);
  EXPECT_EQ(a.answered, defaults.asks.answered);
  EXPECT_EQ(a.timed_out, defaults.asks.timed_out);
  EXPECT_EQ(a.cancelled, defaults.asks.cancelled);
  EXPECT_TRUE(s.plugins.empty());
  EXPECT_TRUE(validate_plugins(s, {}).empty());
}

TEST(GoodConfigs, ExampleNamesEveryKey) {
  const std::string text = test::read_file(source_path("config/rcgate.example.yaml"));
  for (const char* key : {"rocketchat:",
                          "url:",
                          "auth:",
                          "user_id:",
                          "token:",
                          "token_file:",
                          "username:",
                          "password:",
                          "password_file:",
                          "tls:",
                          "verify:",
                          "ca_file:",
                          "heartbeat:",
                          "ping_interval:",
                          "dead_after:",
                          "connect_timeout:",
                          "request_timeout:",
                          "reconnect:",
                          "initial_delay:",
                          "max_delay:",
                          "state_dir:",
                          "log:",
                          "level:",
                          "devices:",
                          "mention_commands:",
                          "rooms:",
                          "users:",
                          "name:",
                          "interactions:",
                          "role:",
                          "unknown_users:",
                          "reply:",
                          "message:",
                          "engines:",
                          "fallback:",
                          "timeout:",
                          "allow_bots:",
                          "rate_limit:",
                          "messages:",
                          "per:",
                          "followup_window:",
                          "catch_up:",
                          "encrypted_notice:",
                          "outbox:",
                          "ttl:",
                          "max_items:",
                          "retry:",
                          "room_interval:",
                          "asks:",
                          "max_open:",
                          "api:",
                          "listen:",
                          "port:",
                          "key_file:",
                          "max_body_kb:",
                          "max_upload_mb:",
                          "upload_dirs:",
                          "send_wait:",
                          "ask_wait_max:",
                          "hint:",
                          "answered:",
                          "timed_out:",
                          "cancelled:",
                          "plugins:"}) {
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
  const LoadResult result = load(kBase + "zigbee:\n  host: localhost\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  // The list grows with rcgate: check its start and that the section it holds are named.
  EXPECT_EQ(result.problems[0].message.rfind(
                "unknown key 'zigbee' (expected one of: rocketchat, state_dir, log, devices, users, "
                "unknown_users, interactions, outbox, asks, cameras, ", 0),
            0u)
      << result.problems[0].message;
  for (const char* section : {"api", "plugins"})
    EXPECT_NE(result.problems[0].message.find(section), std::string::npos) << section;
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

// ----- devices, users, interactions

TEST(Devices, DefaultAndPerRoomOverrides) {
  const LoadResult result = load(kBase +
                                 "devices:\n"
                                 "  mention_commands: false\n"
                                 "  rooms:\n"
                                 "    general: { mention_commands: true }\n"
                                 "    Living room: {mention_commands: false}\n"
                                 "    c3f8a6a80a707dc9ce744b9d:\n"
                                 "      mention_commands: true\n"
                                 "    quiet:\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const core::DeviceOptions& d = result.settings.devices;
  EXPECT_FALSE(d.mention_commands);
  ASSERT_EQ(d.rooms.size(), 4u);
  EXPECT_EQ(d.rooms.at("general").mention_commands, true);
  EXPECT_EQ(d.rooms.at("Living room").mention_commands, false);
  EXPECT_EQ(d.rooms.at("c3f8a6a80a707dc9ce744b9d").mention_commands, true);
  EXPECT_FALSE(d.rooms.at("quiet").mention_commands.has_value());
}

TEST(Users, MappingWithDefaults) {
  const LoadResult result = load(kBase +
                                 "users:\n"
                                 "  - username: alice\n"
                                 "    name: alice_home\n"
                                 "    interactions: allow\n"
                                 "    role: admin\n"
                                 "  - username: bob\n"
                                 "  - {username: mallory, interactions: deny}\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const auto& users = result.settings.users;
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].username, "alice");
  EXPECT_EQ(users[0].name, "alice_home");
  EXPECT_TRUE(users[0].allow);
  EXPECT_EQ(users[0].role, "admin");
  EXPECT_EQ(users[1].name, "bob") << "the automation user defaults to the username";
  EXPECT_TRUE(users[1].allow);
  EXPECT_EQ(users[1].role, "");
  EXPECT_FALSE(users[2].allow);
}

TEST(Users, MistakesNameTheEntry) {
  const LoadResult result = load(kBase +
                                 "users:\n"                  // 6
                                 "  - username: alice\n"     // 7
                                 "  - username: Alice\n"     // 8
                                 "  - name: nobody\n"        // 9
                                 "  - username: '@carol'\n"  // 10
                                 "    interactions: yes\n"   // 11
                                 "    rol: admin\n"          // 12
                                 "  - dave\n");              // 13
  ASSERT_EQ(result.problems.size(), 6u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "users[1].username");
  EXPECT_EQ(p[0].message, "duplicate username 'Alice' (first listed as users[0] on line 7)");
  EXPECT_EQ(p[0].line, 8);
  EXPECT_EQ(p[1].path, "users[2].username");
  EXPECT_EQ(p[1].message, "is required");
  EXPECT_EQ(p[1].line, 9);
  EXPECT_EQ(p[2].path, "users[3].username");
  EXPECT_EQ(p[2].message, "write the username without '@': 'carol'");
  EXPECT_EQ(p[3].path, "users[3].interactions");
  EXPECT_EQ(p[3].message, "expected one of allow, deny, got 'yes'");
  EXPECT_EQ(p[3].line, 11);
  EXPECT_EQ(p[4].path, "users[3]");
  EXPECT_EQ(p[4].message, "unknown key 'rol' (did you mean 'role'?)");
  EXPECT_EQ(p[4].line, 12);
  EXPECT_EQ(p[5].path, "users[4]");
  EXPECT_EQ(p[5].message, "expected a map of settings, got a single value");
  EXPECT_EQ(p[5].line, 13);
  EXPECT_EQ(result.settings.users.size(), 1u);
}

TEST(Users, MustBeAList) {
  const LoadResult result = load(kBase + "users:\n  alice: admin\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "users");
  EXPECT_EQ(result.problems[0].message, "expected a list of people (- username: alice), got a map");
  EXPECT_EQ(result.problems[0].line, 6);
}

TEST(UnknownUsers, SilentOrAnotherMessage) {
  const LoadResult silent = load(kBase + "unknown_users:\n  reply: silent\n");
  ASSERT_TRUE(silent.ok()) << describe(silent);
  EXPECT_FALSE(silent.settings.unknown_users.polite);

  const LoadResult message = load(kBase + "unknown_users:\n  message: Qui êtes-vous ?\n");
  ASSERT_TRUE(message.ok()) << describe(message);
  EXPECT_TRUE(message.settings.unknown_users.polite);
  EXPECT_EQ(message.settings.unknown_users.message, "Qui êtes-vous ?");

  const LoadResult bad = load(kBase + "unknown_users:\n  reply: polit\n  message: \"\"\n");
  ASSERT_EQ(bad.problems.size(), 2u) << describe(bad);
  EXPECT_EQ(bad.problems[0].message,
            "expected one of polite, silent, got 'polit' (did you mean 'polite'?)");
  EXPECT_EQ(bad.problems[1].path, "unknown_users.message");
  EXPECT_EQ(bad.problems[1].message, "must not be empty");
}

TEST(Interactions, EveryKey) {
  const LoadResult result = load(kBase +
                                 "interactions:\n"
                                 "  engines: [rules, homeassistant]\n"
                                 "  fallback: \"\"\n"
                                 "  timeout: 3s\n"
                                 "  allow_bots: true\n"
                                 "  rate_limit: {messages: 2, per: 30s}\n"
                                 "  followup_window: 0\n"
                                 "  catch_up: 0s\n"
                                 "  encrypted_notice: \"\"\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const core::InteractionOptions& i = result.settings.interactions;
  EXPECT_EQ(i.engines, (std::vector<std::string>{"rules", "homeassistant"}));
  EXPECT_EQ(i.fallback, "");
  EXPECT_EQ(i.timeout, 3s);
  EXPECT_TRUE(i.allow_bots);
  EXPECT_EQ(i.rate_limit.messages, 2);
  EXPECT_EQ(i.rate_limit.per, 30s);
  EXPECT_EQ(i.followup_window, 0ms);
  EXPECT_EQ(i.catch_up, 0ms);
  EXPECT_EQ(i.encrypted_notice, "");
  EXPECT_EQ(result.settings.lines.at("interactions.engines[1]"), 7);
}

TEST(Interactions, Mistakes) {
  const LoadResult result = load(kBase +
                                 "interactions:\n"                           // 6
                                 "  engines:\n"                              // 7
                                 "    - rules\n"                             // 8
                                 "    - [jeedom]\n"                          // 9
                                 "    - rules\n"                             // 10
                                 "  timeout: 0\n"                            // 11
                                 "  rate_limit: {messages: 0, per: soon}\n"  // 12
                                 "  catch_up: -5m\n"                         // 13
                                 "  followup_window: 1d\n"                   // 14
                                 "  fallbak: hm\n");                         // 15
  ASSERT_EQ(result.problems.size(), 8u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "interactions.engines[1]");
  EXPECT_EQ(p[0].message, "expected a plugin name, got a list");
  EXPECT_EQ(p[0].line, 9);
  EXPECT_EQ(p[1].path, "interactions.engines[2]");
  EXPECT_EQ(p[1].message, "'rules' is listed twice");
  EXPECT_EQ(p[2].path, "interactions.timeout");
  EXPECT_EQ(p[2].message, "must be greater than zero, got '0'");
  EXPECT_EQ(p[3].path, "interactions.rate_limit.messages");
  EXPECT_EQ(p[3].message, "must be between 1 and 10000, got 0");
  EXPECT_EQ(p[4].path, "interactions.rate_limit.per");
  EXPECT_EQ(p[5].path, "interactions.catch_up");
  EXPECT_EQ(p[5].message, "must not be negative, got '-5m'");
  EXPECT_EQ(p[6].path, "interactions.followup_window");
  EXPECT_EQ(p[7].message, "unknown key 'fallbak' (did you mean 'fallback'?)");
  EXPECT_EQ(result.settings.interactions.engines, std::vector<std::string>{"rules"});
}

TEST(Interactions, EnginesMustBeAList) {
  const LoadResult result = load(kBase + "interactions:\n  engines: rules\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].message,
            "expected a list of plugin names such as [rules, homeassistant], got a single value");
  EXPECT_EQ(result.problems[0].line, 7);
}

// ----- outbox and asks

TEST(Outbox, EveryKey) {
  const LoadResult result = load(kBase +
                                 "outbox:\n"
                                 "  ttl: 6h\n"
                                 "  max_items: 50\n"
                                 "  retry: {initial_delay: 500ms, max_delay: 500ms}\n"
                                 "  room_interval: 1s\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const core::OutboxOptions& o = result.settings.outbox;
  EXPECT_EQ(o.ttl, 6h);
  EXPECT_EQ(o.max_items, 50);
  EXPECT_EQ(o.retry_initial, 500ms);
  EXPECT_EQ(o.retry_max, 500ms);
  EXPECT_EQ(o.room_interval, 1s);
}

TEST(Outbox, LeftOutTakesTheDefaults) {
  const LoadResult result = load(kBase + "outbox:\nasks:\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const core::OutboxOptions defaults;
  EXPECT_EQ(result.settings.outbox.ttl, defaults.ttl);
  EXPECT_EQ(result.settings.outbox.max_items, defaults.max_items);
  EXPECT_EQ(result.settings.asks.timeout, core::AskOptions{}.timeout);
}

TEST(Outbox, Mistakes) {
  const LoadResult result = load(kBase +
                                 "outbox:\n"                                    // 6
                                 "  ttl: 25h\n"                                 // 7
                                 "  max_items: 200000\n"                        // 8
                                 "  retry: {max_delay: 1s}\n"                   // 9
                                 "  room_interval: soon\n");                    // 10
  ASSERT_EQ(result.problems.size(), 4u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "outbox.ttl");
  EXPECT_EQ(p[0].message, "must be at most 24h, got '25h'");
  EXPECT_EQ(p[1].path, "outbox.max_items");
  EXPECT_EQ(p[1].message, "must be between 1 and 100000, got 200000");
  // max_delay below the default initial_delay (2s).
  EXPECT_EQ(p[2].path, "outbox.retry.max_delay");
  EXPECT_EQ(p[2].message, "must be at least initial_delay (2s), got 1s");
  EXPECT_EQ(p[2].line, 9);
  EXPECT_EQ(p[3].path, "outbox.room_interval");

  const LoadResult not_a_map = load(kBase + "outbox: 5\nasks: [a]\n");
  ASSERT_EQ(not_a_map.problems.size(), 2u) << describe(not_a_map);
  EXPECT_EQ(not_a_map.problems[0].path, "outbox");
  EXPECT_EQ(not_a_map.problems[0].message, "expected a map of settings, got a single value");
  EXPECT_EQ(not_a_map.problems[1].path, "asks");
  EXPECT_EQ(not_a_map.problems[1].message, "expected a map of settings, got a list");
}

TEST(Asks, EveryKey) {
  const LoadResult result = load(kBase +
                                 "asks:\n"
                                 "  timeout: 90s\n"
                                 "  max_open: 3\n"
                                 "  hint: \"\"\n"
                                 "  answered: \"✔ {answer} — {name} à {time} ({user})\"\n"
                                 "  timed_out: \"(pas de réponse)\"\n"
                                 "  cancelled: \"(annulé)\"\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const core::AskOptions& a = result.settings.asks;
  EXPECT_EQ(a.timeout, 90s);
  EXPECT_EQ(a.max_open, 3);
  EXPECT_EQ(a.hint, "");
  EXPECT_EQ(a.answered, "✔ {answer} — {name} à {time} ({user})");
  EXPECT_EQ(a.timed_out, "(pas de réponse)");
  EXPECT_EQ(a.cancelled, "(annulé)");
}

TEST(Asks, Mistakes) {
  const LoadResult result = load(kBase +
                                 "asks:\n"                                  // 6
                                 "  timeout: 0\n"                           // 7
                                 "  max_open: 0\n"                          // 8
                                 "  hint: \"Say {answers} or {number}\"\n"  // 9
                                 "  answered: \"{answer} by {who}\"\n"      // 10
                                 "  timed_out: \"\"\n"                      // 11
                                 "  timeot: 5m\n");                         // 12
  ASSERT_EQ(result.problems.size(), 6u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "asks.timeout");
  EXPECT_EQ(p[0].message, "must be greater than zero, got '0'");
  EXPECT_EQ(p[1].path, "asks.max_open");
  EXPECT_EQ(p[1].message, "must be between 1 and 10000, got 0");
  EXPECT_EQ(p[2].path, "asks.hint");
  EXPECT_EQ(p[2].message, "unknown placeholder {number}: use {answers}, {numbers}");
  EXPECT_EQ(p[3].path, "asks.answered");
  EXPECT_EQ(p[3].message, "unknown placeholder {who}: use {answer}, {user}, {name}, {time}");
  EXPECT_EQ(p[4].path, "asks.timed_out");
  EXPECT_EQ(p[4].message, "must not be empty");
  EXPECT_EQ(p[5].message, "unknown key 'timeot' (did you mean 'timeout'?)");
  EXPECT_EQ(p[5].line, 12);
  // A refused text keeps the default.
  EXPECT_EQ(result.settings.asks.hint, core::AskOptions{}.hint);
}

// ----- plugins

TEST(Plugins, SectionsBecomeJsonWithTheirLines) {
  const LoadResult result = load(kBase +
                                 "plugins:\n"                                        // 6
                                 "  rules:\n"                                        // 7
                                 "    timeout: 5s\n"                                 // 8
                                 "    rules:\n"                                      // 9
                                 "      - name: hello\n"                             // 10
                                 "        keywords: [on, off, yes, no]\n"            // 11
                                 "        followup: true\n"                          // 12
                                 "        count: 42\n"                               // 13
                                 "        ratio: -1.5e3\n"                           // 14
                                 "        quoted: \"42\"\n"                          // 15
                                 "        empty:\n"                                  // 16
                                 "        tilde: ~\n"                                // 17
                                 "        huge: 123456789012345678901234567890\n"    // 18
                                 "        version: 1.2.3\n"                          // 19
                                 "        plus: +7\n"                                // 20
                                 "        caps: TRUE\n"                              // 21
                                 "      - name: second\n"                            // 22
                                 "        json: {entity_id: \"scene.{{scene}}\"}\n"  // 23
                                 "  webhook:\n");                                    // 24
  ASSERT_TRUE(result.ok()) << describe(result);
  ASSERT_EQ(result.settings.plugins.size(), 2u);
  const PluginSection& rules = result.settings.plugins[0];
  EXPECT_EQ(rules.name, "rules");
  EXPECT_EQ(rules.line, 7);
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "timeout": "5s",
    "rules": [
      {"name": "hello", "keywords": ["on", "off", "yes", "no"], "followup": true, "count": 42,
       "ratio": -1500.0, "quoted": "42", "empty": null, "tilde": null,
       "huge": "123456789012345678901234567890", "version": "1.2.3", "plus": 7, "caps": true},
      {"name": "second", "json": {"entity_id": "scene.{{scene}}"}}
    ]})");
  EXPECT_EQ(rules.config, expected) << rules.config.dump(2);
  EXPECT_TRUE(rules.config["rules"][0]["count"].is_number_integer());
  EXPECT_EQ(rules.lines.at(""), 7);
  EXPECT_EQ(rules.lines.at("timeout"), 8);
  EXPECT_EQ(rules.lines.at("rules"), 9);
  EXPECT_EQ(rules.lines.at("rules[0]"), 10);
  EXPECT_EQ(rules.lines.at("rules[0].keywords[2]"), 11);
  EXPECT_EQ(rules.lines.at("rules[1].json.entity_id"), 23);

  const PluginSection& webhook = result.settings.plugins[1];
  EXPECT_EQ(webhook.name, "webhook");
  EXPECT_EQ(webhook.config, nlohmann::json::object()) << "an empty section is {}";
  EXPECT_EQ(result.settings.plugin("webhook"), &webhook);
  EXPECT_EQ(result.settings.plugin("jeedom"), nullptr);
}

TEST(Plugins, LinesOfPathsFallBackToTheirParents) {
  PluginSection section;
  section.line = 7;
  section.lines = {{"", 7}, {"rules", 9}, {"rules[2]", 20}, {"rules[2].http", 22}};
  EXPECT_EQ(plugin_line(section, "rules[2].http"), 22);
  EXPECT_EQ(plugin_line(section, "rules[2].pattern"), 20);
  EXPECT_EQ(plugin_line(section, "rules[2].http.headers.Authorization"), 22);
  EXPECT_EQ(plugin_line(section, "rules[7]"), 9);
  EXPECT_EQ(plugin_line(section, "timeout"), 7);
  EXPECT_EQ(plugin_line(section, ""), 7);
  EXPECT_EQ(plugin_line(section, "[0]"), 7);
}

TEST(Plugins, SectionMistakes) {
  const LoadResult result = load(kBase +
                                 "plugins:\n"           // 6
                                 "  rules: [a, b]\n"    // 7
                                 "  webhook:\n"         // 8
                                 "    url: http://x\n"  // 9
                                 "    url: http://y\n"  // 10
                                 "  webhook: {}\n"      // 11
                                 "  jeedom: on\n");     // 12
  ASSERT_EQ(result.problems.size(), 4u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "plugins.rules");
  EXPECT_EQ(p[0].message, "expected a map of the plugin's settings, got a list");
  EXPECT_EQ(p[1].path, "plugins.webhook.url");
  EXPECT_EQ(p[1].message, "duplicate key (first set on line 9)");
  EXPECT_EQ(p[1].line, 10);
  EXPECT_EQ(p[2].path, "plugins.webhook");
  EXPECT_EQ(p[2].message, "duplicate key (first set on line 8)");
  EXPECT_EQ(p[3].path, "plugins.jeedom");
  EXPECT_EQ(p[3].line, 12);

  const LoadResult list = load(kBase + "plugins: [rules]\n");
  ASSERT_EQ(list.problems.size(), 1u) << describe(list);
  EXPECT_EQ(list.problems[0].message, "expected one section per plugin (rules: {...}), got a list");
}

// Plugins as a build registers them, with validators that report what the tests need.
std::vector<rcgate::PluginInfo> known_plugins() {
  rcgate::PluginInfo rules;
  rules.name = "rules";
  rules.validate = [](const nlohmann::json& section) {
    std::vector<rcgate::ConfigIssue> issues;
    if (!section.contains("rules")) issues.push_back({"rules", "is required"});
    const auto& list = section.value("rules", nlohmann::json::array());
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (list[i].value("pattern", "") == "(") {
        issues.push_back({"rules[" + std::to_string(i) + "].pattern", "invalid regex"});
      }
      if (list[i].contains("pattren")) {
        issues.push_back({"rules[" + std::to_string(i) + "]", "unknown key 'pattren'"});
      }
    }
    return issues;
  };
  rcgate::PluginInfo homeassistant;
  homeassistant.name = "homeassistant";
  homeassistant.validate = [](const nlohmann::json&) -> std::vector<rcgate::ConfigIssue> {
    throw std::runtime_error("bug in the validator");
  };
  rcgate::PluginInfo webhook;
  webhook.name = "webhook";  // no validator: anything goes
  return {rules, homeassistant, webhook};
}

TEST(Plugins, PluginIssuesBecomeProblemsWithPathAndLine) {
  const LoadResult result = load(kBase +
                                 "interactions:\n"                 // 6
                                 "  engines: [rules, webhook]\n"   // 7
                                 "plugins:\n"                      // 8
                                 "  rules:\n"                      // 9
                                 "    rules:\n"                    // 10
                                 "      - pattern: ok\n"           // 11
                                 "      - pattren: x\n"            // 12
                                 "      - name: third\n"           // 13
                                 "        pattern: \"(\"\n"        // 14
                                 "  webhook: {anything: [1]}\n");  // 15
  ASSERT_TRUE(result.ok()) << describe(result);
  const auto problems = validate_plugins(result.settings, known_plugins());
  ASSERT_EQ(problems.size(), 2u) << format_problems("<config>", problems);
  EXPECT_EQ(problems[0].path, "plugins.rules.rules[1]");
  EXPECT_EQ(problems[0].message, "unknown key 'pattren'");
  EXPECT_EQ(problems[0].line, 12);
  EXPECT_EQ(problems[1].path, "plugins.rules.rules[2].pattern");
  EXPECT_EQ(problems[1].line, 14);
  EXPECT_EQ(format_problems("/etc/rcgate/rcgate.yaml", problems),
            "rcgate: refusing to start: /etc/rcgate/rcgate.yaml has 2 errors\n"
            "  - plugins.rules.rules[1]: unknown key 'pattren' (line 12)\n"
            "  - plugins.rules.rules[2].pattern: invalid regex (line 14)\n");
}

TEST(Plugins, UnknownPluginsEnginesWithoutASectionAndBrokenValidators) {
  const LoadResult result = load(kBase +
                                 "interactions:\n"                                      // 6
                                 "  engines: [rules, jedom, webhook, homeassistant]\n"  // 7
                                 "plugins:\n"                                           // 8
                                 "  rules: {}\n"                                        // 9
                                 "  homeassistant: {url: x}\n"                          // 10
                                 "  mqtt: {}\n");                                       // 11
  ASSERT_TRUE(result.ok()) << describe(result);
  const auto problems = validate_plugins(result.settings, known_plugins());
  ASSERT_EQ(problems.size(), 5u) << format_problems("<config>", problems);
  EXPECT_EQ(problems[0].path, "interactions.engines[1]");
  EXPECT_EQ(problems[0].message,
            "unknown plugin 'jedom' (this build has: homeassistant, rules, webhook)");
  EXPECT_EQ(problems[0].line, 7);
  EXPECT_EQ(problems[1].path, "interactions.engines[2]");
  EXPECT_EQ(problems[1].message,
            "'webhook' has no section under plugins: add one (plugins: {webhook: {}} takes its "
            "defaults)");
  EXPECT_EQ(problems[2].path, "plugins.rules.rules");
  EXPECT_EQ(problems[2].message, "is required");
  EXPECT_EQ(problems[2].line, 9);
  EXPECT_EQ(problems[3].path, "plugins.homeassistant");
  EXPECT_EQ(problems[3].message, "the plugin failed to check its settings: bug in the validator");
  EXPECT_EQ(problems[3].line, 10);
  EXPECT_EQ(problems[4].path, "plugins");
  EXPECT_EQ(problems[4].message,
            "unknown plugin 'mqtt' (this build has: homeassistant, rules, webhook)");
  EXPECT_EQ(problems[4].line, 11);

  const LoadResult typo = load(kBase + "plugins:\n  rulez: {}\n");
  const auto typo_problems = validate_plugins(typo.settings, known_plugins());
  ASSERT_EQ(typo_problems.size(), 1u);
  EXPECT_EQ(typo_problems[0].message, "unknown plugin 'rulez' (did you mean 'rules'?)");
  const auto none = validate_plugins(typo.settings, {});
  EXPECT_EQ(none.at(0).message, "unknown plugin 'rulez' (this build has no plugins)");
}

// ----- cameras

TEST(Cameras, EveryKeyWithItsDefaults) {
  const LoadResult result = load(kBase +
                                 "cameras:\n"
                                 "  front-door:\n"
                                 "    url: https://192.168.1.20/cgi-bin/snapshot.cgi?channel=1\n"
                                 "    username: admin\n"
                                 "    password: secret-1\n"
                                 "    auth: digest\n"
                                 "    timeout: 4s\n"
                                 "    verify_tls: false\n"
                                 "    max_size_mb: 8\n"
                                 "  garden:\n"
                                 "    url: http://garden.local/snap.jpg\n"
                                 "  garage:\n"
                                 "    url: http://garage.local/snap.jpg\n"
                                 "    username: viewer\n",
                                 {{"RCGATE_CAMERA_GARAGE_PASSWORD", "from-env"}});
  ASSERT_TRUE(result.ok()) << describe(result);
  const auto& cameras = result.settings.cameras;
  ASSERT_EQ(cameras.size(), 3u);
  const CameraSettings& front = cameras[0];
  EXPECT_EQ(front.name, "front-door");
  EXPECT_EQ(front.url.to_string(), "https://192.168.1.20/cgi-bin/snapshot.cgi?channel=1");
  EXPECT_EQ(front.username, "admin");
  EXPECT_EQ(front.password, "secret-1");
  EXPECT_EQ(front.auth, CameraAuth::Digest);
  EXPECT_EQ(front.timeout, 4000ms);
  EXPECT_FALSE(front.tls.verify);
  EXPECT_EQ(front.max_size_mb, 8);
  EXPECT_EQ(front.line, 7);
  const CameraSettings defaults;
  const CameraSettings& garden = *result.settings.camera("garden");
  EXPECT_EQ(garden.username, "");
  EXPECT_EQ(garden.password, "");
  EXPECT_EQ(garden.auth, CameraAuth::Auto);
  EXPECT_EQ(garden.timeout, defaults.timeout);
  EXPECT_EQ(garden.tls.verify, true);
  EXPECT_EQ(garden.tls.ca_file, "");
  EXPECT_EQ(garden.max_size_mb, 20);
  EXPECT_EQ(result.settings.camera("garage")->password, "from-env");
  EXPECT_EQ(result.settings.camera("attic"), nullptr);
}

TEST(Cameras, PasswordFileAndMistakes) {
  test::TempDir dir;
  const std::string file = dir.file("cam-password");
  std::ofstream(file) << "from-file\n";
  LoadResult result = load(kBase + "cameras:\n  porch:\n    url: http://porch/snap\n    username: u\n"
                                   "    password_file: " + file + "\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.cameras.at(0).password, "from-file");
  result = load(kBase + "cameras: [front]\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "cameras");
  result = load(kBase + "cameras:\n  porch:\n    url: http://u:hunter2@porch/snap\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].message.find("hunter2"), std::string::npos) << result.problems[0].message;
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


// ----- api: the local HTTP API

TEST(Api, OffWithoutTheSectionAndEveryKeyWhenGiven) {
  EXPECT_FALSE(load(kBase).settings.api.enabled);
  const LoadResult result = load(kBase +
                                 "api:\n"
                                 "  listen: 0.0.0.0\n"
                                 "  port: 0\n"
                                 "  key: 0123456789abcdef0123\n"
                                 "  max_body_kb: 64\n"
                                 "  max_upload_mb: 5\n"
                                 "  upload_dirs: [/srv/snapshots, files]\n"
                                 "  send_wait: 0\n"
                                 "  ask_wait_max: 10m\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const ApiSettings& api = result.settings.api;
  EXPECT_TRUE(api.enabled);
  EXPECT_EQ(api.listen, "0.0.0.0");
  EXPECT_EQ(api.port, 0);
  EXPECT_EQ(api.key, "0123456789abcdef0123");
  EXPECT_EQ(api.max_body_kb, 64);
  EXPECT_EQ(api.max_upload_mb, 5);
  EXPECT_EQ(api.upload_dirs, (std::vector<std::string>{"/srv/snapshots", "/etc/rcgate/files"}));
  EXPECT_EQ(api.send_wait.count(), 0);
  EXPECT_EQ(api.ask_wait_max.count(), 600000);
}

TEST(Api, TheKeyIsRequiredLongEnoughAndMayComeFromTheEnvironment) {
  LoadResult result = load(kBase + "api:\n  port: 8765\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "api");
  EXPECT_NE(result.problems[0].message.find("needs a key"), std::string::npos);
  EXPECT_NE(result.problems[0].message.find("RCGATE_API_KEY"), std::string::npos);

  result = load(kBase + "api:\n  key: short-key\n");
  ASSERT_EQ(result.problems.size(), 1u) << describe(result);
  EXPECT_EQ(result.problems[0].path, "api.key");
  EXPECT_NE(result.problems[0].message.find("too short (9 characters)"), std::string::npos);
  EXPECT_EQ(result.problems[0].message.find("short-key"), std::string::npos) << "no secret";

  result = load(kBase + "api: {}\n", {{"RCGATE_API_KEY", "from-the-environment-0123"}});
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.api.key, "from-the-environment-0123");

  result = load(kBase + "api:\n  enabled: false\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_FALSE(result.settings.api.enabled);
}

TEST(Api, MistakesNameTheKey) {
  const LoadResult result = load(kBase +
                                 "api:\n"                       // 6
                                 "  key: 0123456789abcdef0123\n"  // 7
                                 "  port: 70000\n"              // 8
                                 "  upload_dirs: /srv\n"        // 9
                                 "  send_wait: soon\n"          // 10
                                 "  max_uplod_mb: 5\n");        // 11
  ASSERT_EQ(result.problems.size(), 4u) << describe(result);
  const auto& p = result.problems;
  EXPECT_EQ(p[0].path, "api.port");
  EXPECT_EQ(p[0].message, "must be between 0 and 65535, got 70000");
  EXPECT_EQ(p[1].path, "api.upload_dirs");
  EXPECT_NE(p[1].message.find("expected a list of directories"), std::string::npos);
  EXPECT_EQ(p[2].path, "api.send_wait");
  EXPECT_EQ(p[3].path, "api");
  EXPECT_NE(p[3].message.find("unknown key 'max_uplod_mb' (did you mean 'max_upload_mb'?)"),
            std::string::npos)
      << p[3].message;
  EXPECT_EQ(p[3].line, 11);
}

}  // namespace
}  // namespace rcgate::config
