#pragma once
// Jeedom's JSON-RPC 2.0 API (core/api/jeeApi.php), the one place where the jeedom plugin builds
// its requests and reads Jeedom's answers: the interaction engine (interact::tryToReply), the
// push of last messages (cmd::event) and the ask write-back (datastore::save) all go through it,
// so that every failure is described the same way.
#include <nlohmann/json.hpp>

#include <string>

#include "common/plugin_common.hpp"
#include "rcgate/http_client.hpp"

namespace rcgate::plugins::jeedom {

inline constexpr const char* kApiPath = "/core/api/jeeApi.php";

// Where Jeedom is and how to call it.
struct Connection {
  std::string url;  // base URL, no trailing '/'
  std::string api_key;
  CallOptions call;
};

// What came of one call.
struct RpcOutcome {
  enum class Kind {
    Ok,          // `result` holds Jeedom's result
    Unreachable, // no HTTP answer (refused, timeout, TLS)
    HttpStatus,  // an HTTP answer other than 2xx (404: wrong url or banned address)
    NotJsonRpc,  // a 2xx answer that is not a JSON-RPC object (e.g. no API key configured)
    Refused,     // Jeedom refused the API key (or the JSON-RPC API is disabled)
    Error,       // Jeedom answered this call with an error (unknown command, ...)
  };
  Kind kind = Kind::Ok;
  Json result;        // Ok: the `result` member (may be null)
  std::string error;  // not Ok: a sentence for people, with what to check; never the API key
  std::string code;   // Refused/Error: the JSON-RPC error code as Jeedom sent it ("702")

  bool ok() const { return kind == Kind::Ok; }
  // A failure of Jeedom as a whole rather than of this one call: every other call would fail the
  // same way until the operator or Jeedom fixes it.
  bool jeedom_wide() const { return kind != Kind::Ok && kind != Kind::Error; }
};

class JsonRpcClient {
 public:
  explicit JsonRpcClient(Connection connection) : connection_(std::move(connection)) {}

  // The POST of one call: {"jsonrpc": "2.0", "id": <n>, "method": <method>, "params": <params>
  // with "apikey">}. Each call gets its own id.
  HttpCall request(const std::string& method, Json params);
  // Jeedom's answer to a call made with request().
  RpcOutcome read(const HttpResult& result) const;

  const Connection& connection() const { return connection_; }

 private:
  // `text` with the API key masked: some Jeedom pages echo the key they refused.
  std::string without_key(std::string text) const;

  Connection connection_;
  long long next_id_ = 1;
};

}  // namespace rcgate::plugins::jeedom
