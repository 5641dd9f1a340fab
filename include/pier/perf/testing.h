// File: testing.h
// For tests of analyzer sources (perf's own and each module's): a metrics registry and an
// analyzer on a fake clock, advanced one interval at a time.
//   perf::testing::Harness h;
//   h.a.AddSource(queue::PerfSource());
//   h.a.Sample();  pub.Inc(300);  h.Step();  ...  h.Find("queue");
#pragma once

#include <string>
#include <vector>

#include "pier/perf/analyzer.h"

namespace pier::perf::testing {

struct Harness {
  metrics::Registry m;
  int64_t now = 1000;
  Analyzer a{m, {.interval_ms = 1000, .cores = 2, .window = 30}, [this] { return now; }};

  // One interval later, one sample.
  void Step() {
    now += 1000;
    a.Sample();
  }
  // The suggestions of one area.
  std::vector<Suggestion> Find(const std::string& area) const {
    std::vector<Suggestion> out;
    for (auto& s : a.Suggestions()) {
      if (s.area == area) out.push_back(s);
    }
    return out;
  }
};

}  // namespace pier::perf::testing
