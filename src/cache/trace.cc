#include "pier/cache/trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "pier/base/hash.h"

namespace pier::cache {

namespace {

// Inverse-CDF sampling of Zipf ranks: exact, O(log n) per draw.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double alpha) : cdf_(n) {
    double sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), alpha);
      cdf_[i] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  template <typename Rng>
  uint64_t operator()(Rng& rng) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    return static_cast<uint64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

Result<double> ParseFraction(const std::string& generator, const std::string& arg, double max) {
  double v = 0;
  auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
  if (arg.empty() || ec != std::errc() || p != arg.data() + arg.size() || !(v > 0) || v > max) {
    return Status::InvalidArgument("trace '" + generator + "': expected a number in (0, " +
                                   std::to_string(max) + "], got '" + arg + "'");
  }
  return v;
}

void Finish(Trace& t) {
  std::unordered_map<uint64_t, uint32_t> sizes;
  sizes.reserve(t.requests.size() / 4);
  for (const auto& r : t.requests) sizes[r.key] = r.size;
  t.unique_keys = sizes.size();
  t.unique_bytes = 0;
  for (const auto& [k, s] : sizes) t.unique_bytes += s;
}

}  // namespace

Result<Trace> GenerateTrace(const std::string& generator, const TraceSpec& spec) {
  if (spec.objects == 0 || spec.requests == 0) {
    return Status::InvalidArgument("trace '" + generator + "': objects and requests must be > 0");
  }
  const auto colon = generator.find(':');
  const std::string kind = generator.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : generator.substr(colon + 1);
  std::mt19937_64 rng(spec.seed);
  Trace t;
  t.name = generator;
  t.requests.reserve(spec.requests);
  auto push = [&](uint64_t key) { t.requests.push_back({key, 1}); };

  if (kind == "uniform" || kind == "loop") {
    if (!arg.empty()) return Status::InvalidArgument("trace '" + generator + "' takes no argument");
    std::uniform_int_distribution<uint64_t> uni(0, spec.objects - 1);
    for (uint64_t i = 0; i < spec.requests; ++i) push(kind == "loop" ? i % spec.objects : uni(rng));
  } else if (kind == "zipf" || kind == "scan" || kind == "onehit") {
    double alpha = 1.0;
    double fraction = 0;
    if (kind == "zipf") {
      auto a = ParseFraction(generator, arg, 10.0);
      if (!a.ok()) return a.status();
      alpha = *a;
    } else {
      auto f = ParseFraction(generator, arg, 1.0);
      if (!f.ok()) return f.status();
      fraction = *f;
    }
    ZipfSampler zipf(spec.objects, alpha);
    uint64_t cold = 0;       // next key of a scan or a one-hit wonder
    uint64_t scan_left = 0;  // requests left in the current scan
    const uint64_t scan_len = std::max<uint64_t>(1, spec.objects / 10);
    // A scan lasts scan_len requests, so it starts with the probability p that makes the
    // expected share of scan requests F: p*L / (p*L + 1 - p) = F.
    const double start =
        kind == "scan" ? fraction / (static_cast<double>(scan_len) * (1 - fraction) + fraction)
                       : fraction;
    std::bernoulli_distribution special(start);
    for (uint64_t i = 0; i < spec.requests; ++i) {
      if (kind == "scan" && (scan_left > 0 || special(rng))) {
        // A scan reads scan_len consecutive cold keys; cold keys cycle through a range as large
        // as the hot one, so a scan's keys come back only after every other scan has passed.
        if (scan_left == 0) scan_left = scan_len;
        --scan_left;
        push(spec.objects + (cold++ % spec.objects));
      } else if (kind == "onehit" && special(rng)) {
        push(spec.objects + cold++);
      } else {
        push(zipf(rng));
      }
    }
  } else {
    return Status::InvalidArgument("unknown trace generator '" + generator +
                                   "' (use zipf:ALPHA, uniform, scan:F, onehit:F, loop or a file)");
  }
  Finish(t);
  return t;
}

Result<Trace> ReadTrace(std::istream& in, const std::string& name, uint64_t max_requests) {
  Trace t;
  t.name = name;
  std::unordered_map<std::string, uint64_t> ids;
  std::string line;
  uint64_t lineno = 0;
  auto where = [&] { return name + ":" + std::to_string(lineno) + ": "; };
  while (true) {
    line.clear();
    // Bounded getline: never buffer more than the limit of one line.
    int c;
    bool too_long = false;
    bool any = false;
    while ((c = in.get()) != EOF) {
      any = true;
      if (c == '\n') break;
      if (line.size() >= kMaxTraceLineBytes) {
        too_long = true;
        break;
      }
      line.push_back(static_cast<char>(c));
    }
    if (!any) break;
    ++lineno;
    if (too_long) {
      return Status::InvalidArgument(where() + "line longer than " +
                                     std::to_string(kMaxTraceLineBytes) + " bytes");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    auto is_sep = [](char ch) { return ch == ' ' || ch == '\t' || ch == ','; };
    size_t b = 0;
    while (b < line.size() && is_sep(line[b])) ++b;
    if (b == line.size()) continue;
    size_t e = b;
    while (e < line.size() && !is_sep(line[e])) ++e;
    std::string key = line.substr(b, e - b);
    if (key.size() > kMaxTraceKeyBytes) {
      return Status::InvalidArgument(where() + "key longer than " +
                                     std::to_string(kMaxTraceKeyBytes) + " bytes");
    }
    uint32_t size = 1;
    size_t s = e;
    while (s < line.size() && is_sep(line[s])) ++s;
    if (s < line.size()) {
      size_t se = s;
      while (se < line.size() && !is_sep(line[se])) ++se;
      auto [p, ec] = std::from_chars(line.data() + s, line.data() + se, size);
      if (ec != std::errc() || p != line.data() + se || size == 0) {
        return Status::InvalidArgument(where() +
                                       "size must be an integer in [1, 4294967295], got '" +
                                       line.substr(s, se - s) + "'");
      }
      size_t rest = se;
      while (rest < line.size() && is_sep(line[rest])) ++rest;
      if (rest != line.size()) {
        return Status::InvalidArgument(where() + "expected KEY [SIZE], found extra text '" +
                                       line.substr(rest) + "'");
      }
    }
    if (t.requests.size() >= max_requests) {
      return Status::InvalidArgument(where() + "more than " + std::to_string(max_requests) +
                                     " requests");
    }
    auto [it, inserted] = ids.try_emplace(std::move(key), ids.size());
    t.requests.push_back({it->second, size});
  }
  if (t.requests.empty()) return Status::InvalidArgument(name + ": the trace has no requests");
  Finish(t);
  return t;
}

Result<Trace> ReadTraceFile(const std::string& path, uint64_t max_requests) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot open trace file");
  return ReadTrace(in, path, max_requests);
}

}  // namespace pier::cache
