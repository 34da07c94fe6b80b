// rcgate-sim: a Rocket.Chat server simulator for rcgate's tests and demos (see sim-contract.md).
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "core/log.hpp"
#include "household.hpp"
#include "net/loop.hpp"
#include "sim.hpp"

namespace {

constexpr const char* kUsage =
    "usage: rcgate-sim [--listen 127.0.0.1] [--port N] [--tls-port N] [--cert-out FILE]\n"
    "                  [--ports-file FILE] [--household FILE.json] [--flavour 6|7|8]\n"
    "                  [--heartbeat-ms MS] [--root-prefix /PATH] [--log-level LEVEL]\n"
    "                  [--generate-household ROOMS USERS]\n";

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "rcgate-sim: " << why << "\n" << kUsage;
  std::exit(64);  // EX_USAGE
}

long number(const std::string& flag, const std::string& text, long min, long max) {
  try {
    std::size_t used = 0;
    const long value = std::stol(text, &used);
    if (used == text.size() && value >= min && value <= max) return value;
  } catch (const std::exception&) {
  }
  usage_error(flag + " expects a number from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
              text + "'");
}

void write_ports_file(const std::string& path, const std::string& line) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << line << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rcgate;
  sim::SimOptions options;
  std::string ports_file;
  std::string household_file;
  std::string log_level = "info";
  int generate_rooms = -1, generate_users = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (flag == "--generate-household") {
      if (i + 2 >= argc) usage_error("--generate-household takes two numbers: ROOMS USERS");
      generate_rooms = static_cast<int>(number("--generate-household ROOMS", argv[++i], 1, 10000));
      generate_users = static_cast<int>(number("--generate-household USERS", argv[++i], 1, 100000));
      continue;
    }
    if (i + 1 >= argc) usage_error("unknown option or missing value: " + flag);
    const std::string value = argv[++i];
    if (flag == "--listen") {
      options.listen = value;
    } else if (flag == "--port") {
      options.port = static_cast<std::uint16_t>(number(flag, value, 0, 65535));
    } else if (flag == "--tls-port") {
      options.tls_port = static_cast<std::uint16_t>(number(flag, value, 0, 65535));
    } else if (flag == "--cert-out") {
      options.cert_out = value;
    } else if (flag == "--ports-file") {
      ports_file = value;
    } else if (flag == "--household") {
      household_file = value;
    } else if (flag == "--flavour" || flag == "--flavor") {
      options.flavour = static_cast<int>(number(flag, value, 6, 8));
    } else if (flag == "--root-prefix") {
      if (value.empty() || value[0] != '/' || value.back() == '/')
        usage_error("--root-prefix takes a path such as /chat");
      options.root_prefix = value;
    } else if (flag == "--heartbeat-ms") {
      options.heartbeat = std::chrono::milliseconds(number(flag, value, 10, 3600000));
    } else if (flag == "--log-level") {
      log_level = value;
    } else {
      usage_error("unknown option " + flag);
    }
  }
  log::setup(log_level, false);
  if (generate_rooms > 0 && !household_file.empty()) {
    usage_error("--household and --generate-household exclude each other");
  }

  try {
    const sim::Household household =
        generate_rooms > 0      ? sim::generated_household(generate_rooms, generate_users)
        : household_file.empty() ? sim::default_household()
                                 : sim::load_household(household_file);
    net::Loop loop;
    sim::Sim simulator(loop, options, household);
    simulator.start();
    const std::string line = simulator.ports_json().dump();
    if (!ports_file.empty()) write_ports_file(ports_file, line);
    std::cout << line << std::endl;
    loop.on_signals({SIGTERM, SIGINT}, [&](int signal) {
      spdlog::info("rcgate-sim: signal {}, stopping", signal);
      simulator.stop();
      loop.stop();
    });
    loop.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "rcgate-sim: " << e.what() << "\n";
    return 1;
  }
}
