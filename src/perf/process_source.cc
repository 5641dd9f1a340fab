#include "perf/process_source.h"

#include <algorithm>

#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"

namespace pier::perf {

namespace {

namespace names = metrics::process_names;

class Process : public Source {
 public:
  Process() {
    inputs = {{names::kCpuSeconds, "process.cpu", Input::kCounter},
              {names::kResidentBytes, "process.rss_bytes", Input::kGauge},
              {names::kThreads, "process.threads", Input::kGauge},
              {names::kOpenFds, "process.fds", Input::kGauge}};
  }

  void Derive(Sampling& s) const override {
    if (s.Has("process.cpu")) s.Record("process.cpu_cores", s.Rate("process.cpu"));
  }

  void Suggest(const Analyzer& a, std::vector<Suggestion>* out) const override {
    const auto cpu = a.Recent("process.cpu_cores", a.options().window);
    if (cpu.size() < 10 || !CpuSaturated(cpu, a.options().cores)) return;
    Suggestion s;
    s.area = "cpu";
    s.title = "pier is CPU-bound: give it more cores or move load off this machine";
    s.why = Fmt("it used %.2f of %.0f cores on average", Mean(cpu), a.options().cores);
    s.effect = "latency stops rising with load";
    s.confidence = 0.8;
    s.evidence.push_back(EvidenceOf("process.cpu_cores", cpu, a.options().interval_ms));
    out->push_back(s);
  }

  void Score(const Analyzer& a, ScoreCard* card) const override {
    const auto cpu = a.Recent("process.cpu_cores", a.options().window);
    if (cpu.empty()) return;
    const double headroom = 1 - Mean(cpu) / a.options().cores;
    card->areas["resources"] = {std::clamp(headroom / 0.3, 0.0, 1.0), 20};
    card->notes.push_back("resources: CPU headroom, full marks at 30% of the cores free");
  }
};

}  // namespace

std::shared_ptr<Source> ProcessSource() { return std::make_shared<Process>(); }

}  // namespace pier::perf
