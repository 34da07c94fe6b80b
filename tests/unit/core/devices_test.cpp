#include "core/devices.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace rcgate::core {
namespace {

using W = DeviceChange::What;

const std::string kBot = "BCmeyJm2r6b8hJiie";

// The room document of rooms-changed-inserted.json (the bot added to a private group).
RoomInfo camera_alerts_from_fixture() {
  const auto frames = test::fixture("rooms-changed-inserted.json")["server"];
  for (const auto& frame : frames) {
    if (frame.value("msg", "") != "changed") continue;
    const auto& args = frame["fields"]["args"];
    if (frame["fields"]["eventName"].get<std::string>().find("rooms-changed") ==
        std::string::npos) {
      continue;
    }
    const auto& room = args[1];
    return {room["_id"], room["name"], room["fname"], room["t"], "", "", false};
  }
  ADD_FAILURE() << "no rooms-changed frame in the fixture";
  return {};
}

RoomInfo room(std::string id, std::string name, std::string type = "c", std::string fname = {}) {
  return {std::move(id), std::move(name), std::move(fname), std::move(type), "", "", false};
}

MessageSeen said(std::string rid, std::string id, std::string user_id, std::string username,
                 std::string text, std::int64_t ts) {
  std::string name = username + " Name";
  return {std::move(rid),
          std::move(id),
          std::move(user_id),
          std::move(username),
          std::move(name),
          std::move(text),
          ts,
          false};
}

std::vector<std::string> command_ids(const Device& device) {
  std::vector<std::string> ids;
  for (const auto& c : commands_of(device)) ids.push_back(c.id);
  return ids;
}

bool has_change(const DeviceChanges& changes, W what, const std::string& detail = {}) {
  return std::any_of(changes.begin(), changes.end(), [&](const DeviceChange& c) {
    return c.what == what && (detail.empty() || c.detail == detail);
  });
}

TEST(Devices, BotAddedToARoomCreatesADevice) {
  DeviceRegistry registry;
  const RoomInfo info = camera_alerts_from_fixture();
  const auto changes = registry.upsert_room(info);
  ASSERT_EQ(changes, (DeviceChanges{{"c3f8a6a80a707dc9ce744b9d", W::Added, ""}}));
  const Device* device = registry.find("c3f8a6a80a707dc9ce744b9d");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->name, "camera-alerts");
  EXPECT_EQ(device->type, "p");
  EXPECT_TRUE(device->available);
  EXPECT_EQ(command_ids(*device),
            (std::vector<std::string>{"send", "last_message", "last_sender", "last_message_at"}));
  EXPECT_EQ(commands_of(*device)[0].kind, CommandKind::Action);
  EXPECT_EQ(commands_of(*device)[1].kind, CommandKind::Info);
  // The same document again (subscriptions-changed after rooms-changed) changes nothing.
  EXPECT_TRUE(registry.upsert_room(info).empty());
}

TEST(Devices, DisplayNameIsFnameElseName) {
  DeviceRegistry registry;
  registry.upsert_room(room("R1", "living-room", "c", "Living room"));
  registry.upsert_room(room("R2", "garage", "p"));
  EXPECT_EQ(registry.find("R1")->name, "Living room");
  EXPECT_EQ(registry.find("R1")->room_name, "living-room");
  EXPECT_EQ(registry.find("R2")->name, "garage");
}

TEST(Devices, TeamsAndDiscussionsAreDevicesButDmsAndLivechatAreNot) {
  DeviceRegistry registry;
  RoomInfo team = room("T", "family", "p");
  team.team_main = true;
  team.team_id = "team1";
  RoomInfo discussion = room("D", "holiday-plans", "c");
  discussion.parent_id = "T";
  EXPECT_FALSE(registry.upsert_room(team).empty());
  EXPECT_FALSE(registry.upsert_room(discussion).empty());
  EXPECT_TRUE(registry.upsert_room(room("BCmeyJm2r6b8hJiiet7EgqqFfkzCDKZrLg", "", "d")).empty());
  EXPECT_TRUE(registry.upsert_room(room("L", "visitor", "l")).empty());
  EXPECT_TRUE(registry.upsert_room(room("V", "call", "v")).empty());
  EXPECT_TRUE(registry.upsert_room(room("", "noid", "c")).empty());
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_TRUE(registry.find("T")->team_main);
  EXPECT_EQ(registry.find("D")->parent_id, "T");
}

