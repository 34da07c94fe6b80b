#pragma once
// The service manager's notification protocol (sd_notify(3), sd_watchdog_enabled(3)), written
// out here instead of linking libsystemd: rcgate sends a handful of short datagrams, and
// libsystemd with the libraries it pulls in (libgcrypt, liblzma, libzstd, liblz4, libcap...)
// cost the idle daemon about a megabyte of mapped pages (issue 7).
//
// The protocol: one datagram on an AF_UNIX SOCK_DGRAM socket to the address in $NOTIFY_SOCKET
// (a path, or with a leading '@' a name in the abstract namespace), newline-separated
// VARIABLE=value assignments (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1). Without
// $NOTIFY_SOCKET (not started by a service manager) nothing is sent.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rcgate::app::sd {

// What notify() did.
enum class NotifyResult {
  Sent,    // the datagram went out
  NoSocket,  // $NOTIFY_SOCKET is unset or empty: not run by a service manager, nothing to do
  Failed,  // the address is invalid or sending failed; `error` says why
};

// Sends `state` to $NOTIFY_SOCKET. `error` (optional) gets the reason on Failed.
NotifyResult notify(std::string_view state, std::string* error = nullptr);

// The watchdog interval the service manager asks for: $WATCHDOG_USEC when it is a positive
// number and $WATCHDOG_PID is unset or this process's pid (the variables are inherited by
// children, which must not feed their parent's watchdog). std::nullopt when the watchdog is off.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace rcgate::app::sd
