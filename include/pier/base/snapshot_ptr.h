// File: snapshot_ptr.h
// SnapshotPtr<T>: an immutable value that readers take without a lock and a writer replaces
// whole (read-copy-update). A reader registers with the current epoch, reads the pointer, and
// leaves; a writer swaps the pointer, moves the epoch on, and frees the old value once every
// reader registered before the swap has left (readers are short: a balancer's pick). Two
// counters, so readers never wait; only writers do.
//   SnapshotPtr<HostSet> hosts(std::make_unique<HostSet>());
//   { auto r = hosts.Read(); Use(*r); }   hosts.Store(std::make_unique<HostSet>(next));
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace pier {

template <typename T>
class SnapshotPtr {
 public:
  explicit SnapshotPtr(std::unique_ptr<const T> value) : current_(value.release()) {}
  ~SnapshotPtr() { delete current_.load(); }
  SnapshotPtr(const SnapshotPtr&) = delete;
  SnapshotPtr& operator=(const SnapshotPtr&) = delete;

  class Reader {
   public:
    const T* operator->() const { return value_; }
    const T& operator*() const { return *value_; }
    const T* get() const { return value_; }
    ~Reader() { counter_->fetch_sub(1, std::memory_order_release); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

   private:
    friend class SnapshotPtr;
    Reader(std::atomic<int64_t>* counter, const T* value) : counter_(counter), value_(value) {}
    std::atomic<int64_t>* counter_;
    const T* value_;
  };

  // Lock-free; hold the Reader only briefly (a writer waits for it).
  Reader Read() const {
    for (;;) {
      const uint64_t e = epoch_.load(std::memory_order_seq_cst);
      auto& counter = readers_[e & 1];
      counter.fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) == e) {
        return Reader(&counter, current_.load(std::memory_order_seq_cst));
      }
      counter.fetch_sub(1, std::memory_order_release);  // the epoch moved: register again
    }
  }

  // Replaces the value and frees the old one once no reader can hold it. Writers serialize.
  void Store(std::unique_ptr<const T> value) {
    std::lock_guard l(writer_mu_);
    const T* old = current_.exchange(value.release(), std::memory_order_seq_cst);
    const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst);
    while (readers_[e & 1].load(std::memory_order_acquire) != 0) std::this_thread::yield();
    delete old;
  }

 private:
  std::atomic<const T*> current_;
  mutable std::atomic<uint64_t> epoch_{0};
  mutable std::atomic<int64_t> readers_[2] = {0, 0};
  std::mutex writer_mu_;
};

}  // namespace pier
