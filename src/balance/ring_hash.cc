#include "balance/ring_hash.h"

#include <cmath>

#include "pier/balance/hash_ring.h"

namespace pier::balance {

namespace {

struct Ring : PolicyState {
  explicit Ring(const std::vector<std::string>& names, int points,
                const std::vector<uint32_t>& weights)
      : ring(names, points, weights) {}
  HashRing ring;
};

class RingHash final : public Policy {
 public:
  std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>& hosts,
                                     const BalancerOptions& options) const override {
    std::vector<std::string> names;
    std::vector<uint32_t> weights;
    for (const auto& h : hosts) {
      names.push_back(h->address());
      weights.push_back(h->weight());
    }
    return std::make_unique<Ring>(names, options.ring_points_per_weight, weights);
  }

  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    const auto& ring = static_cast<const Ring&>(*env.state).ring;
    const auto& points = ring.points();
    if (points.empty()) return nullptr;
    const uint64_t hash = env.ctx.has_hash ? env.ctx.hash : RandomU64();
    // The bound: ceil(c * (all in flight + 1) / hosts).
    int64_t limit = INT64_MAX;
    if (env.options.bounded_load > 0) {
      limit = static_cast<int64_t>(
          std::ceil(env.options.bounded_load * static_cast<double>(env.total_active + 1) /
                    static_cast<double>(env.hosts.size())));
    }
    const std::shared_ptr<Host>* first_usable = nullptr;
    size_t at = ring.Find(hash);
    for (size_t i = 0; i < points.size(); ++i, at = (at + 1) % points.size()) {
      const auto& h = env.hosts[points[at].second];
      if (!env.Usable(h.get())) continue;
      if (h->active() < limit) return &h;
      if (!first_usable) first_usable = &h;
    }
    return first_usable;  // every usable host is at the bound
  }
};

}  // namespace

std::unique_ptr<Policy> MakeRingHash() { return std::make_unique<RingHash>(); }

}  // namespace pier::balance
