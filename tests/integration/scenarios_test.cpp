// Issue 4 end to end: the rcgate binary against rcgate-sim, driven through its local HTTP API as
// an automation would — sends to a device, a room and a person; asks answered by button text, by
// number, in another case and without accents, by the wrong person first; two asks at once; a
// timeout; alerts queued while Rocket.Chat is away (and across a restart) delivered once; an
// expired alert reported; a camera snapshot behind Digest auth; uploads over the server's limit
// and on a server without rooms.media.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "daemon.hpp"
#include "loopback_camera.hpp"

namespace rcgate::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kKey = "test-key-5f1c0e7a9b2d4c68";
constexpr const char* kAliceDm = "BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg";
constexpr const char* kCameraAlerts = "c3f8a6a80a707dc9ce744b9d";

json say(Sim& sim, const std::string& user, const std::string& room, const std::string& text) {
  return sim.post("messages", {{"user", user}, {"room", room}, {"text", text}})["message"];
}

json dm(Sim& sim, const std::string& user, const std::string& text) {
  return sim.post("messages", {{"user", user}, {"to", "camera-bot"}, {"text", text}})["message"];
}

// A camera served from its own thread, so that the daemon (another process) can fetch from it
// while the test waits on blocking calls.
class CameraThread {
 public:
  CameraThread() : camera_(loop_, LoopbackCamera::Mode::Digest, "JPEG-BYTES-FROM-THE-DOOR") {
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~CameraThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
  }
  std::string url() const { return camera_.url(); }
  // Read only after stop().
  const LoopbackCamera& camera() const { return camera_; }

 private:
  net::Loop loop_;
  LoopbackCamera camera_;
  std::thread thread_;
};

// An automation's webhook on 127.0.0.1, on its own thread: records what is POSTed to it and
// answers with `answer` (which runs on the webhook's thread), by default {}.
class Webhook {
 public:
  using Answer = std::function<net::ServerResponse(const net::ServerRequest&)>;
  explicit Webhook(Answer answer = {}) : answer_(std::move(answer)), server_(loop_, net::HttpServerOptions{}) {
    server_.on_request([this](const net::ServerRequest& req, net::Respond respond) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        bodies_.push_back(req.method + " " + req.target + " " + req.body);
      }
      if (answer_) return respond(answer_(req));
      respond({200, {{"Content-Type", "application/json"}}, "{}"});
    });
    server_.start();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~Webhook() {
    loop_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/hooks/garage?token=s3cret";
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }

 private:
  Answer answer_;
  net::Loop loop_;
  net::HttpServer server_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

class Scenarios : public ::testing::Test {
 protected:
  Sim sim;
  TempDir dir;
  std::unique_ptr<Daemon> daemon;
  int port = 0;

  std::string files_dir() const { return dir.file("allowed"); }
  int max_items = 0;  // outbox.max_items when set

  // extra: top-level sections; plugin: a plugin section, which is also asked after the rules.
  void start(const std::string& extra = {}, const std::string& plugin = {}) {
    fs::create_directories(files_dir());
    std::string config = household_config(sim.url(), dir.file("state"),
                                          plugin +
                                          "api:\n"
                                          "  port: 0\n"
                                          "  key: " + std::string(kKey) + "\n"
                                          "  send_wait: 3s\n"
                                          "  upload_dirs: [" + files_dir() + "]\n"
                                          "outbox:\n"
                                          "  retry: {initial_delay: 100ms, max_delay: 300ms}\n" +
                                          (max_items > 0 ? "  max_items: " + std::to_string(max_items) + "\n"
                                                         : std::string()) +
                                          "asks:\n"
                                          "  answered: \"→ {answer} ({user})\"\n" +
                                              extra);
    if (!plugin.empty()) {
      const std::string name = plugin.substr(2, plugin.find(':') - 2);
      config.replace(config.find("engines: [rules]"), 16, "engines: [rules, " + name + "]");
    }
    daemon = std::make_unique<Daemon>(dir, config);
    restart();
  }
  void restart() {
    fs::remove(dir.file("state/api.port"));
    daemon->start();
    ASSERT_TRUE(eventually([&] { return fs::exists(dir.file("state/api.port")); }, 10s))
        << daemon->log();
    port = std::stoi(read_file(dir.file("state/api.port")));
  }
  void TearDown() override {
    if (daemon) daemon->stop();
  }
  // Logged in and the bot's rooms known as devices (the list arrives just after the login).
  // Rocket.Chat goes away (connections dropped and refused) and rcgate has noticed.
  bool server_away() {
    sim.post("faults", {{"refuse_connections", true}});
    sim.post("connections/drop");
    return eventually([&] { return ok("GET", "/api/v1/health")["connected"] == false; }, 5s);
  }
  bool ready() {
    return daemon->wait_online() && eventually([&] {
             auto r = call("GET", "/api/v1/devices");
             return r.status == 200 && r.body.find("camera-alerts") != std::string::npos;
           }, 10s);
  }

