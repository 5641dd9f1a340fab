#include "cache/server/cluster_bus.h"

#include "pier/base/logging.h"
#include "pier/net/resp_connection.h"

namespace pier::cache::server {

using namespace std::chrono_literals;

ClusterBus::ClusterBus(const ClusterConfig& config, std::function<std::string()> password)
    : config_(config),
      password_(std::move(password)),
      peers_(config.nodes.size()),
      down_(config.nodes.size(), false) {
  thread_ = std::thread([this] { Run(); });
}

ClusterBus::~ClusterBus() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void ClusterBus::Publish(std::string_view channel, std::string_view message) {
  if (config_.nodes.size() < 2) return;
  {
    std::lock_guard lock(mu_);
    const size_t bytes = channel.size() + message.size();
    if (queued_bytes_ + bytes > kMaxQueuedBytes) {
      ++dropped_;
      return;
    }
    queue_.emplace_back(channel, message);
    queued_bytes_ += bytes;
  }
  cv_.notify_one();
}

uint64_t ClusterBus::forwarded() const {
  std::lock_guard lock(mu_);
  return forwarded_;
}

uint64_t ClusterBus::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void ClusterBus::Run() {
  for (;;) {
    std::vector<std::pair<std::string, std::string>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      for (size_t n = 0; n < 1024 && !queue_.empty(); ++n) {
        queued_bytes_ -= queue_.front().first.size() + queue_.front().second.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (size_t node = 0; node < config_.nodes.size(); ++node) {
      if (node != config_.self) SendTo(node, batch);
    }
  }
}

void ClusterBus::SendTo(size_t node,
                        const std::vector<std::pair<std::string, std::string>>& batch) {
  const ClusterNode& n = config_.nodes[node];
  auto& conn = peers_[node];
  auto fail = [&](const std::string& why) {
    if (!down_[node]) {
      LogEvent(LogLevel::kWarn,
               "cluster bus: node down, PUBLISH messages to it are lost until it answers",
               {{"node", n.host + ":" + std::to_string(n.port)}, {"error", why}});
    }
    down_[node] = true;
    conn.reset();
    std::lock_guard lock(mu_);
    dropped_ += batch.size();
  };
  if (!conn) {
    auto c = net::RespConnection::Connect(n.host, n.port, 2s);
    if (!c.ok()) return fail(c.status().message());
    conn = std::move(*c);
    if (const std::string pass = password_(); !pass.empty()) {
      auto r = conn->Run({{"AUTH", pass}}, 2s);
      if (!r.ok()) return fail(r.status().message());
    }
  }
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(batch.size());
  for (const auto& [channel, message] : batch) {
    commands.push_back({"CLUSTER", "PUBLISH", channel, message});
  }
  auto r = conn->Run(commands, 5s);
  if (!r.ok()) return fail(r.status().message());
  down_[node] = false;
  std::lock_guard lock(mu_);
  forwarded_ += batch.size();
}

}  // namespace pier::cache::server
