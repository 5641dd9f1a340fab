// File: types.h
// The registry's data: service instances, their health checks and check status, in the shape of
// Consul's agent service definitions (so the HTTP API maps onto them field by field).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pier/base/clock.h"

namespace pier::registry {

using Duration = Clock::Duration;
using TimePoint = Clock::TimePoint;

// Ordered from best to worst so the worst of several is their maximum.
enum class HealthStatus { kPassing = 0, kWarning = 1, kCritical = 2, kMaintenance = 3 };

// "passing", "warning", "critical", "maintenance" (Consul reports maintenance as critical on
// the wire, with a maintenance check).
const char* HealthStatusName(HealthStatus s);
bool ParseHealthStatus(const std::string& name, HealthStatus* out);

enum class CheckType { kTtl, kHttp, kTcp };

struct CheckDefinition {
  std::string id;    // "service:<service id>" (":N" with several) when not given
  std::string name;  // "Service '<name>' check" when not given
  std::string notes;
  CheckType type = CheckType::kTtl;
  // HTTP: 2xx passing, 429 warning, anything else critical (Consul's rule) unless
  // expected_status is set, in which case exactly that code passes.
  std::string http;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  int expected_status = 0;
  std::string tcp;  // HOST:PORT
  Duration interval{0};
  Duration timeout{std::chrono::seconds(10)};
  Duration ttl{0};
  Duration deregister_critical_after{0};  // 0: never
  int success_before_passing = 0;
  int failures_before_critical = 0;
  HealthStatus initial_status = HealthStatus::kCritical;

  bool operator==(const CheckDefinition&) const = default;
};

struct Weights {
  int passing = 1;
  int warning = 1;

  bool operator==(const Weights&) const = default;
};

struct ServiceDefinition {
  std::string id;  // the name when not given
  std::string name;
  std::string address;
  int port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;  // the instance's version is meta["version"]
  Weights weights;
  std::vector<CheckDefinition> checks;
  // Maintenance mode (drain): the instance stays registered but is not healthy.
  bool maintenance = false;
  std::string maintenance_reason;

  bool operator==(const ServiceDefinition&) const = default;
};

// One check as seen by readers: its definition plus its current state.
struct CheckView {
  CheckDefinition def;
  std::string service_id;
  std::string service_name;
  std::vector<std::string> service_tags;
  HealthStatus status = HealthStatus::kCritical;
  std::string output;
  bool flapping = false;
  TimePoint updated{};
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

// One instance as seen by readers: a copy, consistent as of `index`.
struct InstanceView {
  ServiceDefinition service;
  std::vector<CheckView> checks;  // includes the maintenance check when in maintenance
  HealthStatus status = HealthStatus::kPassing;  // the worst of the checks
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

// Which instances Instances() returns.
struct InstanceFilter {
  bool passing_only = false;                // Consul's ?passing: every check passing
  std::vector<std::string> tags;            // all of them
  std::map<std::string, std::string> meta;  // all of them equal
};

}  // namespace pier::registry
