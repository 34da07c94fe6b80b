// libFuzzer target: REST responses as rcgate reads them. The input is an HTTP response in a
// plain form:
//   <status>\n<Header>: <value>\n...\n\n<body>
// interpret_response turns it into a RestResult (errors, 429 waits); messages in the body
// (history's "messages", send's "message", or the body itself) go through parse_rest_message.
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http.hpp"
#include "rocketchat/message.hpp"
#include "rocketchat/rest_client.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_rest_message: %s\n", what);
  std::abort();
}

rcgate::net::HttpResponse response_from(std::string_view text) {
  rcgate::net::HttpResponse r;
  const auto first_eol = text.find('\n');
  const std::string_view status = text.substr(0, first_eol);
  int code = 200;
  std::from_chars(status.data(), status.data() + status.size(), code);
  r.status = code;
  text = first_eol == std::string_view::npos ? std::string_view{} : text.substr(first_eol + 1);
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty()) break;  // the blank line before the body
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  r.body = std::string(text);
  return r;
}

void read_message(const nlohmann::json& m) {
  rcgate::rc::RoomMeta meta;
  meta.present = true;
  meta.room_type = "c";
  meta.room_name = "general";
  std::string why;
  const auto message = rcgate::rc::parse_rest_message(m, meta, &why);
  if (!message && why.empty()) fail("parse_rest_message refused a message without saying why");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rc = rcgate::rc;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto response = response_from(text);
  // A fixed "now" near the fixtures' times, so that X-RateLimit-Reset differences are realistic.
  const rc::RestResult result = rc::interpret_response(response, 1773136800000);
  if (result.status != response.status) fail("the status changed");
  const bool failed = response.status < 200 || response.status >= 300;
  if (failed && result.ok()) fail("an HTTP error status came out as success");
  if (result.retry_after_ms && *result.retry_after_ms < 0) fail("a negative wait after a 429");
  if (response.status == 429 && !result.retry_after_ms) fail("a 429 without a wait");

  const auto& body = result.body;
  if (body.is_object()) {
    if (const auto ms = body.find("messages"); ms != body.end() && ms->is_array()) {
      for (const auto& m : *ms) read_message(m);
    }
    if (const auto m = body.find("message"); m != body.end()) read_message(*m);
    read_message(body);
  }
  if (response.body.size() < 64) (void)rc::parse_iso_time(response.body);
  return 0;
}
