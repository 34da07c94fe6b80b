// libFuzzer target: the local API's request handling without a socket (app::plan_api_request,
// which ApiServer serves every request through): routing, the key, body limits, the query
// string, the JSON body and their merge into ApiCall. The input is a request in a plain form:
//   <METHOD> <target>\n<Header>: <value>\n...\n\n<body>
// The call that comes out is checked the way app::Scenarios starts to read it (params an object,
// durations through config::duration_from_text); Scenarios itself needs a running gateway
// (Rocket.Chat client, outbound queue on disk), so the verbs themselves are not run here.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/api.hpp"
#include "app/api_server.hpp"
#include "config/loader.hpp"
#include "net/http.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_api_request: %s\n", what);
  std::abort();
}

rcgate::net::ServerRequest request_from(std::string_view text) {
  rcgate::net::ServerRequest r;
  const auto first_eol = text.find('\n');
  const std::string_view line = text.substr(0, first_eol);
  const auto space = line.find(' ');
  r.method = std::string(line.substr(0, space));
  r.target = space == std::string_view::npos ? "/" : std::string(line.substr(space + 1));
  rcgate::net::split_target(r.target, r.path, r.query);
  if (r.path.empty() || r.path.front() != '/') r.path.insert(0, "/");  // as the HTTP server does
  text = first_eol == std::string_view::npos ? std::string_view{} : text.substr(first_eol + 1);
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view h = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (h.empty()) break;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(h.substr(0, colon)), std::string(value));
  }
  r.body = std::string(text);
  r.remote_address = "127.0.0.1";
  r.remote_port = 40000;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace app = rcgate::app;
  using Kind = app::ApiRequestPlan::Kind;
  static const rcgate::config::ApiSettings settings = [] {
    rcgate::config::ApiSettings s;
    s.enabled = true;
    s.key = "fuzz-api-key-0123456789abcdef";
    s.max_body_kb = 4;  // small limits, so that inputs can reach them
    s.max_upload_mb = 1;
    return s;
  }();

  const auto request = request_from(std::string_view(reinterpret_cast<const char*>(data), size));
  const app::ApiRequestPlan plan = app::plan_api_request(request, settings);
  switch (plan.kind) {
    case Kind::Document:
      if (request.method != "GET") fail("the document served to a method other than GET");
      break;
    case Kind::Answer: {
      if (plan.reply.ok()) fail("an immediate answer that is not an error");
      if (plan.reply.error.empty()) fail("an error answer without a sentence");
      // What ApiServer sends: the envelope, invalid UTF-8 replaced.
      (void)app::envelope(plan.reply).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
    }
    case Kind::Call: {
      if (plan.call.verb.empty()) fail("a call without a verb");
      if (!plan.call.params.is_object()) fail("a call whose params are not an object");
      if (!plan.call.bytes.empty() && plan.call.verb != "upload") fail("bytes for a non-upload");
      for (const char* key : {"wait", "ttl", "timeout"}) {
        const auto it = plan.call.params.find(key);
        if (it == plan.call.params.end() || !it->is_string()) continue;
        std::string error;
        const auto d = rcgate::config::duration_from_text(it->get<std::string>(), error, true);
        if (!d && error.empty()) fail("duration_from_text refused without saying why");
        if (d && d->count() < 0) fail("a negative duration");
      }
      (void)plan.call.params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
    }
  }
  return 0;
}
