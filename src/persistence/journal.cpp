#include "persistence/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace rcgate::persistence {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

Journal::Journal(std::string path) : path_(std::move(path)) {}

Journal::~Journal() { close(); }

void Journal::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string Journal::open(std::vector<std::string>& lines) {
  close();
  lines.clear();
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return error_ = errno_text("cannot open", path_);
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = errno_text("cannot read", path_);
      close();
      return error_;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  std::size_t start = 0;
  for (std::size_t end; (end = content.find('\n', start)) != std::string::npos; start = end + 1) {
    if (end > start) lines.emplace_back(content, start, end - start);
  }
  if (start < content.size() && ::ftruncate(fd_, static_cast<off_t>(start)) != 0) {
    error_ = errno_text("cannot cut the torn last line of", path_);
    close();
    return error_;
  }
  records_ = lines.size();
  size_ = static_cast<off_t>(start);
  error_.clear();
  return {};
}

std::string Journal::append(std::string_view line) {
  if (fd_ < 0) return error_.empty() ? "the journal " + path_ + " is not open" : error_;
  std::string record;
  record.reserve(line.size() + 1);
  record.append(line);
  record.push_back('\n');
  const char* data = record.data();
  std::size_t left = record.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string error = errno_text("cannot write", path_);
      if (left < record.size() && ::ftruncate(fd_, size_) != 0) {
        error += " (and cannot cut the part written)";
      }
      return error;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += static_cast<off_t>(record.size());
  ++records_;
  unsynced_ = true;
  return {};
}

std::string Journal::sync() {
  if (fd_ < 0 || !unsynced_) return {};
  if (::fdatasync(fd_) != 0) return errno_text("cannot flush", path_);
  unsynced_ = false;
  return {};
}

std::string Journal::reset() {
  if (fd_ < 0) return {};
  if (::ftruncate(fd_, 0) != 0) return errno_text("cannot empty", path_);
  size_ = 0;
  records_ = 0;
  unsynced_ = false;
  return {};
}

}  // namespace rcgate::persistence
