// The one table of eviction policies by name, as brpc registers its load balancers.
#include <functional>

#include "cache/fifo_policy.h"
#include "cache/lfu_policy.h"
#include "cache/lru_policy.h"
#include "cache/random_policy.h"
#include "cache/s3fifo_policy.h"
#include "cache/sieve_policy.h"
#include "cache/wtinylfu_policy.h"

namespace pier::cache {

namespace {

struct Entry {
  std::string name;
  std::function<std::unique_ptr<EvictionPolicy>(uint64_t seed)> make;
};

const std::vector<Entry>& Table() {
  static const std::vector<Entry> table = {
      {"lru", [](uint64_t) { return std::make_unique<LruPolicy>(); }},
      {"lfu", [](uint64_t) { return std::make_unique<LfuPolicy>(); }},
      {"fifo", [](uint64_t) { return std::make_unique<FifoPolicy>(); }},
      {"random", [](uint64_t seed) { return std::make_unique<RandomPolicy>(seed); }},
      {"s3fifo", [](uint64_t) { return std::make_unique<S3FifoPolicy>(); }},
      {"sieve", [](uint64_t) { return std::make_unique<SievePolicy>(); }},
      {"wtinylfu", [](uint64_t seed) { return std::make_unique<WTinyLfuPolicy>(seed); }},
  };
  return table;
}

}  // namespace

Result<std::unique_ptr<EvictionPolicy>> MakePolicy(std::string_view name, uint64_t seed) {
  for (const auto& e : Table()) {
    if (e.name == name) return e.make(seed);
  }
  std::string known;
  for (const auto& n : PolicyNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown eviction policy '" + std::string(name) +
                                 "' (known: " + known + ")");
}

const std::vector<std::string>& PolicyNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& e : Table()) v.push_back(e.name);
    return v;
  }();
  return names;
}

}  // namespace pier::cache
