// rcgate-api-test-server: the real ApiServer (the local HTTP API) over a scripted ApiService,
// for testing the `rcgate send|ask|upload|devices|users` commands end to end without Rocket.Chat.
//
// usage: rcgate-api-test-server --key KEY --port-file FILE --calls-file FILE [--port N]
//   Writes the port it listens on to --port-file (like the daemon's <state_dir>/api.port), and
//   one JSON line per call to --calls-file: {"verb", "params", "bytes_size"}; a raw upload's
//   bytes go to <calls-file>.upload. Stops on SIGTERM.
//
// The script: target "nope" -> 404; text "queue me" -> 202 queued; camera "broken" -> 502;
// a question containing "timeout" times out, "cancel" is cancelled, any other is answered "Yes"
// by alice after two long polls (the first answer says "open", as when `wait` ran out); one
// containing "never" gets no answer at all.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/api_server.hpp"
#include "net/loop.hpp"

namespace {

using rcgate::app::ApiCall;
using rcgate::app::ApiReply;
using rcgate::app::ApiService;
using Json = nlohmann::json;

class ScriptedService : public ApiService {
 public:
  ScriptedService(rcgate::net::Loop& loop, std::string calls_file)
      : loop_(loop), calls_file_(std::move(calls_file)) {}

  void call(ApiCall call, Reply reply) override {
    record(call);
    const Json& p = call.params;
    const std::string target = p.value("device", p.value("room", p.value("user", "")));
    if (target == "nope") {
      return reply(ApiReply::failure(404, "not_found",
                                     "no device, room or user named 'nope': see rcgate devices"));
    }
    // The shapes of the real service (src/app/events.cpp, scenarios.cpp).
    if (call.verb == "devices") {
      return reply(ApiReply::success(
          {{"devices",
            {{{"id", "r1"}, {"name", "Porte d'entrée"}, {"room_name", "porte"},
              {"room_type", "p"}, {"available", true}, {"mention_commands", true},
              {"last_message", "open\nthe door"}, {"last_message_id", "m9"},
              {"last_sender", "alice"}, {"last_sender_name", "Alice Martin"},
              {"last_message_at", "2026-11-22T10:00:00.000Z"},
              {"commands", {{{"id", "send"}, {"kind", "action"}}}}},
             {{"id", "r22"}, {"name", "garage"}, {"room_name", "garage"}, {"room_type", "c"},
              {"available", false}, {"mention_commands", false}, {"last_message", ""},
              {"last_message_id", ""}, {"last_sender", ""}, {"last_sender_name", ""},
              {"last_message_at", ""}, {"commands", Json::array()}}}}}));
    }
    if (call.verb == "users") {
      return reply(ApiReply::success(
          {{"users",
            {{{"username", "alice"}, {"name", "Alice Martin"}, {"access", "allow"},
              {"role", "admin"}, {"configured", true}, {"seen", true}, {"user_id", "u1"},
              {"display_name", "Alice M."}},
             {{"username", "bob"}, {"name", "Bob"}, {"access", "deny"}, {"role", ""},
              {"configured", true}, {"seen", false}}}}}));
    }
    if (call.verb == "send" || call.verb == "upload") {
      if (p.value("camera", "") == "broken") {
        return reply(ApiReply::failure(502, "upstream",
                                       "camera 'broken' did not answer: connect: refused"));
      }
      if (!call.bytes.empty()) {
        std::ofstream(calls_file_ + ".upload", std::ios::binary) << call.bytes;
      }
      if (p.value("text", "") == "queue me") {
        return reply(ApiReply::success(
            {{"status", "queued"}, {"id", "q-7"}, {"position", 1}, {"expires_at", "later"}}, 202));
      }
      return reply(ApiReply::success(
          {{"status", "sent"}, {"id", "m-1"}, {"room_id", "r1"}, {"message_id", "rc-1"}}));
    }
    if (call.verb == "ask") {
      const std::string question = p.value("question", "");
      std::string id = "a-" + std::to_string(++asks_);
      questions_[id] = question;
      if (question.find("cancel") != std::string::npos) return reply(result(id, "cancelled"));
      return reply(result(id, "open"));  // as if `wait` ran out
    }
    if (call.verb == "ask_status") {
      const std::string id = p.value("id", "");
      const std::string question = questions_[id];
      if (question.find("timeout") != std::string::npos) return reply(result(id, "timed_out"));
      if (question.find("never") != std::string::npos) {
        held_.push_back(std::move(reply));  // nobody answers: the caller gives up
        return;
      }
      // Answered a little later, during this long poll. The timer stays in timers_ (destroying
      // it inside its own callback would not be safe).
      auto timer = std::make_shared<rcgate::net::Timer>(loop_);
      timer->start(std::chrono::milliseconds(200), [this, id, reply] {
        Json r = result(id, "answered").data;
        r["answer"] = "Yes";
        r["answer_index"] = 0;
        r["answered_by"] = {{"username", "alice"}, {"name", "Alice Martin"}, {"user_id", "u1"}};
        reply(ApiReply::success(r));
      });
      timers_[id] = timer;
      return;
    }
    if (call.verb == "ask_cancel") return reply(result(p.value("id", ""), "cancelled"));
    reply(ApiReply::success({{"version", "test"}, {"connected", true}}));
  }

 private:
  ApiReply result(const std::string& id, const std::string& status) {
    return ApiReply::success({{"id", id},
                              {"status", status},
                              {"question", questions_[id]},
                              {"answer", nullptr},
                              {"answer_index", nullptr},
                              {"answered_by", nullptr}});
  }

  void record(const ApiCall& call) {
    std::ofstream out(calls_file_, std::ios::app);
    out << Json{{"verb", call.verb}, {"params", call.params}, {"bytes_size", call.bytes.size()}}
               .dump()
        << "\n";
  }

  rcgate::net::Loop& loop_;
  std::string calls_file_;
  int asks_ = 0;
  std::map<std::string, std::string> questions_;
  std::map<std::string, std::shared_ptr<rcgate::net::Timer>> timers_;
  std::vector<Reply> held_;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (!args.count("--key") || !args.count("--port-file") || !args.count("--calls-file")) {
    std::cerr << "usage: rcgate-api-test-server --key KEY --port-file FILE --calls-file FILE "
                 "[--port N]\n";
    return 64;
  }
  rcgate::config::ApiSettings settings;
  settings.enabled = true;
  settings.key = args["--key"];
  settings.port = args.count("--port") ? std::stoi(args["--port"]) : 0;
  settings.max_upload_mb = 2;

  rcgate::net::Loop loop;
  ScriptedService service(loop, args["--calls-file"]);
  rcgate::app::ApiServer server(loop, settings, service);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  {
    const std::string file = args["--port-file"];
    std::ofstream(file + ".tmp") << server.port() << "\n";
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  loop.on_signals({SIGTERM, SIGINT}, [&](int) { loop.stop(); });
  loop.run();
  server.stop();
  return 0;
}
