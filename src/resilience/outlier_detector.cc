#include "pier/resilience/outlier_detector.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "pier/base/clock.h"

namespace pier::resilience {

OutlierDetector::OutlierDetector(OutlierOptions options, OnChange on_change)
    : o_(std::move(options)), on_change_(std::move(on_change)) {
  if (!o_.now_ms) o_.now_ms = SteadyNowMs;
  next_interval_ = o_.now_ms() + o_.interval_ms;
}

void OutlierDetector::Notify(const std::vector<std::pair<std::string, bool>>& changes) {
  if (!on_change_) return;
  for (const auto& [host, ejected] : changes) on_change_(host, ejected);
}

void OutlierDetector::SetHosts(const std::vector<std::string>& hosts) {
  std::lock_guard l(mu_);
  std::map<std::string, HostState> next;
  for (const auto& h : hosts) {
    auto it = hosts_.find(h);
    next[h] = it == hosts_.end() ? HostState{} : std::move(it->second);
  }
  hosts_ = std::move(next);
}

void OutlierDetector::EjectLocked(const std::string& host, HostState& h, const std::string& reason,
                                  int64_t now, std::vector<std::pair<std::string, bool>>* changes) {
  if (h.ejected) return;
  size_t ejected = 0;
  for (const auto& [name, s] : hosts_) ejected += s.ejected;
  const double limit = o_.max_ejection_percent * static_cast<double>(hosts_.size()) / 100.0;
  if (ejected > 0 && static_cast<double>(ejected + 1) > limit) return;  // one always may go
  ++h.times_ejected;
  h.ejected = true;
  h.ejected_this_interval = true;
  h.ejected_until =
      now + std::min<int64_t>(o_.max_ejection_ms, o_.base_ejection_ms * h.times_ejected);
  ++h.ejections;
  ++total_ejections_;
  h.last_reason = reason;
  h.consecutive_5xx = h.consecutive_gateway = 0;
  changes->emplace_back(host, true);
}

void OutlierDetector::Report(const std::string& host, Outcome outcome) {
  std::vector<std::pair<std::string, bool>> changes;
  {
    std::lock_guard l(mu_);
    auto it = hosts_.find(host);
    if (it == hosts_.end()) return;
    HostState& h = it->second;
    ++h.requests;
    switch (outcome) {
      case Outcome::kSuccess:
        ++h.successes;
        h.consecutive_5xx = h.consecutive_gateway = 0;
        break;
      case Outcome::k5xx:
        ++h.consecutive_5xx;
        h.consecutive_gateway = 0;
        if (o_.consecutive_5xx && h.consecutive_5xx >= o_.consecutive_5xx) {
          EjectLocked(host, h, std::to_string(h.consecutive_5xx) + " consecutive 5xx", o_.now_ms(),
                      &changes);
        }
        break;
      case Outcome::kGatewayFailure:
        ++h.consecutive_gateway;
        ++h.consecutive_5xx;  // a gateway failure is answered 502/503/504: a 5xx too
        if (o_.consecutive_gateway_failures &&
            h.consecutive_gateway >= o_.consecutive_gateway_failures) {
          EjectLocked(host, h,
                      std::to_string(h.consecutive_gateway) + " consecutive gateway failures",
                      o_.now_ms(), &changes);
        } else if (o_.consecutive_5xx && h.consecutive_5xx >= o_.consecutive_5xx) {
          EjectLocked(host, h, std::to_string(h.consecutive_5xx) + " consecutive 5xx", o_.now_ms(),
                      &changes);
        }
        break;
    }
  }
  Notify(changes);
}

void OutlierDetector::Tick() {
  std::vector<std::pair<std::string, bool>> changes;
  {
    std::lock_guard l(mu_);
    const int64_t now = o_.now_ms();
    for (auto& [name, h] : hosts_) {
      if (h.ejected && now >= h.ejected_until) {
        h.ejected = false;
        changes.emplace_back(name, false);
      }
    }
    if (now >= next_interval_) {
      next_interval_ = now + o_.interval_ms;
      // Success rate: hosts with enough requests, against their mean and spread.
      std::vector<std::pair<const std::string*, double>> rates;
      for (auto& [name, h] : hosts_) {
        if (!h.ejected && h.requests >= o_.success_rate_request_volume) {
          rates.emplace_back(&name, double(h.successes) / double(h.requests));
        }
      }
      if (o_.success_rate_stdev_factor > 0 && rates.size() >= o_.success_rate_minimum_hosts) {
        double mean = 0, var = 0;
        for (auto& [n, r] : rates) mean += r;
        mean /= double(rates.size());
        for (auto& [n, r] : rates) var += (r - mean) * (r - mean);
        const double threshold =
            mean - o_.success_rate_stdev_factor * std::sqrt(var / double(rates.size()));
        for (auto& [n, r] : rates) {
          if (r < threshold) {
            char why[96];
            std::snprintf(why, sizeof why, "success rate %.1f%% below %.1f%%", r * 100,
                          threshold * 100);
            EjectLocked(*n, hosts_[*n], why, now, &changes);
          }
        }
      }
      for (auto& [name, h] : hosts_) {
        // A host that stayed in for a whole interval earns back one step of its multiplier.
        if (!h.ejected && !h.ejected_this_interval && h.times_ejected > 0) --h.times_ejected;
        h.ejected_this_interval = false;
        h.requests = h.successes = 0;
      }
    }
  }
  Notify(changes);
}

bool OutlierDetector::ejected(const std::string& host) const {
  std::lock_guard l(mu_);
  auto it = hosts_.find(host);
  return it != hosts_.end() && it->second.ejected;
}

std::vector<HostOutlierStats> OutlierDetector::stats() const {
  std::lock_guard l(mu_);
  std::vector<HostOutlierStats> out;
  for (const auto& [name, h] : hosts_) {
    out.push_back({name, h.ejected, h.times_ejected, h.ejected_until, h.ejections, h.last_reason});
  }
  return out;
}

uint64_t OutlierDetector::total_ejections() const {
  std::lock_guard l(mu_);
  return total_ejections_;
}

}  // namespace pier::resilience
