#include "cache/server/lazy_free.h"

namespace pier::cache::server {

LazyFree::LazyFree() : thread_([this] { Run(); }) {}

LazyFree::~LazyFree() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LazyFree::Free(Collection* c) {
  if (c == nullptr) return;
  if (c->size() <= kThreshold) {
    delete c;
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(c);
  }
  cv_.notify_one();
}

size_t LazyFree::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + busy_;
}

void LazyFree::Drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
}

void LazyFree::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::vector<std::unique_ptr<Collection>> batch;
    batch.swap(queue_);
    busy_ = batch.size();
    lock.unlock();
    batch.clear();  // the frees, off every I/O thread
    lock.lock();
    busy_ = 0;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace pier::cache::server