TEST(Devices, LeavingKeepsTheDeviceUnavailableWithItsSettingsAndRejoiningRestoresIt) {
  DeviceRegistry registry;
  registry.upsert_room(room("R1", "kitchen"));
  registry.on_message(said("R1", "m1", "u1", "alice", "hi", 1000));
  registry.set_mention_commands("R1", false);

  EXPECT_EQ(registry.remove_room("R1"), (DeviceChanges{{"R1", W::Unavailable, ""}}));
  EXPECT_TRUE(registry.remove_room("R1").empty()) << "already unavailable";
  EXPECT_TRUE(registry.remove_room("nope").empty());
  const Device* device = registry.find("R1");
  ASSERT_NE(device, nullptr);
  EXPECT_FALSE(device->available);
  EXPECT_EQ(device->persons.size(), 1u);
  EXPECT_EQ(device->mention_commands_override, false);
  EXPECT_EQ(device->last.text, "hi");

  EXPECT_EQ(registry.upsert_room(room("R1", "kitchen")), (DeviceChanges{{"R1", W::Available, ""}}));
  EXPECT_TRUE(registry.find("R1")->available);
  EXPECT_EQ(registry.find("R1")->mention_commands, false);
}

TEST(Devices, RenameKeepsTheIdAndReportsTheOldName) {
  DeviceRegistry registry;
  registry.upsert_room(room("R1", "kitchen", "c", "Kitchen"));
  registry.on_message(said("R1", "m1", "u1", "alice", "hi", 1000));
  const auto changes = registry.upsert_room(room("R1", "cuisine", "c", "Cuisine"));
  EXPECT_EQ(changes, (DeviceChanges{{"R1", W::Renamed, "Kitchen"}}));
  EXPECT_EQ(registry.find("R1")->name, "Cuisine");
  EXPECT_EQ(registry.find("R1")->room_name, "cuisine");
  EXPECT_EQ(registry.find("R1")->persons.size(), 1u);
  EXPECT_EQ(registry.size(), 1u);
}

TEST(Devices, OnlyTheUrlNameChangingIsSavedButNotAnnounced) {
  DeviceRegistry registry;
  registry.upsert_room(room("R1", "kitchen", "c", "Kitchen"));
  const auto before = registry.revision();
  EXPECT_TRUE(registry.upsert_room(room("R1", "kitchen-2", "c", "Kitchen")).empty());
  EXPECT_EQ(registry.find("R1")->room_name, "kitchen-2");
  EXPECT_GT(registry.revision(), before);
}

TEST(Devices, PrivacyChangeIsAnUpdate) {
  DeviceRegistry registry;
  registry.upsert_room(room("R1", "kitchen", "c"));
  EXPECT_EQ(registry.upsert_room(room("R1", "kitchen", "p")),
            (DeviceChanges{{"R1", W::Updated, ""}}));
  EXPECT_EQ(registry.find("R1")->type, "p");
  // Becoming a DM-like type is not something a room does; a non-device type is ignored.
  EXPECT_TRUE(registry.upsert_room(room("R1", "kitchen", "d")).empty());
  EXPECT_EQ(registry.find("R1")->type, "p");
}

