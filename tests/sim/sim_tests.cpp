// Smoke tests of rcgate-sim: the real binary on 127.0.0.1 port 0, spoken to over real sockets
// with rcgate's own WebSocket and HTTP clients. Frame shapes are checked against the fixtures.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/url.hpp"
#include "net/http_auth.hpp"
#include "net/http_client.hpp"
#include "net/loop.hpp"
#include "support/run_loop.hpp"
#include "net/ws_client.hpp"
#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace rcgate::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBotId = "BCmeyJm2r6b8hJiie";
constexpr const char* kAliceId = "t7EgqqFfkzCDKZrLg";
constexpr const char* kBotPat = "eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb";
// sha-256 of "bot-password" (the fixture's digest is illustrative, not of this password).
constexpr const char* kBotDigest = "20b49afc69f90d1be762fd7257d7cf7992a26288ea40f1c833ebc3393a36a147";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One DDP connection to the simulator, recording every frame it receives.
class Peer {
 public:
  Peer(net::Loop& loop, int port) : loop_(loop) {
    net::WsClientHandlers h;
    h.on_open = [this] { open = true; };
    h.on_message = [this](std::string_view text) { frames.push_back(json::parse(text)); };
    h.on_close = [this](const std::string& why) {
      closed = true;
      close_reason = why;
    };
    ws_ = net::WsClient::create(loop, *parse_url("ws://127.0.0.1:" + std::to_string(port) + "/websocket"), {},
                                std::move(h));
    ws_->connect();
  }
  ~Peer() { ws_->close(); }

  void send(const json& frame) { ASSERT_TRUE(ws_->send(frame.dump())) << frame.dump(); }
  void send_raw(const std::string& text) { ASSERT_TRUE(ws_->send(text)) << text; }

  // The first frame at or after `from_` matching pred; consumed frames are skipped next time.
  json expect(const std::function<bool(const json&)>& pred, const std::string& what,
              std::chrono::milliseconds limit = 5s) {
    std::size_t found = 0;
    const bool ok = run_until(loop_, [&] {
      for (std::size_t i = next_; i < frames.size(); ++i) {
        if (pred(frames[i])) {
          found = i;
          return true;
        }
      }
      return false;
    }, limit);
    if (!ok) {
      ADD_FAILURE() << "no frame: " << what << "\nframes so far: " << json(frames).dump();
      return json();
    }
    next_ = found + 1;
    return frames[found];
  }
  json expect_msg(const std::string& msg, const std::string& id = {}) {
    return expect([&](const json& f) { return f.value("msg", "") == msg && (id.empty() || f.value("id", "") == id); },
                  msg + " " + id);
  }
  json connect() {
    EXPECT_TRUE(run_until(loop_, [&] { return open; })) << close_reason;
    send(json::parse(R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})"));
    return expect_msg("connected");
  }
  json call(const std::string& id, const std::string& method, const json& params) {
    send({{"msg", "method"}, {"id", id}, {"method", method}, {"params", params}});
    json result = expect_msg("result", id);
    json updated = expect([&](const json& f) { return f.value("msg", "") == "updated"; }, "updated " + id);
    EXPECT_EQ(updated["methods"], json::array({id}));
    return result;
  }
  json login_pat() { return call("login-pat", "login", json::array({{{"resume", kBotPat}}})); }

  bool open = false;
  bool closed = false;
  std::string close_reason;
  std::vector<json> frames;

 private:
  net::Loop& loop_;
  std::shared_ptr<net::WsClient> ws_;
  std::size_t next_ = 0;
};

// The server frames of a fixture, by position.
json fixture_server(const std::string& name, std::size_t i) { return fixture(name)["server"].at(i); }

// Blocking REST through rcgate's HttpClient.
net::HttpResponse rest(net::Loop& loop, int port, const std::string& method, const std::string& target,
                       const json& body = nullptr, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  net::HttpClient client(loop, *parse_url("http://127.0.0.1:" + std::to_string(port)));
  net::HttpRequest request;
  request.method = method;
  request.target = target;
  for (const auto& h : headers) request.headers.push_back(h);
  if (!body.is_null()) {
    request.body = body.dump();
    request.headers.emplace_back("Content-Type", "application/json");
  }
  std::optional<net::HttpResponse> response;
  client.request(request, [&](net::HttpResponse r) { response = std::move(r); });
  EXPECT_TRUE(run_until(loop, [&] { return response.has_value(); })) << method << " " << target;
  return response.value_or(net::HttpResponse{});
}

net::Headers bot_auth() { return {{"X-User-Id", kBotId}, {"X-Auth-Token", kBotPat}}; }

TEST(SimHandshake, ConnectPingAndProtocolErrors) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  ASSERT_TRUE(run_until(loop, [&] { return peer.open; })) << peer.close_reason;
  peer.send({{"msg", "ping"}});
  EXPECT_EQ(peer.expect_msg("error")["reason"], "Must connect first");
  const json connected = peer.connect();
  ASSERT_TRUE(connected["session"].is_string());
  EXPECT_EQ(connected["session"].get<std::string>().size(), 17u);
  EXPECT_EQ(peer.frames.front().value("msg", ""), "error") << "no greeting unless configured";

  peer.send({{"msg", "ping"}, {"id", "p1"}});
  EXPECT_EQ(peer.expect_msg("pong"), json({{"msg", "pong"}, {"id", "p1"}}));
  peer.send_raw("{not json");
  EXPECT_EQ(peer.expect_msg("error"), json({{"msg", "error"}, {"reason", "Parse error"}}));
  peer.send({{"hello", 1}});
  const json bad = peer.expect_msg("error");
  EXPECT_EQ(bad["reason"], "Bad request");
  EXPECT_EQ(bad["offendingMessage"], json({{"hello", 1}}));
  EXPECT_EQ(peer.call("m1", "noSuchMethod", json::array())["error"],
            json::parse(R"({"isClientSafe":true,"error":404,"reason":"Method 'noSuchMethod' not found",)"
                        R"("message":"Method 'noSuchMethod' not found [404]","errorType":"Meteor.Error"})"));
  EXPECT_GE(sim.stats()["pings_received"].get<int>(), 1);
}

