// net::FdWatch over a real socket pair: readiness is reported on the loop, level-triggered (data
// left unread is reported again), cancelled waits stay silent, and the descriptor is never closed.
#include "net/fd_watch.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

#include "net/loop.hpp"

namespace rcgate::net {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  }
  ~SocketPair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

bool open_fd(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(FdWatch, ReportsReadableOnlyOnceDataArrives) {
  Loop loop;
  SocketPair pair;
  FdWatch watch(loop, pair.fds[0]);
  int calls = 0;
  watch.wait_readable([&](bool ok) {
    EXPECT_TRUE(ok);
    ++calls;
  });
  EXPECT_TRUE(watch.waiting_readable());
  loop.run_for(50ms);
  EXPECT_EQ(calls, 0);  // nothing to read yet
  ASSERT_EQ(::write(pair.fds[1], "x", 1), 1);
  loop.run_for(200ms);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(watch.waiting_readable());
}

TEST(FdWatch, DataLeftUnreadIsReportedAgain) {
  Loop loop;
  SocketPair pair;
  ASSERT_EQ(::write(pair.fds[1], "abc", 3), 3);
  FdWatch watch(loop, pair.fds[0]);
  int calls = 0;
  std::function<void(bool)> again = [&](bool) {
    // Reads one byte a time: the rest must be reported even though no new data arrives.
    char c = 0;
    if (::read(pair.fds[0], &c, 1) == 1) ++calls;
    if (calls < 3) watch.wait_readable(again);
  };
  watch.wait_readable(again);
  loop.run_for(300ms);
  EXPECT_EQ(calls, 3);
}

TEST(FdWatch, ReportsWritable) {
  Loop loop;
  SocketPair pair;
  FdWatch watch(loop, pair.fds[0]);
  bool writable = false;
  watch.wait_writable([&](bool ok) { writable = ok; });
  // Never inside the call: on the loop.
  EXPECT_FALSE(writable);
  loop.run_for(200ms);
  EXPECT_TRUE(writable);
}

TEST(FdWatch, WritableAgainOnceTheFullBufferDrains) {
  Loop loop;
  SocketPair pair;
  char chunk[4096] = {};
  while (::write(pair.fds[0], chunk, sizeof chunk) > 0) {
  }
  FdWatch watch(loop, pair.fds[0]);
  bool writable = false;
  watch.wait_writable([&](bool) { writable = true; });
  loop.run_for(50ms);
  EXPECT_FALSE(writable);  // the socket buffer is full
  while (::read(pair.fds[1], chunk, sizeof chunk) > 0) {
  }
  loop.run_for(300ms);
  EXPECT_TRUE(writable);
}

TEST(FdWatch, CancelledAndDestroyedWaitsStaySilentAndTheFdStaysOpen) {
  Loop loop;
  SocketPair pair;
  int calls = 0;
  {
    FdWatch watch(loop, pair.fds[0]);
    watch.wait_readable([&](bool) { ++calls; });
    watch.cancel();
    EXPECT_FALSE(watch.waiting_readable());
    ASSERT_EQ(::write(pair.fds[1], "x", 1), 1);
    loop.run_for(100ms);
    EXPECT_EQ(calls, 0);
    watch.wait_readable([&](bool) { ++calls; });
    // Destroyed with a completion already queued (the data is there): it must not run.
  }
  loop.run_for(100ms);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(open_fd(pair.fds[0]));
  char c = 0;
  EXPECT_EQ(::read(pair.fds[0], &c, 1), 1);  // still usable by its owner
  // A new watch on the same descriptor works (the old one was deregistered).
  FdWatch again(loop, pair.fds[0]);
  again.wait_readable([&](bool) { ++calls; });
  ASSERT_EQ(::write(pair.fds[1], "y", 1), 1);
  loop.run_for(200ms);
  EXPECT_EQ(calls, 1);
}

TEST(FdWatch, AClosedPeerIsReportedAsReadable) {
  Loop loop;
  SocketPair pair;
  FdWatch watch(loop, pair.fds[0]);
  bool called = false;
  watch.wait_readable([&](bool) { called = true; });
  ::close(pair.fds[1]);
  pair.fds[1] = -1;
  loop.run_for(200ms);
  EXPECT_TRUE(called);  // the owner's read then sees the end of the stream
}

}  // namespace
}  // namespace rcgate::net