  HttpReply call(const std::string& method, const std::string& target, const json& body = nullptr) {
    std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kKey}};
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return http_request(port, method, target, body.is_null() ? std::string() : body.dump(), headers);
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr) {
    auto r = call(method, target, body);
    EXPECT_LT(r.status, 300) << method << " " << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_EQ(j.value("status", ""), "ok") << r.body;
    return j.is_object() ? j["data"] : json();
  }
  // The simulator's messages in a room from the bot with `text` in them.
  std::vector<json> bot_posts(const std::string& room, const std::string& text = {}) {
    std::vector<json> out;
    for (const auto& m : bot_messages(sim, room))
      if (text.empty() || m.value("msg", "").find(text) != std::string::npos) out.push_back(m);
    return out;
  }
  // Opens an ask without waiting, and waits for its question to be in the room.
  std::string open_ask(json body, const std::string& room) {
    auto data = ok("POST", "/api/v1/ask", body);
    const std::string id = data.value("id", "");
    EXPECT_FALSE(id.empty()) << data;
    const std::string question = body.value("question", "");
    EXPECT_TRUE(eventually([&] { return !bot_posts(room, question).empty(); }, 8s))
        << daemon->log();
    return id;
  }
  json wait_ask(const std::string& id) {
    auto r = call("GET", "/api/v1/asks/" + id + "?wait=8");
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j["data"] : json();
  }
};

// ----- send

