#include "plugin_test_support.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace rcgate::plugin_test {

bool run_until(net::Loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (loop.stopped()) loop.restart();
    loop.run_for(5ms);
  }
  return done();
}

net::ServerResponse json_response(int status, const Json& body) {
  net::ServerResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = body.dump();
  return response;
}

net::ServerResponse text_response(int status, std::string body, std::string content_type) {
  net::ServerResponse response;
  response.status = status;
  if (!content_type.empty()) response.headers = {{"Content-Type", std::move(content_type)}};
  response.body = std::move(body);
  return response;
}

FakeServer::FakeServer(net::Loop& loop, Handler handler)
    : handler_(std::make_shared<Handler>(std::move(handler))), server_(loop, {}) {
  server_.on_request([this, handler = handler_](const net::ServerRequest& request,
                                                net::Respond respond) {
    requests.push_back(request);
    (*handler)(request, std::move(respond));
  });
  server_.start();
}

FakeServer::~FakeServer() { server_.stop(); }

Json FakeServer::body_json(std::size_t index) const {
  if (index >= requests.size()) return Json(Json::value_t::discarded);
  return Json::parse(requests[index].body, nullptr, false);
}

std::uint16_t closed_port(net::Loop& loop) {
  net::HttpServer server(loop, {});
  server.start();
  const auto port = server.port();
  server.stop();
  return port;
}

void release_held(net::Loop& loop, std::vector<net::Respond>& held) {
  for (auto& respond : held) respond(text_response(503, "test over"));
  run_until(loop, [] { return false; }, 20ms);
}

bool CapturingLog::contains(const std::string& part) const {
  for (const auto& line : lines) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string CapturingLog::all() const {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TestContext::TestContext(net::Loop& loop, Json config)
    : config_(std::move(config)), http_(loop), clock_(loop) {}

Query make_query(std::string text, std::string user, std::string room_id, std::string room_name) {
  Query q;
  q.text = std::move(text);
  static int counter = 0;
  q.message_id = "msg-" + std::to_string(++counter);
  q.rc_username = user;
  for (auto& c : q.rc_username) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  q.rc_user_id = "uid-" + q.rc_username;
  q.rc_display_name = user + " Example";
  q.automation_user = std::move(user);
  q.room_id = std::move(room_id);
  q.room_name = std::move(room_name);
  q.room_type = "c";
  q.device_id = q.room_id;
  return q;
}

std::optional<Answer> ask(net::Loop& loop, InteractionEngine& engine, const Query& query,
                          std::chrono::milliseconds timeout) {
  auto calls = std::make_shared<int>(0);
  auto answer = std::make_shared<std::optional<Answer>>();
  engine.ask(query, [calls, answer](Answer a) {
    ++*calls;
    *answer = std::move(a);
  });
  run_until(loop, [&] { return *calls > 0; }, timeout);
  // A second call would be a bug: give it a moment to show up.
  if (*calls > 0) run_until(loop, [&] { return *calls > 1; }, 20ms);
  EXPECT_LE(*calls, 1) << "done was called " << *calls << " times";
  return *answer;
}

const char* kind_name(Answer::Kind kind) {
  switch (kind) {
    case Answer::Kind::Replied: return "Replied";
    case Answer::Kind::NotMine: return "NotMine";
    case Answer::Kind::Failed: return "Failed";
  }
  return "?";
}

void PluginFixture::TearDown() {
  release_held(loop_, held_);
  plugin_.reset();
  context_.reset();
}

Json PluginFixture::config(Json extra) const {
  Json section = base_section();
  section.update(extra);
  return section;
}

InteractionEngine& PluginFixture::start(Json section) {
  context_ = std::make_unique<TestContext>(loop_, std::move(section));
  plugin_ = info_.create(*context_);
  plugin_->start();
  EXPECT_EQ(context_->engines.size(), 1u);
  return *context_->engines.at(0);
}

Answer PluginFixture::answer(InteractionEngine& engine, const Query& query) {
  auto a = ask(loop_, engine, query);
  EXPECT_TRUE(a.has_value()) << "no answer for '" << query.text << "'";
  return a.value_or(Answer::failed("no answer"));
}

std::string issue_lines(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& issue : issues) out += issue.path + ": " + issue.message + "\n";
  return out;
}

}  // namespace rcgate::plugin_test
