// File: load_balancer.h
// LoadBalancer: picks an upstream host for each request by a named policy. The host list is an
// immutable snapshot swapped in whole (Update), so a pick takes no lock; hosts' dynamic state
// (health, ejection, draining, requests in flight) lives in atomics every policy reads.
//   auto lb = LoadBalancer::Create("least_request", {});
//   (*lb)->Update({{"10.0.0.1:80", 1}, {"10.0.0.2:80", 3}});
//   std::shared_ptr<Host> h = (*lb)->Pick({});  h->Begin(); ... h->End();
// Policies: round_robin, weighted_round_robin (smooth), least_connections, least_request
// (power of two choices, weighted), random (weighted), ring_hash (bounded load), maglev.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/snapshot_ptr.h"
#include "pier/base/status.h"

namespace pier::balance {

// One upstream host. Shared by every snapshot that lists it; its state is atomic. Its balancer
// must outlive the requests that Begin() on it (End() updates the balancer's total).
class Host {
 public:
  Host(std::string address, uint32_t weight, int64_t added_ms)
      : address_(std::move(address)), weight_(weight == 0 ? 1 : weight), added_ms_(added_ms) {}
  const std::string& address() const { return address_; }
  uint32_t weight() const { return weight_; }
  int64_t added_ms() const { return added_ms_; }

  // Health from checks; ejection from outlier detection; draining from deployments.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  bool ejected() const { return ejected_.load(std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  bool available() const { return healthy() && !ejected() && !draining(); }

  // Requests in flight (least_connections, least_request and ring_hash's bounded load).
  void Begin() {
    active_.fetch_add(1, std::memory_order_relaxed);
    if (total_) total_->fetch_add(1, std::memory_order_relaxed);
  }
  void End() {
    active_.fetch_sub(1, std::memory_order_relaxed);
    if (total_) total_->fetch_sub(1, std::memory_order_relaxed);
  }
  int64_t active() const { return active_.load(std::memory_order_relaxed); }

  // What the balancer's user keeps with the host (BalancerOptions::attach made it); it lives as
  // long as the host does, across weight changes.
  void* attachment() const { return attachment_.get(); }

 private:
  friend class LoadBalancer;
  std::string address_;
  uint32_t weight_;
  int64_t added_ms_;
  std::atomic<bool> healthy_{true}, ejected_{false}, draining_{false};
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t>* total_ = nullptr;  // its balancer's requests in flight
  std::shared_ptr<void> attachment_;
};

struct HostSpec {
  std::string address;
  uint32_t weight = 1;
};

struct PickContext {
  uint64_t hash = 0;      // ring_hash and maglev: the request's key hash
  bool has_hash = false;  // without one, hash policies pick at random
  // Hosts not to pick (a retry goes to a different host); unavailable ones are skipped anyway.
  const std::vector<const Host*>* exclude = nullptr;
};

struct BalancerOptions {
  // Below this share of available hosts, balance across all of them (Envoy's panic mode).
  double panic_threshold = 0.5;
  // A new host's weight ramps from 10% to 100% over this long (0: off); least_request,
  // least_connections and random honour it.
  int64_t slow_start_ms = 0;
  int ring_points_per_weight = 100;  // ring_hash virtual nodes per unit of weight
  double bounded_load = 1.25;  // ring_hash: a host takes at most this x the mean load (0: off)
  uint32_t maglev_table_size = 65537;  // prime
  std::function<int64_t()> now_ms;     // slow start's clock; default: steady clock
  uint64_t seed = 0;                   // random choices; 0: random
  // Called once per new host address; the result rides along as Host::attachment() (a proxy's
  // per-host breaker and counters, found without a lookup).
  std::function<std::shared_ptr<void>(const std::string& address)> attach;
};

// The per-snapshot data a policy builds (a ring, a table, a schedule).
class PolicyState;
class Policy;

class LoadBalancer {
 public:
  static Result<std::unique_ptr<LoadBalancer>> Create(const std::string& policy,
                                                      BalancerOptions options = {});
  static const std::vector<std::string>& PolicyNames();
  ~LoadBalancer();

  // Replaces the host list. Hosts whose address stays keep their state (and slow start).
  void Update(const std::vector<HostSpec>& hosts);
  // A host for the request (kept alive for it even if an Update drops it), or nullptr when
  // there is none to pick. Lock-free.
  std::shared_ptr<Host> Pick(const PickContext& ctx = {}) const;

  void SetHealthy(const std::string& address, bool healthy);
  void SetEjected(const std::string& address, bool ejected);
  void SetDraining(const std::string& address, bool draining);
  std::vector<std::shared_ptr<Host>> hosts() const;
  const std::string& policy() const { return name_; }
  // Whether too few hosts are available, so picks ignore availability.
  bool panic() const;

  struct Snapshot;

 private:
  LoadBalancer(std::string name, std::unique_ptr<Policy> policy, BalancerOptions options);
  void SetFlag(const std::string& address, std::atomic<bool> Host::*flag, bool value);

  std::string name_;
  std::unique_ptr<Policy> policy_;
  BalancerOptions options_;
  std::unique_ptr<SnapshotPtr<Snapshot>> snapshot_;
  std::mutex update_mu_;                  // Update and flag changes (never a pick)
  std::atomic<int64_t> total_active_{0};  // every host's requests in flight
};

}  // namespace pier::balance
