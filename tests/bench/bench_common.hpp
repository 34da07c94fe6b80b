#pragma once
// Shared by the benchmarks: memory figures of a process, test files, hashes.
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace rcgate::bench {

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"); pid 0: this process. -1 when
// unreadable.
inline long status_kib(pid_t pid, const char* field) {
  const std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      value = std::strtol(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return value;
}

// Resets VmHWM to the current RSS (Linux 4.0+); false when the kernel does not allow it.
inline bool reset_peak(pid_t pid) {
  const std::string path =
      pid == 0 ? "/proc/self/clear_refs" : "/proc/" + std::to_string(pid) + "/clear_refs";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

// Writes `size` bytes of a cheap pattern, 64 KiB at a time (the file is never in memory).
inline bool make_file(const std::string& path, std::uint64_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  static char block[65536];
  std::uint32_t x = 2463534242u;
  for (std::uint64_t done = 0; done < size;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof block, size - done));
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      block[i] = static_cast<char>(x);
    }
    if (std::fwrite(block, 1, n, f) != n) {
      std::fclose(f);
      return false;
    }
    done += n;
  }
  return std::fclose(f) == 0;
}

// sha256sum's answer (a child process, so that hashing costs this process no memory).
inline std::string sha256_of(const std::string& path) {
  const std::string command = "sha256sum '" + path + "'";
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {};
  char out[128] = {};
  const bool read = std::fgets(out, sizeof out, p) != nullptr;
  ::pclose(p);
  if (!read) return {};
  return std::string(out, strnlen(out, 64));
}

}  // namespace rcgate::bench
