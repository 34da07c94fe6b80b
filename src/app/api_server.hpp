#pragma once
// The local HTTP API (issue 4, point 1): a thin HTTP transport over ApiService (api.hpp). It
// owns routing, the API key check, body limits, JSON parsing, the envelope and the OpenAPI
// document; what each verb does is the service's business.
//
// Routes (all JSON, all answers in the envelope of api.hpp; the key is required everywhere but
// on the OpenAPI document):
//   GET    /api/v1/health                  -> health
//   GET    /api/v1/devices                 -> devices
//   GET    /api/v1/devices/{device}        -> device
//   POST   /api/v1/devices/{device}/send   -> send (device from the path)
//   GET    /api/v1/users                   -> users
//   POST   /api/v1/send                    -> send
//   GET    /api/v1/messages/{id}           -> message
//   POST   /api/v1/upload                  -> upload: a JSON body, or the file itself as the body
//                                             (any other Content-Type) with the fields in the
//                                             query string (room|device|user, file_name, ...)
//   POST   /api/v1/ask                     -> ask
//   GET    /api/v1/asks/{id}[?wait=N]      -> ask_status
//   DELETE /api/v1/asks/{id}               -> ask_cancel
//   GET    /api/v1/openapi.json            -> the OpenAPI 3 document (no key needed)
// The key: "Authorization: Bearer <key>" or "X-API-Key: <key>", compared in constant time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/api.hpp"
#include "config/settings.hpp"
#include "net/http.hpp"

namespace rcgate::net {
class Loop;
class HttpServer;
}  // namespace rcgate::net

namespace rcgate::app {

struct ApiRoute {
  std::string method;  // GET, POST, DELETE
  std::string path;    // OpenAPI form: /api/v1/asks/{id}
  std::string verb;    // the ApiService verb; "" for the OpenAPI document itself
};
// Every route the server answers, in the table's order (tests compare it with the document).
const std::vector<ApiRoute>& api_routes();
// The OpenAPI 3 document served at /api/v1/openapi.json (built into the binary).
const std::string& openapi_document();

// What one request asks for, decided from the request alone (no socket, no service): the call
// to hand to ApiService, the OpenAPI document, or an answer to send at once (404, 405, 401, 400,
// 413...). ApiServer serves every request through it; tests and fuzz targets call it directly.
struct ApiRequestPlan {
  enum class Kind { Call, Document, Answer };
  Kind kind = Kind::Answer;
  ApiCall call;          // Kind::Call
  ApiReply reply;        // Kind::Answer
  net::Headers headers;  // Kind::Answer: extra headers (Allow, WWW-Authenticate)
  std::string path;      // the request's path without a trailing '/' (for logs)
};
ApiRequestPlan plan_api_request(const net::ServerRequest& request,
                                const config::ApiSettings& settings);

class ApiServer {
 public:
  ApiServer(net::Loop& loop, const config::ApiSettings& settings, ApiService& service);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds api.listen:api.port. Throws std::runtime_error with a sentence an operator can act
  // on ("cannot listen on 127.0.0.1:8765: address in use — another rcgate running? change
  // api.port").
  void start();
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rcgate::app
