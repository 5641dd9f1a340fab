// File: proxy_metric_names.h
// The proxy's metric names, spelled only here: the code that registers them and the
// analyzer source that reads them (proxy_perf.cc) both use these constants.
#pragma once

namespace pier::proxy::metric_names {

inline constexpr char kUpstreamRequestsTotal[] = "pier_proxy_upstream_requests_total";
inline constexpr char kUpstreamResponsesTotal[] = "pier_proxy_upstream_responses_total";
inline constexpr char kUpstreamGatewayFailuresTotal[] =
    "pier_proxy_upstream_gateway_failures_total";
inline constexpr char kUpstreamLatencySeconds[] = "pier_proxy_upstream_latency_seconds";
inline constexpr char kBreakerState[] = "pier_proxy_breaker_state";
inline constexpr char kBreakerTransitionsTotal[] = "pier_proxy_breaker_transitions_total";
inline constexpr char kHostEjected[] = "pier_proxy_host_ejected";
inline constexpr char kConcurrencyRejectedTotal[] = "pier_proxy_concurrency_rejected_total";
inline constexpr char kConcurrencyLimit[] = "pier_proxy_concurrency_limit";
inline constexpr char kClusterRequestsInFlight[] = "pier_proxy_cluster_requests_in_flight";
inline constexpr char kRequestsTotal[] = "pier_proxy_requests_total";
inline constexpr char kResponsesTotal[] = "pier_proxy_responses_total";
inline constexpr char kRetriesTotal[] = "pier_proxy_retries_total";
inline constexpr char kRequestDurationSeconds[] = "pier_proxy_request_duration_seconds";
inline constexpr char kStageSeconds[] = "pier_proxy_stage_seconds";

}  // namespace pier::proxy::metric_names
