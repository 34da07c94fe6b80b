// The mqtt: section: off unless present, every key read, the example documents the defaults,
// and each mistake is named with its path and what to do.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "config/loader.hpp"
#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace rcgate::config {
namespace {

using namespace std::chrono_literals;

const std::string kBase =
    "rocketchat:\n"
    "  url: https://chat.example.org\n"
    "  auth:\n"
    "    username: camera-bot\n"
    "    password: pw\n";

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

LoadResult load(const std::string& text, const Environment& env = {}) {
  return load_text(text, "/etc/rcgate/rcgate.yaml", env);
}

std::string describe(const LoadResult& result) {
  return result.problems.empty() ? "(no problems)" : format_problems("<config>", result.problems);
}

TEST(Mqtt, OffWithoutTheSectionWithDefaultsWhenEmpty) {
  EXPECT_FALSE(load(kBase).settings.mqtt.enabled);
  const LoadResult result = load(kBase + "mqtt: {}\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const MqttSettings& m = result.settings.mqtt;
  EXPECT_TRUE(m.enabled);
  EXPECT_EQ(m.host, "localhost");
  EXPECT_EQ(m.port, 1883);
  EXPECT_EQ(m.client_id, "rcgate");
  EXPECT_TRUE(m.username.empty());
  EXPECT_FALSE(m.tls_enabled);
  EXPECT_TRUE(m.tls.verify);
  EXPECT_EQ(m.keepalive, 60s);
  EXPECT_EQ(m.base_topic, "rcgate");
  EXPECT_TRUE(m.discovery);
  EXPECT_EQ(m.discovery_prefix, "homeassistant");
  EXPECT_EQ(m.backoff_initial, 1s);
  EXPECT_EQ(m.backoff_max, 60s);
  EXPECT_EQ(m.max_pending, 100);
}

TEST(Mqtt, EveryKey) {
  test::TempDir dir;
  const std::string ca = dir.file("ca.pem");
  write_file(ca, "-----BEGIN CERTIFICATE-----\n");
  const LoadResult result = load(kBase +
                                 "mqtt:\n"
                                 "  host: 192.168.1.5\n"
                                 "  client_id: rcgate-pi\n"
                                 "  username: house\n"
                                 "  password: broker-secret\n"
                                 "  tls:\n"
                                 "    enabled: true\n"
                                 "    ca_file: " + ca + "\n"
                                 "  keepalive: 30s\n"
                                 "  base_topic: home/rcgate\n"
                                 "  discovery: false\n"
                                 "  discovery_prefix: ha\n"
                                 "  reconnect: {initial_delay: 200ms, max_delay: 5s}\n"
                                 "  max_pending: 10\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  const MqttSettings& m = result.settings.mqtt;
  EXPECT_EQ(m.host, "192.168.1.5");
  EXPECT_EQ(m.port, 8883);  // the TLS port when none is given
  EXPECT_EQ(m.client_id, "rcgate-pi");
  EXPECT_EQ(m.username, "house");
  EXPECT_EQ(m.password, "broker-secret");
  EXPECT_TRUE(m.tls_enabled);
  EXPECT_EQ(m.tls.ca_file, ca);
  EXPECT_EQ(m.keepalive, 30s);
  EXPECT_EQ(m.base_topic, "home/rcgate");
  EXPECT_FALSE(m.discovery);
  EXPECT_EQ(m.discovery_prefix, "ha");
  EXPECT_EQ(m.backoff_initial, 200ms);
  EXPECT_EQ(m.backoff_max, 5s);
  EXPECT_EQ(m.max_pending, 10);

  EXPECT_EQ(load(kBase + "mqtt:\n  port: 1884\n  tls: {enabled: true}\n").settings.mqtt.port, 1884);
  EXPECT_FALSE(load(kBase + "mqtt:\n  enabled: false\n").settings.mqtt.enabled);
}

TEST(Mqtt, PasswordFromAFileOrTheEnvironment) {
  test::TempDir dir;
  write_file(dir.file("pw"), "from-the-file\n");
  LoadResult result =
      load(kBase + "mqtt:\n  username: house\n  password_file: " + dir.file("pw") + "\n");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.mqtt.password, "from-the-file");

  result = load(kBase + "mqtt:\n  username: house\n", {{"RCGATE_MQTT_PASSWORD", "from-env"}});
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.settings.mqtt.password, "from-env");
}

TEST(Mqtt, MistakesNameTheKeyAndTheFix) {
  const LoadResult result = load(kBase +
                                 "mqtt:\n"                          // 6
                                 "  port: 0\n"                      // 7
                                 "  password: broker-secret\n"      // 8
                                 "  keepalive: 1s\n"                // 9
                                 "  base_topic: rcgate/#\n"         // 10
                                 "  discovery_prefix: /ha/\n"       // 11
                                 "  tls:\n"                         // 12
                                 "    verify: false\n"              // 13
                                 "  reconnect: {initial_delay: 10s, max_delay: 1s}\n"  // 14
                                 "  max_pendng: 5\n");              // 15
  const auto& p = result.problems;
  ASSERT_EQ(p.size(), 8u) << describe(result);
  const std::string report = describe(result);
  EXPECT_EQ(report.find("broker-secret"), std::string::npos) << "no secret in problems";
  auto find = [&](const std::string& path) -> const Problem* {
    for (const auto& problem : p)
      if (problem.path == path) return &problem;
    return nullptr;
  };
  ASSERT_TRUE(find("mqtt.tls")) << report;
  EXPECT_NE(find("mqtt.tls")->message.find("add 'enabled: true'"), std::string::npos);
  ASSERT_TRUE(find("mqtt.port")) << report;
  EXPECT_EQ(find("mqtt.port")->message, "must be between 1 and 65535, got 0");
  EXPECT_EQ(find("mqtt.port")->line, 7);
  ASSERT_TRUE(find("mqtt.username")) << report;
  EXPECT_NE(find("mqtt.username")->message.find("required when a password is given"),
            std::string::npos);
  ASSERT_TRUE(find("mqtt.keepalive")) << report;
  EXPECT_NE(find("mqtt.keepalive")->message.find("between 5s and 65535s"), std::string::npos);
  ASSERT_TRUE(find("mqtt.base_topic")) << report;
  EXPECT_NE(find("mqtt.base_topic")->message.find("wildcards"), std::string::npos);
  ASSERT_TRUE(find("mqtt.discovery_prefix")) << report;
  EXPECT_NE(find("mqtt.discovery_prefix")->message.find("must not start or end with '/'"),
            std::string::npos);
  ASSERT_TRUE(find("mqtt.reconnect.max_delay")) << report;
  ASSERT_TRUE(find("mqtt")) << report;
  EXPECT_NE(find("mqtt")->message.find("unknown key 'max_pendng' (did you mean 'max_pending'?)"),
            std::string::npos);
  EXPECT_EQ(find("mqtt")->line, 15);
}

// The example documents the section commented out: uncommented, it loads, and every value it
// spells out is the default (apart from the login, which is an example).
TEST(Mqtt, TheExampleDocumentsEveryKeyAndItsDefault) {
  const std::string text = test::read_file(std::string(RCGATE_SOURCE_DIR) + "/config/rcgate.example.yaml");
  const auto start = text.find("\n# mqtt:\n");
  ASSERT_NE(start, std::string::npos);
  std::string section;
  for (auto pos = start + 1; pos < text.size();) {
    const auto end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    if (line.rfind("# ", 0) != 0 || (line != "# mqtt:" && line.rfind("#   ", 0) != 0)) break;
    const std::string body = line.substr(2);
    // Comments inside the section ("  # ...") stay comments.
    if (body.find_first_not_of(' ') != std::string::npos && body[body.find_first_not_of(' ')] != '#')
      section += body + "\n";
    pos = end + 1;
  }
  test::TempDir dir;
  // The example's password_file points at /etc: replaced by a readable file.
  write_file(dir.file("pw"), "pw\n");
  const auto at = section.find("/etc/rcgate/mqtt-password");
  ASSERT_NE(at, std::string::npos) << section;
  section.replace(at, std::string("/etc/rcgate/mqtt-password").size(), dir.file("pw"));
  const LoadResult result = load(kBase + section);
  ASSERT_TRUE(result.ok()) << describe(result) << "\n" << section;
  const MqttSettings& m = result.settings.mqtt;
  const MqttSettings d;
  EXPECT_TRUE(m.enabled);
  EXPECT_EQ(m.host, d.host);
  EXPECT_EQ(m.port, d.port);
  EXPECT_EQ(m.client_id, d.client_id);
  EXPECT_EQ(m.tls_enabled, d.tls_enabled);
  EXPECT_EQ(m.tls.verify, d.tls.verify);
  EXPECT_EQ(m.tls.ca_file, d.tls.ca_file);
  EXPECT_EQ(m.keepalive, d.keepalive);
  EXPECT_EQ(m.base_topic, d.base_topic);
  EXPECT_EQ(m.discovery, d.discovery);
  EXPECT_EQ(m.discovery_prefix, d.discovery_prefix);
  EXPECT_EQ(m.backoff_initial, d.backoff_initial);
  EXPECT_EQ(m.backoff_max, d.backoff_max);
  EXPECT_EQ(m.max_pending, d.max_pending);
}

}  // namespace
}  // namespace rcgate::config
