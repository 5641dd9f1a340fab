#include "pier/balance/load_balancer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "balance/policy.h"
#include "pier/base/clock.h"
#include "pier/base/hash.h"

namespace pier::balance {

struct LoadBalancer::Snapshot {
  std::vector<std::shared_ptr<Host>> hosts;
  std::unique_ptr<PolicyState> state;
  mutable std::atomic<int64_t> unavailable{0};  // recounted whenever a host's flags change
};

namespace {

struct Entry {
  const char* name;
  std::unique_ptr<Policy> (*make)();
};
const Entry kPolicies[] = {
    {"round_robin", MakeRoundRobin},
    {"weighted_round_robin", MakeWeightedRoundRobin},
    {"least_connections", MakeLeastConnections},
    {"least_request", MakeLeastRequest},
    {"random", MakeRandom},
    {"ring_hash", MakeRingHash},
    {"maglev", MakeMaglev},
};

}  // namespace

bool PickEnv::Excluded(const Host* h) const {
  if (!ctx.exclude) return false;
  return std::find(ctx.exclude->begin(), ctx.exclude->end(), h) != ctx.exclude->end();
}

double PickEnv::EffectiveWeight(const Host* h) const {
  const double w = h->weight();
  if (options.slow_start_ms <= 0) return w;
  const double age = static_cast<double>(now_ms - h->added_ms());
  const double f = std::clamp(age / static_cast<double>(options.slow_start_ms), 0.1, 1.0);
  return w * f;
}

const std::shared_ptr<Host>* PickEnv::FirstUsableFrom(size_t start) const {
  const size_t n = hosts.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& h = hosts[(start + i) % n];
    if (Usable(h.get())) return &h;
  }
  return nullptr;
}

uint64_t RandomU64() {
  thread_local uint64_t state = Mix64(std::random_device{}() ^ reinterpret_cast<uintptr_t>(&state));
  state += 0x9e3779b97f4a7c15ULL;  // SplitMix64
  return Mix64(state);
}

double RandomUnit() { return static_cast<double>(RandomU64() >> 11) * 0x1.0p-53; }

const std::vector<std::string>& LoadBalancer::PolicyNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& e : kPolicies) v.push_back(e.name);
    return v;
  }();
  return names;
}

Result<std::unique_ptr<LoadBalancer>> LoadBalancer::Create(const std::string& policy,
                                                           BalancerOptions options) {
  for (const auto& e : kPolicies) {
    if (policy != e.name) continue;
    if (options.panic_threshold < 0 || options.panic_threshold > 1) {
      return Status::InvalidArgument("panic_threshold must be from 0 to 1");
    }
    if (options.maglev_table_size < 3) {
      return Status::InvalidArgument("maglev_table_size must be a prime of at least 3");
    }
    if (!options.now_ms) options.now_ms = SteadyNowMs;
    return std::unique_ptr<LoadBalancer>(new LoadBalancer(policy, e.make(), std::move(options)));
  }
  std::string all;
  for (const auto& n : PolicyNames()) all += (all.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown balancing policy '" + policy + "' (" + all + ")");
}

LoadBalancer::LoadBalancer(std::string name, std::unique_ptr<Policy> policy,
                           BalancerOptions options)
    : name_(std::move(name)), policy_(std::move(policy)), options_(std::move(options)) {
  snapshot_ = std::make_unique<SnapshotPtr<Snapshot>>(std::make_unique<const Snapshot>());
}

LoadBalancer::~LoadBalancer() = default;

void LoadBalancer::Update(const std::vector<HostSpec>& specs) {
  std::lock_guard l(update_mu_);
  std::map<std::string, std::shared_ptr<Host>> by_address;
  {
    auto old = snapshot_->Read();
    for (const auto& h : old->hosts) by_address[h->address()] = h;
  }
  auto next = std::make_unique<Snapshot>();
  const int64_t now = options_.now_ms();
  for (const auto& s : specs) {
    auto it = by_address.find(s.address);
    if (it != by_address.end() && it->second->weight() == (s.weight == 0 ? 1 : s.weight)) {
      next->hosts.push_back(it->second);
    } else {
      auto h = std::make_shared<Host>(s.address, s.weight,
                                      it != by_address.end() ? it->second->added_ms() : now);
      h->total_ = &total_active_;
      if (it != by_address.end()) {  // a new weight: keep the flags and the attachment
        h->healthy_ = it->second->healthy();
        h->ejected_ = it->second->ejected();
        h->draining_ = it->second->draining();
        h->attachment_ = it->second->attachment_;
      } else if (options_.attach) {
        h->attachment_ = options_.attach(s.address);
      }
      next->hosts.push_back(std::move(h));
    }
  }
  next->state = policy_->Build(next->hosts, options_);
  int64_t unavailable = 0;
  for (const auto& h : next->hosts) unavailable += !h->available();
  next->unavailable = unavailable;
  snapshot_->Store(std::move(next));
}

std::shared_ptr<Host> LoadBalancer::Pick(const PickContext& ctx) const {
  auto snap = snapshot_->Read();
  if (snap->hosts.empty()) return nullptr;
  PickEnv env{snap->hosts,
              snap->state.get(),
              ctx,
              options_,
              false,
              options_.slow_start_ms > 0 ? options_.now_ms() : 0,
              total_active_.load(std::memory_order_relaxed)};
  const double available =
      static_cast<double>(snap->hosts.size()) - static_cast<double>(snap->unavailable.load());
  env.panic = available < options_.panic_threshold * static_cast<double>(snap->hosts.size());
  const std::shared_ptr<Host>* h = policy_->Pick(env);
  return h ? *h : nullptr;
}

bool LoadBalancer::panic() const {
  auto snap = snapshot_->Read();
  const double n = static_cast<double>(snap->hosts.size());
  return n > 0 && n - static_cast<double>(snap->unavailable.load()) < options_.panic_threshold * n;
}

void LoadBalancer::SetFlag(const std::string& address, std::atomic<bool> Host::*flag, bool value) {
  std::lock_guard l(update_mu_);  // serializes recounts and updates; picks never take it
  auto snap = snapshot_->Read();
  int64_t unavailable = 0;
  for (const auto& h : snap->hosts) {
    if (h->address() == address) ((*h).*flag).store(value, std::memory_order_relaxed);
    unavailable += !h->available();
  }
  snap->unavailable = unavailable;
}

void LoadBalancer::SetHealthy(const std::string& address, bool healthy) {
  SetFlag(address, &Host::healthy_, healthy);
}
void LoadBalancer::SetEjected(const std::string& address, bool ejected) {
  SetFlag(address, &Host::ejected_, ejected);
}
void LoadBalancer::SetDraining(const std::string& address, bool draining) {
  SetFlag(address, &Host::draining_, draining);
}

std::vector<std::shared_ptr<Host>> LoadBalancer::hosts() const { return snapshot_->Read()->hosts; }

}  // namespace pier::balance