TEST(SimHandshake, GreetingAndVersionNegotiation) {
  Sim sim;
  sim.post("settings", {{"greeting", true}});
  net::Loop loop;
  Peer greeted(loop, sim.http_port());
  greeted.connect();
  EXPECT_EQ(greeted.frames.at(0), fixture_server("handshake.json", 0));

  Peer old(loop, sim.http_port());
  ASSERT_TRUE(run_until(loop, [&] { return old.open; }));
  old.send(json::parse(R"({"msg":"connect","version":"pre1","support":["1","pre1"]})"));
  EXPECT_EQ(old.expect_msg("failed"), json({{"msg", "failed"}, {"version", "1"}}));
  EXPECT_TRUE(run_until(loop, [&] { return old.closed; })) << "a failed connect closes the socket";
}

TEST(SimHandshake, ServerPingsASilentClientThenCloses) {
  Sim sim({"--heartbeat-ms", "200"});
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(peer.expect_msg("ping"), fixture_server("handshake.json", 2));
  ASSERT_TRUE(run_until(loop, [&] { return peer.closed; }, 3s));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 350ms) << "ping after 200 ms of silence, close after 200 ms more";
}

TEST(SimLogin, PasswordDigestPlainResumePatAndTokenCounting) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  json params = fixture("login-result.json")["client"][0]["params"];
  params[0]["password"]["digest"] = kBotDigest;
  const json first = peer.call("1", "login", params);
  const json expected = fixture_server("login-result.json", 0);
  ASSERT_TRUE(first.contains("result")) << first.dump();
  EXPECT_EQ(first["result"]["id"], kBotId);
  EXPECT_EQ(first["result"]["type"], "password");
  EXPECT_EQ(first["result"]["token"].get<std::string>().size(), expected["result"]["token"].get<std::string>().size());
  const std::int64_t expires = first["result"]["tokenExpires"]["$date"].get<std::int64_t>();
  EXPECT_NEAR(static_cast<double>(expires - now_ms()), 90.0 * 24 * 3600 * 1000, 60000.0);
  auto stats = sim.stats();
  EXPECT_EQ(stats["password_logins"], 1);
  EXPECT_EQ(stats["tokens"]["camera-bot"], 1);

  const json plain = peer.call("2", "login", json::parse(R"([{"user":{"username":"camera-bot"},"password":"bot-password"}])"));
  EXPECT_EQ(plain["result"]["type"], "password");
  EXPECT_NE(plain["result"]["token"], first["result"]["token"]) << "every password login mints a token";
  EXPECT_EQ(sim.stats()["tokens"]["camera-bot"], 2);

  const std::string token = first["result"]["token"];
  const json resumed = peer.call("3", "login", json::array({{{"resume", token}}}));
  EXPECT_EQ(resumed["result"]["token"], token);
  EXPECT_EQ(resumed["result"]["type"], "resume");
  EXPECT_EQ(resumed["result"]["tokenExpires"]["$date"], expires);

  // A PAT: same token back, no expiry (the monolith's invalid date).
  const json pat = peer.login_pat();
  EXPECT_EQ(pat["result"]["id"], kBotId);
  EXPECT_EQ(pat["result"]["token"], kBotPat);
  EXPECT_EQ(pat["result"]["tokenExpires"], json({{"$date", nullptr}}));
  stats = sim.stats();
  EXPECT_EQ(stats["resume_logins"], 2);
  EXPECT_EQ(stats["tokens"]["camera-bot"], 2) << "PATs are not counted, resumes mint nothing";

  const json unknown = peer.call("4", "login", json::parse(R"([{"resume":"expired-or-wrong-token"}])"));
  EXPECT_EQ(unknown["error"]["error"], 403);
  EXPECT_EQ(unknown["error"]["reason"], "You've been logged out by the server. Please log in again.");

  // Logout deletes the token this connection used.
  Peer other(loop, sim.http_port());
  other.connect();
  other.call("1", "login", json::array({{{"resume", token}}}));
  other.call("2", "logout", json::array());
  EXPECT_EQ(sim.stats()["tokens"]["camera-bot"], 1);
  EXPECT_EQ(other.call("3", "login", json::array({{{"resume", token}}}))["error"]["error"], 403);

  sim.post("tokens/expire", {{"user", "camera-bot"}});
  EXPECT_EQ(other.call("4", "login", json::array({{{"resume", plain["result"]["token"]}}}))["error"]["reason"],
            "Your session has expired. Please log in again.");
}

