#include "balance/least_request.h"

namespace pier::balance {

namespace {

// A random usable host index other than `not_this` (a few tries), or n when there is none.
size_t RandomUsable(const PickEnv& env, size_t not_this) {
  const size_t n = env.hosts.size();
  const size_t choices = not_this < n ? n - 1 : n;
  if (choices == 0) return n;
  for (int t = 0; t < 4; ++t) {
    size_t i = RandomU64() % choices;
    if (not_this < n && i >= not_this) ++i;  // skip the first choice
    if (env.Usable(env.hosts[i].get())) return i;
  }
  for (size_t k = 0, start = RandomU64() % n; k < n; ++k) {
    const size_t i = (start + k) % n;
    if (i != not_this && env.Usable(env.hosts[i].get())) return i;
  }
  return n;
}

class LeastRequest final : public Policy {
 public:
  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    const size_t n = env.hosts.size();
    const size_t ia = RandomUsable(env, n);
    if (ia == n) return nullptr;
    const Host* a = env.hosts[ia].get();
    const size_t ib = RandomUsable(env, ia);
    if (ib == n) return &env.hosts[ia];
    const Host* b = env.hosts[ib].get();
    // Weighted: (active + 1) / weight, so idle hosts split by weight too.
    const double la = static_cast<double>(a->active() + 1) / env.EffectiveWeight(a);
    const double lb = static_cast<double>(b->active() + 1) / env.EffectiveWeight(b);
    if (la != lb) return la < lb ? &env.hosts[ia] : &env.hosts[ib];
    // Equal load: choose in proportion to weight.
    const double wa = env.EffectiveWeight(a), wb = env.EffectiveWeight(b);
    return RandomUnit() * (wa + wb) < wa ? &env.hosts[ia] : &env.hosts[ib];
  }
};

}  // namespace

std::unique_ptr<Policy> MakeLeastRequest() { return std::make_unique<LeastRequest>(); }

}  // namespace pier::balance
