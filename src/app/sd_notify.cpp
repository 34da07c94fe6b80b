#include "app/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace rcgate::app::sd {

namespace {

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

NotifyResult fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return NotifyResult::Failed;
}

}  // namespace

NotifyResult notify(std::string_view state, std::string* error) {
  const std::string_view address = env("NOTIFY_SOCKET");
  if (address.empty()) return NotifyResult::NoSocket;

  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  // A path is sent with its terminating NUL (it fits: checked below); an abstract name is the
  // bytes after the '@', with a NUL in its place and none at the end (the length says where the
  // name ends, and a trailing NUL would be part of it).
  const bool abstract = address.front() == '@';
  if (!abstract && address.front() != '/')
    return fail(error, "NOTIFY_SOCKET '" + std::string(address) +
                           "' is neither an absolute path nor an abstract name (@...)");
  if (address.size() >= sizeof sa.sun_path)
    return fail(error, "NOTIFY_SOCKET is longer than a socket address can be (" +
                           std::to_string(sizeof sa.sun_path - 1) + " bytes)");
  std::memcpy(sa.sun_path, address.data(), address.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (abstract) {
    sa.sun_path[0] = '\0';
  } else {
    length += 1;
  }

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(error, std::string("socket: ") + std::strerror(errno));
  // One datagram: the receiver reads the whole message or nothing.
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&sa), length);
  const int saved = errno;
  ::close(fd);
  if (sent < 0)
    return fail(error, "sending to NOTIFY_SOCKET " + std::string(address) + ": " +
                           std::strerror(saved));
  if (static_cast<std::size_t>(sent) != state.size())
    return fail(error, "NOTIFY_SOCKET " + std::string(address) + " took part of the message");
  return NotifyResult::Sent;
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  unsigned long long usec = 0;
  if (!parse_number(env("WATCHDOG_USEC"), usec) || usec == 0) return std::nullopt;
  // systemd's "infinity" (UINT64_MAX) means no watchdog.
  if (usec == static_cast<unsigned long long>(-1)) return std::nullopt;
  if (const std::string_view pid_text = env("WATCHDOG_PID"); !pid_text.empty()) {
    long long pid = 0;
    if (!parse_number(pid_text, pid) || pid != static_cast<long long>(::getpid())) return std::nullopt;
  }
  if (usec > static_cast<unsigned long long>(std::chrono::microseconds::max().count()))
    return std::nullopt;
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

}  // namespace rcgate::app::sd
