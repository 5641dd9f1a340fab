// File: access_log.h
// The proxy's access log: one line per request (as its LineFormat says), formatted on the
// request's thread into a shared buffer and written by the log's own thread, off the request
// path. SIGUSR1 reopens the file (logrotate's way); a buffer past 16 MiB drops lines
// and counts them rather than grow.
//   auto log = AccessLog::Open("/var/log/pier/access.log", *LineFormat::Parse("json"));
//   (*log)->Write(record);
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pier/base/status.h"
#include "proxy/access_line.h"

namespace pier::proxy {

class AccessLog {
 public:
  static constexpr size_t kMaxBuffered = 16 << 20;

  // `path`: a file (appended to, created 0640) or "stdout".
  static Result<std::shared_ptr<AccessLog>> Open(const std::string& path, LineFormat format);
  ~AccessLog();  // writes what is buffered
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const AccessRecord& r);
  // Reopens the file by its path (after a rotation moved it); lines before go to the old one.
  void Reopen();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }
  const LineFormat& format() const { return format_; }

 private:
  AccessLog(std::string path, LineFormat format, int fd);
  void Loop();

  const std::string path_;
  const LineFormat format_;
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool reopen_ = false;
  bool stop_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace pier::proxy
