#include "proxy/access_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iterator>

namespace pier::proxy {
namespace {

constexpr size_t kFlushBytes = 64 << 10;  // wake the writer early past this

// Escapes quotes and backslashes with a backslash, and bytes that are not printable ASCII as
// \u00XX (JSON: a line is valid JSON whatever bytes a client sent) or \xhh (Apache's combined
// format).
void AppendEscaped(std::string& out, std::string_view s, bool json) {
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      if (json) {
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      } else {
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
      }
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// A field of the combined format: "-" when empty.
void AppendCombined(std::string& out, std::string_view s) {
  if (s.empty()) return out.push_back('-');
  AppendEscaped(out, s, false);
}

// "2026-12-07T15:14:56.123Z": the seconds part is formatted once per second per thread.
void AppendRfc3339(std::string& out, int64_t unix_ms) {
  thread_local int64_t cached_secs = -1;
  thread_local char cached[24];
  const int64_t secs = unix_ms / 1000;
  if (secs != cached_secs) {
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  fmt::format_to(std::back_inserter(out), "{}.{:03}Z", cached, unix_ms % 1000);
}

std::string ClfTime(int64_t unix_ms) {  // [10/Oct/2000:13:55:36 +0000]
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
  return std::string(buf, n);
}

int OpenFile(const std::string& path) {
  if (path == "stdout") return dup(STDOUT_FILENO);
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendEscaped(out, s, true);
  out.push_back('"');
}

std::string AccessLog::FormatLine(const AccessRecord& r, Format format) {
  std::string out;
  out.reserve(256 + r.target.size());
  if (format == Format::kCombined) {
    const size_t colon = r.client.rfind(':');
    AppendCombined(out, colon == std::string::npos ? r.client : r.client.substr(0, colon));
    out += " - - " + ClfTime(r.start_unix_ms) + " \"";
    AppendCombined(out, r.method);
    out.push_back(' ');
    AppendCombined(out, r.target);
    out += fmt::format(" HTTP/1.{}\" {} {} \"", r.http_minor, r.status, r.bytes_out);
    AppendCombined(out, r.referer);
    out += "\" \"";
    AppendCombined(out, r.user_agent);
    out += "\"\n";
    return out;
  }
  auto field = [&out](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    AppendJsonString(out, value);
  };
  auto number = [&out](std::string_view name, int64_t value) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}", name, value);
  };
  auto micros = [&out](std::string_view name, int64_t us) {
    if (us < 0) return void(fmt::format_to(std::back_inserter(out), ",\"{}\":null", name));
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}.{:03}", name, us / 1000, us % 1000);
  };
  out += "{\"time\":\"";
  AppendRfc3339(out, r.start_unix_ms);
  out += "\"";
  field("client", r.client);
  field("method", r.method);
  field("authority", r.authority);
  field("path", r.target);
  fmt::format_to(std::back_inserter(out), ",\"protocol\":\"HTTP/1.{}\"", r.http_minor);
  number("status", r.status);
  number("bytes_in", static_cast<int64_t>(r.bytes_in));
  number("bytes_out", static_cast<int64_t>(r.bytes_out));
  micros("duration_ms", r.duration_us);
  field("listener", r.listener);
  field("route", r.route);
  field("cluster", r.cluster);
  field("upstream", r.upstream);
  micros("upstream_connect_ms", r.upstream_connect_us);
  micros("upstream_response_ms", r.upstream_response_us);
  number("retries", r.retries);
  field("trace_id", r.trace_id);
  field("error", r.error);
  field("user_agent", r.user_agent);
  out += "}\n";
  return out;
}

Result<std::shared_ptr<AccessLog>> AccessLog::Open(const std::string& path, Format format) {
  const int fd = OpenFile(path);
  if (fd < 0) {
    return Status::IoError("access_log: cannot open '" + path + "': " + std::strerror(errno));
  }
  return std::shared_ptr<AccessLog>(new AccessLog(path, format, fd));
}

AccessLog::AccessLog(std::string path, Format format, int fd)
    : path_(std::move(path)), format_(format), fd_(fd), writer_([this] { Loop(); }) {}

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
  const std::string line = FormatLine(r, format_);
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
        spdlog::error("access log {}: write failed: {}", path_, std::strerror(errno));
        break;
      }
      at += static_cast<size_t>(n);
    }
    out.clear();
    if (reopen) {
      const int fd = OpenFile(path_);
      if (fd < 0) {
        spdlog::error("access log {}: cannot reopen: {}; writing to the old file", path_,
                      std::strerror(errno));
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
