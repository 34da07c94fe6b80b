// The local HTTP API's transport over real loopback sockets: a real ApiServer, real HTTP clients
// (net::HttpClient, and a raw socket where the bytes on the wire matter), and a scripted
// ApiService standing in for the gateway.
#include "app/api_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <set>
#include <sstream>

#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "unit/net/test_util.hpp"

namespace rcgate::app {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using test::on_thread;
using test::RawClient;
using test::run_until;

const std::string kKey = "k3y-for-the-api-tests-0123456789";

// Records every call; answers with what it was given unless a script says otherwise.
struct ScriptedService : ApiService {
  std::vector<ApiCall> calls;
  std::function<void(const ApiCall&, Reply)> script;

  void call(ApiCall call, Reply reply) override {
    calls.push_back(call);
    if (script) return script(calls.back(), std::move(reply));
    reply(ApiReply::success({{"verb", call.verb},
                             {"params", call.params},
                             {"bytes", call.bytes.size()}}));
  }
};

config::ApiSettings test_settings() {
  config::ApiSettings s;
  s.enabled = true;
  s.listen = "127.0.0.1";
  s.port = 0;
  s.key = kKey;
  s.max_body_kb = 4;
  s.max_upload_mb = 1;
  return s;
}

// Captures rcgate's log while alive (to check what is and is not logged).
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    server_ = std::make_unique<ApiServer>(loop_, settings_, service_);
    server_->start();
    ASSERT_NE(server_->port(), 0);
  }

  net::HttpResponse request(const std::string& method, const std::string& target,
                            std::string body = {}, net::Headers headers = {},
                            bool with_key = true) {
    net::HttpClient client(loop_, Url{"http", "127.0.0.1", server_->port(), "/"});
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = std::move(body);
    req.headers = std::move(headers);
    if (with_key) req.headers.emplace_back("X-API-Key", kKey);
    std::optional<net::HttpResponse> response;
    client.request(std::move(req), [&](net::HttpResponse r) { response = std::move(r); });
    EXPECT_TRUE(run_until(loop_, [&] { return response.has_value(); }, 10s));
    return response.value_or(net::HttpResponse{});
  }

  // The envelope of a response; fails the test unless it is JSON with the right Content-Type.
  static Json envelope_of(const net::HttpResponse& r) {
    EXPECT_EQ(r.header("Content-Type"), "application/json") << r.status << " " << r.body;
    const Json j = Json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  static Json error_of(const net::HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    Json j = envelope_of(r);
    EXPECT_EQ(j.value("status", ""), "error") << r.body;
    EXPECT_EQ(j.value("code", ""), code) << r.body;
    EXPECT_FALSE(j.value("error", "").empty()) << r.body;
    return j;
  }
  static Json data_of(const net::HttpResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    Json j = envelope_of(r);
    EXPECT_EQ(j.value("status", ""), "ok") << r.body;
    return j.value("data", Json());
  }

  net::Loop loop_;
  config::ApiSettings settings_ = test_settings();
  ScriptedService service_;
  std::unique_ptr<ApiServer> server_;
};

// --- the key --------------------------------------------------------------------------------