TEST(SimLogin, WrongPasswordTotpAndRateLimits) {
  Sim sim({"--flavour", "6"});
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  const json wrong = fixture("too-many-requests.json")["client"][1];
  json result = peer.call("8", "login", wrong["params"]);
  EXPECT_EQ(result, fixture_server("too-many-requests.json", 2)) << "flavour 6: Incorrect password";
  sim.post("settings", {{"flavour", 8}});
  result = peer.call("9", "login", wrong["params"]);
  EXPECT_EQ(result["error"]["reason"], "Something went wrong. Please check your credentials.");

  sim.post("users/update", {{"username", "alice"}, {"totp", true}});
  result = peer.call("10", "login", json::parse(R"([{"user":{"username":"alice"},"password":"alice-password"}])"));
  EXPECT_EQ(result["error"]["error"], "totp-required");
  EXPECT_EQ(result["error"]["details"]["method"], "totp");
  result = peer.call("11", "login", json::parse(R"([{"resume":"x"}])"));
  EXPECT_EQ(result["error"]["error"], 403);
  result = peer.call("12", "login", json::parse(R"([{"resume":"x"}])"));
  EXPECT_EQ(result["error"]["error"], 403);
  // Meteor's default: 5 login calls per 10 s per connection; the 6th is refused.
  result = peer.call("13", "login", json::parse(R"([{"resume":"x"}])"));
  ASSERT_EQ(result["error"]["error"], "too-many-requests") << result.dump();
  const std::int64_t ttr = result["error"]["details"]["timeToReset"];
  EXPECT_GT(ttr, 0);
  EXPECT_LE(ttr, 10000);
  const std::string seconds = std::to_string((ttr + 999) / 1000);
  EXPECT_EQ(result["error"]["reason"], "Error, too many requests. Please slow down. You must wait " + seconds +
                                           " seconds before trying again.");

  // Forced refusals on a fresh connection, with the configured timeToReset.
  sim.post("faults", {{"refuse_logins", 1}, {"time_to_reset_ms", 8712}});
  Peer fresh(loop, sim.http_port());
  fresh.connect();
  result = fresh.call("7", "login", json::array({{{"resume", kBotPat}}}));
  EXPECT_EQ(result, fixture_server("too-many-requests.json", 0));
  EXPECT_EQ(fresh.call("8", "login", json::array({{{"resume", kBotPat}}}))["result"]["id"], kBotId);
  const json stats = sim.stats();
  EXPECT_EQ(stats["refused_logins"], 2);
  EXPECT_EQ(stats["failed_logins"], 5);
}

TEST(SimStreams, MyMessagesWithMetaNosubAndUnsub) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  peer.login_pat();
  peer.send(fixture("channel-message-mention.json")["client"][0]);
  EXPECT_EQ(peer.expect_msg("ready"), fixture_server("channel-message-mention.json", 0));

  const json posted = sim.post("messages", {{"room", "general"}, {"user", "alice"},
                                            {"text", "@camera-bot snapshot please"}})["message"];
  const json event = peer.expect_msg("changed");
  const json expected = fixture_server("channel-message-mention.json", 1);
  EXPECT_EQ(event["collection"], expected["collection"]);
  EXPECT_EQ(event["id"], "id");
  EXPECT_EQ(event["fields"]["eventName"], "__my_messages__");
  const json& args = event["fields"]["args"];
  const json& want = expected["fields"]["args"];
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[1], want[1]) << "meta for a channel the bot is in";
  const json& msg = args[0];
  EXPECT_EQ(msg["_id"], posted["_id"]);
  for (const auto& [key, value] : want[0].items()) EXPECT_TRUE(msg.contains(key)) << "missing " << key;
  for (const char* key : {"rid", "msg", "u", "urls", "mentions", "channels", "md"}) {
    EXPECT_EQ(msg[key], want[0][key]) << key;
  }

  // A public channel the bot has not joined still streams, as not a participant.
  sim.post("messages", {{"room", "lobby"}, {"user", "bob"}, {"text", "hi all"}});
  EXPECT_EQ(peer.expect_msg("changed")["fields"]["args"][1],
            json({{"roomParticipant", false}, {"roomType", "c"}, {"roomName", "lobby"}}));
  // A DM: rid = sorted ids, no roomName.
  const json dm = sim.post("messages", {{"to", "camera-bot"}, {"user", "alice"}, {"text", "snapshot"}})["message"];
  const json dm_event = peer.expect_msg("changed");
  EXPECT_EQ(dm_event["fields"]["args"][0]["rid"], std::string(kBotId) + kAliceId);
  EXPECT_EQ(dm_event["fields"]["args"][1], fixture_server("dm-message.json", 0)["fields"]["args"][1]);
  EXPECT_EQ(dm_event["fields"]["args"][0]["md"], fixture_server("dm-message.json", 0)["fields"]["args"][0]["md"]);

  // Edits and reactions are re-broadcast with the same _id.
  sim.post("messages/edit", {{"id", posted["_id"]}, {"text", "@camera-bot snapshot of the garage please"}});
  const json edited = peer.expect_msg("changed")["fields"]["args"][0];
  const json want_edit = fixture_server("edited-message.json", 0)["fields"]["args"][0];
  EXPECT_EQ(edited["_id"], posted["_id"]);
  EXPECT_EQ(edited["md"], want_edit["md"]);
  EXPECT_EQ(edited["editedBy"], want_edit["editedBy"]);
  EXPECT_EQ(edited["ts"], posted["ts"]);

  // Refusals exactly as the fixture.
  const json refusals = fixture("nosub-not-allowed.json");
  for (const auto& frame : refusals["client"]) peer.send(frame);
  EXPECT_EQ(peer.expect_msg("nosub", "s9"), fixture_server("nosub-not-allowed.json", 0));
  EXPECT_EQ(peer.expect_msg("nosub", "s10"), fixture_server("nosub-not-allowed.json", 1));

  peer.send({{"msg", "unsub"}, {"id", "s1"}});
  EXPECT_EQ(peer.expect_msg("nosub", "s1"), json({{"msg", "nosub"}, {"id", "s1"}}));
  EXPECT_EQ(sim.stats()["subscriptions"].size(), 0u);
}

