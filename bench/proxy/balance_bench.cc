// Microbenchmarks of the proxy's per-request decisions: a circuit breaker's check when closed,
// and one pick per balancing policy over 10 and 1000 hosts.
//   build/release/bench/balance_bench
#include <benchmark/benchmark.h>

#include "pier/balance/load_balancer.h"
#include "pier/base/hash.h"
#include "pier/resilience/circuit_breaker.h"

namespace {

void BM_BreakerCheckClosed(benchmark::State& state) {
  pier::resilience::CircuitBreaker b;
  for (auto _ : state) benchmark::DoNotOptimize(b.TryAcquire());
}
BENCHMARK(BM_BreakerCheckClosed)->ThreadRange(1, 2);

void BM_BreakerCallClosed(benchmark::State& state) {  // check and record an outcome
  pier::resilience::CircuitBreaker b({.failure_rate_threshold = 50});
  for (auto _ : state) {
    if (b.TryAcquire()) b.OnResult(true, 1);
  }
}
BENCHMARK(BM_BreakerCallClosed);

void BM_Pick(benchmark::State& state, const char* policy) {
  auto lb = std::move(*pier::balance::LoadBalancer::Create(policy));
  std::vector<pier::balance::HostSpec> hosts;
  for (int64_t i = 0; i < state.range(0); ++i) {
    hosts.push_back({"10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80",
                     static_cast<uint32_t>(1 + i % 3)});
  }
  lb->Update(hosts);
  uint64_t k = 0;
  for (auto _ : state) {
    pier::balance::PickContext ctx{.hash = pier::Mix64(++k), .has_hash = true};
    benchmark::DoNotOptimize(lb->Pick(ctx));
  }
}
BENCHMARK_CAPTURE(BM_Pick, round_robin, "round_robin")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, weighted_round_robin, "weighted_round_robin")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, least_connections, "least_connections")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, least_request, "least_request")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, random, "random")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, ring_hash, "ring_hash")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, maglev, "maglev")->Arg(10)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
