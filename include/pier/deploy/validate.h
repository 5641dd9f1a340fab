// File: validate.h
// Checks an architecture spec as a whole: unknown services in dependencies, calls and routes;
// dependency cycles (the cycle is printed); duplicate names and routes; host-port clashes
// (between services, replicas and the platform's own listeners); resources beyond the machine;
// a `healthy` dependency on a service without a health check; retry amplification along call
// chains; and calls whose timeouts (times their attempts) exceed what their caller waits. Each
// problem says where, what and a one-line fix.
//   auto problems = Validate(arch, {.capacity = Capacity::OfThisMachine()});
//   for (const auto& p : problems) std::cout << FormatProblem(p);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pier/deploy/spec.h"

namespace pier::deploy {

struct Problem {
  std::string where;  // file:line:column
  std::string field;  // dotted, e.g. services.api.depends_on.db
  std::string message;
  std::string fix;  // one line
};

struct Capacity {
  double cpus = 0;
  uint64_t memory_bytes = 0;
  static Capacity OfThisMachine();  // online CPUs and MemTotal
};

struct ValidateOptions {
  Capacity capacity;
  // A request may reach a service at most this many times through retries along one chain.
  uint32_t max_attempts = 10;
};

std::vector<Problem> Validate(const Architecture& a, const ValidateOptions& options);

// "pier.yaml:12:7: services.api.depends_on.db: db is not a service\n  fix: ...\n"
std::string FormatProblem(const Problem& p);

}  // namespace pier::deploy
