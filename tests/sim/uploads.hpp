#pragma once
// File uploads in the simulator (PROTOCOL.md §7.3): multipart/form-data parsing, the uploaded
// files (kept on disk in a temporary directory, not in memory) and the file message a real
// server posts for them (fixtures/file-attachment-message.json).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::sim {

struct FormPart {
  std::string name;
  std::string file_name;  // empty for a text field
  bool is_file = false;   // it had a filename parameter
  std::string content_type;
  std::string_view data;  // points into the parsed body
};

// Splits a multipart/form-data body (RFC 7578). nullopt with `error` set when the body or the
// Content-Type (its boundary) is malformed.
std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body, std::string& error);

struct StoredFile {
  std::string id;
  std::string rid;
  std::string uid;
  std::string name;
  std::string type;
  std::uint64_t size = 0;
  std::string sha256;
  std::string path;      // where the bytes are
  std::string endpoint;  // "rooms.media" or "rooms.upload"
  std::int64_t uploaded_at = 0;
  std::string message_id;  // set once confirmed (rooms.upload: at once)
};

class UploadStore {
 public:
  static constexpr std::int64_t kUnconfirmedLifetimeMs = 24LL * 3600 * 1000;

  UploadStore();
  ~UploadStore();  // removes the directory and everything in it
  UploadStore(const UploadStore&) = delete;
  UploadStore& operator=(const UploadStore&) = delete;

  // Writes the bytes to disk. Throws std::runtime_error when the disk refuses.
  StoredFile& add(const std::string& rid, const std::string& uid, const std::string& name,
                  const std::string& type, std::string_view data, const std::string& endpoint);
  // Unconfirmed uploads expire after 24 h, like the server's temporary uploads.
  StoredFile* find(const std::string& id);
  std::optional<std::string> read(const StoredFile& file) const;

  // {"uploads":[{"id","room","user","name","type","size","sha256","endpoint","confirmed",
  //   "message_id"}], "rejected":N, "attempts":{"rooms.media":N,"rooms.upload":N,
  //   "rooms.mediaConfirm":N}} (attempts: requests received, 404s on a flavour without the
  //   endpoint included)
  nlohmann::json to_json() const;
  void count_rejected() { ++rejected_; }
  void count_attempt(const std::string& endpoint) { ++attempts_[endpoint]; }

 private:
  std::string dir_;
  std::vector<std::string> order_;
  std::map<std::string, StoredFile> files_;
  std::uint64_t rejected_ = 0;
  std::map<std::string, std::uint64_t> attempts_;
};

// The extension as Rocket.Chat's `format`: "snapshot.JPG" -> "jpg"; "" when none.
std::string file_format(const std::string& name);

// The message keys for an uploaded file: file, files, attachments (title, title_link,
// title_link_download, type "file", description, image_*/audio_*/video_* by type), groupable.
// with_file_id: newer servers also put fileId on the attachment.
nlohmann::json file_message_fields(const StoredFile& file, const std::string& description,
                                   bool with_file_id);

// "image/*,application/pdf" accepts the type? An empty list accepts everything.
bool media_type_allowed(const std::string& list, const std::string& type);

}  // namespace rcgate::sim