TEST_F(Scenarios, SendsToADeviceARoomAndAPerson) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(eventually([&] { return !ok("GET", "/api/v1/devices")["devices"].empty(); }));

  auto sent = ok("POST", "/api/v1/send", {{"device", "General"}, {"text", "Washing machine done"}});
  EXPECT_EQ(sent["status"], "sent") << sent;
  EXPECT_EQ(sent["room_id"], "GENERAL");
  ASSERT_EQ(bot_posts("general", "Washing machine done").size(), 1u);
  EXPECT_EQ(bot_posts("general", "Washing machine done")[0]["_id"], sent["message_id"]);

  sent = ok("POST", "/api/v1/send", {{"room", "#camera-alerts"}, {"text", "Motion in the garden"}});
  EXPECT_EQ(sent["status"], "sent") << sent;
  EXPECT_EQ(bot_posts("camera-alerts", "Motion in the garden").size(), 1u);

  sent = ok("POST", "/api/v1/devices/camera-alerts/send", {{"text", "Path form"}});
  EXPECT_EQ(bot_posts("camera-alerts", "Path form").size(), 1u);

  // A person: the DM is opened for the bot.
  sent = ok("POST", "/api/v1/send", {{"user", "@alice"}, {"text", "Your parcel arrived"}});
  EXPECT_EQ(sent["status"], "sent") << sent;
  EXPECT_EQ(sent["room_id"], kAliceDm);
  EXPECT_EQ(bot_posts(kAliceDm, "Your parcel arrived").size(), 1u);

  // The same request id twice posts once.
  for (int i = 0; i < 2; ++i)
    ok("POST", "/api/v1/send", {{"device", "general"}, {"text", "Once only"}, {"id", "alarm-42"}});
  EXPECT_EQ(bot_posts("general", "Once only").size(), 1u);

  // What is wrong is said.
  auto r = call("POST", "/api/v1/send", {{"device", "Attic"}, {"text", "x"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no device 'Attic'"), std::string::npos) << r.body;
  r = call("POST", "/api/v1/send", {{"device", "general"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("'text' is required"), std::string::npos) << r.body;
  r = call("POST", "/api/v1/send", {{"text", "where?"}});
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/v1/send", {{"user", "nobody-here"}, {"text", "hello"}});
  EXPECT_EQ(r.status, 422) << r.body;
  r = http_request(port, "GET", "/api/v1/devices", "", {{"Authorization", "Bearer wrong-key-000000000"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.find(kKey), std::string::npos);
  EXPECT_EQ(daemon->log().find(kKey), std::string::npos) << "the API key must never be logged";

  // The device's state reflects what was said there.
  say(sim, "alice", "general", "dinner is ready");
  ASSERT_TRUE(eventually([&] {
    return ok("GET", "/api/v1/devices/general")["last_message"] == "dinner is ready";
  }));
  EXPECT_EQ(ok("GET", "/api/v1/devices/general")["last_sender"], "alice");
  auto users = ok("GET", "/api/v1/users")["users"];
  ASSERT_TRUE(users.is_array());
  EXPECT_GE(users.size(), 2u);
}

// ----- ask

TEST_F(Scenarios, AsksAreAnsweredByTextNumberCaseAndAccents) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  const json answers = {"Oui", "Non", "Peut-être"};

  // By the text of a button (what a click sends).
  auto id = open_ask({{"device", "general"}, {"question", "Arroser le jardin ?"}, {"answers", answers}},
                     "general");
  auto question = bot_posts("general", "Arroser le jardin ?").at(0);
  EXPECT_NE(question["msg"].get<std::string>().find("1. Oui"), std::string::npos) << question;
  EXPECT_NE(question["msg"].get<std::string>().find("3. Peut-être"), std::string::npos);
  ASSERT_TRUE(question.contains("attachments")) << question;
  EXPECT_EQ(question["attachments"][0]["actions"].size(), 3u) << question;
  say(sim, "alice", "general", "Oui");
  auto result = wait_ask(id);
  EXPECT_EQ(result["status"], "answered") << result;
  EXPECT_EQ(result["answer"], "Oui");
  EXPECT_EQ(result["answer_index"], 1);
  EXPECT_EQ(result["answered_by"]["username"], "alice");
  // The question says how it was answered.
  EXPECT_TRUE(eventually([&] {
    return !bot_posts("general", "→ Oui (alice)").empty();
  }, 5s)) << daemon->log();

  // By number, in a DM, long-polling on the ask call itself; the answer is not an engine query.
  id = open_ask({{"user", "alice"}, {"question", "Which lights?"}, {"answers", {"Kitchen", "Garage"}}},
                kAliceDm);
  dm(sim, "alice", "1");
  result = wait_ask(id);
  EXPECT_EQ(result["answer"], "Kitchen") << result;
  // Other case, no accents, spaces.
  id = open_ask({{"device", "general"}, {"question", "Encore ?"}, {"answers", answers}}, "general");
  say(sim, "alice", "general", "  PEUT-ETRE  ");
  EXPECT_EQ(wait_ask(id)["answer"], "Peut-être");

  // A reply that is no answer gets a hint, and the ask keeps waiting.
  id = open_ask({{"user", "alice"}, {"question", "Close the garage?"}, {"answers", {"Yes", "No"}}},
                kAliceDm);
  dm(sim, "alice", "lights please");
  ASSERT_TRUE(eventually([&] { return !bot_posts(kAliceDm, "Please answer with one of").empty(); }))
      << daemon->log();
  EXPECT_EQ(ok("GET", "/api/v1/asks/" + id)["status"], "open");
  dm(sim, "alice", "yes");
  EXPECT_EQ(wait_ask(id)["answer"], "Yes");
  // None of alice's replies reached the rules engine ("lights" would have been answered).
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(bot_posts(kAliceDm, "Which room?").empty()) << daemon->log();
}

TEST_F(Scenarios, OnlyTheTargetMayAnswerAndTwoAsksRunAtOnce) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  auto general = open_ask({{"room", "general"},
                           {"question", "Is the door locked?"},
                           {"answers", {"Yes", "No"}},
                           {"users", {"alice"}}},
                          "general");
  auto alerts = open_ask({{"room", kCameraAlerts},
                          {"question", "Keep recording?"},
                          {"answers", {"Yes", "No"}}},
                         "camera-alerts");
  // bob is not asked: his "Yes" changes nothing.
  say(sim, "bob", "general", "Yes");
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(ok("GET", "/api/v1/asks/" + general)["status"], "open");
  EXPECT_EQ(ok("GET", "/api/v1/asks/" + alerts)["status"], "open");
  // Answers in one room close only that room's ask.
  say(sim, "alice", "camera-alerts", "no");
  auto r = wait_ask(alerts);
  EXPECT_EQ(r["answer"], "No") << r;
  EXPECT_EQ(ok("GET", "/api/v1/asks/" + general)["status"], "open");
  say(sim, "alice", "general", "YES");
  r = wait_ask(general);
  EXPECT_EQ(r["answer"], "Yes") << r;
  EXPECT_EQ(r["answered_by"]["username"], "alice");
}

TEST_F(Scenarios, AnOpenAskSurvivesARestartAndReconnectsAndCallsBack) {
  Webhook webhook;
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  auto id = open_ask({{"device", "general"},
                      {"question", "Close the garage door?"},
                      {"answers", {"Close", "Leave open"}},
                      {"callback_url", webhook.url()},
                      {"context", {{"scenario", 12}}}},
                     "general");
  EXPECT_EQ(daemon->stop(), 0);
  restart();
  ASSERT_TRUE(ready()) << daemon->log();
  EXPECT_EQ(ok("GET", "/api/v1/asks/" + id)["status"], "open");
  // And a dropped connection in between.
  sim.post("connections/drop");
  ASSERT_TRUE(daemon->wait_log("online as 'camera-bot'", 10s, 2)) << daemon->log();
  say(sim, "alice", "general", "leave open");
  auto result = wait_ask(id);
  EXPECT_EQ(result["answer"], "Leave open") << result;
  EXPECT_EQ(result["context"]["scenario"], 12);
  ASSERT_TRUE(eventually([&] { return webhook.bodies().size() == 1; }, 5s)) << daemon->log();
  const std::string call = webhook.bodies()[0];
  EXPECT_EQ(call.rfind("POST /hooks/garage?token=s3cret {", 0), 0u) << call;
  auto body = json::parse(call.substr(call.find('{')));
  EXPECT_EQ(body["id"], id);
  EXPECT_EQ(body["status"], "answered");
  EXPECT_EQ(body["answer"], "Leave open");
  EXPECT_EQ(body["context"]["scenario"], 12);
  EXPECT_EQ(daemon->log().find("s3cret"), std::string::npos) << "a URL's token is not logged";
}

TEST_F(Scenarios, AnAskTimesOutAndItsQuestionSaysSo) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  // Long poll on the ask call: the answer is the timeout.
  auto r = call("POST", "/api/v1/ask",
                {{"device", "general"}, {"question", "Anyone home?"}, {"answers", {"Yes"}},
                 {"timeout", "1s"}, {"wait", 10}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = json::parse(r.body)["data"];
  EXPECT_EQ(result["status"], "timed_out") << result;
  EXPECT_TRUE(eventually([&] { return !bot_posts("general", "timed out").empty(); }, 5s))
      << daemon->log();
  // Cancelled by the caller: the result says so, the question too, a second cancel is refused.
  auto id = open_ask({{"device", "general"}, {"question", "Water the plants?"}, {"answers", {"Yes"}}},
                     "general");
  EXPECT_EQ(ok("DELETE", "/api/v1/asks/" + id)["status"], "cancelled");
  EXPECT_TRUE(eventually([&] { return !bot_posts("general", "(cancelled)").empty(); }, 5s))
      << daemon->log();
  EXPECT_EQ(call("DELETE", "/api/v1/asks/" + id).status, 409);
  // Unknown and malformed asks are refused with a reason.
  EXPECT_EQ(call("GET", "/api/v1/asks/nope").status, 404);
  r = call("POST", "/api/v1/ask", {{"device", "general"}, {"question", "?"}, {"timeout", "soon"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("timeout"), std::string::npos) << r.body;
}

// ----- files in an engine's answer

TEST_F(Scenarios, AnImageAnEngineGivesByUrlIsUploaded) {
  // A webhook engine that answers with a picture by URL, served by the same loopback server.
  std::string base;
  Webhook engine([&base](const net::ServerRequest& req) -> net::ServerResponse {
    if (req.target == "/door.jpg") return {200, {{"Content-Type", "image/jpeg"}}, "DOOR-IMAGE"};
    if (req.target == "/broken.jpg") return {404, {}, "gone"};
    json answer = {{"text", "Here is the door"},
                   {"attachments",
                    {{{"url", base + "/door.jpg"}, {"title", "Front door"}},
                     {{"url", base + "/broken.jpg"}, {"title", "Garden"}}}}};
    return {200, {{"Content-Type", "application/json"}}, answer.dump()};
  });
  base = engine.base();
  start({}, "  webhook:\n    url: " + engine.base() + "/ask\n");
  ASSERT_TRUE(ready()) << daemon->log();
  dm(sim, "alice", "show me the door");
  ASSERT_TRUE(eventually([&] { return !bot_posts(kAliceDm, "Here is the door").empty(); }, 8s))
      << daemon->log();
  ASSERT_TRUE(eventually([&] { return sim.get("uploads")["uploads"].size() == 1; }, 8s))
      << daemon->log();
  auto upload = sim.get("uploads")["uploads"][0];
  EXPECT_EQ(upload["room"], kAliceDm);
  EXPECT_EQ(upload["size"], 10);
  EXPECT_EQ(upload["type"], "image/jpeg");
  // The one that could not be fetched is posted as its link.
  ASSERT_TRUE(eventually([&] { return !bot_posts(kAliceDm, "Garden: " + base + "/broken.jpg").empty(); }))
      << daemon->log();
}

// ----- the commands, against the real daemon

TEST_F(Scenarios, TheCommandsTalkToTheRunningDaemon) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(eventually([&] { return !ok("GET", "/api/v1/devices")["devices"].empty(); }));
  const std::string config = dir.file("rcgate.yaml");
  auto run = [&](std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), rcgate_binary());
    args.insert(args.begin() + 2, {"--config", config});
    return Process(args, dir.file(name + ".out"));
  };

  auto send = run({"send", "--device", "general", "Laundry", "is", "done"}, "send");
  EXPECT_EQ(send.wait(10s), 0) << send.log();
  EXPECT_EQ(bot_posts("general", "Laundry is done").size(), 1u);
  EXPECT_NE(send.log().find("sent"), std::string::npos) << send.log();

  // Answered: exit 0, the answer on stdout.
  auto ask = run({"ask", "--device", "general", "--answers", "Open,Close", "--to", "alice",
                  "Garage door?"},
                 "ask-answered");
  ASSERT_TRUE(eventually([&] { return !bot_posts("general", "Garage door?").empty(); }, 8s))
      << ask.log() << daemon->log();
  say(sim, "alice", "general", "close");
  EXPECT_EQ(ask.wait(10s), 0) << ask.log();
  EXPECT_NE(ask.log().find("Close"), std::string::npos) << ask.log();

  // Timed out: exit 2.
  auto late = run({"ask", "--device", "general", "--timeout", "1s", "Still there?"}, "ask-late");
  EXPECT_EQ(late.wait(10s), 2) << late.log();

  // An unknown device: exit 1 with the daemon's sentence.
  auto wrong = run({"send", "--device", "attic", "hello"}, "send-wrong");
  EXPECT_EQ(wrong.wait(10s), 1);
  EXPECT_NE(wrong.log().find("no device 'attic'"), std::string::npos) << wrong.log();

  auto devices = run({"devices"}, "devices");
  EXPECT_EQ(devices.wait(10s), 0) << devices.log();
  EXPECT_NE(devices.log().find("camera-alerts"), std::string::npos) << devices.log();

  // The daemon gone: exit 1 and what to do.
  EXPECT_EQ(daemon->stop(), 0);
  daemon.reset();
  auto down = run({"send", "--device", "general", "hello"}, "send-down");
  EXPECT_EQ(down.wait(10s), 1);
  EXPECT_NE(down.log().find("not running"), std::string::npos) << down.log();
}

// ----- the queue

TEST_F(Scenarios, AnAlertQueuedWhileRocketChatIsAwayIsDeliveredOnce) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(server_away()) << daemon->log();

  auto r = call("POST", "/api/v1/send", {{"device", "general"}, {"text", "Smoke alarm!"}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto queued = json::parse(r.body)["data"];
  EXPECT_EQ(queued["status"], "queued");
  const std::string id = queued["id"];
  // It survives a restart while the server is still away.
  EXPECT_EQ(daemon->stop(), 0);
  restart();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(bot_posts("general", "Smoke alarm!").empty());
  EXPECT_EQ(ok("GET", "/api/v1/messages/" + id)["status"], "queued");

  sim.post("faults", {{"refuse_connections", false}});
  ASSERT_TRUE(eventually([&] { return !bot_posts("general", "Smoke alarm!").empty(); }, 15s))
      << daemon->log();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(bot_posts("general", "Smoke alarm!").size(), 1u);
  EXPECT_EQ(ok("GET", "/api/v1/messages/" + id)["status"], "sent");
}

// "queued" is answered once the item is in the journal (one flush per loop turn), not after a
// rewrite of queue.json: killed right after that answer, the next start still has the item.
TEST_F(Scenarios, AnAlertAcknowledgedAsQueuedSurvivesAKillBeforeTheQueueIsWritten) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(server_away()) << daemon->log();
  auto r = call("POST", "/api/v1/send", {{"device", "general"}, {"text", "Water leak!"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["data"]["id"];
  daemon->kill9();
  const std::string journal = read_file(dir.file("state/state.journal"));
  ASSERT_NE(journal.find("{\"queued\":{"), std::string::npos) << journal;
  ASSERT_NE(journal.find(id), std::string::npos) << journal;

  restart();
  EXPECT_NE(daemon->log().find("queue: 1 items queued after the last save restored"),
            std::string::npos)
      << "queue.json is written a second after a change: the item came from the journal\n"
      << daemon->log();
  EXPECT_EQ(ok("GET", "/api/v1/messages/" + id)["status"], "queued");
  EXPECT_NE(read_file(dir.file("state/queue.json")).find(id), std::string::npos)
      << "written again with it";
  sim.post("faults", {{"refuse_connections", false}});
  ASSERT_TRUE(eventually([&] { return ok("GET", "/api/v1/messages/" + id)["status"] == "sent"; },
                         15s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_posts("general", "Water leak!").size(), 1u);
}

// Sent, then killed before queue.json's next write (a second later): the journal says the item
// ended, so the next start does not send it again.
TEST_F(Scenarios, AnAlertDeliveredJustBeforeACrashIsNotSentAgain) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  // Queued while the server is away (so queue.json holds it), then delivered when it is back.
  ASSERT_TRUE(server_away()) << daemon->log();
  auto r = call("POST", "/api/v1/send", {{"device", "general"}, {"text", "Front door opened"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["data"]["id"];
  sim.post("faults", {{"refuse_connections", false}});
  ASSERT_TRUE(eventually([&] { return ok("GET", "/api/v1/messages/" + id)["status"] == "sent"; },
                         15s, 10ms));
  daemon->kill9();
  // queue.json is written a second after a change: it may hold the item or not.
  const bool still_queued = fs::exists(dir.file("state/queue.json")) &&
                            read_file(dir.file("state/queue.json")).find(id) != std::string::npos;
  if (still_queued) {
    ASSERT_NE(read_file(dir.file("state/state.journal")).find("{\"done\":\"" + id + "\"}"),
              std::string::npos)
        << "the end of the item is in the journal";
  }
  restart();
  ASSERT_TRUE(ready()) << daemon->log();
  if (still_queued) {
    EXPECT_NE(daemon->log().find("queue: 1 items that ended before the restart dropped"),
              std::string::npos)
        << daemon->log();
  }
  EXPECT_EQ(ok("GET", "/api/v1/health")["queue_depth"], 0);
  if (still_queued) {
    EXPECT_EQ(read_file(dir.file("state/queue.json")).find(id), std::string::npos)
        << "written again without it";
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_posts("general", "Front door opened").size(), 1u);
}

// Alerts fill the queue while Rocket.Chat is away, and its first sends fail once it is back: the
// answer to alice still gets in (the reserve for answers), and everything is delivered once.
TEST_F(Scenarios, AQueueFullOfAlertsStillTakesAnAnswer) {
  max_items = 2;
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(server_away()) << daemon->log();
  for (const char* text : {"Motion in the garden", "Motion at the gate"}) {
    auto r = call("POST", "/api/v1/send", {{"device", "general"}, {"text", text}});
    ASSERT_EQ(r.status, 202) << r.body;
  }
  auto refused = call("POST", "/api/v1/send", {{"device", "general"}, {"text", "Motion again"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("outbound queue is full"), std::string::npos) << refused.body;

  sim.post("chaos/rest", {{"path", "/api/v1/chat.sendMessage"}, {"status", 503}, {"count", 6}});
  sim.post("faults", {{"refuse_connections", false}});
  ASSERT_TRUE(daemon->wait_log("online as 'camera-bot'", 10s, 2)) << daemon->log();
  dm(sim, "alice", "is the garage closed?");
  ASSERT_TRUE(eventually([&] { return !bot_posts(kAliceDm, "garage door is closed").empty(); }, 10s))
      << daemon->log();
  ASSERT_TRUE(eventually([&] { return bot_posts("general", "Motion").size() == 2; }, 10s))
      << daemon->log();
  const std::string log = daemon->log();
  const auto first = log.find("outbox: the outbound queue is full");
  ASSERT_NE(first, std::string::npos) << "the third alert was refused";
  EXPECT_EQ(log.find("outbox: the outbound queue is full", first + 1), std::string::npos)
      << "and nothing else: the answer was not refused\n"
      << log;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_posts(kAliceDm, "garage door is closed").size(), 1u);
  EXPECT_EQ(bot_posts("general", "Motion").size(), 2u);
}

TEST_F(Scenarios, AnExpiredAlertIsReported) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  ASSERT_TRUE(server_away()) << daemon->log();
  auto r = call("POST", "/api/v1/send", {{"device", "general"}, {"text", "Door open"}, {"ttl", 1}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["data"]["id"];
  ASSERT_TRUE(eventually([&] { return ok("GET", "/api/v1/messages/" + id)["status"] == "expired"; }, 5s));
  EXPECT_NE(daemon->log().find("expired undelivered"), std::string::npos);
  sim.post("faults", {{"refuse_connections", false}});
  ASSERT_TRUE(daemon->wait_log("online as 'camera-bot'", 10s, 2));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(bot_posts("general", "Door open").empty());
}

// ----- uploads

TEST_F(Scenarios, UploadsACameraSnapshotBehindDigestAuth) {
  CameraThread camera;
  start("cameras:\n"
        "  front-door:\n"
        "    url: \"" + camera.url() + "\"\n"
        "    username: admin\n"
        "    password: cam-secret\n"
        "    auth: digest\n"
        "    timeout: 5s\n");
  ASSERT_TRUE(ready()) << daemon->log();
  auto sent = ok("POST", "/api/v1/upload",
                 {{"device", "camera-alerts"}, {"camera", "front-door"}, {"caption", "Someone rang"}});
  EXPECT_EQ(sent["status"], "sent") << sent << daemon->log();
  auto uploads = sim.get("uploads")["uploads"];
  ASSERT_EQ(uploads.size(), 1u) << uploads;
  EXPECT_EQ(uploads[0]["room"], kCameraAlerts);
  EXPECT_EQ(uploads[0]["size"], std::string("JPEG-BYTES-FROM-THE-DOOR").size());
  EXPECT_EQ(uploads[0]["type"], "image/jpeg");
  camera.stop();
  ASSERT_GE(camera.camera().authorizations.size(), 2u);
  EXPECT_EQ(camera.camera().authorizations.back().rfind("Digest username=\"admin\"", 0), 0u);
  // The snapshot's temporary copy is gone.
  EXPECT_TRUE(eventually([&] {
    std::error_code ec;
    return fs::is_empty(dir.file("state/files"), ec);
  }));
  auto r = call("POST", "/api/v1/upload", {{"device", "camera-alerts"}, {"camera", "garage"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("front-door"), std::string::npos) << r.body;
}

TEST_F(Scenarios, AFileOverTheServerLimitIsRefusedClearly) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  sim.post("settings", {{"upload_max_bytes", 1000}});
  const std::string big(5000, 'x');
  std::ofstream(files_dir() + "/big.txt") << big;
  auto r = call("POST", "/api/v1/upload", {{"device", "general"}, {"path", files_dir() + "/big.txt"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("big.txt is 4.9 KiB; the server accepts at most 1000 bytes"),
            std::string::npos)
      << r.body;
  // Outside the allowed directories: refused before anything is read.
  std::ofstream(dir.file("secret.txt")) << "no";
  r = call("POST", "/api/v1/upload", {{"device", "general"}, {"path", dir.file("secret.txt")}});
  EXPECT_EQ(r.status, 403) << r.body;
  r = call("POST", "/api/v1/upload",
           {{"device", "general"}, {"path", files_dir() + "/../secret.txt"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(sim.get("uploads")["uploads"].empty());
}

TEST_F(Scenarios, AServerWithoutRoomsMediaStillGetsTheUpload) {
  start();
  ASSERT_TRUE(ready()) << daemon->log();
  sim.post("settings", {{"flavour", 6}, {"rooms_media", false}});
  auto sent = ok("POST", "/api/v1/upload",
                 {{"user", "alice"}, {"content_base64", "aGVsbG8gZnJvbSByY2dhdGU="},
                  {"file_name", "note.txt"}, {"caption", "a note"}});
  EXPECT_EQ(sent["status"], "sent") << sent << daemon->log();
  auto uploads = sim.get("uploads")["uploads"];
  ASSERT_EQ(uploads.size(), 1u) << uploads;
  EXPECT_EQ(uploads[0]["endpoint"], "rooms.upload");
  EXPECT_EQ(uploads[0]["room"], kAliceDm);
  EXPECT_EQ(uploads[0]["size"], 17);  // "hello from rcgate"
}

}  // namespace
}  // namespace rcgate::test
