#pragma once
// Crash-safe small files: write to "<path>.new", fsync, rename over <path>, fsync the directory.
// A reader sees the old file or the new one, never half of one, even after kill -9 or power loss.
#include <optional>
#include <string>

namespace rcgate::persistence {

// Writes `content` atomically with the given permission bits. Returns an empty string on success,
// otherwise what went wrong ("cannot write /var/lib/rcgate/x.new: No space left on device").
std::string write_atomic(const std::string& path, const std::string& content, unsigned mode = 0600);

// Reads a whole file. nullopt when it does not exist; *error set for other failures.
std::optional<std::string> read_file(const std::string& path, std::string* error = nullptr);

// Moves a damaged file aside as "<path>.corrupt-<unix time>" so it can be inspected; returns the
// new name (empty when the rename failed).
std::string set_aside(const std::string& path);

// Creates the directory (and parents) with mode 0700 when missing. Empty string on success.
std::string ensure_directory(const std::string& path);

}  // namespace rcgate::persistence
