#include "pier/cache/simulator.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <thread>

#include "pier/cache/cache.h"

namespace pier::cache {

CacheSize CacheSize::Fraction(double f, std::string label) {
  CacheSize s;
  s.fraction = f;
  s.label = label.empty() ? std::to_string(f * 100) + "%" : std::move(label);
  return s;
}

CacheSize CacheSize::Absolute(uint64_t n) {
  CacheSize s;
  s.absolute = n;
  s.label = std::to_string(n);
  return s;
}

Result<CacheSize> ParseCacheSize(const std::string& text) {
  const bool percent = !text.empty() && text.back() == '%';
  const std::string num = percent ? text.substr(0, text.size() - 1) : text;
  if (!percent && num.find('.') == std::string::npos) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (!num.empty() && ec == std::errc() && p == num.data() + num.size() && n > 0) {
      return CacheSize::Absolute(n);
    }
  } else {
    double f = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), f);
    if (percent) f /= 100;
    if (!num.empty() && ec == std::errc() && p == num.data() + num.size() && f > 0 && f <= 1) {
      return CacheSize::Fraction(f, text);
    }
  }
  return Status::InvalidArgument("cache size '" + text +
                                 "': use a percentage of the unique keys (1%), a fraction in "
                                 "(0, 1] (0.01) or a positive count (5000)");
}

namespace {

struct Unit {};  // the simulator caches keys only

SimulationRow RunOne(const Trace& trace, const std::string& policy, const CacheSize& size,
                     bool by_bytes) {
  SimulationRow row{trace.name, policy, size.label, 0, trace.requests.size(), 0};
  const uint64_t universe = by_bytes ? trace.unique_bytes : trace.unique_keys;
  row.cache_size = size.fraction > 0
                       ? std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(
                                                   size.fraction * static_cast<double>(universe))))
                       : size.absolute;
  Cache<uint64_t, uint32_t>::Options o;
  o.policy = policy;
  if (by_bytes) {
    o.max_weight = row.cache_size;
    o.weigher = [](const uint64_t&, const uint32_t& bytes) { return uint64_t{bytes}; };
  } else {
    o.max_entries = row.cache_size;
  }
  auto cache = Cache<uint64_t, uint32_t>::Create(std::move(o));
  PIER_CHECK(cache.ok());  // policy names were validated by Simulate
  auto& c = **cache;
  for (const TraceRequest& r : trace.requests) {
    const uint32_t* v = c.Get(r.key);
    if (v == nullptr) {
      ++row.misses;
      c.Put(r.key, r.size);
    } else if (*v != r.size) {
      c.Put(r.key, r.size);  // the object changed size: store the new version
    }
  }
  return row;
}

}  // namespace

Result<std::vector<SimulationRow>> Simulate(const Trace& trace,
                                            const std::vector<std::string>& policies,
                                            const std::vector<CacheSize>& sizes, unsigned threads,
                                            bool by_bytes) {
  for (const auto& p : policies) {
    if (auto made = MakePolicy(p); !made.ok()) return made.status();
  }
  std::vector<SimulationRow> rows(policies.size() * sizes.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < rows.size();) {
      rows[i] = RunOne(trace, policies[i / sizes.size()], sizes[i % sizes.size()], by_bytes);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::max(1u, threads); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return rows;
}

}  // namespace pier::cache
