#include "support/fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rcgate::test {

std::string fixtures_dir() { return RCGATE_FIXTURES_DIR; }
std::string data_dir() { return RCGATE_TEST_DATA_DIR; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test file " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json fixture(const std::string& name) {
  return nlohmann::json::parse(read_file(fixtures_dir() + "/" + name));
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) throw std::runtime_error("no fixtures in " + fixtures_dir());
  return names;
}

}  // namespace rcgate::test
