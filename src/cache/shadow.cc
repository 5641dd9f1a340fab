#include "pier/cache/shadow.h"

#include <algorithm>

#include "pier/cache/cache.h"
#include "pier/cache/eviction_policy.h"

namespace pier::cache {

struct MissRatioShadow::Sim {
  std::string policy;
  double factor;
  uint64_t capacity;
  std::unique_ptr<Cache<uint64_t, uint64_t>> cache;
  uint64_t lookups = 0, hits = 0;
};

MissRatioShadow::MissRatioShadow(Options options) : options_(std::move(options)) {
  if (options_.policies.empty()) options_.policies = PolicyNames();
}

std::unique_ptr<MissRatioShadow::Sim> MissRatioShadow::MakeSim(const std::string& policy,
                                                               double factor) const {
  auto sim = std::make_unique<Sim>();
  sim->policy = policy;
  sim->factor = factor;
  sim->capacity = static_cast<uint64_t>(static_cast<double>(capacity_.load()) * factor);
  const uint64_t scaled = std::max<uint64_t>(1, sim->capacity >> shift_.load());
  auto c = Cache<uint64_t, uint64_t>::Create(
      {.policy = policy, .max_weight = scaled, .weigher = [](const uint64_t&, const uint64_t& w) {
         return w;
       }});
  if (!c.ok()) return nullptr;
  sim->cache = std::move(*c);
  return sim;
}

MissRatioShadow::~MissRatioShadow() = default;

void MissRatioShadow::Configure(uint64_t capacity, const std::string& current_policy) {
  std::lock_guard l(mu_);
  sims_.clear();
  capacity_ = capacity;
  current_ = current_policy;
  enabled_ = capacity != 0;
  if (capacity == 0) return;
  uint32_t shift = options_.min_sample_shift;
  const uint64_t entries = capacity / std::max<uint64_t>(1, options_.assumed_entry_bytes);
  while (shift < kBits - 1 && (entries >> shift) > options_.target_entries) ++shift;
  shift_ = shift;
  threshold_ = (uint64_t{1} << kBits) >> shift;
  for (const auto& policy : options_.policies) {
    if (auto sim = MakeSim(policy, 1)) sims_.push_back(std::move(sim));
  }
  for (double f : options_.size_factors) {
    if (auto sim = MakeSim(current_, f)) sims_.push_back(std::move(sim));
  }
}

void MissRatioShadow::SetCurrentPolicy(const std::string& policy) {
  std::lock_guard l(mu_);
  if (policy == current_) return;
  current_ = policy;
  if (capacity_ == 0) return;
  std::erase_if(sims_, [](const std::unique_ptr<Sim>& s) { return s->factor != 1; });
  for (double f : options_.size_factors) {
    if (auto sim = MakeSim(current_, f)) sims_.push_back(std::move(sim));
  }
}

void MissRatioShadow::Lookup(uint64_t hash) {
  std::lock_guard l(mu_);
  for (auto& s : sims_) {
    ++s->lookups;
    if (s->cache->Get(hash) != nullptr) ++s->hits;
  }
}

void MissRatioShadow::Store(uint64_t hash, uint64_t weight) {
  std::lock_guard l(mu_);
  for (auto& s : sims_) s->cache->Put(hash, weight);
}

void MissRatioShadow::Remove(uint64_t hash) {
  std::lock_guard l(mu_);
  for (auto& s : sims_) s->cache->Erase(hash);
}

std::vector<MissRatioShadow::Point> MissRatioShadow::Curve(uint64_t total_lookups) const {
  std::lock_guard l(mu_);
  std::vector<Point> out;
  const double expected =
      static_cast<double>(total_lookups) / static_cast<double>(uint64_t{1} << shift_.load());
  for (const auto& s : sims_) {
    double ratio = 0;
    if (total_lookups != 0 && expected >= 1) {
      const double hits = static_cast<double>(s->hits) + expected - static_cast<double>(s->lookups);
      ratio = std::clamp(hits / expected, 0.0, 1.0);
    } else if (s->lookups != 0) {
      ratio = static_cast<double>(s->hits) / static_cast<double>(s->lookups);
    }
    out.push_back({s->policy, s->factor, s->capacity, s->lookups, ratio});
  }
  return out;
}

MissRatioShadow::Point MissRatioShadow::Predict(const std::string& policy, double factor,
                                                uint64_t total_lookups) const {
  for (const auto& p : Curve(total_lookups)) {
    if (p.policy == policy && p.size_factor == factor) return p;
  }
  return {policy, factor, 0, 0, 0};
}

void MissRatioShadow::ResetCounts() {
  std::lock_guard l(mu_);
  for (auto& s : sims_) s->lookups = s->hits = 0;
}

}  // namespace pier::cache
