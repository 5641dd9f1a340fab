#include "balance/random.h"

#include <algorithm>

namespace pier::balance {

namespace {

struct Cumulative : PolicyState {
  std::vector<uint64_t> upto;  // upto[i] = weights of hosts 0..i
};

class Random final : public Policy {
 public:
  std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>& hosts,
                                     const BalancerOptions&) const override {
    auto c = std::make_unique<Cumulative>();
    uint64_t total = 0;
    for (const auto& h : hosts) c->upto.push_back(total += h->weight());
    return c;
  }
  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    auto& c = static_cast<const Cumulative&>(*env.state);
    for (int t = 0; t < 8; ++t) {
      const uint64_t r = RandomU64() % c.upto.back();
      const size_t i = std::upper_bound(c.upto.begin(), c.upto.end(), r) - c.upto.begin();
      const Host* h = env.hosts[i].get();
      if (!env.Usable(h)) continue;
      if (env.options.slow_start_ms > 0 && RandomUnit() * h->weight() >= env.EffectiveWeight(h)) {
        continue;  // still warming up: accepted in proportion to its ramp
      }
      return &env.hosts[i];
    }
    return env.FirstUsableFrom(RandomU64() % env.hosts.size());
  }
};

}  // namespace

std::unique_ptr<Policy> MakeRandom() { return std::make_unique<Random>(); }

}  // namespace pier::balance
