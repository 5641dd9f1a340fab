#include "pier/metrics/metrics.h"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <variant>

#include "pier/base/status.h"

namespace pier::metrics {

namespace detail {
size_t ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}
}  // namespace detail

uint64_t Counter::Value() const {
  uint64_t sum = 0;
  for (const auto& s : stripes_) sum += s.v.load(std::memory_order_relaxed);
  return sum;
}

uint64_t Gauge::ToBits(double v) { return std::bit_cast<uint64_t>(v); }
double Gauge::FromBits(uint64_t b) { return std::bit_cast<double>(b); }

void Gauge::Add(double d) {
  uint64_t old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, ToBits(FromBits(old) + d), std::memory_order_relaxed)) {
  }
}

int Histogram::BucketOf(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  int e = 63 - std::countl_zero(v);  // e >= kSubBits
  int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  return (e - kSubBits + 1) * kSub + sub;
}

uint64_t Histogram::BucketLowerBound(int b) {
  if (b < kSub) return static_cast<uint64_t>(b);
  int e = b / kSub + kSubBits - 1;
  uint64_t sub = static_cast<uint64_t>(b % kSub);
  return (uint64_t{1} << e) | (sub << (e - kSubBits));
}

uint64_t Histogram::BucketUpperBound(int b) {
  return b + 1 >= kBuckets ? UINT64_MAX : BucketLowerBound(b + 1);
}

uint64_t Histogram::BucketCount(int b) const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.buckets[b].load(std::memory_order_relaxed);
  return n;
}

// The count is the buckets' sum (one add less per sample, and _count always equals the +Inf
// bucket).
uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) {
    for (const auto& b : s.buckets) n += b.load(std::memory_order_relaxed);
  }
  return n;
}

uint64_t Histogram::Sum() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.sum.load(std::memory_order_relaxed);
  return n;
}

void Histogram::Merge(const Histogram& other) {
  Stripe& mine = stripes_[detail::ThreadStripe()];
  for (int i = 0; i < kBuckets; ++i) {
    mine.buckets[i].fetch_add(other.BucketCount(i), std::memory_order_relaxed);
  }
  mine.sum.fetch_add(other.Sum(), std::memory_order_relaxed);
}

void Histogram::Reset() {
  for (Stripe& s : stripes_) {
    for (auto& b : s.buckets) b.store(0, std::memory_order_relaxed);
    s.sum.store(0, std::memory_order_relaxed);
  }
}

Histogram::Counts Histogram::Buckets() const {
  Counts counts;
  for (int i = 0; i < kBuckets; ++i) counts[i] = BucketCount(i);
  return counts;
}

uint64_t Histogram::Quantile(double q) const { return QuantileOf(Buckets(), q); }

uint64_t Histogram::QuantileOf(const Counts& counts, double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  auto rank =
      static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) return BucketUpperBound(i) - 1;  // the largest value in the bucket
  }
  return UINT64_MAX;
}

uint64_t Histogram::CountBelow(uint64_t bound) const {
  uint64_t n = 0;
  for (int i = 0; i < kBuckets && BucketUpperBound(i) <= bound; ++i) n += BucketCount(i);
  return n;
}

// ---- registry ----

struct Registry::Family {
  std::string name, help, type;
  struct Child {
    Labels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>,
                 std::function<double()>>
        metric;
  };
  std::vector<Child> children;

  Child* Find(const Labels& labels) {
    for (auto& c : children) {
      if (c.labels == labels) return &c;
    }
    return nullptr;
  }
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::Global() {
  static auto* registry = [] {
    auto* r = new Registry();
    RegisterProcessMetrics(*r);
    return r;
  }();
  return *registry;
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help,
                                      const std::string& type) {
  for (auto& f : families_) {
    if (f->name == name) {
      PIER_CHECK_MSG(f->type == type, "metric registered twice with different types");
      return *f;
    }
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
  return *families_.back();
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, "counter");
  if (auto* c = f.Find(labels)) return *std::get<std::unique_ptr<Counter>>(c->metric);
  f.children.push_back({labels, std::make_unique<Counter>()});
  return *std::get<std::unique_ptr<Counter>>(f.children.back().metric);
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, "gauge");
  if (auto* c = f.Find(labels)) return *std::get<std::unique_ptr<Gauge>>(c->metric);
  f.children.push_back({labels, std::make_unique<Gauge>()});
  return *std::get<std::unique_ptr<Gauge>>(f.children.back().metric);
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels, double scale, int min_pow2, int max_pow2) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, "histogram");
  if (auto* c = f.Find(labels)) return *std::get<std::unique_ptr<Histogram>>(c->metric);
  f.children.push_back({labels, std::make_unique<Histogram>(scale, min_pow2, max_pow2)});
  return *std::get<std::unique_ptr<Histogram>>(f.children.back().metric);
}

