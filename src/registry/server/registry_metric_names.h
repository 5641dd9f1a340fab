// File: registry_metric_names.h
// The registry server's metric names, spelled only here: the code that registers them and the
// analyzer source that reads them (registry_perf.cc) both use these constants.
#pragma once

namespace pier::registry::metric_names {

inline constexpr char kProbeDurationSeconds[] = "pier_registry_probe_duration_seconds";
inline constexpr char kProbeLagSeconds[] = "pier_registry_probe_lag_seconds";
inline constexpr char kInstances[] = "pier_registry_instances";
inline constexpr char kChecks[] = "pier_registry_checks";
inline constexpr char kChangesTotal[] = "pier_registry_changes_total";
inline constexpr char kCommitBatchSize[] = "pier_registry_commit_batch_size";

}  // namespace pier::registry::metric_names
