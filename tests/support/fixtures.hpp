#pragma once
// Access to ../shared/fixtures and tests/data.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace rcgate::test {

std::string fixtures_dir();
std::string data_dir();
std::string read_file(const std::string& path);
// Loads fixtures/<name> (e.g. "dm-message.json") as JSON; fails the test loudly when missing.
nlohmann::json fixture(const std::string& name);
// Every *.json file name in the fixtures directory, sorted.
std::vector<std::string> fixture_names();

}  // namespace rcgate::test
