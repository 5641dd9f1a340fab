// File: policy.h
// What a balancing policy implements: the data it precomputes for a host snapshot, and a pick
// from that snapshot. Internal to pier::balance; one file pair per policy.
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "pier/balance/load_balancer.h"

namespace pier::balance {

class PolicyState {
 public:
  virtual ~PolicyState() = default;
};

// Everything a pick may look at.
struct PickEnv {
  const std::vector<std::shared_ptr<Host>>& hosts;
  const PolicyState* state;
  const PickContext& ctx;
  const BalancerOptions& options;
  bool panic;
  int64_t now_ms;
  int64_t total_active;  // requests in flight on every host

  bool Excluded(const Host* h) const;
  // Available (or in panic) and not excluded.
  bool Usable(const Host* h) const { return (panic || h->available()) && !Excluded(h); }
  // The weight with slow start applied: from 10% to 100% over slow_start_ms after it was added.
  double EffectiveWeight(const Host* h) const;
  // The first usable host from index `start` on, wrapping; null when none.
  const std::shared_ptr<Host>* FirstUsableFrom(size_t start) const;
};

// A fast per-thread generator for random choices.
uint64_t RandomU64();
double RandomUnit();  // [0, 1)

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::unique_ptr<PolicyState> Build(const std::vector<std::shared_ptr<Host>>& hosts,
                                             const BalancerOptions& options) const {
    (void)hosts;
    (void)options;
    return nullptr;
  }
  // A pointer into env.hosts (the caller copies the shared_ptr), or null.
  virtual const std::shared_ptr<Host>* Pick(const PickEnv& env) const = 0;
};

// Factories, one per policy file.
std::unique_ptr<Policy> MakeRoundRobin();
std::unique_ptr<Policy> MakeWeightedRoundRobin();
std::unique_ptr<Policy> MakeLeastConnections();
std::unique_ptr<Policy> MakeLeastRequest();
std::unique_ptr<Policy> MakeRandom();
std::unique_ptr<Policy> MakeRingHash();
std::unique_ptr<Policy> MakeMaglev();

}  // namespace pier::balance
