#include "net/multipart.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace rcgate::net {

namespace {

std::string random_boundary() {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device device;
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kChars - 2);
  std::string out = "----rcgate-";
  for (int i = 0; i < 24; ++i) out += kChars[pick(device)];
  return out;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string escape_form_name(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '"') {
      out += "%22";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out += c;
    }
  }
  return out;
}

std::shared_ptr<MultipartFileBody> MultipartFileBody::open(std::vector<FormField> fields,
                                                           FormFile file, std::string& error,
                                                           std::string boundary) {
  std::shared_ptr<MultipartFileBody> body(new MultipartFileBody());
  body->path_ = file.path;
  body->fd_ = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (body->fd_ < 0) {
    error = "cannot read " + file.path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat info {};
  if (::fstat(body->fd_, &info) != 0) {
    error = "cannot read " + file.path + ": " + std::strerror(errno);
    return nullptr;
  }
  if (!S_ISREG(info.st_mode)) {
    error = "cannot send " + file.path + ": not a regular file";
    return nullptr;
  }
  body->file_size_ = static_cast<std::uint64_t>(info.st_size);
  body->file_name_ = file.file_name.empty() ? base_name(file.path) : file.file_name;
  body->boundary_ = boundary.empty() ? random_boundary() : std::move(boundary);

  const std::string dash = "--" + body->boundary_;
  for (const auto& field : fields) {
    body->head_ += dash + "\r\nContent-Disposition: form-data; name=\"" +
                   escape_form_name(field.name) + "\"\r\n\r\n" + field.value + "\r\n";
  }
  const std::string type = file.content_type.empty() ? "application/octet-stream"
                                                     : file.content_type;
  body->head_ += dash + "\r\nContent-Disposition: form-data; name=\"" +
                 escape_form_name(file.field) + "\"; filename=\"" +
                 escape_form_name(body->file_name_) + "\"\r\nContent-Type: " + type + "\r\n\r\n";
  body->tail_ = "\r\n" + dash + "--\r\n";
  return body;
}

MultipartFileBody::~MultipartFileBody() {
  if (fd_ >= 0) ::close(fd_);
}

std::string MultipartFileBody::content_type() const {
  return "multipart/form-data; boundary=" + boundary_;
}

std::uint64_t MultipartFileBody::size() const {
  return head_.size() + file_size_ + tail_.size();
}

bool MultipartFileBody::rewind(std::string& error) {
  if (::lseek(fd_, 0, SEEK_SET) < 0) {
    error = "cannot read " + path_ + ": " + std::strerror(errno);
    return false;
  }
  position_ = 0;
  return true;
}

std::size_t MultipartFileBody::read(char* buffer, std::size_t capacity, std::string& error) {
  std::size_t filled = 0;
  const std::uint64_t file_end = head_.size() + file_size_;
  while (filled < capacity && position_ < size()) {
    if (position_ < head_.size()) {
      const std::size_t n = std::min<std::size_t>(capacity - filled, head_.size() - position_);
      std::memcpy(buffer + filled, head_.data() + position_, n);
      filled += n;
      position_ += n;
    } else if (position_ < file_end) {
      // Never past the size announced: a file that grew meanwhile is cut at its old size.
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(capacity - filled, file_end - position_));
      const ssize_t n = ::read(fd_, buffer + filled, want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = "cannot read " + path_ + ": " + std::strerror(errno);
        return 0;
      }
      if (n == 0) {
        error = path_ + " shrank while it was being sent (" +
                std::to_string(position_ - head_.size()) + " of " + std::to_string(file_size_) +
                " bytes)";
        return 0;
      }
      filled += static_cast<std::size_t>(n);
      position_ += static_cast<std::uint64_t>(n);
    } else {
      const std::size_t offset = static_cast<std::size_t>(position_ - file_end);
      const std::size_t n = std::min<std::size_t>(capacity - filled, tail_.size() - offset);
      std::memcpy(buffer + filled, tail_.data() + offset, n);
      filled += n;
      position_ += n;
    }
  }
  return filled;
}

}  // namespace rcgate::net
