// RegistryServer::AttachTo (registry_server.h): the registry's analyzer source. Series
// registry.instances and registry.probe_lag_p99_ms (how late health probes start); no rules.
#include <cmath>

#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"
#include "pier/registry/registry_server.h"
#include "registry/server/registry_metric_names.h"

namespace pier::registry {

namespace {

class Source : public perf::Source {
 public:
  Source() {
    inputs = {{metric_names::kInstances, "registry.instances", perf::Input::kGauge},
              {metric_names::kProbeLagSeconds, "registry.lag", perf::Input::kHistogram}};
  }
  void Derive(perf::Sampling& s) const override {
    if (double p = s.QuantileMs("registry.lag", 0.99); !std::isnan(p)) {
      s.Record("registry.probe_lag_p99_ms", p);
    }
  }
};

}  // namespace

void RegistryServer::AttachTo(perf::Analyzer& analyzer, perf::Tuner&) {
  analyzer.AddSource(std::make_shared<Source>());
}

}  // namespace pier::registry
