// File: lazy_free.h
// LazyFree: frees big collections on a background thread, so deleting, overwriting, expiring or
// evicting a key holding a million elements does not stall the I/O thread that did it (Redis's
// lazyfree with its threshold of 64 elements; pier always frees big values lazily).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/server/entry.h"

namespace pier::cache::server {

class LazyFree {
 public:
  // Collections with more elements than this are freed in the background (Redis's
  // LAZYFREE_THRESHOLD).
  static constexpr size_t kThreshold = 64;

  LazyFree();
  ~LazyFree();  // frees what is queued, then joins
  LazyFree(const LazyFree&) = delete;
  LazyFree& operator=(const LazyFree&) = delete;

  // Frees `c` now or, when big, on the background thread.
  void Free(Collection* c);
  // Values queued or being freed (INFO's lazyfree_pending_objects).
  size_t pending() const;
  // Until everything handed over so far is freed (tests, shutdown).
  void Drain();

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::vector<std::unique_ptr<Collection>> queue_;
  size_t busy_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pier::cache::server
