#include "pier/net/idle_poll.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace pier::net {

ThreadRunDelay::ThreadRunDelay() {
  fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
}

ThreadRunDelay::~ThreadRunDelay() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t ThreadRunDelay::Read() {
  if (fd_ < 0) return -1;
  // "<ns on cpu> <ns waiting on a run queue> <timeslices>\n"
  char buf[96];
  ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char* end = nullptr;
  std::strtoll(buf, &end, 10);
  if (end == buf) return -1;
  char* p = end;
  long long delay = std::strtoll(p, &end, 10);
  if (end == p || delay < 0) return -1;
  return delay;
}

}  // namespace pier::net
