#include "queue/segment_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "pier/base/logging.h"
#include "queue/codec.h"

namespace fs = std::filesystem;

namespace pier::queue {

namespace {

constexpr size_t kBatchBytes = 1u << 20;  // a batch this big is written without waiting

Status Errno(const std::string& what) {
  return Status::IoError(what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync " + dir);
}

}  // namespace

Result<FsyncPolicy> ParseFsyncPolicy(std::string_view name) {
  if (name == "always") return FsyncPolicy::kAlways;
  if (name == "batch") return FsyncPolicy::kBatch;
  if (name == "none") return FsyncPolicy::kNone;
  return Status::InvalidArgument("unknown fsync policy '" + std::string(name) +
                                 "' (always, batch, none)");
}

const char* FsyncPolicyName(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kBatch:
      return "batch";
    case FsyncPolicy::kNone:
      return "none";
  }
  return "?";
}

struct SegmentLog::File {
  int fd = -1;
  std::string path;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

SegmentLog::SegmentLog(LogOptions options) : options_(std::move(options)) {}

std::string SegmentLog::PathOf(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(number));
  return (fs::path(options_.dir) / name).string();
}

std::string SegmentLog::PreparedPath() const {
  return (fs::path(options_.dir) / "next.zero").string();
}

Result<std::unique_ptr<SegmentLog>> SegmentLog::Open(const LogOptions& options,
                                                     const Replay& replay,
                                                     std::vector<std::string>* report) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return Status::IoError("create " + options.dir + ": " + ec.message());
  std::unique_ptr<SegmentLog> log(new SegmentLog(options));
  fs::remove(log->PreparedPath(), ec);  // perhaps half written when the process stopped
  std::vector<uint64_t> numbers;
  for (const auto& e : fs::directory_iterator(options.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 24 || name.substr(20) != ".seg") continue;
    numbers.push_back(std::stoull(name.substr(0, 20)));
  }
  if (ec) return Status::IoError("list " + options.dir + ": " + ec.message());
  std::sort(numbers.begin(), numbers.end());
  for (uint64_t number : numbers) {
    auto f = std::make_shared<File>();
    f->path = log->PathOf(number);
    f->fd = ::open(f->path.c_str(), O_RDWR | O_CLOEXEC);
    if (f->fd < 0) return Errno("open " + f->path);
    std::string data;
    {
      const off_t size = ::lseek(f->fd, 0, SEEK_END);
      if (size < 0) return Errno("seek " + f->path);
      data.resize(static_cast<size_t>(size));
      if (::pread(f->fd, data.data(), data.size(), 0) != size) return Errno("read " + f->path);
    }
    size_t off = 0;
    while (off < data.size()) {
      std::string_view rest(data.data() + off, data.size() - off);
      if (std::all_of(rest.begin(), rest.end(), [](char c) { return c == '\0'; })) break;
      std::string problem;
      auto len = FrameBodyLength(rest);
      if (!len.ok()) {
        problem = rest.size() < kFrameHeaderBytes ? "torn frame header" : len.status().message();
      } else if (rest.size() - kFrameHeaderBytes < *len) {
        problem = "torn frame (" + std::to_string(rest.size() - kFrameHeaderBytes) + " of " +
                  std::to_string(*len) + " bytes)";
      } else if (!ChecksumMatches(rest, rest.substr(kFrameHeaderBytes, *len))) {
        problem = "checksum mismatch";
      }
      if (!problem.empty()) {
        std::string line = f->path + ": " + problem + " at offset " + std::to_string(off) +
                           "; dropped the last " + std::to_string(data.size() - off) +
                           " bytes of the segment";
        LogEvent(LogLevel::kWarn, "queue log: damaged tail dropped", {{"problem", line}});
        if (report) report->push_back(line);
        ++log->stats_.corrupt_frames;
        if (::ftruncate(f->fd, static_cast<off_t>(off)) != 0) return Errno("truncate " + f->path);
        break;
      }
      replay(number, off, rest.substr(kFrameHeaderBytes, *len));
      ++log->stats_.frames;
      off += kFrameHeaderBytes + *len;
    }
    log->stats_.bytes += off;
    log->files_[number] = std::move(f);
    log->active_ = number;
  }
  log->stats_.segments = log->files_.size();
  return log;
}

Status SegmentLog::Start() {
  if (Status s = StartSegment(active_ + 1); !s.ok()) return s;
  thread_ = std::thread([this] { Run(); });
  if (options_.fsync != FsyncPolicy::kNone) {
    syncer_ = std::thread([this] { Sync(); });
    preparer_ = std::thread([this] { Prepare(); });
  }
  return Status::Ok();
}

