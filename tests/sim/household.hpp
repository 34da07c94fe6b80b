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

}  // namespace rcgate::sim
