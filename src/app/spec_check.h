// File: spec_check.h
// Reads a spec and validates it: `pier up`, `pier deploy` and the deploy API refuse a spec with
// problems, each printed as `pier validate` prints it.
#pragma once

#include <string>

#include "pier/deploy/validate.h"

namespace pier::app {

inline Result<deploy::Architecture> CheckedSpec(Result<deploy::Architecture> spec,
                                                std::string* report) {
  if (!spec.ok()) return spec.status();
  auto problems = deploy::Validate(*spec, {.capacity = deploy::Capacity::OfThisMachine()});
  if (problems.empty()) return spec;
  for (const auto& p : problems) *report += deploy::FormatProblem(p);
  return Status::InvalidArgument(*report + std::to_string(problems.size()) +
                                 (problems.size() == 1 ? " problem" : " problems") +
                                 " in the spec (see pier validate)");
}

}  // namespace pier::app
