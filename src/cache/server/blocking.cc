#include "cache/server/blocking.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace asio = boost::asio;

namespace pier::cache::server {

struct BlockingKeys::Waiter {
  Request request;
  std::shared_ptr<net::PendingReply> reply;
  std::shared_ptr<asio::steady_timer> timer;
  bool done = false;  // guarded by mu_
};

namespace {
// Keys made ready by the commands run on this thread, with the registry each belongs to.
thread_local std::vector<std::pair<BlockingKeys*, std::string>> t_ready;
}  // namespace

std::string BlockingKeys::TimeoutReply(const Waiter& w) const {
  std::string s;
  net::RespWriter out(&s, w.request.protocol);
  if (w.request.null_array) {
    out.NullArray();
  } else {
    out.Null();
  }
  return s;
}

std::shared_ptr<net::PendingReply> BlockingKeys::Block(
    Request r, const std::function<bool(std::string_view)>& try_now, net::RespWriter& out) {
  std::lock_guard lock(mu_);
  // Counted before this try: a command that creates one of the keys after it sees a waiter and
  // notes the key (see NoteReady).
  count_.fetch_add(1);
  for (const std::string& key : r.keys) {
    if (try_now(key)) {
      count_.fetch_sub(1);
      return nullptr;
    }
  }
  auto w = std::make_shared<Waiter>();
  w->request = std::move(r);
  if (closed_) {
    count_.fetch_sub(1);
    *out.buffer() += TimeoutReply(*w);
    return nullptr;
  }
  w->reply = std::make_shared<net::PendingReply>(w->request.executor);
  w->reply->set_blocks_pipeline();
  std::vector<std::string> seen;
  for (const std::string& key : w->request.keys) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    queues_[key].push_back(w);
  }
  by_client_[w->request.client_id] = w;  // one at a time: a blocked client runs nothing else
  std::weak_ptr<Waiter> weak = w;
  if (w->request.timeout_ms > 0) {
    w->timer = std::make_shared<asio::steady_timer>(
        w->request.executor, std::chrono::milliseconds(w->request.timeout_ms));
    w->timer->async_wait([this, weak](boost::system::error_code ec) {
      if (ec) return;
      std::lock_guard lock(mu_);
      if (auto w = weak.lock(); w && !w->done) FinishLocked(w, TimeoutReply(*w));
    });
  }
  w->reply->OnCancel([this, weak] {
    std::lock_guard lock(mu_);
    if (auto w = weak.lock(); w && !w->done) FinishLocked(w, std::string());
  });
  return w->reply;
}

void BlockingKeys::FinishLocked(const std::shared_ptr<Waiter>& w, std::string reply) {
  w->done = true;
  std::vector<std::string> seen;
  for (const std::string& key : w->request.keys) {
    auto it = queues_.find(key);
    if (it == queues_.end()) continue;
    auto& q = it->second;
    q.erase(std::remove(q.begin(), q.end(), w), q.end());
    if (q.empty()) queues_.erase(it);
  }
  if (auto it = by_client_.find(w->request.client_id); it != by_client_.end() && it->second == w) {
    by_client_.erase(it);
  }
  count_.fetch_sub(1);
  w->reply->Complete(std::move(reply));
  if (w->timer) {
    // The timer belongs to the waiter's executor.
    asio::post(w->request.executor, [t = w->timer] { t->cancel(); });
  }
}

void BlockingKeys::NoteReady(std::string_view key) {
  if (count_.load() == 0) return;
  t_ready.emplace_back(this, std::string(key));
}

size_t BlockingKeys::parked() const {
  std::lock_guard lock(mu_);
  return by_client_.size();
}

bool BlockingKeys::HasReady() const { return !t_ready.empty(); }

void BlockingKeys::ServeReady() {
  std::lock_guard lock(mu_);
  // Serving may note more keys (BLMOVE's destination): run until none is left.
  for (size_t i = 0; i < t_ready.size(); ++i) {
    if (t_ready[i].first != this) continue;
    const std::string key = t_ready[i].second;
    for (;;) {
      auto it = queues_.find(key);
      if (it == queues_.end()) break;
      std::shared_ptr<Waiter> w = it->second.front();
      std::string reply;
      net::RespWriter out(&reply, w->request.protocol);
      if (!w->request.serve(key, out)) break;
      FinishLocked(w, std::move(reply));
    }
  }
  std::erase_if(t_ready, [this](const auto& r) { return r.first == this; });
}

bool BlockingKeys::Unblock(uint64_t client_id, bool error) {
  std::lock_guard lock(mu_);
  auto it = by_client_.find(client_id);
  if (it == by_client_.end()) return false;
  std::shared_ptr<Waiter> w = it->second;
  FinishLocked(w, error ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" : TimeoutReply(*w));
  return true;
}

void BlockingKeys::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  std::vector<std::shared_ptr<Waiter>> all;
  for (const auto& [id, w] : by_client_) all.push_back(w);
  for (const auto& w : all) FinishLocked(w, TimeoutReply(*w));
}

}  // namespace pier::cache::server