TEST(SimStreams, NotifyUserRoomMembershipEvents) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  peer.login_pat();
  const json membership = fixture("rooms-changed-inserted.json");
  for (const auto& frame : membership["client"]) peer.send(frame);
  EXPECT_EQ(peer.expect_msg("ready", ""), fixture_server("rooms-changed-inserted.json", 0));
  EXPECT_EQ(peer.expect_msg("ready", ""), fixture_server("rooms-changed-inserted.json", 1));
  sim.post("rooms", {{"name", "garage"}, {"type", "p"}, {"members", {"alice"}}});
  sim.post("rooms/add-member", {{"room", "garage"}, {"user", "camera-bot"}});
  const json sub = peer.expect_msg("changed")["fields"];
  EXPECT_EQ(sub["eventName"], std::string(kBotId) + "/subscriptions-changed");
  EXPECT_EQ(sub["args"][0], "inserted");
  const json want_sub = fixture_server("rooms-changed-inserted.json", 2)["fields"]["args"][1];
  for (const auto& [key, value] : want_sub.items()) EXPECT_TRUE(sub["args"][1].contains(key)) << "sub " << key;
  const json room = peer.expect_msg("changed")["fields"];
  EXPECT_EQ(room["eventName"], std::string(kBotId) + "/rooms-changed");
  EXPECT_EQ(room["args"][0], "inserted");
  const json want_room = fixture_server("rooms-changed-inserted.json", 3)["fields"]["args"][1];
  for (const auto& [key, value] : want_room.items()) EXPECT_TRUE(room["args"][1].contains(key)) << "room " << key;
  EXPECT_EQ(room["args"][1]["name"], "garage");
  EXPECT_EQ(room["args"][1]["u"]["username"], "alice");

  sim.post("rooms/remove-member", {{"room", "garage"}, {"user", "camera-bot"}});
  const json removed = peer.expect_msg("changed")["fields"];
  EXPECT_EQ(removed["args"][0], "removed");
  EXPECT_EQ(removed["args"][1]["rid"], room["args"][1]["_id"]);
}

TEST(SimMethods, SendMessageIdempotentStrictAndRoomLists) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  peer.login_pat();
  const json root = sim.post("messages", {{"room", "general"}, {"user", "alice"}, {"text", "@camera-bot hi"},
                                          {"id", "gwfL9C5wjoXJTF6Yr"}})["message"];
  const json call = fixture("send-message-result.json")["client"][0];
  const json sent = peer.call("12", "sendMessage", call["params"]);
  const json want = fixture_server("send-message-result.json", 0)["result"];
  ASSERT_TRUE(sent.contains("result")) << sent.dump();
  for (const char* key : {"_id", "rid", "msg", "tmid", "u", "urls", "mentions", "channels", "md"}) {
    EXPECT_EQ(sent["result"][key], want[key]) << key;
  }
  const json again = peer.call("13", "sendMessage", call["params"]);
  EXPECT_EQ(again, json({{"msg", "result"}, {"id", "13"}})) << "a duplicate _id returns no result";
  const json stored = sim.get("messages?room=general")["messages"];
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0]["_id"], root["_id"]);
  EXPECT_EQ(stored[0]["tcount"], 1) << "thread root counters";

  const json strict = peer.call("14", "sendMessage", json::parse(R"([{"rid":"GENERAL","msg":"x","alias":"Cam"}])"));
  EXPECT_EQ(strict["error"]["error"], 400);
  EXPECT_EQ(strict["error"]["reason"], "Match failed");

  const json subs = peer.call("15", "subscriptions/get", json::array());
  ASSERT_TRUE(subs["result"].is_array());
  EXPECT_EQ(subs["result"].size(), 2u) << "general and camera-alerts";
  const json dated = peer.call("16", "rooms/get", json::array({{{"$date", 0}}}));
  EXPECT_TRUE(dated["result"]["update"].is_array());
  EXPECT_TRUE(dated["result"]["remove"].is_array());
  const json dm = peer.call("17", "createDirectMessage", json::array({"alice"}));
  EXPECT_EQ(dm["result"]["rid"], std::string(kBotId) + kAliceId);
  EXPECT_EQ(dm["result"]["t"], "d");
  EXPECT_FALSE(dm["result"].contains("_id"));
  EXPECT_EQ(peer.call("18", "UserPresence:setDefaultStatus", json::array({"online"}))["result"], true);
}

