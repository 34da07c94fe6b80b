// The service manager's notification protocol over real AF_UNIX datagram sockets: the bytes a
// listener bound where $NOTIFY_SOCKET points receives (a path, and a name in the abstract
// namespace), nothing at all without $NOTIFY_SOCKET, and the watchdog variables.
#include "app/sd_notify.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "support/notify_listener.hpp"
#include "support/process.hpp"

namespace rcgate::app::sd {
namespace {

using namespace std::chrono_literals;
using test::NotifyListener;

// Sets or unsets an environment variable for one test, and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    if (value == nullptr) ::unsetenv(name);
    else ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) ::setenv(name_, old_.c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(SdNotify, SendsTheStateToAPathSocket) {
  test::TempDir dir;
  const std::string path = dir.file("notify");
  NotifyListener listener(path);
  ASSERT_TRUE(listener.bound());
  ScopedEnv env("NOTIFY_SOCKET", path.c_str());

  std::string error;
  EXPECT_EQ(notify("READY=1", &error), NotifyResult::Sent) << error;
  EXPECT_EQ(listener.receive(), "READY=1");
  // One datagram per call, byte for byte: newlines and non-ASCII status text included.
  const std::string status = "STATUS=Rocket.Chat online\nX_RCGATE=é";
  EXPECT_EQ(notify(status, &error), NotifyResult::Sent) << error;
  EXPECT_EQ(listener.receive(), status);
  EXPECT_EQ(notify("WATCHDOG=1"), NotifyResult::Sent);
  EXPECT_EQ(notify("STOPPING=1"), NotifyResult::Sent);
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
  EXPECT_EQ(listener.receive(), "STOPPING=1");
  EXPECT_EQ(listener.receive(100ms), std::nullopt);
}

TEST(SdNotify, SendsTheStateToAnAbstractSocket) {
  const std::string name = "rcgate-sd-notify-test-" + std::to_string(::getpid());
  NotifyListener listener(std::string(1, '\0') + name);
  ASSERT_TRUE(listener.bound());
  ScopedEnv env("NOTIFY_SOCKET", ("@" + name).c_str());

  std::string error;
  EXPECT_EQ(notify("READY=1", &error), NotifyResult::Sent) << error;
  EXPECT_EQ(listener.receive(), "READY=1");
  EXPECT_EQ(notify("STATUS=Rocket.Chat connecting", &error), NotifyResult::Sent) << error;
  EXPECT_EQ(listener.receive(), "STATUS=Rocket.Chat connecting");
}

TEST(SdNotify, DoesNothingWithoutNotifySocket) {
  test::TempDir dir;
  const std::string path = dir.file("notify");
  NotifyListener listener(path);
  ASSERT_TRUE(listener.bound());
  {
    ScopedEnv env("NOTIFY_SOCKET", nullptr);
    std::string error = "untouched";
    EXPECT_EQ(notify("READY=1", &error), NotifyResult::NoSocket);
    EXPECT_EQ(error, "untouched");
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "");
    EXPECT_EQ(notify("READY=1"), NotifyResult::NoSocket);
  }
  EXPECT_EQ(listener.receive(200ms), std::nullopt);
}

TEST(SdNotify, SaysWhyItCouldNotSend) {
  test::TempDir dir;
  std::string error;
  {
    const std::string path = dir.file("nobody-listens");
    ScopedEnv env("NOTIFY_SOCKET", path.c_str());
    EXPECT_EQ(notify("READY=1", &error), NotifyResult::Failed);
    EXPECT_NE(error.find(path), std::string::npos) << error;
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "relative/notify");
    EXPECT_EQ(notify("READY=1", &error), NotifyResult::Failed);
    EXPECT_NE(error.find("absolute path"), std::string::npos) << error;
  }
  {
    const std::string long_path = "/" + std::string(200, 'x');
    ScopedEnv env("NOTIFY_SOCKET", long_path.c_str());
    EXPECT_EQ(notify("READY=1", &error), NotifyResult::Failed);
    EXPECT_NE(error.find("longer"), std::string::npos) << error;
  }
}

TEST(SdNotify, WatchdogIntervalFollowsWatchdogUsecAndPid) {
  const std::string own_pid = std::to_string(::getpid());
  {
    ScopedEnv usec("WATCHDOG_USEC", nullptr);
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(30000000));
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "2000000");
    ScopedEnv pid("WATCHDOG_PID", own_pid.c_str());
    EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(2000000));
  }
  {
    // Meant for another process (a parent whose environment was inherited): not ours to feed.
    const std::string other = std::to_string(::getpid() + 1);
    ScopedEnv usec("WATCHDOG_USEC", "2000000");
    ScopedEnv pid("WATCHDOG_PID", other.c_str());
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
  for (const char* bad : {"0", "", "-5", "2s", "18446744073709551615", "99999999999999999999999"}) {
    ScopedEnv usec("WATCHDOG_USEC", bad);
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    EXPECT_EQ(watchdog_interval(), std::nullopt) << "WATCHDOG_USEC=" << bad;
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "2000000");
    ScopedEnv pid("WATCHDOG_PID", "not-a-pid");
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
}

}  // namespace
}  // namespace rcgate::app::sd
