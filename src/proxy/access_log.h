// File: access_log.h
// The proxy's access log: one line per request (JSON, or Apache's combined format), formatted
// on the request's thread into a shared buffer and written by the log's own thread, off the
// request path. SIGUSR1 reopens the file (logrotate's way); a buffer past 16 MiB drops lines
// and counts them rather than grow.
//   auto log = AccessLog::Open("/var/log/pier/access.log", AccessLog::Format::kJson);
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

namespace pier::proxy {

// What one request did. Times in microseconds; -1: did not happen (no upstream was reached).
struct AccessRecord {
  int64_t start_unix_ms = 0;
  std::string client;  // "ip:port"
  std::string method, authority, target;
  int http_minor = 1;
  std::string user_agent, referer;
  int status = 0;
  uint64_t bytes_in = 0;   // request head and body
  uint64_t bytes_out = 0;  // response head and body
  int64_t duration_us = 0;
  std::string listener, route, cluster;
  std::string upstream;  // the host of the last attempt
  int64_t upstream_connect_us = -1;
  int64_t upstream_response_us = -1;  // from the attempt's start to the response head
  uint32_t retries = 0;
  std::string trace_id;  // from the request's W3C traceparent, when valid
  std::string error;     // pier's own answer's reason (no host: every one ejected...)
};

// `s` as a JSON string, quotes included: quotes, backslashes and control characters escaped,
// bytes of 0x7f and above as \u00XX, so the text is valid JSON whatever bytes a client sent.
void AppendJsonString(std::string& out, std::string_view s);

class AccessLog {
 public:
  enum class Format { kJson, kCombined };
  static constexpr size_t kMaxBuffered = 16 << 20;

  // `path`: a file (appended to, created 0640) or "stdout".
  static Result<std::shared_ptr<AccessLog>> Open(const std::string& path, Format format);
  ~AccessLog();  // writes what is buffered
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const AccessRecord& r);
  // Reopens the file by its path (after a rotation moved it); lines before go to the old one.
  void Reopen();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }
  Format format() const { return format_; }

  // The line for `r`, newline included (exposed for tests).
  static std::string FormatLine(const AccessRecord& r, Format format);

 private:
  AccessLog(std::string path, Format format, int fd);
  void Loop();

  const std::string path_;
  const Format format_;
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
