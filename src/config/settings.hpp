#pragma once
// rcgate's validated, typed settings. Produced only by config::load(); every other part of rcgate
// reads these structs and never sees YAML.
#include <chrono>
#include <cstdint>
#include <string>

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
  bool verify = true;    // verify the server certificate and host name
  std::string ca_file;   // extra CA bundle (PEM); empty: the system CAs
};

struct RocketChatSettings {
  Url url;                              // http(s) or ws(s) base URL, optional sub-path
  AuthSettings auth;
  TlsSettings tls;
  ms ping_interval{25000};              // send our own ping after this much inbound silence
  ms dead_after{60000};                 // no inbound frame for this long: the link is dead
  ms connect_timeout{15000};
  ms request_timeout{30000};            // REST calls
  ms backoff_initial{1000};
  ms backoff_max{60000};
};

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error
};

struct Settings {
  std::string source;            // the file these settings came from
  RocketChatSettings rocketchat;
  std::string state_dir = "/var/lib/rcgate";
  LogSettings log;
};

}  // namespace rcgate::config
