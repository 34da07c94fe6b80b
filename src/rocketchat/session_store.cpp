#include "rocketchat/session_store.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "persistence/atomic_file.hpp"

namespace rcgate::rc {

namespace {
constexpr int kFormat = 1;
}

SessionStore::SessionStore(std::string state_dir) : state_dir_(std::move(state_dir)) {}

std::string SessionStore::path() const {
  return state_dir_.empty() ? std::string{} : state_dir_ + "/session.json";
}

std::optional<StoredSession> SessionStore::load(const std::string& server,
                                                const std::string& username) const {
  if (state_dir_.empty()) return std::nullopt;
  std::string error;
  auto text = persistence::read_file(path(), &error);
  if (!text) {
    if (!error.empty()) spdlog::warn("session: {}", error);
    return std::nullopt;
  }
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.value("format", 0) != kFormat) throw std::runtime_error("unknown format version");
    StoredSession s{j.at("server").get<std::string>(), j.at("username").get<std::string>(),
                    j.at("user_id").get<std::string>(), j.at("token").get<std::string>()};
    if (s.server != server || s.username != username || s.token.empty()) return std::nullopt;
    return s;
  } catch (const std::exception& e) {
    auto aside = persistence::set_aside(path());
    spdlog::warn("session: {} is damaged ({}); set aside as {}, logging in afresh", path(),
                 e.what(), aside.empty() ? "(rename failed)" : aside);
    return std::nullopt;
  }
}

std::string SessionStore::save(const StoredSession& s) const {
  if (state_dir_.empty()) return {};
  if (auto err = persistence::ensure_directory(state_dir_); !err.empty()) return err;
  nlohmann::json j = {{"format", kFormat},   {"server", s.server}, {"username", s.username},
                      {"user_id", s.user_id}, {"token", s.token}};
  return persistence::write_atomic(path(), j.dump(2) + "\n", 0600);
}

void SessionStore::forget() const {
  if (!state_dir_.empty()) std::remove(path().c_str());
}

}  // namespace rcgate::rc
