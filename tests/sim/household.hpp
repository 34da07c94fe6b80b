#pragma once
// Seed data for the simulator: who lives in the house, which rooms exist, who is in them.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace rcgate::sim {

struct HouseholdUser {
  std::string id;  // generated when empty
  std::string username;
  std::string name;
  std::string password;
  std::vector<std::string> roles;
  std::string pat;  // personal access token, optional
  bool totp = false;
};

struct HouseholdRoom {
  std::string id;  // generated when empty
  std::string type = "c";
  std::string name;
  std::string fname;  // defaults to name
  std::vector<std::string> members;  // usernames
  bool is_default = false;
};

struct Household {
  std::vector<HouseholdUser> users;
  std::vector<HouseholdRoom> rooms;
  std::string bot;  // username of the bot account
};

// camera-bot, alice and bob; GENERAL, camera-alerts and lobby (ids from ../shared/fixtures).
Household default_household();

// Parses the household JSON format of sim-contract.md. Throws std::runtime_error naming the
// offending key ("users[1].username: expected a string").
Household parse_household(const nlohmann::json& doc);
Household load_household(const std::string& path);

// The benchmark's household (--generate-household ROOMS USERS): the default bot (same id,
// password and PAT), users user001.. (password "user-password", role user) and public rooms
// room001.. with the bot in every one; user j is in room j % ROOMS, so each user speaks in
// a room and the rooms share the users evenly (100 rooms / 500 users: 5 people per room).
Household generated_household(int rooms, int users);

}  // namespace rcgate::sim
