#include "pier/base/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace pier {
namespace {

TEST(SystemdNotifyTest, SendsTheStateToTheNotifySocket) {
  const std::string path = "/tmp/pier-notify-" + std::to_string(getpid());
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  unlink(path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(NotifySystemd("READY=1"));  // outside systemd: nothing to do
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(NotifySystemd("READY=1\nSTATUS=serving"));
  char buf[64] = {};
  const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "READY=1\nSTATUS=serving");
  unsetenv("NOTIFY_SOCKET");
  close(fd);
  unlink(path.c_str());
}

TEST(SystemdNotifyTest, WatchdogIntervalIsForThisProcessOnly) {
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SystemdWatchdogInterval().count(), 0);
  setenv("WATCHDOG_USEC", "2000000", 1);
  EXPECT_EQ(SystemdWatchdogInterval().count(), 2000000);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(SystemdWatchdogInterval().count(), 0);  // meant for another process
  setenv("WATCHDOG_USEC", "x", 1);
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SystemdWatchdogInterval().count(), 0);
  unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace pier
