#pragma once
// The /_sim/ control API for tests and demos (sim-contract.md "Control API").
#include "net/http_server.hpp"

namespace rcgate::sim {

class Sim;

class ControlApi {
 public:
  explicit ControlApi(Sim& sim) : sim_(sim) {}

  // Answers any request under /_sim/: {"ok":true,...} or 4xx {"ok":false,"error":"..."}.
  net::ServerResponse handle(const net::ServerRequest& request);

 private:
  Sim& sim_;
};

}  // namespace rcgate::sim
