#include "registry/server/watch_hub.h"

namespace asio = boost::asio;

namespace pier::registry {

std::vector<std::string> WatchHub::TopicsOf(const Change& change) {
  std::vector<std::string> topics = {"any"};
  for (const auto& s : change.services) topics.push_back("service:" + s);
  if (change.catalog) topics.push_back("catalog");
  if (change.checks) topics.push_back("checks");
  return topics;
}

asio::awaitable<void> WatchHub::Wait(const std::string& topic,
                                     const std::function<uint64_t()>& current, uint64_t seen,
                                     std::chrono::steady_clock::duration max_wait) {
  std::function<bool()> ready = [&] { return current() > seen; };
  co_await hub_.Wait(topic, ready, max_wait);
}

void WatchHub::Notify(const Change& change) {
  for (const auto& topic : TopicsOf(change)) hub_.Notify(topic);
}

}  // namespace pier::registry