TEST(SimRest, InfoMeLoginSendMessageAndRateLimit) {
  Sim sim;
  net::Loop loop;
  const int port = sim.http_port();
  auto r = rest(loop, port, "GET", "/api/info");
  EXPECT_EQ(json::parse(r.body), json({{"version", "8.8"}, {"success", true}}));

  r = rest(loop, port, "GET", "/api/v1/me");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body), json({{"status", "error"}, {"message", "You must be logged in to do this."}}));
  r = rest(loop, port, "GET", "/api/v1/me", nullptr, bot_auth());
  ASSERT_EQ(r.status, 200) << r.body;
  json me = json::parse(r.body);
  EXPECT_EQ(me["_id"], kBotId);
  EXPECT_EQ(me["roles"], json::array({"bot"}));
  EXPECT_EQ(me["success"], true);

  r = rest(loop, port, "POST", "/api/v1/login", {{"user", "camera-bot"}, {"password", "nope"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body), json({{"status", "error"}, {"error", "Unauthorized"}, {"message", "Unauthorized"}}));
  r = rest(loop, port, "POST", "/api/v1/login", {{"username", "alice"}, {"password", "alice-password"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json login = json::parse(r.body);
  EXPECT_EQ(login["status"], "success");
  EXPECT_EQ(login["data"]["userId"], kAliceId);
  EXPECT_EQ(login["data"]["me"]["username"], "alice");
  EXPECT_EQ(sim.stats()["tokens"]["alice"], 1);
  const net::Headers alice = {{"X-User-Id", kAliceId}, {"X-Auth-Token", login["data"]["authToken"]}};

  // 10 calls per minute per route for a user without the bot role, then 429.
  for (int i = 1; i <= 10; ++i) {
    r = rest(loop, port, "GET", "/api/v1/me", nullptr, alice);
    ASSERT_EQ(r.status, 200) << "call " << i;
    EXPECT_EQ(r.header("X-RateLimit-Remaining"), std::to_string(10 - i));
  }
  r = rest(loop, port, "GET", "/api/v1/me", nullptr, alice);
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("X-RateLimit-Limit"), "10");
  EXPECT_EQ(r.header("X-RateLimit-Remaining"), "0");
  const std::int64_t reset = std::stoll(std::string(r.header("X-RateLimit-Reset")));
  EXPECT_GT(reset, now_ms());
  EXPECT_LE(reset, now_ms() + 60000);
  const json body = json::parse(r.body);
  const json want = fixture_server("rest-429.json", 0)["body"];
  EXPECT_EQ(body["success"], want["success"]);
  EXPECT_TRUE(std::regex_match(body["error"].get<std::string>(),
                               std::regex(R"(Error, too many requests\. Please slow down\. You must wait \d+ seconds )"
                                          R"(before trying this endpoint again\. \[error-too-many-requests\])")))
      << body.dump();
  // Another route has its own budget; the bot bypasses the limiter.
  EXPECT_EQ(rest(loop, port, "GET", "/api/v1/rooms.get", nullptr, alice).status, 200);
  for (int i = 0; i < 12; ++i) {
    r = rest(loop, port, "GET", "/api/v1/me", nullptr, bot_auth());
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.header("X-RateLimit-Limit").empty());
  }

  // chat.sendMessage: top-level keys checked on 8.x, the stored message comes back with ISO dates.
  r = rest(loop, port, "POST", "/api/v1/chat.sendMessage",
           {{"message", {{"rid", "GENERAL"}, {"msg", "x"}}}, {"roomId", "GENERAL"}}, bot_auth());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body), json({{"success", false},
                                       {"error", "must NOT have additional properties [invalid-params]"},
                                       {"errorType", "invalid-params"}}));
  r = rest(loop, port, "POST", "/api/v1/chat.sendMessage",
           {{"message", {{"_id", "Hq4Wm8SbYzK3tRf7N"}, {"rid", "GENERAL"}, {"msg", "@alice look"}, {"alias", "Cam"}}}},
           bot_auth());
  ASSERT_EQ(r.status, 200) << r.body;
  const json sent = json::parse(r.body);
  EXPECT_EQ(sent["success"], true);
  EXPECT_EQ(sent["message"]["_id"], "Hq4Wm8SbYzK3tRf7N");
  EXPECT_EQ(sent["message"]["alias"], "Cam");
  EXPECT_TRUE(std::regex_match(sent["message"]["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  r = rest(loop, port, "POST", "/api/v1/chat.sendMessage",
           {{"message", {{"_id", "Hq4Wm8SbYzK3tRf7N"}, {"rid", "GENERAL"}, {"msg", "again"}}}}, bot_auth());
  EXPECT_EQ(json::parse(r.body)["message"]["msg"], "@alice look") << "idempotent _id";

  r = rest(loop, port, "GET", "/api/v1/channels.history?roomId=GENERAL&count=5", nullptr, bot_auth());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["messages"][0]["_id"], "Hq4Wm8SbYzK3tRf7N") << "newest first";
  r = rest(loop, port, "GET", "/api/v1/settings.public?_id=FileUpload_MaxFileSize");
  EXPECT_EQ(json::parse(r.body)["settings"],
            json::parse(R"([{"_id":"FileUpload_MaxFileSize","value":104857600}])"));
  r = rest(loop, port, "POST", "/api/v1/chat.postMessage", nullptr, bot_auth());
  EXPECT_EQ(r.status, 400) << "an empty body names no room";
  r = rest(loop, port, "POST", "/api/v1/im.create", nullptr, bot_auth());
  EXPECT_EQ(r.status, 400);
}

TEST(SimControl, DropConnectionsAndCleanExit) {
  Sim sim;
  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  peer.login_pat();
  EXPECT_EQ(sim.stats()["connections"], 1);
  EXPECT_EQ(sim.post("connections/drop")["dropped"], 1);
  EXPECT_TRUE(run_until(loop, [&] { return peer.closed; }));
  EXPECT_TRUE(eventually([&] { return sim.stats()["connections"] == 0; }));

  sim.post("faults", {{"refuse_connections", true}});
  Peer refused(loop, sim.http_port());
  EXPECT_TRUE(run_until(loop, [&] { return refused.closed; })) << "a refused connection is closed at once";
  sim.post("faults", {{"refuse_connections", false}});

  const json bad = json::parse(http_request(sim.http_port(), "POST", "/_sim/messages", "{\"room\":1}").body);
  EXPECT_EQ(bad["ok"], false);
  sim.process().signal(SIGTERM);
  EXPECT_EQ(sim.process().wait(5000ms), 0) << sim.log();
}

