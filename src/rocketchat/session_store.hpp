#pragma once
// Keeps the login token obtained with the bot's password in the state directory, so every
// reconnect and restart resumes the same session instead of adding a token on the server
// (PROTOCOL.md §2.5: tokens pile up and old sessions get logged out).
#include <optional>
#include <string>

namespace rcgate::rc {

struct StoredSession {
  std::string server;    // the server URL the token belongs to
  std::string username;  // the account it was issued for
  std::string user_id;
  std::string token;     // secret: never logged
};

class SessionStore {
 public:
  // An empty state_dir disables persistence (the token lives in memory only).
  explicit SessionStore(std::string state_dir);

  // The stored session when it matches server and username; nullopt otherwise (also when the
  // file is missing or damaged: a damaged file is set aside with a warning).
  std::optional<StoredSession> load(const std::string& server, const std::string& username) const;
  // Saves with mode 0600. Returns an error text, empty on success.
  std::string save(const StoredSession& session) const;
  void forget() const;
  std::string path() const;

 private:
  std::string state_dir_;
};

}  // namespace rcgate::rc
