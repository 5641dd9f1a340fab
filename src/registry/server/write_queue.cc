#include "registry/server/write_queue.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "registry/server/registry_metric_names.h"

namespace asio = boost::asio;

namespace pier::registry {

WriteQueue::WriteQueue(ServiceRegistry& registry, asio::any_io_executor disk)
    : registry_(registry), disk_(std::move(disk)) {
  batch_size_ = &metrics::Registry::Global().GetHistogram(
      metric_names::kCommitBatchSize, "Registry writes committed per store transaction.");
}

asio::awaitable<Status> WriteQueue::Submit(const ServiceRegistry::Write& write) {
  auto p = std::make_shared<Pending>(write, co_await asio::this_coro::executor);
  p->done.expires_at(asio::steady_timer::time_point::max());
  {
    std::lock_guard l(mu_);
    queue_.push_back(p);
    if (!scheduled_) {
      scheduled_ = true;
      asio::post(disk_, [this] { Flush(); });
    }
  }
  // Woken by Flush's cancel, which is posted to this thread and so runs only once we wait.
  boost::system::error_code ec;
  co_await p->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return p->result;
}

void WriteQueue::Flush() {
  std::vector<std::shared_ptr<Pending>> batch;
  {
    std::lock_guard l(mu_);
    batch.swap(queue_);
    scheduled_ = false;
  }
  std::vector<ServiceRegistry::Write> writes;
  writes.reserve(batch.size());
  for (auto& p : batch) writes.push_back(std::move(p->write));
  batch_size_->Record(writes.size());
  std::vector<Status> results = registry_.ApplyWrites(std::move(writes));
  for (size_t i = 0; i < batch.size(); ++i) {
    auto p = batch[i];
    p->result = results[i];
    asio::post(p->done.get_executor(), [p] { p->done.cancel(); });
  }
}

}  // namespace pier::registry