// ----- uploads (PROTOCOL.md §7.3)

// A multipart/form-data body as a client writes it: text fields, then one part per file.
struct Part {
  std::string name, value, file_name = {}, type = {};
};
std::string multipart(const std::vector<Part>& parts, const std::string& boundary = "SimB") {
  std::string out;
  for (const auto& p : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.file_name.empty()) out += "; filename=\"" + p.file_name + "\"\r\nContent-Type: " + p.type;
    out += "\r\n\r\n" + p.value + "\r\n";
  }
  return out + "--" + boundary + "--\r\n";
}

net::HttpResponse upload(net::Loop& loop, int port, const std::string& target, const std::string& body,
                         net::Headers headers = bot_auth()) {
  net::HttpClient client(loop, *parse_url("http://127.0.0.1:" + std::to_string(port)));
  net::HttpRequest request;
  request.method = "POST";
  request.target = target;
  request.headers = std::move(headers);
  request.headers.emplace_back("Content-Type", "multipart/form-data; boundary=SimB");
  request.body = body;
  std::optional<net::HttpResponse> response;
  client.request(request, [&](net::HttpResponse r) { response = std::move(r); });
  EXPECT_TRUE(run_until(loop, [&] { return response.has_value(); })) << target;
  return response.value_or(net::HttpResponse{});
}

std::string some_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + 7) % 256);
  return out;
}

