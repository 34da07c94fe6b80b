#include "jeedom/jsonrpc.hpp"

namespace rcgate::plugins::jeedom {

namespace {

// jeeApi.php throws its authentication failures with code -32001, and its catch block sends
// -32000 minus the thrown code: 1 on the wire. Both are accepted, and so are Jeedom's words for
// a refused key.
bool is_refusal(const std::string& code, const std::string& message) {
  const std::string lower = to_lower_ascii(message);
  return code == "1" || code == "-32001" || lower.find("autoris") != std::string::npos ||
         lower.find("api invalide") != std::string::npos;
}

}  // namespace

HttpCall JsonRpcClient::request(const std::string& method, Json params) {
  params["apikey"] = connection_.api_key;
  const Json body = {
      {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};
  HttpCall call = make_call("POST", connection_.url + kApiPath, connection_.call);
  call.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  call.body = body.dump();
  return call;
}

RpcOutcome JsonRpcClient::read(const HttpResult& result) const {
  RpcOutcome out;
  const std::string where = url_for_log(connection_.url + kApiPath);
  // Masked before it is cut short, so that no part of the key reaches a message.
  const std::string shown = without_key(result.body);
  auto fail = [&](RpcOutcome::Kind kind, std::string error) {
    out.kind = kind;
    out.error = without_key(std::move(error));
    return out;
  };
  if (!result.error.empty()) {
    return fail(RpcOutcome::Kind::Unreachable,
                "Jeedom at " + url_for_log(connection_.url) + " did not answer: " + result.error);
  }
  if (result.status == 404) {
    return fail(RpcOutcome::Kind::HttpStatus,
                "Jeedom answered HTTP 404 for " + where +
                    " (check plugins.jeedom.url; Jeedom also answers 404 to an address it has "
                    "banned after failed logins)");
  }
  if (result.status < 200 || result.status >= 300) {
    return fail(RpcOutcome::Kind::HttpStatus, "Jeedom answered HTTP " +
                                                  std::to_string(result.status) + " for " +
                                                  where + ": " + excerpt(shown));
  }
  const Json body = Json::parse(result.body, nullptr, false);
  if (!body.is_object()) {
    // jeeApi.php prints plain text for some failures, e.g. when no API key is configured.
    return fail(RpcOutcome::Kind::NotJsonRpc,
                "Jeedom's answer is not JSON-RPC: " + excerpt(shown));
  }
  if (body.contains("error") && !body.at("error").is_null()) {
    const Json& error = body.at("error");
    std::string message;
    if (error.is_object()) {
      message = string_at(error, {"message"});
      if (error.contains("code") && error.at("code").is_number()) {
        out.code = error.at("code").dump();
      }
    } else if (error.is_string()) {
      message = error.get<std::string>();
    }
    if (message.empty()) message = "no message";
    const std::string code_text =
        out.code.empty() ? std::string() : " (JSON-RPC error " + out.code + ")";
    if (is_refusal(out.code, message)) {
      return fail(RpcOutcome::Kind::Refused,
                  "Jeedom refused the request: " + message + code_text +
                      "; check plugins.jeedom.api_key and that Jeedom's JSON-RPC API is enabled");
    }
    return fail(RpcOutcome::Kind::Error, "Jeedom could not answer: " + message + code_text);
  }
  if (!body.contains("result")) {
    return fail(RpcOutcome::Kind::NotJsonRpc,
                "Jeedom's answer has neither 'result' nor 'error': " + excerpt(shown));
  }
  out.result = body.at("result");
  return out;
}

std::string JsonRpcClient::without_key(std::string text) const {
  const std::string& key = connection_.api_key;
  if (key.empty()) return text;
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), "<api key>");
  }
  return text;
}

}  // namespace rcgate::plugins::jeedom
