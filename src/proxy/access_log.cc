#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "pier/base/logging.h"

namespace pier::proxy {
namespace {

constexpr size_t kFlushBytes = 64 << 10;  // wake the writer early past this

int OpenFile(const std::string& path) {
  if (path == "stdout") return dup(STDOUT_FILENO);
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

Result<std::shared_ptr<AccessLog>> AccessLog::Open(const std::string& path, LineFormat format) {
  const int fd = OpenFile(path);
  if (fd < 0) {
    return Status::IoError("access_log: cannot open '" + path + "': " + std::strerror(errno));
  }
  return std::shared_ptr<AccessLog>(new AccessLog(path, std::move(format), fd));
}

AccessLog::AccessLog(std::string path, LineFormat format, int fd)
    : path_(std::move(path)), format_(std::move(format)), fd_(fd), writer_([this] { Loop(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
  ::close(fd_);
}

void AccessLog::Write(const AccessRecord& r) {
  const std::string line = format_.Line(r);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (buffer_.size() + line.size() > kMaxBuffered) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    buffer_ += line;
    wake = buffer_.size() >= kFlushBytes;
  }
  if (wake) cv_.notify_one();
}

void AccessLog::Reopen() {
  {
    std::lock_guard lock(mu_);
    reopen_ = true;
  }
  cv_.notify_one();
}

void AccessLog::Loop() {
  std::string out;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(100),
                 [this] { return stop_ || reopen_ || buffer_.size() >= kFlushBytes; });
    out.swap(buffer_);
    const bool reopen = std::exchange(reopen_, false);
    const bool stop = stop_;
    lock.unlock();
    for (size_t at = 0; at < out.size();) {
      const ssize_t n = ::write(fd_, out.data() + at, out.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        LogEvent(LogLevel::kError, "access log: write failed",
                 {{"path", path_}, {"error", std::strerror(errno)}});
        break;
      }
      at += static_cast<size_t>(n);
    }
    out.clear();
    if (reopen) {
      const int fd = OpenFile(path_);
      if (fd < 0) {
        LogEvent(LogLevel::kError, "access log: cannot reopen, writing to the old file",
                 {{"path", path_}, {"error", std::strerror(errno)}});
      } else {
        ::close(fd_);
        fd_ = fd;
      }
    }
    lock.lock();
    if (stop && buffer_.empty()) return;
  }
}

}  // namespace pier::proxy
