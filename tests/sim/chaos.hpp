#pragma once
// Faults for the fault campaign (tests/chaos), on top of /_sim/faults: REST answers replaced by
// 5xx or 429 on chosen endpoints, slow answers, a processed request whose answer is an error
// (the server did it, the client hears a failure), a WebSocket dropped in the middle of a frame,
// and a server restart (every connection dropped, new ones refused for a while).
//
// Control routes (JSON in/out like the rest of /_sim/):
//   POST /_sim/chaos/rest {"path": "/api/v1/chat.sendMessage" (a prefix; "" = every /api/ route),
//        "status": 500|502|503|429|0, "count": N (-1: until cleared), "delay_ms": MS,
//        "after": false (true: process the request, then answer `status` anyway),
//        "reset_ms": MS (429: X-RateLimit-Reset = now + MS)}  -> {"rules": N}
//   POST /_sim/chaos/clear   -> every REST rule removed, pending restarts ended
//   POST /_sim/chaos/drop-mid-frame {"bytes": N, "after_ms": MS} -> {"dropped": N}: a text frame of
//        N bytes (a DDP "updated" frame clients ignore) starts going out to every logged-in
//        connection, and the TCP connection is dropped MS later, before it can all be read.
//   POST /_sim/chaos/restart {"down_ms": MS} -> every DDP connection dropped, new connections and
//        REST calls refused for MS (like a server restarting), then accepted again.
//   GET  /_sim/chaos -> {"rules": [...], "applied": N, "restarting": bool}
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/http_server.hpp"

namespace rcgate::net {
class Loop;
class Timer;
}  // namespace rcgate::net

namespace rcgate::sim {

class Sim;

class Chaos {
 public:
  Chaos(Sim& sim, net::Loop& loop);
  ~Chaos();
  Chaos(const Chaos&) = delete;
  Chaos& operator=(const Chaos&) = delete;

  // Answers a request under /_sim/chaos (throws std::invalid_argument for a bad body).
  net::ServerResponse handle(const net::ServerRequest& request, const nlohmann::json& body);

  // For a REST request (/api/...): true when a rule took it (it then calls `respond`, possibly
  // later, with `process()`'s answer or the injected one); false: serve it as usual.
  bool intercept(const net::ServerRequest& request, const std::function<net::ServerResponse()>& process,
                 net::Respond& respond);

 private:
  struct Rule {
    std::string path;
    int status = 0;
    int count = 1;
    std::int64_t delay_ms = 0;
    bool after = false;
    std::int64_t reset_ms = 1000;
  };
  void later(std::int64_t ms, std::function<void()> fn);
  nlohmann::json describe() const;

  Sim& sim_;
  net::Loop& loop_;
  std::vector<Rule> rules_;
  std::uint64_t applied_ = 0;
  std::uint64_t next_timer_ = 1;
  std::map<std::uint64_t, std::unique_ptr<net::Timer>> timers_;
  std::uint64_t restart_generation_ = 0;
  bool restarting_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rcgate::sim