TEST(SimUploads, MediaThenConfirmPostsTheFileMessageAndServesTheBytes) {
  Sim sim;
  net::Loop loop;
  const int port = sim.http_port();
  Peer peer(loop, port);
  peer.connect();
  peer.login_pat();
  peer.send(fixture("channel-message-mention.json")["client"][0]);
  peer.expect_msg("ready");

  const std::string image = some_bytes(183422);
  auto r = upload(loop, port, "/api/v1/rooms.media/c3f8a6a80a707dc9ce744b9d",
                  multipart({{"file", image, "snapshot-front-door.jpg", "image/jpeg"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json media = json::parse(r.body);
  EXPECT_EQ(media["success"], true);
  const std::string file_id = media["file"]["_id"];
  EXPECT_EQ(media["file"]["url"], "/file-upload/" + file_id + "/snapshot-front-door.jpg");
  json uploads = sim.get("uploads");
  ASSERT_EQ(uploads["uploads"].size(), 1u);
  EXPECT_EQ(uploads["uploads"][0]["size"], image.size());
  EXPECT_EQ(uploads["uploads"][0]["sha256"], net::sha256_hex(image));
  EXPECT_EQ(uploads["uploads"][0]["confirmed"], false);
  EXPECT_EQ(uploads["uploads"][0]["endpoint"], "rooms.media");

  // 8.x checks the confirm body's keys.
  r = rest(loop, port, "POST", "/api/v1/rooms.mediaConfirm/c3f8a6a80a707dc9ce744b9d/" + file_id,
           {{"msg", ""}, {"caption", "x"}}, bot_auth());
  EXPECT_EQ(r.status, 400) << r.body;
  r = rest(loop, port, "POST", "/api/v1/rooms.mediaConfirm/c3f8a6a80a707dc9ce744b9d/" + file_id,
           {{"msg", ""}, {"description", "Front door, motion detected"}}, bot_auth());
  ASSERT_EQ(r.status, 200) << r.body;
  const json message = json::parse(r.body)["message"];

  // The stream carries the fixture's shape.
  const json event = peer.expect_msg("changed");
  const json want = fixture_server("file-attachment-message.json", 0)["fields"]["args"];
  const json& got = event["fields"]["args"];
  EXPECT_EQ(got[1], want[1]);
  const json& msg = got[0];
  EXPECT_EQ(msg["_id"], message["_id"]);
  for (const auto& [key, value] : want[0].items()) EXPECT_TRUE(msg.contains(key)) << "missing " << key;
  for (const auto& [key, value] : want[0]["file"].items()) EXPECT_TRUE(msg["file"].contains(key)) << key;
  EXPECT_EQ(msg["file"], json({{"_id", file_id}, {"name", "snapshot-front-door.jpg"}, {"type", "image/jpeg"},
                               {"size", 183422}, {"format", "jpg"}}));
  EXPECT_EQ(msg["files"], json::array({msg["file"]}));
  const json& attachment = msg["attachments"][0];
  const json& want_attachment = want[0]["attachments"][0];
  for (const char* key : {"ts", "title", "title_link_download", "type", "description", "image_type",
                          "image_size"}) {
    EXPECT_EQ(attachment[key], want_attachment[key]) << key;
  }
  EXPECT_EQ(attachment["title_link"], "/file-upload/" + file_id + "/snapshot-front-door.jpg");
  EXPECT_EQ(attachment["image_url"], "/file-upload/" + file_id + "/snapshot-front-door.jpg");
  EXPECT_EQ(attachment["fileId"], file_id);
  EXPECT_EQ(msg["groupable"], false);
  EXPECT_EQ(sim.get("uploads")["uploads"][0]["message_id"], message["_id"]);

  // A second confirm of the same file is refused.
  r = rest(loop, port, "POST", "/api/v1/rooms.mediaConfirm/c3f8a6a80a707dc9ce744b9d/" + file_id,
           json::object(), bot_auth());
  EXPECT_EQ(json::parse(r.body)["errorType"], "invalid-file");

  // The bytes come back as they went in, to a logged-in member only.
  auto download = http_request(port, "GET", "/file-upload/" + file_id + "/snapshot-front-door.jpg", "",
                               {{"X-User-Id", kBotId}, {"X-Auth-Token", kBotPat}});
  EXPECT_EQ(download.status, 200);
  EXPECT_TRUE(download.body == image) << "the downloaded file differs";
  EXPECT_EQ(http_request(port, "GET", "/file-upload/" + file_id + "/snapshot-front-door.jpg").status, 403);
  EXPECT_EQ(http_request(port, "GET", "/file-upload/" + file_id + "/x.jpg?rc_uid=" + std::string(kBotId) +
                                          "&rc_token=" + kBotPat)
                .status,
            200);
  EXPECT_EQ(http_request(port, "GET", "/file-upload/nope/x.jpg", "",
                         {{"X-User-Id", kBotId}, {"X-Auth-Token", kBotPat}})
                .status,
            404);
}

TEST(SimUploads, LimitsTypesAndDisabledUploadsAreRefusedLikeTheServer) {
  Sim sim;
  net::Loop loop;
  const int port = sim.http_port();
  const std::string rooms_media = "/api/v1/rooms.media/GENERAL";
  sim.post("settings", {{"upload_max_bytes", 1000}});
  auto r = upload(loop, port, rooms_media, multipart({{"file", some_bytes(1001), "a.bin", "application/octet-stream"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body), json({{"success", false},
                                       {"error", "File size exceeds the allowed limit [error-file-too-large]"},
                                       {"errorType", "error-file-too-large"}}));
  r = upload(loop, port, rooms_media, multipart({{"file", some_bytes(1000), "a.bin", "application/octet-stream"}}));
  EXPECT_EQ(r.status, 200) << "exactly at the limit is accepted: " << r.body;
  r = rest(loop, port, "GET", "/api/v1/settings.public?_id=FileUpload_MaxFileSize");
  EXPECT_EQ(json::parse(r.body)["settings"][0]["value"], 1000);
  sim.post("settings", {{"upload_max_bytes", -1}});
  EXPECT_EQ(upload(loop, port, rooms_media, multipart({{"file", some_bytes(5000), "a.bin", "text/plain"}})).status,
            200)
      << "-1 is unlimited";

  sim.post("settings", {{"upload_media_types", "image/*, application/pdf"}});
  r = upload(loop, port, rooms_media, multipart({{"file", "hello", "a.txt", "text/plain"}}));
  EXPECT_EQ(json::parse(r.body)["errorType"], "error-invalid-file-type");
  EXPECT_EQ(upload(loop, port, rooms_media, multipart({{"file", "x", "a.png", "image/png"}})).status, 200);
  EXPECT_EQ(upload(loop, port, rooms_media, multipart({{"file", "x", "a.pdf", "application/pdf"}})).status, 200);
  sim.post("settings", {{"upload_media_types", ""}, {"upload_enabled", false}});
  r = upload(loop, port, rooms_media, multipart({{"file", "x", "a.png", "image/png"}}));
  EXPECT_EQ(json::parse(r.body)["error"], "File upload is disabled [error-file-upload-disabled]");
  sim.post("settings", {{"upload_enabled", true}});
  EXPECT_EQ(sim.get("uploads")["rejected"], 3);

  // One file, in the part `file`; a room the bot may not post to; no login.
  r = upload(loop, port, rooms_media, multipart({{"file", "x", "a.png", "image/png"}, {"file", "y", "b.png", "image/png"}}));
  EXPECT_EQ(json::parse(r.body)["errorType"], "invalid-field");
  r = upload(loop, port, rooms_media, multipart({{"attachment", "x", "a.png", "image/png"}}));
  EXPECT_EQ(json::parse(r.body)["errorType"], "invalid-field");
  r = upload(loop, port, rooms_media, multipart({{"msg", "no file"}}));
  EXPECT_EQ(json::parse(r.body)["errorType"], "invalid-field");
  r = upload(loop, port, rooms_media, "garbage");
  EXPECT_EQ(r.status, 400);
  sim.post("rooms", {{"name", "private"}, {"type", "p"}, {"members", {"alice"}}, {"id", "PRIVATEROOM"}});
  EXPECT_EQ(upload(loop, port, "/api/v1/rooms.media/PRIVATEROOM", multipart({{"file", "x", "a.png", "image/png"}})).status,
            403);
  EXPECT_EQ(upload(loop, port, rooms_media, multipart({{"file", "x", "a.png", "image/png"}}), {}).status, 401);
}

TEST(SimUploads, RoomsUploadOnlyOnOlderFlavoursAndMediaCanBeMissing) {
  Sim sim;
  net::Loop loop;
  const int port = sim.http_port();
  const std::string body = multipart({{"msg", "the garage"}, {"description", "door open"},
                                      {"file", "%PDF-1.4 report", "report.pdf", "application/pdf"}});
  auto r = upload(loop, port, "/api/v1/rooms.upload/GENERAL", body);
  EXPECT_EQ(r.status, 404) << "removed in 8.0";
  EXPECT_EQ(json::parse(r.body), json({{"status", "error"}, {"message", "API endpoint does not exist"}}));

  sim.post("settings", {{"flavour", 6}, {"rooms_media", false}});
  EXPECT_EQ(upload(loop, port, "/api/v1/rooms.media/GENERAL", body).status, 404);
  r = upload(loop, port, "/api/v1/rooms.upload/GENERAL", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json message = json::parse(r.body)["message"];
  EXPECT_EQ(message["msg"], "the garage");
  EXPECT_EQ(message["file"]["name"], "report.pdf");
  EXPECT_EQ(message["file"]["format"], "pdf");
  EXPECT_EQ(message["attachments"][0]["description"], "door open");
  EXPECT_EQ(message["attachments"][0]["title_link"], "/file-upload/" + message["file"]["_id"].get<std::string>() +
                                                         "/report.pdf");
  EXPECT_FALSE(message["attachments"][0].contains("image_url"));
  EXPECT_FALSE(message["attachments"][0].contains("fileId")) << "older servers";
  const json uploads = sim.get("uploads")["uploads"];
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0]["endpoint"], "rooms.upload");
  EXPECT_EQ(sim.get("uploads")["attempts"], json({{"rooms.media", 1}, {"rooms.mediaConfirm", 0}, {"rooms.upload", 2}}));
  EXPECT_EQ(uploads[0]["confirmed"], true);
  const json history = sim.get("messages?room=general")["messages"];
  EXPECT_EQ(history.back()["_id"], message["_id"]);
}

}  // namespace
}  // namespace rcgate::test

namespace rcgate::test {
namespace {

// The benchmark's household and load generator: rooms and users generated, messages streamed to
// the bot at a rate with every Nth a real mention, each mention timed until the bot's REST reply
// in that room; then a burst answered by its final mention.
TEST(SimLoad, GeneratedHouseholdRateAndBurstTimeTheBotsReplies) {
  Sim sim({"--generate-household", "3", "10"});
  const json rooms = sim.get("rooms")["rooms"];
  ASSERT_EQ(rooms.size(), 3u);
  std::set<std::string> people;
  for (const auto& r : rooms) {
    ASSERT_GE(r["members"].size(), 4u) << r.dump();
    EXPECT_EQ(r["members"][0], "camera-bot");
    for (const auto& m : r["members"]) people.insert(m.get<std::string>());
  }
  EXPECT_EQ(people.size(), 11u) << "every generated user is in a room";
  EXPECT_EQ(http_request(sim.http_port(), "POST", "/_sim/load/rate", R"({"rate":0})").status, 400);

  net::Loop loop;
  Peer peer(loop, sim.http_port());
  peer.connect();
  peer.login_pat();
  peer.send({{"msg", "sub"}, {"id", "s1"}, {"name", "stream-room-messages"}, {"params", {"__my_messages__", false}}});
  peer.expect_msg("ready");
  const json before = sim.get("load")["load"];
  EXPECT_EQ(before["bot_subscriptions"], 1);
  EXPECT_TRUE(before["bot_connected"].get<bool>());

  // Reads what arrived; answers every mention by REST in its room, like a bot.
  std::size_t seen = 0;
  int from_people = 0, answered = 0;
  std::set<std::string> ids;
  auto serve = [&] {
    while (seen < peer.frames.size()) {
      const json frame = peer.frames[seen++];
      if (frame.value("msg", "") != "changed") continue;
      const json m = frame["fields"]["args"][0];
      if (m["u"]["username"] == "camera-bot") continue;
      ++from_people;
      ids.insert(m["_id"].get<std::string>());
      EXPECT_EQ(frame["fields"]["args"][1]["roomParticipant"], true);
      if (m["mentions"].empty()) {
        EXPECT_EQ(m["msg"], "the washing machine has finished");
        continue;
      }
      EXPECT_EQ(m["msg"], "@camera-bot ping");
      EXPECT_EQ(m["mentions"][0]["username"], "camera-bot");
      const auto r = rest(loop, sim.http_port(), "POST", "/api/v1/chat.sendMessage",
                          {{"message", {{"rid", m["rid"]}, {"msg", "pong"}}}}, bot_auth());
      EXPECT_EQ(r.status, 200) << r.body;
      ++answered;
    }
  };
  sim.post("load/rate", {{"rate", 200}, {"seconds", 1}, {"mention_every", 10}});
  EXPECT_TRUE(run_until(loop, [&] {
    serve();
    return from_people == 200;
  }, 10s)) << from_people;
  EXPECT_EQ(answered, 20);
  EXPECT_EQ(ids.size(), 200u) << "every message has its own id";
  json load = sim.get("load")["load"];
  EXPECT_EQ(load["sent"], 200);
  EXPECT_EQ(load["mentions"], 20);
  EXPECT_EQ(load["replies"], 20);
  EXPECT_EQ(load["unmatched_replies"], 0);
  EXPECT_EQ(load["waiting"], 0);
  EXPECT_EQ(load["latency_us"]["count"], 20);
  EXPECT_GT(load["latency_us"]["p50"].get<double>(), 0.0);
  EXPECT_GE(load["latency_us"]["p99"].get<double>(), load["latency_us"]["p50"].get<double>());

  // A burst ends with one mention; its reply closes the burst.
  sim.post("load/reset");
  from_people = answered = 0;
  sim.post("load/burst", {{"count", 3000}});
  EXPECT_TRUE(run_until(loop, [&] {
    serve();
    return answered == 1;
  }, 20s)) << from_people;
  EXPECT_EQ(from_people, 3001);
  EXPECT_TRUE(run_until(loop, [&] { return sim.get("load")["load"]["burst"]["state"] == "done"; }));
  load = sim.get("load")["load"];
  EXPECT_EQ(load["sent"], 3001);
  EXPECT_GT(load["burst"]["rate"].get<double>(), 0.0);
  EXPECT_EQ(load["burst"]["count"], 3000);
}

}  // namespace
}  // namespace rcgate::test