TEST_F(ApiServerTest, WithoutAKeyTheAnswerIs401SayingWhichHeaderToSend) {
  auto r = request("GET", "/api/v1/devices", {}, {}, /*with_key=*/false);
  auto e = error_of(r, 401, "unauthorized");
  EXPECT_NE(e["error"].get<std::string>().find("Authorization: Bearer <key>"), std::string::npos);
  EXPECT_NE(e["error"].get<std::string>().find("X-API-Key: <key>"), std::string::npos);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"rcgate\"");
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, AWrongKeyIsRefusedInBothHeadersAndNeverLogged) {
  LogCapture log;
  const std::string wrong = "wrong-key-but-long-enough-123456";
  auto a = request("GET", "/api/v1/devices", {}, {{"Authorization", "Bearer " + wrong}}, false);
  auto e = error_of(a, 401, "unauthorized");
  EXPECT_NE(e["error"].get<std::string>().find("the API key is wrong"), std::string::npos);
  auto b = request("GET", "/api/v1/devices", {}, {{"X-API-Key", wrong}}, false);
  error_of(b, 401, "unauthorized");
  // The right key with one character more or less is still wrong.
  error_of(request("GET", "/api/v1/devices", {}, {{"X-API-Key", kKey + "x"}}, false), 401,
           "unauthorized");
  error_of(request("GET", "/api/v1/devices", {}, {{"X-API-Key", kKey.substr(1)}}, false), 401,
           "unauthorized");
  auto basic = request("GET", "/api/v1/devices", {}, {{"Authorization", "Basic " + kKey}}, false);
  auto be = error_of(basic, 401, "unauthorized");
  EXPECT_NE(be["error"].get<std::string>().find("Bearer scheme"), std::string::npos);
  EXPECT_TRUE(service_.calls.empty());
  EXPECT_NE(log.text().find("wrong API key"), std::string::npos) << log.text();
  EXPECT_EQ(log.text().find(wrong), std::string::npos) << log.text();
  EXPECT_EQ(log.text().find(kKey.substr(1)), std::string::npos) << log.text();
}

TEST_F(ApiServerTest, TheRightKeyIsAcceptedInEitherHeader) {
  auto a = request("GET", "/api/v1/devices", {}, {{"Authorization", "Bearer " + kKey}}, false);
  EXPECT_EQ(data_of(a)["verb"], "devices");
  auto b = request("GET", "/api/v1/devices", {}, {{"authorization", "bearer  " + kKey}}, false);
  EXPECT_EQ(data_of(b)["verb"], "devices");
  auto c = request("GET", "/api/v1/users", {}, {{"x-api-key", kKey}}, false);
  EXPECT_EQ(data_of(c)["verb"], "users");
  EXPECT_EQ(service_.calls.size(), 3u);
}

TEST_F(ApiServerTest, TheOpenApiDocumentNeedsNoKey) {
  auto r = request("GET", "/api/v1/openapi.json", {}, {}, /*with_key=*/false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, openapi_document());
  EXPECT_TRUE(service_.calls.empty());
}

// --- routing and parameters -----------------------------------------------------------------

TEST_F(ApiServerTest, EveryRouteReachesItsVerb) {
  for (const auto& route : api_routes()) {
    if (route.verb.empty()) continue;
    std::string target = route.path;
    for (const char* param : {"{device}", "{id}"}) {
      const auto at = target.find(param);
      if (at != std::string::npos) target.replace(at, std::string(param).size(), "thing");
    }
    service_.calls.clear();
    auto r = request(route.method, target, route.method == "POST" ? "{}" : "");
    ASSERT_EQ(service_.calls.size(), 1u) << route.method << " " << target << ": " << r.body;
    EXPECT_EQ(service_.calls[0].verb, route.verb) << route.method << " " << target;
    EXPECT_EQ(data_of(r)["verb"], route.verb);
  }
}

TEST_F(ApiServerTest, PathQueryAndBodyParamsAreMergedPathFirstThenBody) {
  auto r = request("POST",
                   "/api/v1/devices/Garage%20Door%2F1/send?text=from+query&thread=t1&ttl=90"
                   "&alias=A%26B",
                   R"({"text": "from body", "device": "not this one", "id": "m-1", "ttl": "5m"})",
                   {{"Content-Type", "application/json"}});
  ASSERT_EQ(service_.calls.size(), 1u) << r.body;
  const Json& p = service_.calls[0].params;
  EXPECT_EQ(service_.calls[0].verb, "send");
  EXPECT_EQ(p["device"], "Garage Door/1");  // the path wins, percent-decoded
  EXPECT_EQ(p["text"], "from body");        // the body wins over the query string
  EXPECT_EQ(p["ttl"], "5m");
  EXPECT_EQ(p["thread"], "t1");  // the query string fills in the rest
  EXPECT_EQ(p["alias"], "A&B");
  EXPECT_EQ(p["id"], "m-1");
  EXPECT_EQ(service_.calls[0].bytes, "");
}

