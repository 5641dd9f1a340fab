// File: segment_log.h
// SegmentLog: the queue's write-ahead log. Frames are appended to numbered segment files by one
// writer thread, which writes everything queued so far with one write(), and a syncer thread,
// which by the fsync policy runs one fdatasync for everything written while its last one ran
// (group commit, pipelined: a frame is written while an older one is being synced). Each append
// has two callbacks, each kind in append order: `written` on the writer thread once its frame is
// in the file (the page cache: it survives a crash of the process, not of the machine), then
// `done` on the syncer thread once it is synced. Under `batch` the writer waits for company only
// when the last batch had some (a lone writer goes straight to the file), as PostgreSQL's
// commit_delay does with commit_siblings.
// Recovery reads every segment; a torn or corrupt frame ends its segment (logged and reported,
// never loaded). A new segment is started at open and whenever the active one passes its size; the
// owner deletes old segments once nothing in them is live. A background thread keeps the next
// segment ready, already filled with zeros and synced, so appends overwrite allocated blocks and
// fdatasync has no file size or extents to commit (about half the cost on this kind of disk);
// recovery reads a run of zeros as the clean end.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pier/base/status.h"

namespace pier::queue {

enum class FsyncPolicy { kAlways, kBatch, kNone };
Result<FsyncPolicy> ParseFsyncPolicy(std::string_view name);
const char* FsyncPolicyName(FsyncPolicy p);

struct LogOptions {
  std::string dir;
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  int64_t batch_delay_us = 500;  // kBatch: how long the first frame waits for company
  uint64_t segment_bytes = 16u << 20;
  std::function<void()> before_sync;  // tests: runs on the syncer thread before each fdatasync
};

struct LogStats {
  uint64_t frames = 0, bytes = 0, fsyncs = 0, segments = 0;
  uint64_t corrupt_frames = 0;  // found at recovery
};

class SegmentLog {
 public:
  using Done = std::function<void(uint64_t segment, uint64_t offset, const Status&)>;
  using Replay = std::function<void(uint64_t segment, uint64_t offset, std::string_view body)>;

  // Reads every segment in order, calling `replay` for each good frame. `report` gets one line
  // per problem found (a torn or corrupt tail, which is cut off the file).
  static Result<std::unique_ptr<SegmentLog>> Open(const LogOptions& options, const Replay& replay,
                                                  std::vector<std::string>* report);
  // Opens a new segment (with the header, if set) and starts the writer thread.
  Status Start();
  ~SegmentLog();  // writes what is queued, then stops

  // Queues an encoded frame (header and body). `written` (optional) runs on the writer thread
  // once the frame is in the file, before the sync; `done` (on the syncer thread, or the writer
  // under `none`) once it is synced by the policy, or with the error that stopped it (then
  // `written` may not have run). Thread-safe.
  void Append(std::string frame, Done done, Done written = nullptr);

  // Called on the writer thread when it starts a new segment, before anything else goes into
  // it: returns the frame that opens it (the state that must outlive older segments).
  void SetSegmentHeader(std::function<std::string()> header) { header_ = std::move(header); }
  // Called on the writer thread after each rotation (for compaction decisions).
  void SetAfterRotate(std::function<void(uint64_t new_segment)> fn) {
    after_rotate_ = std::move(fn);
  }

  // Deletes every segment numbered below `segment` (never the active one).
  void DropSegmentsBefore(uint64_t segment);
  // Reads `len` bytes at `offset` of `segment` (a spilled payload). Thread-safe.
  Result<std::string> Read(uint64_t segment, uint64_t offset, uint32_t len) const;

  uint64_t active_segment() const;
  uint64_t oldest_segment() const;
  LogStats stats() const;
  FsyncPolicy policy() const { return options_.fsync; }

 private:
  struct File;
  explicit SegmentLog(LogOptions options);
  Status StartSegment(uint64_t number);  // writer thread (or Open)
  void Run();
  void Prepare();  // the preparer thread
  std::string PathOf(uint64_t number) const;
  std::string PreparedPath() const;

  LogOptions options_;
  std::function<std::string()> header_;
  std::function<void(uint64_t)> after_rotate_;

  mutable std::mutex files_mu_;
  std::map<uint64_t, std::shared_ptr<File>> files_;  // by segment number
  uint64_t active_ = 0;
  uint64_t active_size_ = 0;  // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  struct Pending {
    std::string frame;
    Done done, written;
  };
  void WaitForCompany(std::unique_lock<std::mutex>& l);  // kBatch, with mu_ held
  struct Written;                                        // a batch in the file, to be synced
  void Sync();                                           // the syncer thread
  void Complete(const Written& w);                       // runs the batch's `done`s
  void WaitSynced();           // the writer thread: until the syncer has done all it was given
  void Fail(const Status& s);  // later appends fail with the first error
  std::vector<Pending> pending_;
  size_t pending_bytes_ = 0;
  bool had_company_ = false;  // the last batch had more than one frame, or more came meanwhile
  bool stop_ = false;
  Status failed_;  // the first write or sync error (under mu_); later appends fail

  struct Written {
    std::shared_ptr<File> file;
    uint64_t segment = 0;
    std::vector<uint64_t> offsets;
    std::vector<Pending> batch;
    Status status;
  };
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Written> to_sync_;
  uint64_t queued_ = 0, synced_ = 0;  // batches given to the syncer, and done by it
  bool sync_stop_ = false;
  std::thread syncer_;

  mutable std::mutex stats_mu_;
  LogStats stats_;
  std::thread thread_;

  std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  bool prep_wanted_ = false, prep_ready_ = false, prep_stop_ = false;
  std::thread preparer_;
};

}  // namespace pier::queue