void Registry::AddCallback(const std::string& name, const std::string& help,
                           const std::string& type, const Labels& labels,
                           std::function<double()> fn) {
  PIER_CHECK(type == "gauge" || type == "counter");
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, type);
  if (auto* c = f.Find(labels)) {
    c->metric = std::move(fn);
    return;
  }
  f.children.push_back({labels, std::move(fn)});
}

namespace {

std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  if (!extra.empty()) {
    if (!first) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void RenderHistogram(std::string& out, const std::string& name, const Labels& labels,
                     const Histogram& h) {
  // Prometheus `le` is inclusive while our bounds are exclusive; with integer samples the
  // difference is one unit of the sample (1 ns for latencies) and is documented.
  for (int k = h.min_pow2(); k <= h.max_pow2(); ++k) {
    uint64_t bound = uint64_t{1} << k;
    out += name + "_bucket" +
           LabelText(labels, "le=\"" + Number(static_cast<double>(bound) * h.scale()) + "\"") +
           " " + std::to_string(h.CountBelow(bound)) + "\n";
  }
  uint64_t count = h.Count();
  out += name + "_bucket" + LabelText(labels, "le=\"+Inf\"") + " " + std::to_string(count) + "\n";
  out += name + "_sum" + LabelText(labels) + " " +
         Number(static_cast<double>(h.Sum()) * h.scale()) + "\n";
  out += name + "_count" + LabelText(labels) + " " + std::to_string(count) + "\n";
}

}  // namespace

std::string Registry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + EscapeHelp(f->help) + "\n";
    out += "# TYPE " + f->name + " " + f->type + "\n";
    for (const auto& c : f->children) {
      std::visit(
          [&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, std::unique_ptr<Histogram>>) {
              RenderHistogram(out, f->name, c.labels, *m);
            } else {
              double v;
              if constexpr (std::is_same_v<M, std::function<double()>>) {
                v = m();
              } else {
                v = static_cast<double>(m->Value());
              }
              out += f->name + LabelText(c.labels) + " " + Number(v) + "\n";
            }
          },
          c.metric);
    }
  }
  return out;
}

void Registry::Visit(const std::function<void(const Sample&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    for (const auto& c : f->children) {
      std::visit(
          [&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, std::unique_ptr<Histogram>>) {
              fn({f->name, f->type, c.labels, static_cast<double>(m->Count()), m.get()});
            } else if constexpr (std::is_same_v<M, std::function<double()>>) {
              fn({f->name, f->type, c.labels, m(), nullptr});
            } else {
              fn({f->name, f->type, c.labels, static_cast<double>(m->Value()), nullptr});
            }
          },
          c.metric);
    }
  }
}

namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double start_seconds = 0;
  double rss_bytes = 0;
  double threads = 0;
};

ProcStat ReadProcStat() {
  ProcStat ps;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return ps;
  // Fields after the command name, which is in parentheses and may contain spaces.
  auto close = line.rfind(')');
  if (close == std::string::npos) return ps;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) f.push_back(tok);
  // rest starts at field 3 (state); utime=14, stime=15, num_threads=20, starttime=22, rss=24.
  auto field = [&](int n) { return n - 3 < static_cast<int>(f.size()) ? std::stod(f[n - 3]) : 0; };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ps.cpu_seconds = (field(14) + field(15)) / ticks;
  ps.threads = field(20);
  ps.rss_bytes = field(24) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot = 0;
  std::ifstream st("/proc/stat");
  while (std::getline(st, line)) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  ps.start_seconds = boot + field(22) / ticks;
  return ps;
}

double CountOpenFds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n - 1;  // the directory handle itself
}

}  // namespace

void RegisterProcessMetrics(Registry& r) {
  r.AddCallback(process_names::kCpuSeconds, "Total user and system CPU time spent in seconds.",
                "counter", {}, [] { return ReadProcStat().cpu_seconds; });
  r.AddCallback(process_names::kResidentBytes, "Resident memory size in bytes.", "gauge", {},
                [] { return ReadProcStat().rss_bytes; });
  r.AddCallback(process_names::kStartTime, "Start time of the process since unix epoch in seconds.",
                "gauge", {}, [] { return ReadProcStat().start_seconds; });
  r.AddCallback(process_names::kThreads, "Number of OS threads in the process.", "gauge", {},
                [] { return ReadProcStat().threads; });
  r.AddCallback(process_names::kOpenFds, "Number of open file descriptors.", "gauge", {},
                [] { return CountOpenFds(); });
}

}  // namespace pier::metrics
