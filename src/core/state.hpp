#pragma once
// The state document rcgate keeps in its state directory (state.json): devices with their
// settings, last values and persons, the people seen, the messages already acted on, the per-room
// read positions for catch-up and the rooms told about encryption. Versioned; the reader accepts
// what an older or damaged-but-readable file still holds and says what it skipped. Pure: the
// caller reads and writes the file (persistence/atomic_file.hpp).
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/devices.hpp"
#include "core/router.hpp"
#include "core/users.hpp"

namespace rcgate::core {

inline constexpr int kStateVersion = 1;

struct State {
  int version = kStateVersion;
  std::vector<Device> devices;
  std::vector<SeenUser> users;
  RouterMemory router;
};

nlohmann::json to_json(const State& state);

// Tolerant: missing fields take their defaults, entries that cannot be read are skipped and
// described in *warnings ("devices[3]: no id; skipped").
State state_from_json(const nlohmann::json& document, std::vector<std::string>* warnings = nullptr);

struct StateLoad {
  enum class Status {
    Ok,       // `state` holds the file's content (see `warnings`)
    Corrupt,  // not JSON, or not a state document: set the file aside and start clean
    Newer,    // written by a newer rcgate: do not overwrite it (refuse to start, or start clean
              // without saving), since a downgrade must not destroy the newer state
  };
  Status status = Status::Ok;
  State state;
  std::string error;                  // Corrupt / Newer: why, for the log
  std::vector<std::string> warnings;  // Ok: what was skipped
  bool ok() const { return status == Status::Ok; }
};

// Parses the text of a state file.
StateLoad load_state(std::string_view text);

// The text to write: to_json(state), indented for people who look at it.
std::string dump_state(const State& state);

}  // namespace rcgate::core
