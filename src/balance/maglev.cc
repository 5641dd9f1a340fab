#include "balance/maglev.h"

#include "pier/base/hash.h"

namespace pier::balance {

namespace {

struct Table : PolicyState {
  std::vector<uint32_t> entries;  // host indexes
};

class Maglev final : public Policy {
 public:
  std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>& hosts,
                                     const BalancerOptions& options) const override {
    auto t = std::make_unique<Table>();
    const uint64_t m = options.maglev_table_size;
    const size_t n = hosts.size();
    if (n == 0) return t;
    std::vector<uint64_t> offset(n), skip(n), next(n, 0);
    uint32_t max_weight = 1;
    for (size_t i = 0; i < n; ++i) {
      offset[i] = HashBytes(hosts[i]->address()) % m;
      skip[i] = Mix64(HashBytes(hosts[i]->address()) ^ 0x6d61676c6576ULL) % (m - 1) + 1;
      max_weight = std::max(max_weight, hosts[i]->weight());
    }
    constexpr uint32_t kEmpty = UINT32_MAX;
    t->entries.assign(m, kEmpty);
    // Weighted fill: in round r a host takes a turn when its weight * r crosses max_weight.
    std::vector<uint64_t> credit(n, 0);
    uint64_t filled = 0;
    while (filled < m) {
      for (size_t i = 0; i < n && filled < m; ++i) {
        credit[i] += hosts[i]->weight();
        if (credit[i] < max_weight) continue;
        credit[i] -= max_weight;
        uint64_t c = (offset[i] + next[i] * skip[i]) % m;
        while (t->entries[c] != kEmpty) {
          ++next[i];
          c = (offset[i] + next[i] * skip[i]) % m;
        }
        t->entries[c] = static_cast<uint32_t>(i);
        ++next[i];
        ++filled;
      }
    }
    return t;
  }

  const std::shared_ptr<Host>* Pick(const PickEnv& env) const override {
    const auto& e = static_cast<const Table&>(*env.state).entries;
    if (e.empty()) return nullptr;
    const uint64_t hash = env.ctx.has_hash ? env.ctx.hash : RandomU64();
    const size_t m = e.size();
    size_t at = hash % m;
    for (size_t i = 0; i < 64; ++i, at = (at + 1) % m) {
      const auto& h = env.hosts[e[at]];
      if (env.Usable(h.get())) return &h;
    }
    return env.FirstUsableFrom(e[hash % m]);
  }
};

}  // namespace

std::unique_ptr<Policy> MakeMaglev() { return std::make_unique<Maglev>(); }

}  // namespace pier::balance
