// `pier cache-sim`: replay traces through eviction policies and print miss ratios.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "pier/cache/eviction_policy.h"
#include "pier/cache/simulator.h"

namespace pier::app {

namespace {

struct SimFlags {
  std::vector<std::string> traces = {"zipf:1.0"};
  std::vector<std::string> policies;
  std::vector<std::string> sizes = {"0.1%", "1%", "10%"};
  uint64_t objects = 1000000;
  uint64_t requests = 10000000;
  uint64_t seed = 1;
  unsigned threads = 0;
  bool by_bytes = false;
  bool csv = false;
  bool json = false;
};

Result<std::vector<cache::SimulationRow>> RunSim(const SimFlags& f) {
  std::vector<cache::CacheSize> sizes;
  for (const auto& s : f.sizes) {
    auto parsed = cache::ParseCacheSize(s);
    if (!parsed.ok()) return Status::InvalidArgument("--sizes: " + parsed.status().message());
    sizes.push_back(*parsed);
  }
  std::vector<std::string> policies = f.policies.empty() ? cache::PolicyNames() : f.policies;
  for (const auto& p : policies) {
    if (auto made = cache::MakePolicy(p); !made.ok()) {
      return Status::InvalidArgument("--policies: " + made.status().message());
    }
  }
  unsigned threads = f.threads ? f.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<cache::SimulationRow> all;
  for (const auto& name : f.traces) {
    Result<cache::Trace> trace = name.rfind("file:", 0) == 0
                                     ? cache::ReadTraceFile(name.substr(5))
                                     : cache::GenerateTrace(name, {f.objects, f.requests, f.seed});
    if (!trace.ok()) return Status::InvalidArgument("--trace: " + trace.status().message());
    auto rows = cache::Simulate(*trace, policies, sizes, threads, f.by_bytes);
    if (!rows.ok()) return rows.status();
    all.insert(all.end(), rows->begin(), rows->end());
  }
  return all;
}

void Print(const std::vector<cache::SimulationRow>& rows, const SimFlags& f) {
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"trace", r.trace},
                     {"policy", r.policy},
                     {"size", r.size_label},
                     {"cache_size", r.cache_size},
                     {"requests", r.requests},
                     {"misses", r.misses},
                     {"miss_ratio", r.miss_ratio()}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (f.csv) {
    std::cout << "trace,policy,size,cache_size,requests,misses,miss_ratio\n";
    for (const auto& r : rows) {
      std::cout << fmt::format("{},{},{},{},{},{},{:.6f}\n", r.trace, r.policy, r.size_label,
                               r.cache_size, r.requests, r.misses, r.miss_ratio());
    }
    return;
  }
  // A table per trace: policies down, sizes across, the best policy per size marked with '*'.
  std::vector<std::string> size_labels;
  for (const auto& r : rows) {
    if (std::find(size_labels.begin(), size_labels.end(), r.size_label) == size_labels.end()) {
      size_labels.push_back(r.size_label);
    }
  }
  std::string trace;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].trace != trace) {
      trace = rows[i].trace;
      std::cout << fmt::format("\nmiss ratio, trace {} ({} requests)\n{:<10}", trace,
                               rows[i].requests, "policy");
      for (const auto& s : size_labels) std::cout << fmt::format("{:>12}", s);
      std::cout << "\n";
      for (size_t j = i; j < rows.size() && rows[j].trace == trace; j += size_labels.size()) {
        std::cout << fmt::format("{:<10}", rows[j].policy);
        for (size_t k = 0; k < size_labels.size(); ++k) {
          const auto& r = rows[j + k];
          double best = 2;
          for (const auto& o : rows) {
            if (o.trace == trace && o.size_label == r.size_label)
              best = std::min(best, o.miss_ratio());
          }
          std::cout << fmt::format("{:>11.4f}{}", r.miss_ratio(),
                                   r.miss_ratio() == best ? '*' : ' ');
        }
        std::cout << "\n";
      }
    }
  }
}

}  // namespace

void AddCacheSimCommand(CLI::App& app, std::function<void(std::function<int()>)> set_action) {
  auto f = std::make_shared<SimFlags>();
  CLI::App* sub = app.add_subcommand(
      "cache-sim", "Replay a trace through eviction policies and print miss ratios");
  sub->add_option("--trace", f->traces,
                  "Trace generators or files, repeatable: zipf:ALPHA, uniform, scan:F, onehit:F, "
                  "loop, file:PATH (one key per line, optional size)")
      ->capture_default_str();
  sub->add_option("--policies", f->policies, "Comma-separated policies (default: all)")
      ->delimiter(',');
  sub->add_option("--sizes", f->sizes,
                  "Comma-separated cache sizes: 1% of unique keys, 0.01, or 5000 entries")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--objects", f->objects, "Distinct objects in generated traces")
      ->capture_default_str();
  sub->add_option("--requests", f->requests, "Requests in generated traces")->capture_default_str();
  sub->add_option("--seed", f->seed, "Random seed for generated traces")->capture_default_str();
  sub->add_option("--threads", f->threads, "Simulations run in parallel (0: one per core)");
  sub->add_flag("--by-bytes", f->by_bytes, "Size caches in bytes using the trace's size column");
  sub->add_flag("--csv", f->csv, "Print CSV with a header row");
  sub->add_flag("--json", f->json, "Print JSON");
  sub->callback([f, set_action] {
    set_action([f] {
      auto rows = RunSim(*f);
      if (!rows.ok()) {
        std::cerr << "pier cache-sim: " << rows.status().message() << "\n";
        return rows.status().ExitCode();
      }
      Print(*rows, *f);
      return 0;
    });
  });
}

}  // namespace pier::app
