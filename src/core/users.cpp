#include "core/users.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace rcgate::core {

namespace {

}  // namespace

UserDirectory::UserDirectory(std::vector<UserEntry> users, std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {
  set_users(std::move(users));
}

void UserDirectory::set_users(std::vector<UserEntry> users) {
  users_ = std::move(users);
  by_username_.clear();
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (users_[i].name.empty()) users_[i].name = users_[i].username;
    by_username_.emplace(core::ascii_lower(users_[i].username), i);  // first entry wins, as in the loader
  }
}

UserLookup UserDirectory::lookup(std::string_view username) const {
  if (username.empty()) return {};
  const auto it = by_username_.find(core::ascii_lower(username));
  if (it == by_username_.end()) return {};
  const UserEntry& user = users_[it->second];
  return {true, user.allow, user.name, user.role};
}

void UserDirectory::note_seen(const std::string& user_id, const std::string& username,
                              const std::string& display_name, std::int64_t ts_ms) {
  if (user_id.empty()) return;
  auto it = seen_.find(user_id);
  if (it == seen_.end()) {
    if (seen_.size() >= capacity_) {
      const auto oldest =
          std::min_element(seen_.begin(), seen_.end(), [](const auto& a, const auto& b) {
            return a.second.last_seen_ms < b.second.last_seen_ms;
          });
      seen_.erase(oldest);
    }
    it = seen_.emplace(user_id, SeenUser{user_id, username, display_name, ts_ms, ts_ms, 0}).first;
  }
  SeenUser& user = it->second;
  if (!username.empty()) user.username = username;
  if (!display_name.empty()) user.display_name = display_name;
  user.first_seen_ms = std::min(user.first_seen_ms, ts_ms);
  user.last_seen_ms = std::max(user.last_seen_ms, ts_ms);
  ++user.count;
  ++revision_;
}

std::vector<SeenUser> UserDirectory::seen() const {
  std::vector<SeenUser> out;
  out.reserve(seen_.size());
  for (const auto& [id, user] : seen_) out.push_back(user);
  std::sort(out.begin(), out.end(), [](const SeenUser& a, const SeenUser& b) {
    return a.last_seen_ms != b.last_seen_ms ? a.last_seen_ms > b.last_seen_ms
                                            : a.user_id < b.user_id;
  });
  return out;
}

std::vector<SeenUser> UserDirectory::unknown() const {
  std::vector<SeenUser> out = seen();
  out.erase(std::remove_if(out.begin(), out.end(),
                           [this](const SeenUser& user) { return lookup(user.username).known; }),
            out.end());
  return out;
}

void UserDirectory::restore(std::vector<SeenUser> seen) {
  seen_.clear();
  // Most recent first, so that a file larger than the capacity keeps the people seen lately.
  std::sort(seen.begin(), seen.end(),
            [](const SeenUser& a, const SeenUser& b) { return a.last_seen_ms > b.last_seen_ms; });
  for (auto& user : seen) {
    if (user.user_id.empty() || seen_.size() >= capacity_) continue;
    std::string id = user.user_id;
    seen_.emplace(std::move(id), std::move(user));
  }
  ++revision_;
}

}  // namespace rcgate::core
