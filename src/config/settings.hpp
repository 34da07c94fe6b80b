#pragma once
// rcgate's validated, typed settings. Produced only by config::load(); every other part of rcgate
// reads these structs and never sees YAML. The devices, users, interactions, outbox and asks
// sections are the core's own option structs (core/options.hpp), so their defaults are written
// once, there.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/options.hpp"
#include "core/url.hpp"

namespace rcgate::config {

using ms = std::chrono::milliseconds;

enum class AuthMethod { Token, Password };

struct AuthSettings {
  AuthMethod method = AuthMethod::Password;
  std::string user_id;   // token auth: the bot's user id
  std::string token;     // token auth: personal access token (secret)
  std::string username;  // password auth
  std::string password;  // password auth (secret)
};

struct TlsSettings {
  bool verify = true;   // verify the server certificate and host name
  std::string ca_file;  // extra CA bundle (PEM); empty: the system CAs
};

struct RocketChatSettings {
  Url url;  // http(s) or ws(s) base URL, optional sub-path
  AuthSettings auth;
  TlsSettings tls;
  ms ping_interval{25000};  // send our own ping after this much inbound silence
  ms dead_after{60000};     // no inbound frame for this long: the link is dead
  ms connect_timeout{15000};
  ms request_timeout{30000};  // REST calls
  ms backoff_initial{1000};
  ms backoff_max{60000};
};

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error
};

// cameras.<name>: a camera whose snapshot rcgate can fetch and upload (`upload camera: <name>`).
enum class CameraAuth {
  Auto,    // none until the camera answers 401, then what its WWW-Authenticate asks for
  Basic,   // Basic from the first request on
  Digest,  // Digest only (a camera asking for Basic is refused: the password would go in clear)
};

struct CameraSettings {
  std::string name;
  Url url;               // http(s) snapshot URL, path and query included
  std::string username;  // empty: no login
  std::string password;  // secret
  CameraAuth auth = CameraAuth::Auto;
  ms timeout{10000};  // the whole fetch, connecting included
  TlsSettings tls;    // keys verify_tls and ca_file
  int max_size_mb = 20;  // a larger snapshot is refused
  int line = 0;          // the line of its key under cameras:
};

// api: the local HTTP API that automations and the `rcgate send/ask/upload/...` commands use.
// Off unless the section is present; then a key is required (api.key, api.key_file or
// RCGATE_API_KEY).
struct ApiSettings {
  bool enabled = false;
  std::string listen = "127.0.0.1";  // address to bind; the CLI connects here too
  int port = 8765;  // 0: any free port, written to <state_dir>/api.port for the CLI
  std::string key;  // secret: callers send "Authorization: Bearer <key>" or "X-API-Key: <key>"
  int max_body_kb = 1024;    // largest JSON request body
  int max_upload_mb = 25;    // largest file sent in a request body (content_base64 or raw)
  std::vector<std::string> upload_dirs;  // local files may be uploaded only from under these
  ms send_wait{3000};    // how long `send` waits for "sent" before it answers "queued"
  ms ask_wait_max{3'600'000};  // longest long poll on an ask
  int line = 0;  // the line of `api:`
};

// mqtt: the MQTT bridge (topics under base_topic, Home Assistant discovery). Off unless the
// section is present.
struct MqttSettings {
  bool enabled = false;
  std::string host = "localhost";
  int port = 1883;  // 8883 when tls.enabled and no port is given
  std::string client_id = "rcgate";  // unique per broker: two clients with one id evict each other
  std::string username;              // empty: no login
  std::string password;              // secret
  bool tls_enabled = false;
  TlsSettings tls;  // verify (certificate and host name), ca_file (empty: the system CAs)
  ms keepalive{60000};
  std::string base_topic = "rcgate";
  bool discovery = true;                          // Home Assistant MQTT discovery
  std::string discovery_prefix = "homeassistant";
  ms backoff_initial{1000};
  ms backoff_max{60000};
  int max_pending = 100;  // answers kept while the broker is unreachable (oldest dropped)
  int line = 0;           // the line of `mqtt:`
};

// plugins.<name>: handed to the plugin as JSON. `lines` maps JSON paths inside the section
// ("rules[2].pattern"; "" for the section itself) to YAML lines, so that what the plugin reports
// can point at the line to fix (validate_plugins).
struct PluginSection {
  std::string name;
  nlohmann::json config = nlohmann::json::object();
  std::map<std::string, int> lines;
  int line = 0;  // the line of the plugin's key under plugins:
};

struct Settings {
  std::string source;  // the file these settings came from
  RocketChatSettings rocketchat;
  std::string state_dir = "/var/lib/rcgate";
  LogSettings log;
  core::DeviceOptions devices;
  std::vector<core::UserEntry> users;  // users[].name already defaults to the username
  core::UnknownUserOptions unknown_users;
  core::InteractionOptions interactions;
  core::OutboxOptions outbox;
  core::AskOptions asks;
  std::vector<CameraSettings> cameras;  // in file order
  ApiSettings api;
  MqttSettings mqtt;
  std::vector<PluginSection> plugins;  // in file order
  // Lines of keys that are checked after loading ("interactions.engines[1]"), for their problems.
  std::map<std::string, int> lines;

  const CameraSettings* camera(const std::string& name) const {
    for (const auto& c : cameras) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  const PluginSection* plugin(const std::string& name) const {
    for (const auto& p : plugins) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }
};

}  // namespace rcgate::config
