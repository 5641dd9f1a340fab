#include "balance/least_connections.h"

namespace pier::balance {

namespace {

class LeastConnections final : public Policy {
 public:
  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    const size_t n = env.hosts.size();
    const size_t start = RandomU64() % n;
    const std::shared_ptr<Host>* best = nullptr;
    double best_load = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& h = env.hosts[(start + i) % n];
      if (!env.Usable(h.get())) continue;
      const double load = static_cast<double>(h->active()) / env.EffectiveWeight(h.get());
      if (!best || load < best_load) {
        best = &h;
        best_load = load;
      }
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<Policy> MakeLeastConnections() { return std::make_unique<LeastConnections>(); }

}  // namespace pier::balance
