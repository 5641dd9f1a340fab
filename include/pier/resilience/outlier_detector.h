// File: outlier_detector.h
// OutlierDetector: ejects an upstream host that misbehaves compared with its peers, as Envoy's
// outlier detection does. A host is ejected after `consecutive_5xx` 5xx replies in a row, or
// `consecutive_gateway_failures` gateway failures (connect errors, resets, timeouts) in a row,
// or, at each interval, when its success rate falls below the mean of the hosts with enough
// requests minus `stdev_factor` standard deviations. An ejection lasts `base_ejection_ms` times
// the number of times the host was ejected (up to a maximum; the count decays by one for each
// interval it stays in), and never takes out more than `max_ejection_percent` of the hosts
// (one host always may be).
//   OutlierDetector d({}, [&](const std::string& host, bool ejected) { lb.SetEjected(host,
//   ejected); }); d.Report("10.0.0.1:80", Outcome::kGatewayFailure);   d.Tick();  // every interval
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pier::resilience {

enum class Outcome { kSuccess, k5xx, kGatewayFailure };

struct OutlierOptions {
  uint32_t consecutive_5xx = 5;               // 0: off
  uint32_t consecutive_gateway_failures = 5;  // 0: off
  int64_t interval_ms = 10000;
  int64_t base_ejection_ms = 30000;
  int64_t max_ejection_ms = 300000;
  double max_ejection_percent = 10;
  uint32_t success_rate_minimum_hosts = 5;     // hosts with enough requests, or no verdict
  uint32_t success_rate_request_volume = 100;  // requests in the interval to count a host
  double success_rate_stdev_factor = 1.9;      // 0: success-rate ejection off
  std::function<int64_t()> now_ms;             // default: the steady clock
};

struct HostOutlierStats {
  std::string host;
  bool ejected = false;
  uint32_t times_ejected = 0;  // the ejection multiplier now
  int64_t ejected_until_ms = 0;
  uint64_t ejections = 0;  // since start
  std::string last_reason;
};

class OutlierDetector {
 public:
  using OnChange = std::function<void(const std::string& host, bool ejected)>;
  OutlierDetector(OutlierOptions options, OnChange on_change);

  // The hosts to watch (others are forgotten; new ones start clean).
  void SetHosts(const std::vector<std::string>& hosts);
  void Report(const std::string& host, Outcome outcome);
  // Returns ejected hosts whose time is up, and evaluates success rates once per interval.
  void Tick();

  bool ejected(const std::string& host) const;
  std::vector<HostOutlierStats> stats() const;
  uint64_t total_ejections() const;

 private:
  struct HostState {
    uint32_t consecutive_5xx = 0, consecutive_gateway = 0;
    uint64_t requests = 0, successes = 0;  // this interval
    bool ejected = false;
    bool ejected_this_interval = false;
    uint32_t times_ejected = 0;
    int64_t ejected_until = 0;
    uint64_t ejections = 0;
    std::string last_reason;
  };
  // Ejects when the percentage allows; collects the callback in `changes`.
  void EjectLocked(const std::string& host, HostState& h, const std::string& reason, int64_t now,
                   std::vector<std::pair<std::string, bool>>* changes);
  void Notify(const std::vector<std::pair<std::string, bool>>& changes);

  OutlierOptions o_;
  OnChange on_change_;
  mutable std::mutex mu_;
  std::map<std::string, HostState> hosts_;
  int64_t next_interval_ = 0;
  uint64_t total_ejections_ = 0;
};

}  // namespace pier::resilience
