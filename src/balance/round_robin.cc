// round_robin: hosts in turn, skipping the ones that are not usable.
#include "balance/round_robin.h"

namespace pier::balance {

namespace {

struct Counter : PolicyState {
  mutable std::atomic<uint64_t> next{0};
};

class RoundRobin final : public Policy {
 public:
  std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>&,
                                     const BalancerOptions&) const override {
    auto c = std::make_unique<Counter>();
    c->next = RandomU64() % 1024;  // balancers started together do not march in step
    return c;
  }
  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    auto& c = static_cast<const Counter&>(*env.state);
    return env.FirstUsableFrom(c.next.fetch_add(1, std::memory_order_relaxed) % env.hosts.size());
  }
};

}  // namespace

std::unique_ptr<Policy> MakeRoundRobin() { return std::make_unique<RoundRobin>(); }

}  // namespace pier::balance
