#include "local_invalidator.h"

#include "pier/base/logging.h"
#include "pier/net/resp_connection.h"

namespace pier::cache {

using namespace std::chrono_literals;

LocalInvalidator::~LocalInvalidator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void LocalInvalidator::AddNode(const std::string& host, uint16_t port) {
  ++down_;
  std::lock_guard lock(mu_);
  threads_.emplace_back([this, host, port] { Follow(host, port); });
}

void LocalInvalidator::Bump() {
  std::unique_lock lock(admit_mu_);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void LocalInvalidator::Admit(uint64_t epoch, const std::string& key, const std::string& value,
                             std::chrono::milliseconds ttl) {
  std::shared_lock lock(admit_mu_);
  if (down_.load() == 0 && epoch_.load(std::memory_order_acquire) == epoch) {
    cache_.Put(key, value, ttl);
  }
}

void LocalInvalidator::Follow(std::string host, uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  std::unique_ptr<net::RespConnection> conn;
  bool warned = false;
  auto stopped = [this](std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, wait, [this] { return stop_; });
  };
  // Connects and turns tracking on; an empty string when it worked.
  auto open = [&]() -> std::string {
    auto c = net::RespConnection::Connect(host, port, options_.connect_timeout, options_.tls);
    if (!c.ok()) return c.status().message();
    std::vector<std::vector<std::string_view>> setup;
    if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
    setup.push_back({"HELLO", "3"});
    setup.push_back({"CLIENT", "TRACKING", "on", "BCAST"});
    auto r = (*c)->Run(setup, options_.io_timeout);
    if (!r.ok()) return r.status().message();
    for (const auto& v : *r) {
      if (v.is_error()) return v.str;
    }
    conn = std::move(*c);
    return {};
  };
  while (!stopped(0ms)) {
    if (!conn) {
      if (std::string err = open(); !err.empty()) {
        if (!warned) {
          LogEvent(LogLevel::kWarn, "local cache: tracking failed, not caching reads",
                   {{"node", where}, {"error", err}});
        }
        warned = true;
        if (stopped(options_.retry_after)) break;
        continue;
      }
      warned = false;
      Bump();
      cache_.Clear();  // what changed while it was down is unknown
      --down_;
    }
    if (!conn->Readable(200ms)) continue;
    auto r = conn->Read(1, options_.io_timeout);
    if (!r.ok()) {
      ++down_;
      conn.reset();
      Bump();
      cache_.Clear();
      continue;
    }
    // >2 invalidate [keys] (null: every key)
    const net::RespValue& v = (*r)[0];
    if (v.elements.size() != 2 || v.elements[0].str != "invalidate") continue;
    Bump();
    invalidations_++;
    if (v.elements[1].is_null()) {
      cache_.Clear();
    } else {
      for (const auto& k : v.elements[1].elements) cache_.Erase(k.str);
    }
  }
  if (!conn) --down_;  // not counted as down once stopping (no effect after the client ends)
}

}  // namespace pier::cache