TEST_F(ApiServerTest, QueryNumbersAndRepeatedNames) {
  request("GET", "/api/v1/asks/a%2Fb?wait=30");
  request("GET", "/api/v1/asks/x?wait=2m");
  request("POST", "/api/v1/ask?answers=Yes&answers=No&users=alice&timeout=60&room=007",
          R"({"question": "Open?"})");
  ASSERT_EQ(service_.calls.size(), 3u);
  EXPECT_EQ(service_.calls[0].params, (Json{{"id", "a/b"}, {"wait", 30}}));
  EXPECT_EQ(service_.calls[1].params["wait"], "2m");
  const Json& ask = service_.calls[2].params;
  EXPECT_EQ(ask["answers"], Json::array({"Yes", "No"}));
  EXPECT_EQ(ask["users"], "alice");
  EXPECT_EQ(ask["timeout"], 60);
  EXPECT_EQ(ask["room"], "007");  // only wait, ttl and timeout become numbers
  EXPECT_EQ(ask["question"], "Open?");
}

TEST_F(ApiServerTest, ATrailingSlashIsTolerated) {
  auto r = request("GET", "/api/v1/devices/");
  EXPECT_EQ(data_of(r)["verb"], "devices");
}

TEST_F(ApiServerTest, UnknownRoutesAre404WithAPointerToTheDocument) {
  for (const char* target : {"/api/v1/nothing", "/", "/api/v2/devices", "/api/v1/devices/a/b/c",
                             "/api/v1/devices//send"}) {
    auto r = request("GET", target);
    auto e = error_of(r, 404, "not_found");
    EXPECT_NE(e["error"].get<std::string>().find("/api/v1/openapi.json"), std::string::npos);
  }
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, AWrongMethodIs405WithAllow) {
  auto a = request("DELETE", "/api/v1/devices");
  auto e = error_of(a, 405, "method_not_allowed");
  EXPECT_EQ(a.header("Allow"), "GET");
  EXPECT_NE(e["error"].get<std::string>().find("use GET"), std::string::npos);
  auto b = request("PUT", "/api/v1/asks/x", "{}");
  error_of(b, 405, "method_not_allowed");
  EXPECT_EQ(b.header("Allow"), "GET, DELETE");
  auto c = request("GET", "/api/v1/send");
  EXPECT_EQ(c.header("Allow"), "POST");
  EXPECT_TRUE(service_.calls.empty());
}

// --- bodies ---------------------------------------------------------------------------------