void SegmentLog::Prepare() {
  const std::string path = PreparedPath();
  const std::string zeros(1u << 20, '\0');
  for (;;) {
    {
      std::unique_lock l(prep_mu_);
      prep_cv_.wait(l, [&] { return prep_stop_ || prep_wanted_; });
      if (prep_stop_) return;
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    Status s = fd < 0 ? Errno("create " + path) : Status::Ok();
    for (uint64_t off = 0; s.ok() && off < options_.segment_bytes; off += zeros.size()) {
      {
        std::lock_guard l(prep_mu_);
        if (prep_stop_) break;
      }
      const uint64_t n = std::min<uint64_t>(zeros.size(), options_.segment_bytes - off);
      s = WriteAll(fd, std::string_view(zeros.data(), n), off, path);
    }
    if (s.ok() && fd >= 0 && ::fdatasync(fd) != 0) s = Errno("fdatasync " + path);
    if (fd >= 0) ::close(fd);
    std::lock_guard l(prep_mu_);
    prep_wanted_ = false;
    if (s.ok() && !prep_stop_) {
      prep_ready_ = true;
    } else if (!s.ok()) {
      LogEvent(LogLevel::kWarn, "queue log: cannot prepare the next segment",
               {{"error", s.message()}});
      return;  // segments are then created as they are needed
    }
  }
}

Status SegmentLog::StartSegment(uint64_t number) {
  auto f = std::make_shared<File>();
  f->path = PathOf(number);
  bool prepared = false;
  {
    std::lock_guard l(prep_mu_);
    std::swap(prepared, prep_ready_);
  }
  if (prepared && ::rename(PreparedPath().c_str(), f->path.c_str()) == 0) {
    f->fd = ::open(f->path.c_str(), O_RDWR | O_CLOEXEC);
  } else {
    f->fd = ::open(f->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (f->fd < 0) return Errno("create " + f->path);
  std::string header = header_ ? header_() : std::string();
  if (Status s = WriteAll(f->fd, header, 0, f->path); !s.ok()) return s;
  if (options_.fsync != FsyncPolicy::kNone) {
    if (::fdatasync(f->fd) != 0) return Errno("fdatasync " + f->path);
    if (Status s = SyncDir(options_.dir); !s.ok()) return s;
  }
  {
    std::lock_guard l(files_mu_);
    files_[number] = f;
    active_ = number;
  }
  active_size_ = header.size();
  {
    std::lock_guard l(prep_mu_);
    prep_wanted_ = true;  // the one after this
  }
  prep_cv_.notify_one();
  std::lock_guard l(stats_mu_);
  ++stats_.segments;
  stats_.bytes += header.size();
  if (!header.empty()) ++stats_.frames;
  return Status::Ok();
}

SegmentLog::~SegmentLog() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // it stops the syncer once it has handed it all
  if (syncer_.joinable()) syncer_.join();
  {
    std::lock_guard l(prep_mu_);
    prep_stop_ = true;
  }
  prep_cv_.notify_all();
  if (preparer_.joinable()) preparer_.join();
}

void SegmentLog::Append(std::string frame, Done done, Done written) {
  {
    std::lock_guard l(mu_);
    pending_bytes_ += frame.size();
    pending_.push_back({std::move(frame), std::move(done), std::move(written)});
  }
  cv_.notify_one();
}

void SegmentLog::WaitForCompany(std::unique_lock<std::mutex>& l) {
  // Group commit waits only where company is likely: the last batch had some (more than one
  // frame, or appends came while it was written). Then it waits while appends keep
  // coming (one in the last slice), at most batch_delay_us in all. A lone writer goes straight
  // to the disk: waiting for nobody is pure latency.
  if (!had_company_) return;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::microseconds(options_.batch_delay_us);
  const auto slice = std::chrono::microseconds(std::min<int64_t>(options_.batch_delay_us, 50));
  for (size_t seen = pending_.size(); !stop_ && pending_bytes_ < kBatchBytes;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    cv_.wait_until(l, std::min(deadline, now + slice), [&] {
      return stop_ || pending_.size() != seen || pending_bytes_ >= kBatchBytes;
    });
    if (pending_.size() == seen) break;  // a quiet slice: nobody else is coming
    seen = pending_.size();
  }
}

void SegmentLog::Run() {
  for (;;) {
    std::vector<Pending> batch;
    Status s;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) break;  // stopped, nothing left
      if (options_.fsync == FsyncPolicy::kBatch) WaitForCompany(l);
      batch.swap(pending_);
      pending_bytes_ = 0;
      s = failed_;
    }
    Written w;
    {
      std::lock_guard l(files_mu_);
      w.file = files_[active_];
    }
    w.segment = active_;
    std::string buf;
    w.offsets.reserve(batch.size());
    for (const auto& p : batch) {
      w.offsets.push_back(active_size_ + buf.size());
      buf += p.frame;
    }
    if (s.ok()) s = WriteAll(w.file->fd, buf, active_size_, w.file->path);
    if (s.ok()) {
      active_size_ += buf.size();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].written) batch[i].written(w.segment, w.offsets[i], s);
      }
      std::lock_guard l(stats_mu_);
      stats_.frames += batch.size();
      stats_.bytes += buf.size();
    } else {
      Fail(s);
    }
    w.status = s;
    w.batch = std::move(batch);
    const size_t n = w.batch.size();
    if (options_.fsync == FsyncPolicy::kNone) {
      Complete(w);
    } else {
      std::lock_guard l(sync_mu_);
      to_sync_.push_back(std::move(w));
      ++queued_;
      sync_cv_.notify_one();
    }
    {
      std::lock_guard l(mu_);
      had_company_ = n > 1 || !pending_.empty();
    }
    if (s.ok() && active_size_ >= options_.segment_bytes) {
      // Nothing goes into the next segment before this one is synced: recovery never finds a
      // segment whose predecessor lost its tail.
      WaitSynced();
      if (Status r = StartSegment(active_ + 1); !r.ok()) {
        Fail(r);
      } else if (after_rotate_) {
        after_rotate_(active_);
      }
    }
  }
  std::lock_guard l(sync_mu_);
  sync_stop_ = true;
  sync_cv_.notify_one();
}

