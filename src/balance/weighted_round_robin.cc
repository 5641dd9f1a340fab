#include "balance/weighted_round_robin.h"

#include <numeric>

namespace pier::balance {

namespace {

constexpr size_t kMaxSchedule = 1 << 16;

struct Schedule : PolicyState {
  std::vector<uint32_t> order;  // host indexes
  mutable std::atomic<uint64_t> next{0};
};

class WeightedRoundRobin final : public Policy {
 public:
  std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>& hosts,
                                     const BalancerOptions&) const override {
    auto s = std::make_unique<Schedule>();
    if (hosts.empty()) return s;
    std::vector<uint64_t> w;
    uint64_t g = 0;
    for (const auto& h : hosts) {
      w.push_back(h->weight());
      g = std::gcd(g, w.back());
    }
    uint64_t total = 0;
    for (auto& x : w) total += (x /= g);
    // Long schedules (many hosts with coprime weights) are scaled down, keeping every host.
    while (total > kMaxSchedule) {
      total = 0;
      for (auto& x : w) total += (x = (x + 1) / 2);
    }
    // nginx: each step every host gains its weight; the largest current goes, minus the total.
    std::vector<int64_t> current(w.size(), 0);
    for (uint64_t step = 0; step < total; ++step) {
      size_t best = 0;
      for (size_t i = 0; i < w.size(); ++i) {
        current[i] += static_cast<int64_t>(w[i]);
        if (current[i] > current[best]) best = i;
      }
      current[best] -= static_cast<int64_t>(total);
      s->order.push_back(static_cast<uint32_t>(best));
    }
    s->next = RandomU64() % s->order.size();
    return s;
  }

  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    auto& s = static_cast<const Schedule&>(*env.state);
    const size_t n = s.order.size();
    const uint64_t at = s.next.fetch_add(1, std::memory_order_relaxed);
    // Skipping an unusable host's turns keeps the others' proportions.
    for (size_t i = 0; i < n && i < 64; ++i) {
      const auto& h = env.hosts[s.order[(at + i) % n]];
      if (env.Usable(h.get())) return &h;
    }
    return env.FirstUsableFrom(s.order[at % n]);
  }
};

}  // namespace

std::unique_ptr<Policy> MakeWeightedRoundRobin() { return std::make_unique<WeightedRoundRobin>(); }

}  // namespace pier::balance
