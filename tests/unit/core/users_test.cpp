#include "core/users.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rcgate::core {
namespace {

std::vector<UserEntry> household() {
  return {{"alice", "alice_home", true, "admin"},
          {"Bob", "", true, ""},
          {"mallory", "mallory", false, "guest"}};
}

TEST(Users, LookupMapsUsernamesToAutomationUsers) {
  const UserDirectory users(household());
  const UserLookup alice = users.lookup("alice");
  EXPECT_TRUE(alice.known);
  EXPECT_TRUE(alice.allowed);
  EXPECT_EQ(alice.automation_user, "alice_home");
  EXPECT_EQ(alice.role, "admin");

  const UserLookup bob = users.lookup("bob");
  EXPECT_TRUE(bob.known) << "usernames compare without case";
  EXPECT_EQ(bob.automation_user, "Bob") << "the automation user defaults to the username";
  EXPECT_EQ(bob.role, "");

  const UserLookup mallory = users.lookup("MALLORY");
  EXPECT_TRUE(mallory.known);
  EXPECT_FALSE(mallory.allowed);
  EXPECT_EQ(mallory.role, "guest");
}

TEST(Users, UnknownPeopleGetNoAccess) {
  const UserDirectory users(household());
  for (const char* name : {"eve", "", "alice2", "alic"}) {
    const UserLookup who = users.lookup(name);
    EXPECT_FALSE(who.known) << name;
    EXPECT_FALSE(who.allowed) << name;
    EXPECT_EQ(who.automation_user, "") << name;
  }
}

TEST(Users, EveryoneWhoSpokeIsRecordedAndTheUnmappedAreListed) {
  UserDirectory users(household());
  users.note_seen("u-eve", "eve", "Eve Example", 2000);
  users.note_seen("u-alice", "alice", "Alice", 1000);
  users.note_seen("u-eve", "eve", "", 1500);  // an older message seen later: first moves back
  users.note_seen("u-eve", "eve", "", 3000);
  users.note_seen("", "ghost", "", 5000);  // no id: not recorded

  const auto seen = users.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].username, "eve") << "most recently seen first";
  EXPECT_EQ(seen[0].display_name, "Eve Example") << "an empty name does not erase a known one";
  EXPECT_EQ(seen[0].first_seen_ms, 1500);
  EXPECT_EQ(seen[0].last_seen_ms, 3000);
  EXPECT_EQ(seen[0].count, 3u);

  const auto unknown = users.unknown();
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].user_id, "u-eve");

  // Mapping eve in a new configuration takes her off the list.
  auto config = household();
  config.push_back({"eve", "eve", true, ""});
  users.set_users(config);
  EXPECT_TRUE(users.unknown().empty());
}

TEST(Users, ARenamedAccountIsTheSamePerson) {
  UserDirectory users;
  users.note_seen("u1", "eve", "Eve", 1);
  users.note_seen("u1", "eve2", "Eve", 2);
  ASSERT_EQ(users.seen().size(), 1u);
  EXPECT_EQ(users.seen()[0].username, "eve2");
}

TEST(Users, TheLeastRecentlySeenMakeRoom) {
  UserDirectory users({}, 2);
  users.note_seen("u1", "one", "", 100);
  users.note_seen("u2", "two", "", 200);
  users.note_seen("u1", "one", "", 300);
  users.note_seen("u3", "three", "", 400);
  const auto seen = users.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].user_id, "u3");
  EXPECT_EQ(seen[1].user_id, "u1");
}

TEST(Users, RestoreKeepsTheMostRecentWithinCapacity) {
  UserDirectory users({}, 2);
  const auto revision = users.revision();
  users.restore({{"u1", "one", "", 1, 100, 1},
                 {"u2", "two", "", 1, 300, 1},
                 {"u3", "three", "", 1, 200, 1},
                 {"", "noid", "", 1, 999, 1}});
  EXPECT_GT(users.revision(), revision);
  const auto seen = users.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].user_id, "u2");
  EXPECT_EQ(seen[1].user_id, "u3");
}

TEST(Users, FirstEntryWinsForADuplicatedUsername) {
  // The loader refuses duplicates; the directory still behaves predictably without it.
  const UserDirectory users({{"alice", "first", true, ""}, {"ALICE", "second", false, ""}});
  EXPECT_EQ(users.lookup("alice").automation_user, "first");
  EXPECT_TRUE(users.lookup("alice").allowed);
}

}  // namespace
}  // namespace rcgate::core