TEST(Devices, ReconcileAddsKeepsAndMarksTheMissingUnavailable) {
  DeviceRegistry registry;
  registry.upsert_room(room("A", "alpha"));
  registry.upsert_room(room("B", "beta"));
  registry.remove_room("B");
  const auto changes =
      registry.reconcile({room("B", "beta"), room("C", "gamma", "p"), room("Dm", "", "d")});
  EXPECT_TRUE(has_change(changes, W::Available)) << "B is back";
  EXPECT_TRUE(has_change(changes, W::Added)) << "C is new";
  EXPECT_TRUE(has_change(changes, W::Unavailable)) << "A is gone";
  EXPECT_EQ(changes.size(), 3u);
  EXPECT_FALSE(registry.find("A")->available);
  EXPECT_TRUE(registry.find("B")->available);
  EXPECT_TRUE(registry.find("C")->available);
  EXPECT_EQ(registry.find("Dm"), nullptr);
  // The same listing again changes nothing.
  EXPECT_TRUE(registry.reconcile({room("B", "beta"), room("C", "gamma", "p")}).empty());
  // An empty listing (the bot is in no room) makes every device unavailable.
  EXPECT_EQ(registry.reconcile({}).size(), 2u);
}

TEST(Devices, PruneRemovesOnlyUnavailableDevices) {
  DeviceRegistry registry;
  registry.upsert_room(room("A", "alpha"));
  std::string error;
  EXPECT_TRUE(registry.prune("A", &error).empty());
  EXPECT_EQ(error, "device 'A' (alpha) is still available: remove the bot from the room first");
  EXPECT_TRUE(registry.prune("Z", &error).empty());
  EXPECT_EQ(error, "no device 'Z'");
  registry.remove_room("A");
  EXPECT_EQ(registry.prune("A", &error), (DeviceChanges{{"A", W::Pruned, ""}}));
  EXPECT_EQ(registry.find("A"), nullptr);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(Devices, MessagesUpdateTheLastValuesAndCreateMentionCommands) {
  DeviceRegistry registry;
  registry.set_self(kBot);
  registry.upsert_room(room("GENERAL", "general"));

  auto changes = registry.on_message(said("GENERAL", "m1", "u-alice", "alice", "hello", 1000));
  EXPECT_EQ(changes, (DeviceChanges{{"GENERAL", W::CommandAdded, "@alice"},
                                    {"GENERAL", W::LastMessage, ""}}));
  const Device* device = registry.find("GENERAL");
  EXPECT_EQ(device->last.text, "hello");
  EXPECT_EQ(device->last.sender_username, "alice");
  EXPECT_EQ(device->last.sender_name, "alice Name");
  EXPECT_EQ(device->last.at_ms, 1000);
  EXPECT_EQ(device->last.id, "m1");

  // Alice again: only the last message changes.
  changes = registry.on_message(said("GENERAL", "m2", "u-alice", "alice", "again", 2000));
  EXPECT_EQ(changes, (DeviceChanges{{"GENERAL", W::LastMessage, ""}}));
  // Bob: his own command.
  changes = registry.on_message(said("GENERAL", "m3", "u-bob", "bob", "me too", 3000));
  EXPECT_TRUE(has_change(changes, W::CommandAdded, "@bob"));
  EXPECT_EQ(command_ids(*registry.find("GENERAL")),
            (std::vector<std::string>{"send", "last_message", "last_sender", "last_message_at",
                                      "@alice", "@bob"}));
  const auto commands = commands_of(*registry.find("GENERAL"));
  EXPECT_EQ(commands[4].kind, CommandKind::Action);
  EXPECT_EQ(commands[4].username, "alice");
  EXPECT_EQ(registry.find("GENERAL")->persons[0].first_seen_ms, 1000);
  EXPECT_EQ(registry.find("GENERAL")->persons[0].last_seen_ms, 2000);
}

TEST(Devices, OlderOrRepeatedMessagesKeepTheLastMessage) {
  DeviceRegistry registry;
  registry.upsert_room(room("R", "r"));
  registry.on_message(said("R", "m2", "u1", "alice", "newer", 2000));
  // A catch-up replay or late delivery of an older message: recorded author, same last message.
  auto changes = registry.on_message(said("R", "m1", "u2", "bob", "older", 1000));
  EXPECT_EQ(changes, (DeviceChanges{{"R", W::CommandAdded, "@bob"}}));
  EXPECT_EQ(registry.find("R")->last.text, "newer");
  // The same message delivered twice.
  EXPECT_TRUE(registry.on_message(said("R", "m2", "u1", "alice", "newer", 2000)).empty());
  EXPECT_EQ(registry.find("R")->persons[1].first_seen_ms, 1000);
}

TEST(Devices, EditsRefreshTheLastMessageOnlyWhenTheyEditIt) {
  DeviceRegistry registry;
  registry.upsert_room(room("R", "r"));
  registry.on_message(said("R", "m1", "u1", "alice", "first", 1000));
  registry.on_message(said("R", "m2", "u1", "alice", "second", 2000));
  MessageSeen edit = said("R", "m1", "u1", "alice", "first, edited", 1000);
  edit.edit = true;
  EXPECT_TRUE(registry.on_message(edit).empty());
  EXPECT_EQ(registry.find("R")->last.text, "second");
  edit = said("R", "m2", "u1", "alice", "second, edited", 2000);
  edit.edit = true;
  EXPECT_EQ(registry.on_message(edit), (DeviceChanges{{"R", W::LastMessage, ""}}));
  EXPECT_EQ(registry.find("R")->last.text, "second, edited");
  EXPECT_EQ(registry.find("R")->last.at_ms, 2000);
}

TEST(Devices, MessagesFromRoomsThatAreNotDevicesCreateNothing) {
  DeviceRegistry registry;
  registry.set_self(kBot);
  registry.upsert_room(room("R", "r"));
  EXPECT_TRUE(registry.on_message(said("PUBLIC", "m1", "u1", "alice", "hi", 1)).empty());
  EXPECT_EQ(registry.find("PUBLIC"), nullptr);
  EXPECT_EQ(registry.size(), 1u);
  // The bot's own messages are neither the last message nor a person.
  EXPECT_TRUE(registry.on_message(said("R", "m2", kBot, "camera-bot", "snapshot", 2)).empty());
  EXPECT_TRUE(registry.find("R")->persons.empty());
  // A device the bot has left is not updated.
  registry.remove_room("R");
  EXPECT_TRUE(registry.on_message(said("R", "m3", "u1", "alice", "hi", 3)).empty());
  EXPECT_TRUE(registry.find("R")->last.id.empty());
}

TEST(Devices, MentionCommandsFollowTheConfiguredDefault) {
  DeviceOptions options;
  options.mention_commands = false;
  DeviceRegistry registry(options);
  registry.upsert_room(room("R", "r"));
  const auto changes = registry.on_message(said("R", "m1", "u1", "alice", "hi", 1));
  EXPECT_EQ(changes, (DeviceChanges{{"R", W::LastMessage, ""}}));
  EXPECT_EQ(commands_of(*registry.find("R")).size(), 4u);
  EXPECT_EQ(registry.find("R")->persons.size(), 1u) << "remembered for when they are switched on";
}

TEST(Devices, PerRoomOverridesByNameDisplayNameOrId) {
  DeviceOptions options;
  options.rooms["general"].mention_commands = false;
  options.rooms["R2"].mention_commands = false;
  options.rooms["Living room"].mention_commands = false;
  options.rooms["nothing-set"] = {};
  DeviceRegistry registry(options);
  registry.upsert_room(room("R1", "general"));
  registry.upsert_room(room("R2", "garage"));
  registry.upsert_room(room("R3", "living-room", "c", "Living room"));
  registry.upsert_room(room("R4", "nothing-set"));
  registry.upsert_room(room("R5", "other"));
  EXPECT_FALSE(registry.find("R1")->mention_commands);
  EXPECT_FALSE(registry.find("R2")->mention_commands);
  EXPECT_FALSE(registry.find("R3")->mention_commands);
  EXPECT_TRUE(registry.find("R4")->mention_commands);
  EXPECT_TRUE(registry.find("R5")->mention_commands);
}

TEST(Devices, IdOverrideWinsOverNameOverride) {
  DeviceOptions options;
  options.mention_commands = false;
  options.rooms["R1"].mention_commands = true;
  options.rooms["general"].mention_commands = false;
  DeviceRegistry registry(options);
  registry.upsert_room(room("R1", "general"));
  EXPECT_TRUE(registry.find("R1")->mention_commands);
}

TEST(Devices, SwitchingMentionCommandsAddsAndRemovesThem) {
  DeviceRegistry registry;
  registry.upsert_room(room("R", "r"));
  registry.on_message(said("R", "m1", "u1", "alice", "hi", 1));
  registry.on_message(said("R", "m2", "u2", "bob", "hi", 2));

  auto changes = registry.set_mention_commands("R", false);
  EXPECT_EQ(changes, (DeviceChanges{{"R", W::Settings, "off"},
                                    {"R", W::CommandRemoved, "@alice"},
                                    {"R", W::CommandRemoved, "@bob"}}));
  EXPECT_EQ(commands_of(*registry.find("R")).size(), 4u);
  // Off already: nothing to announce.
  EXPECT_TRUE(registry.set_mention_commands("R", false).empty());
  // Back to the configuration (on by default).
  changes = registry.set_mention_commands("R", std::nullopt);
  EXPECT_EQ(changes, (DeviceChanges{{"R", W::Settings, "on"},
                                    {"R", W::CommandAdded, "@alice"},
                                    {"R", W::CommandAdded, "@bob"}}));
  EXPECT_TRUE(registry.set_mention_commands("nope", true).empty());
}

TEST(Devices, NewConfigurationRecomputesTheFlags) {
  DeviceRegistry registry;
  registry.upsert_room(room("R", "r"));
  registry.on_message(said("R", "m1", "u1", "alice", "hi", 1));
  DeviceOptions options;
  options.rooms["r"].mention_commands = false;
  const auto changes = registry.set_options(options);
  EXPECT_EQ(changes,
            (DeviceChanges{{"R", W::Settings, "off"}, {"R", W::CommandRemoved, "@alice"}}));
  // A rename out of the override's reach turns them back on.
  const auto renamed = registry.upsert_room(room("R", "r2"));
  EXPECT_TRUE(has_change(renamed, W::Renamed, "r"));
  EXPECT_TRUE(has_change(renamed, W::CommandAdded, "@alice"));
}

TEST(Devices, ARenamedAccountKeepsItsPersonAndItsCommandFollows) {
  DeviceRegistry registry;
  registry.upsert_room(room("R", "r"));
  registry.on_message(said("R", "m1", "u1", "alice", "hi", 1));
  const auto changes = registry.on_message(said("R", "m2", "u1", "alice2", "hi", 2));
  EXPECT_EQ(changes, (DeviceChanges{{"R", W::CommandRemoved, "@alice"},
                                    {"R", W::CommandAdded, "@alice2"},
                                    {"R", W::LastMessage, ""}}));
  EXPECT_EQ(registry.find("R")->persons.size(), 1u);
}

TEST(Devices, ListIsSortedByNameAndSnapshotRestores) {
  DeviceRegistry registry;
  registry.upsert_room(room("Z", "zeta"));
  registry.upsert_room(room("A", "alpha"));
  registry.set_mention_commands("Z", false);
  const auto list = registry.devices();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->id, "A");
  EXPECT_EQ(list[1]->id, "Z");

  DeviceOptions options;
  options.rooms["alpha"].mention_commands = false;
  DeviceRegistry restored(options);
  restored.restore(registry.snapshot());
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_FALSE(restored.find("Z")->mention_commands) << "the override travels";
  EXPECT_FALSE(restored.find("A")->mention_commands) << "the configuration applies";
}

TEST(Devices, RevisionMovesOnlyWithChanges) {
  DeviceRegistry registry;
  auto revision = registry.revision();
  registry.upsert_room(room("R", "r"));
  EXPECT_GT(registry.revision(), revision);
  revision = registry.revision();
  registry.upsert_room(room("R", "r"));
  registry.remove_room("nope");
  registry.on_message(said("X", "m", "u", "alice", "t", 1));
  EXPECT_EQ(registry.revision(), revision);
}

}  // namespace
}  // namespace rcgate::core