TEST_F(ApiServerTest, InvalidJsonIs400NamingWhere) {
  auto r = request("POST", "/api/v1/send", "{\"text\": \"hi\",\n \"room\": }",
                   {{"Content-Type", "application/json"}});
  auto e = error_of(r, 400, "bad_request");
  const std::string text = e["error"];
  EXPECT_NE(text.find("not valid JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("line 2, column 10"), std::string::npos) << text;
  EXPECT_EQ(text.find("json.exception"), std::string::npos) << text;
  EXPECT_TRUE(service_.calls.empty());
}

// Found by tests/fuzz/fuzz_api_request: a number too large for a double made nlohmann throw
// out_of_range (not parse_error), which escaped the handler and took the daemon down.
TEST_F(ApiServerTest, FuzzRegressionANumberTooLargeIs400AndTheServerGoesOn) {
  auto r = request("POST", "/api/v1/ask", R"({"question": "Open?", "timeout": 1E999})",
                   {{"Content-Type", "application/json"}});
  auto e = error_of(r, 400, "bad_request");
  EXPECT_NE(e["error"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_NE(e["error"].get<std::string>().find("number overflow"), std::string::npos);
  EXPECT_TRUE(service_.calls.empty());
  auto after = request("POST", "/api/v1/send", R"({"room": "general", "text": "hi"})");
  EXPECT_EQ(data_of(after)["params"]["text"], "hi");
}

TEST(ApiRequestPlan, FuzzRegressionTheFuzzersInputIsRefusedWith400) {
  config::ApiSettings settings;
  settings.key = "fuzz-api-key-0123456789abcdef";
  net::ServerRequest req;
  req.method = "POST";
  req.target = req.path = "/api/v1/ask";
  req.headers = {{"X-API-Key", settings.key}};
  req.body = std::string("999999999999992E999;9999999999999999.9999}meout\":\0\0\0\0\0s\"}", 57);
  const auto plan = app::plan_api_request(req, settings);
  ASSERT_EQ(plan.kind, app::ApiRequestPlan::Kind::Answer);
  EXPECT_EQ(plan.reply.status, 400);
  EXPECT_EQ(plan.reply.code, "bad_request");
}

TEST_F(ApiServerTest, AJsonBodyMustBeAnObject) {
  auto r = request("POST", "/api/v1/send", R"(["hello"])");
  auto e = error_of(r, 400, "bad_request");
  EXPECT_NE(e["error"].get<std::string>().find("must be an object"), std::string::npos);
  EXPECT_NE(e["error"].get<std::string>().find("got a list"), std::string::npos);
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, AJsonBodyWithoutContentTypeIsStillJson) {
  // curl -d sends application/x-www-form-urlencoded: a JSON body is taken as JSON anyway.
  auto r = request("POST", "/api/v1/send", R"({"room": "general", "text": "hi"})",
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(data_of(r)["params"]["text"], "hi");
}

TEST_F(ApiServerTest, AJsonBodyOverMaxBodyKbIs413) {
  const std::string big = Json{{"room", "general"}, {"text", std::string(5000, 'x')}}.dump();
  auto r = request("POST", "/api/v1/send", big);
  auto e = error_of(r, 413, "too_large");
  EXPECT_NE(e["error"].get<std::string>().find("api.max_body_kb"), std::string::npos) << r.body;
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, ARawUploadBodyBecomesTheCallsBytes) {
  std::string file = "\x89PNG\r\n";
  file += std::string("\0\x01\x02", 3) + std::string(200 * 1024, 'p');
  auto r = request("POST", "/api/v1/upload?room=general&file_name=photo%201.png&caption=Door",
                   file, {{"Content-Type", "image/png"}});
  EXPECT_EQ(data_of(r)["verb"], "upload");
  ASSERT_EQ(service_.calls.size(), 1u);
  EXPECT_EQ(service_.calls[0].bytes, file);
  EXPECT_EQ(service_.calls[0].params,
            (Json{{"room", "general"}, {"file_name", "photo 1.png"}, {"caption", "Door"}}));
}

TEST_F(ApiServerTest, ARawUploadNeedsAFileName) {
  auto r = request("POST", "/api/v1/upload?room=general", "bytes",
                   {{"Content-Type", "application/octet-stream"}});
  auto e = error_of(r, 400, "bad_request");
  EXPECT_NE(e["error"].get<std::string>().find("file_name"), std::string::npos);
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, AJsonUploadMayCarryTheFileInBase64BeyondMaxBodyKb) {
  // 600 KiB of base64: over max_body_kb (4) but within max_upload_mb (1) once decoded.
  const std::string body =
      Json{{"room", "general"}, {"file_name", "a.bin"}, {"content_base64", std::string(600 * 1024, 'A')}}
          .dump();
  auto r = request("POST", "/api/v1/upload", body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(data_of(r)["verb"], "upload");
  ASSERT_EQ(service_.calls.size(), 1u);
  EXPECT_EQ(service_.calls[0].params["content_base64"].get<std::string>().size(), 600u * 1024);
  EXPECT_EQ(service_.calls[0].bytes, "");
}

TEST_F(ApiServerTest, ARawUploadOverMaxUploadMbIs413) {
  // Over 1 MiB but under the server's own limit (the base64 size): our check answers.
  auto r = request("POST", "/api/v1/upload?room=general&file_name=a.bin",
                   std::string(1024 * 1024 + 10, 'x'),
                   {{"Content-Type", "application/octet-stream"}});
  auto e = error_of(r, 413, "too_large");
  EXPECT_NE(e["error"].get<std::string>().find("api.max_upload_mb"), std::string::npos);
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ApiServerTest, ABodyOverEveryLimitGetsTheEnvelopeFromTheServerItself) {
  auto r = request("POST", "/api/v1/upload?room=general&file_name=a.bin",
                   std::string(3 * 1024 * 1024, 'x'),
                   {{"Content-Type", "application/octet-stream"}});
  auto e = error_of(r, 413, "too_large");
  const std::string text = e["error"];
  EXPECT_NE(text.find("api.max_body_kb"), std::string::npos) << text;
  EXPECT_NE(text.find("api.max_upload_mb"), std::string::npos) << text;
  EXPECT_TRUE(service_.calls.empty());
}

// --- the service's answers ------------------------------------------------------------------

TEST_F(ApiServerTest, TheServicesStatusAndErrorsAreKept) {
  service_.script = [](const ApiCall& call, ApiService::Reply reply) {
    if (call.verb == "send") {
      return reply(ApiReply::success({{"status", "queued"}, {"id", "m1"}, {"position", 2}}, 202));
    }
    reply(ApiReply::failure(404, "not_found", "no device named 'garage': see GET /api/v1/devices"));
  };
  auto queued = request("POST", "/api/v1/send", R"({"room":"general","text":"hi"})");
  EXPECT_EQ(queued.status, 202);
  auto q = envelope_of(queued);
  EXPECT_EQ(q, (Json{{"status", "ok"}, {"data", {{"status", "queued"}, {"id", "m1"}, {"position", 2}}}}));
  auto missing = request("GET", "/api/v1/devices/garage");
  auto e = error_of(missing, 404, "not_found");
  EXPECT_EQ(e["error"], "no device named 'garage': see GET /api/v1/devices");
}

TEST_F(ApiServerTest, AServiceThatThrowsGets500InTheEnvelope) {
  service_.script = [](const ApiCall&, ApiService::Reply) { throw std::runtime_error("broken"); };
  auto r = request("GET", "/api/v1/health");
  auto e = error_of(r, 500, "internal");
  EXPECT_NE(e["error"].get<std::string>().find("broken"), std::string::npos);
}

TEST_F(ApiServerTest, ALongPollIsAnsweredLater) {
  net::Timer later(loop_);
  service_.script = [&](const ApiCall& call, ApiService::Reply reply) {
    later.start(700ms, [reply, id = call.params["id"]] {
      reply(ApiReply::success({{"id", id}, {"status", "answered"}, {"answer", "Yes"}}));
    });
  };
  const auto start = std::chrono::steady_clock::now();
  auto r = request("GET", "/api/v1/asks/q1?wait=3600");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 650ms);
  auto data = data_of(r);
  EXPECT_EQ(data["answer"], "Yes");
  EXPECT_EQ(data["id"], "q1");
  EXPECT_EQ(service_.calls.at(0).params["wait"], 3600);
}

TEST_F(ApiServerTest, AnAnswerAfterTheClientLeftIsHarmless) {
  ApiService::Reply kept;
  service_.script = [&](const ApiCall&, ApiService::Reply reply) { kept = std::move(reply); };
  on_thread(loop_, [port = server_->port()] {
    RawClient client(port);
    client.send("GET /api/v1/asks/q1?wait=60 HTTP/1.1\r\nHost: h\r\nX-API-Key: " + kKey +
                "\r\n\r\n");
    // The client gives up and closes before the answer.
  });
  ASSERT_TRUE(run_until(loop_, [&] { return static_cast<bool>(kept); }));
  loop_.run_for(50ms);
  kept(ApiReply::success({{"status", "answered"}}));
  kept(ApiReply::success({{"status", "again"}}));  // a second answer is ignored too
  loop_.run_for(100ms);
  // The server is still fine; and an answer after the server is gone is harmless as well.
  service_.script = nullptr;
  EXPECT_EQ(data_of(request("GET", "/api/v1/health"))["verb"], "health");
  server_.reset();
  kept(ApiReply::success({{"status", "late"}}));
  loop_.run_for(20ms);
}

TEST_F(ApiServerTest, StatusLinesAndHeadersOnTheWire) {
  const auto response = on_thread(loop_, [port = server_->port()] {
    RawClient client(port);
    client.send("DELETE /api/v1/users HTTP/1.1\r\nHost: h\r\nX-API-Key: " + kKey + "\r\n\r\n");
    return client.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Allow: GET\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("Content-Type: application/json\r\n"), std::string::npos) << response;
}

// --- starting -------------------------------------------------------------------------------

TEST_F(ApiServerTest, StartExplainsAPortInUse) {
  auto taken = settings_;
  taken.port = server_->port();
  ScriptedService other;
  ApiServer second(loop_, taken, other);
  try {
    second.start();
    FAIL() << "a second server started on the same port";
  } catch (const std::runtime_error& e) {
    const std::string text = e.what();
    EXPECT_EQ(text.rfind("cannot listen on 127.0.0.1:" + std::to_string(taken.port) + ": ", 0), 0u)
        << text;
    EXPECT_NE(text.find("in use"), std::string::npos) << text;
    EXPECT_NE(text.find("is another rcgate running? change api.port"), std::string::npos) << text;
  }
}

TEST_F(ApiServerTest, StartExplainsABadListenAddress) {
  auto bad = settings_;
  bad.listen = "localhost.example";
  ScriptedService other;
  ApiServer second(loop_, bad, other);
  try {
    second.start();
    FAIL() << "started on a name";
  } catch (const std::runtime_error& e) {
    const std::string text = e.what();
    EXPECT_EQ(text.rfind("cannot listen on localhost.example:0: ", 0), 0u) << text;
    EXPECT_NE(text.find("api.listen"), std::string::npos) << text;
  }
}

TEST_F(ApiServerTest, StartLogsWhereItListens) {
  LogCapture log;
  auto s = settings_;
  ScriptedService other;
  ApiServer third(loop_, s, other);
  third.start();
  EXPECT_NE(log.text().find("local API listening on http://127.0.0.1:" +
                            std::to_string(third.port())),
            std::string::npos)
      << log.text();
}

// --- the OpenAPI document -------------------------------------------------------------------

TEST(OpenApi, TheDocumentMatchesTheRoutesBothWays) {
  const Json doc = Json::parse(openapi_document());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + path);
    }
  }
  std::set<std::string> routed;
  for (const auto& r : api_routes()) routed.insert(r.method + " " + r.path);
  for (const auto& d : documented) EXPECT_TRUE(routed.count(d)) << d << " is documented but not routed";
  for (const auto& r : routed) EXPECT_TRUE(documented.count(r)) << r << " is routed but not documented";
  EXPECT_EQ(routed.size(), api_routes().size()) << "a route is listed twice";
}

TEST(OpenApi, OnlyTheDocumentItselfNeedsNoKey) {
  const Json doc = Json::parse(openapi_document());
  ASSERT_TRUE(doc["components"]["securitySchemes"].contains("bearerKey"));
  ASSERT_TRUE(doc["components"]["securitySchemes"].contains("headerKey"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["headerKey"]["name"], "X-API-Key");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerKey"]["scheme"], "bearer");
  for (const auto& r : api_routes()) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Json& op = doc["paths"][r.path][method];
    const bool open = op.contains("security") && op["security"].empty();
    EXPECT_EQ(open, r.verb.empty()) << r.method << " " << r.path;
  }
}

TEST(OpenApi, TheBuiltInDocumentIsTheSourceFile) {
  // A stale build (the document edited, the binary not rebuilt) fails here.
  std::ifstream in(std::string(RCGATE_SOURCE_DIR) + "/src/app/openapi.json", std::ios::binary);
  ASSERT_TRUE(in) << "cannot read src/app/openapi.json";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), openapi_document());
}

}  // namespace
}  // namespace rcgate::app