void SegmentLog::Sync() {
  for (;;) {
    std::vector<Written> ws;
    {
      std::unique_lock l(sync_mu_);
      sync_cv_.wait(l, [&] { return sync_stop_ || !to_sync_.empty(); });
      if (to_sync_.empty()) return;  // stopped, nothing left
      ws.swap(to_sync_);
    }
    // One fdatasync per file covers every batch written to it so far (usually one file).
    std::vector<File*> files;
    for (const Written& w : ws) {
      if (w.status.ok() && (files.empty() || files.back() != w.file.get())) {
        files.push_back(w.file.get());
      }
    }
    Status s;
    for (size_t i = 0; i < files.size() && s.ok(); ++i) {
      if (options_.before_sync) options_.before_sync();
      if (::fdatasync(files[i]->fd) != 0) {
        s = Errno("fdatasync " + files[i]->path);
        Fail(s);
      } else {
        std::lock_guard l(stats_mu_);
        ++stats_.fsyncs;
      }
    }
    for (Written& w : ws) {
      if (w.status.ok()) w.status = s;
      Complete(w);
    }
    std::lock_guard l(sync_mu_);
    synced_ += ws.size();
    sync_cv_.notify_all();
  }
}

void SegmentLog::Complete(const Written& w) {
  for (size_t i = 0; i < w.batch.size(); ++i) w.batch[i].done(w.segment, w.offsets[i], w.status);
}

void SegmentLog::WaitSynced() {
  std::unique_lock l(sync_mu_);
  sync_cv_.wait(l, [&] { return synced_ == queued_; });
}

void SegmentLog::Fail(const Status& s) {
  std::lock_guard l(mu_);
  if (!failed_.ok()) return;
  LogEvent(LogLevel::kError, "queue log failed: the queue refuses writes until it is restarted",
           {{"error", s.message()}});
  failed_ = s;
}

void SegmentLog::DropSegmentsBefore(uint64_t segment) {
  std::lock_guard l(files_mu_);
  for (auto it = files_.begin();
       it != files_.end() && it->first < segment && it->first != active_;) {
    if (::unlink(it->second->path.c_str()) != 0) {
      LogEvent(LogLevel::kWarn, "queue log: cannot delete a segment",
               {{"path", it->second->path}, {"error", std::strerror(errno)}});
    }
    it = files_.erase(it);
  }
}

Result<std::string> SegmentLog::Read(uint64_t segment, uint64_t offset, uint32_t len) const {
  std::shared_ptr<File> f;
  {
    std::lock_guard l(files_mu_);
    auto it = files_.find(segment);
    if (it == files_.end()) {
      return Status::NotFound("segment " + std::to_string(segment) + " is gone");
    }
    f = it->second;
  }
  std::string out(len, '\0');
  ssize_t n = ::pread(f->fd, out.data(), len, static_cast<off_t>(offset));
  if (n != static_cast<ssize_t>(len)) return Errno("read " + f->path);
  return out;
}

uint64_t SegmentLog::active_segment() const {
  std::lock_guard l(files_mu_);
  return active_;
}

uint64_t SegmentLog::oldest_segment() const {
  std::lock_guard l(files_mu_);
  return files_.empty() ? 0 : files_.begin()->first;
}

LogStats SegmentLog::stats() const {
  std::lock_guard l(stats_mu_);
  LogStats s = stats_;
  std::lock_guard f(files_mu_);
  s.segments = files_.size();
  return s;
}

}  // namespace pier::queue
