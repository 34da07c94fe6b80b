#include "core/state.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rcgate::core {
namespace {

using Status = StateLoad::Status;

// A household after a while: two devices (one left), persons, last messages, people seen, and the
// router's memory.
State lived_in_state() {
  DeviceRegistry devices;
  devices.upsert_room({"GENERAL", "general", "General", "c", "", "", false});
  devices.upsert_room({"CAM", "camera-alerts", "Caméras", "p", "GENERAL", "team1", true});
  devices.on_message(
      {"GENERAL", "m1", "u-alice", "alice", "Alice", "bonjour \"à tous\"\n", 1000, false});
  devices.on_message({"GENERAL", "m2", "u-bob", "bob", "Bob", "salut", 2000, false});
  devices.set_mention_commands("CAM", false);
  devices.remove_room("CAM");

  UserDirectory users;
  users.note_seen("u-alice", "alice", "Alice", 1000);
  users.note_seen("u-bob", "bob", "Bob", 2000);
  users.note_seen("u-bob", "bob", "Bob", 2500);

  State state;
  state.devices = devices.snapshot();
  state.users = users.seen();
  state.router.handled_ids = {"m0", "m1"};
  state.router.read_positions = {{"GENERAL", 2000}, {"DMROOM", 1500}};
  state.router.encrypted_noticed = {"SECRET"};
  return state;
}

TEST(State, RoundTripKeepsEverything) {
  const State original = lived_in_state();
  const std::string text = dump_state(original);
  const StateLoad loaded = load_state(text);
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.front();
  const State& s = loaded.state;
  EXPECT_EQ(s.version, kStateVersion);

  ASSERT_EQ(s.devices.size(), 2u);
  const Device& cam = s.devices[0];  // "Caméras" sorts before "General"
  EXPECT_EQ(cam.id, "CAM");
  EXPECT_EQ(cam.name, "Caméras");
  EXPECT_EQ(cam.room_name, "camera-alerts");
  EXPECT_EQ(cam.type, "p");
  EXPECT_EQ(cam.parent_id, "GENERAL");
  EXPECT_EQ(cam.team_id, "team1");
  EXPECT_TRUE(cam.team_main);
  EXPECT_FALSE(cam.available);
  EXPECT_EQ(cam.mention_commands_override, false);

  const Device& general = s.devices[1];
  EXPECT_TRUE(general.available);
  EXPECT_FALSE(general.mention_commands_override.has_value());
  EXPECT_EQ(general.last.id, "m2");
  EXPECT_EQ(general.last.text, "salut");
  EXPECT_EQ(general.last.sender_username, "bob");
  EXPECT_EQ(general.last.sender_name, "Bob");
  EXPECT_EQ(general.last.at_ms, 2000);
  ASSERT_EQ(general.persons.size(), 2u);
  EXPECT_EQ(general.persons[0].username, "alice");
  EXPECT_EQ(general.persons[0].display_name, "Alice");
  EXPECT_EQ(general.persons[0].first_seen_ms, 1000);

  ASSERT_EQ(s.users.size(), 2u);
  EXPECT_EQ(s.users[0].user_id, "u-bob");
  EXPECT_EQ(s.users[0].count, 2u);
  EXPECT_EQ(s.users[0].first_seen_ms, 2000);
  EXPECT_EQ(s.users[0].last_seen_ms, 2500);

  EXPECT_EQ(s.router.handled_ids, (std::vector<std::string>{"m0", "m1"}));
  EXPECT_EQ(s.router.read_positions.at("GENERAL"), 2000);
  EXPECT_EQ(s.router.read_positions.at("DMROOM"), 1500);
  EXPECT_EQ(s.router.encrypted_noticed, std::vector<std::string>{"SECRET"});

  // Same document, same text: saving what was loaded changes nothing.
  EXPECT_EQ(dump_state(s), text);
}

TEST(State, RestoredPartsBehaveAsBefore) {
  const StateLoad loaded = load_state(dump_state(lived_in_state()));
  ASSERT_TRUE(loaded.ok());
  DeviceRegistry devices;
  devices.restore(loaded.state.devices);
  EXPECT_EQ(commands_of(*devices.find("GENERAL")).size(), 6u) << "send, 3 infos, @alice, @bob";
  EXPECT_FALSE(devices.find("CAM")->mention_commands);
  // The bot is back in the camera room: same device, same settings.
  const auto changes =
      devices.upsert_room({"CAM", "camera-alerts", "Caméras", "p", "GENERAL", "team1", true});
  EXPECT_EQ(changes, (DeviceChanges{{"CAM", DeviceChange::What::Available, ""}}));

  UserDirectory users({{"alice", "", true, ""}});
  users.restore(loaded.state.users);
  ASSERT_EQ(users.unknown().size(), 1u);
  EXPECT_EQ(users.unknown()[0].username, "bob");

  Router router({"BOT", "bot"}, {}, {}, users, devices);
  router.restore(loaded.state.router);
  EXPECT_EQ(router.read_position("GENERAL"), 2000);
  EXPECT_EQ(router.memory().handled_ids, loaded.state.router.handled_ids);
}

TEST(State, MissingFieldsTakeTheirDefaults) {
  const StateLoad loaded = load_state(R"({"version": 1, "devices": [{"id": "R1"}]})");
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_TRUE(loaded.warnings.empty());
  ASSERT_EQ(loaded.state.devices.size(), 1u);
  const Device& d = loaded.state.devices[0];
  EXPECT_EQ(d.name, "R1") << "a device needs a name to show";
  EXPECT_TRUE(d.available);
  EXPECT_TRUE(d.persons.empty());
  EXPECT_TRUE(d.last.id.empty());
  EXPECT_TRUE(loaded.state.users.empty());
  EXPECT_TRUE(loaded.state.router.handled_ids.empty());
  EXPECT_TRUE(loaded.state.router.read_positions.empty());
}

TEST(State, OlderDocumentWithoutVersionIsRead) {
  // Before the format carried a version, a file held devices and handled ids only.
  const StateLoad loaded = load_state(
      R"({"devices": [{"id": "GENERAL", "name": "general", "available": true}],
          "handled": ["a", "b"]})");
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_EQ(loaded.warnings, std::vector<std::string>{"no format version; read as version 1"});
  EXPECT_EQ(loaded.state.devices.size(), 1u);
  EXPECT_EQ(loaded.state.router.handled_ids.size(), 2u);
}

TEST(State, DamagedEntriesAreSkippedAndNamed) {
  const StateLoad loaded = load_state(R"({
    "version": 1,
    "devices": [
      5,
      {"name": "no id"},
      {"id": "R1", "available": "yes", "team_main": 1, "name": 7,
       "settings": {"mention_commands": "off"},
       "last": "hello",
       "persons": [{"user_id": "u1", "username": "alice", "first_seen": "yesterday"}, 3, {}]},
      {"id": "R2", "persons": {"not": "a list"}}
    ],
    "users": [{"user_id": "u1", "count": -3}, {"username": "nobody"}],
    "handled": ["ok", 42, ""],
    "read_positions": {"GENERAL": 1000, "BAD": "soon"},
    "encrypted_noticed": "SECRET"
  })");
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  const State& s = loaded.state;
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].id, "R1");
  EXPECT_TRUE(s.devices[0].available) << "a wrong type keeps the default";
  EXPECT_EQ(s.devices[0].name, "R1");
  ASSERT_EQ(s.devices[0].persons.size(), 1u);
  EXPECT_EQ(s.devices[0].persons[0].first_seen_ms, 0);
  EXPECT_TRUE(s.devices[1].persons.empty());
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(s.users[0].count, 0u);
  EXPECT_EQ(s.router.handled_ids, std::vector<std::string>{"ok"});
  EXPECT_EQ(s.router.read_positions.size(), 1u);
  EXPECT_TRUE(s.router.encrypted_noticed.empty());

  const std::vector<std::string> expected = {
      "devices[0]: not an object; skipped",
      "devices[1]: no id; skipped",
      "devices[2].name: expected a string; ignored",
      "devices[2].team_main: expected true or false; ignored",
      "devices[2].available: expected true or false; ignored",
      "devices[2].settings.mention_commands: expected true, false or null; ignored",
      "devices[2].last: expected an object; ignored",
      "devices[2].persons[0].first_seen: expected an integer; ignored",
      "devices[2].persons[1]: not an object; skipped",
      "devices[2].persons[2]: no user_id; skipped",
      "devices[3].persons: expected a list; ignored",
      "users[0].count: expected a count; ignored",
      "users[1]: no user_id; skipped",
      "handled[1]: not an id; skipped",
      "handled[2]: not an id; skipped",
      "encrypted_noticed: expected a list; ignored",
      "read_positions.BAD: expected a message time; skipped",
  };
  EXPECT_EQ(loaded.warnings, expected);
}

TEST(State, CorruptFilesAreRecognised) {
  const std::string full = dump_state(lived_in_state());
  const std::vector<std::string> corrupt = {
      "",
      "not json",
      full.substr(0, full.size() / 2),  // a torn write (what atomic writes prevent)
      "[]",
      "\"state\"",
      "null",
      R"({"version": "1"})",
      R"({"version": 0})",
      R"({"version": 1.5})",
      std::string("{\"version\": 1, \"devices\": [\xff]}"),
  };
  for (const auto& text : corrupt) {
    const StateLoad loaded = load_state(text);
    EXPECT_EQ(loaded.status, Status::Corrupt) << text;
    EXPECT_FALSE(loaded.error.empty()) << text;
    EXPECT_TRUE(loaded.state.devices.empty()) << text;
  }
  EXPECT_EQ(load_state("[]").error, "not a state document: expected a JSON object, got array");
  EXPECT_EQ(load_state(R"({"version": "1"})").error,
            "not a state document: 'version' must be a positive integer, got \"1\"");
  EXPECT_EQ(load_state("not json").error.rfind("not valid JSON: ", 0), 0u);
}

TEST(State, NewerFormatIsNotTakenForCorrupt) {
  const StateLoad loaded = load_state(R"({"version": 2, "devices": [], "new_thing": {}})");
  EXPECT_EQ(loaded.status, Status::Newer);
  EXPECT_EQ(loaded.error, "written by a newer rcgate (state format 2; this one reads up to 1)");
}

TEST(State, UnknownFieldsAreIgnored) {
  const StateLoad loaded =
      load_state(R"({"version": 1, "outbox": [1, 2], "devices": [{"id": "R", "extra": true}]})");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.warnings.empty());
  EXPECT_EQ(loaded.state.devices.size(), 1u);
}

TEST(State, InvalidUtf8InAMessageDoesNotStopASave) {
  State state;
  Device device;
  device.id = "R";
  device.name = "r";
  device.last.text = std::string("bad \xc3\x28 byte");
  state.devices.push_back(device);
  const std::string text = dump_state(state);
  const StateLoad loaded = load_state(text);
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_EQ(loaded.state.devices.at(0).last.text.substr(0, 4), "bad ");
}

}  // namespace
}  // namespace rcgate::core
