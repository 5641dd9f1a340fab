// File: config.h
// The proxy's YAML configuration: listeners (HTTP or TCP), routes matched by host, path prefix
// and headers, and clusters of upstreams (static endpoints, or a registry service watched for
// changes) with their balancing policy, hash key, timeouts, retries, circuit breaker and outlier
// detection. Every error names file:line:column and the field.
//   auto c = ParseProxyConfig(text, "proxy.yaml");   // or LoadProxyConfig("proxy.yaml")
//
//   listeners:
//     - name: web
//       listen: 127.0.0.1:7080
//       routes:
//         - match: {host: "*.example.com", path_prefix: /api/, headers: {x-canary: "1"}}
//           cluster: api
//           timeout: 5s
//           retries: {max: 2, on: [502, 503, 504], base_backoff: 25ms}
//         - match: {path_prefix: /}
//           clusters: [{cluster: api-v1, weight: 95}, {cluster: api-v2, weight: 5}]  # a split
//       access_log: {path: /var/log/pier/web.log, format: json}   # or combined; or stdout
//     - name: db
//       listen: 127.0.0.1:7081
//       mode: tcp
//       cluster: postgres
//     - name: secure
//       listen: 0.0.0.0:8443
//       tls: {cert: srv.crt, key: srv.key, sni: [{names: [a.example.com], cert: a.crt, key:
//       a.key}]} routes: [{cluster: api}]
//   registry: 127.0.0.1:7900   # for clusters given by service name (Consul's HTTP API)
//   clusters:
//     api:
//       endpoints: ["127.0.0.1:8081", "127.0.0.1:8082 weight=3"]
//       policy: ring_hash
//       hash_key: header:x-user
//       breaker: {failure_rate: 50, minimum_calls: 20, wait_in_open: 30s}
//       outlier: {consecutive_5xx: 5, base_ejection: 30s, max_ejection_percent: 10}
//     postgres:
//       service: pg        # instances from the registry, healthy ones only
//       tags: [v2]         # ... and of those, the ones with all these tags
//       tls: {ca: ca.crt, cert: client.crt, key: client.key}   # TLS (mTLS) to the upstreams
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pier/balance/load_balancer.h"
#include "pier/base/status.h"
#include "pier/net/tls_options.h"
#include "pier/resilience/circuit_breaker.h"
#include "pier/resilience/concurrency_limiter.h"
#include "pier/resilience/outlier_detector.h"
#include "pier/resilience/retry.h"

namespace pier::proxy {

// What a hash policy hashes: a header, a cookie, the path or the client's address.
struct HashKey {
  enum class Kind { kNone, kHeader, kCookie, kPath, kClientAddress };
  Kind kind = Kind::kNone;
  std::string name;  // header or cookie name
};

struct ClusterConfig {
  std::string name;
  std::vector<balance::HostSpec> endpoints;  // static upstreams
  std::string service;                       // or a registry service name
  std::vector<std::string> tags;             // registry instances must have all of them
  std::string policy = "round_robin";
  HashKey hash_key;
  int64_t connect_timeout_ms = 1000;
  int64_t idle_timeout_ms = 60000;    // pooled keep-alive connections close after this
  uint32_t max_idle_per_host = 1024;  // pooled connections kept per upstream host and thread
  bool breaker_enabled = false;
  resilience::BreakerOptions breaker;
  bool outlier_enabled = true;
  resilience::OutlierOptions outlier;
  double panic_threshold = 0.5;
  int64_t slow_start_ms = 0;
  // Requests outstanding to the cluster at once: off, a fixed number, or adaptive (Envoy's
  // gradient controller); the one beyond it is answered 503 at once.
  resilience::ConcurrencyLimitOptions concurrency;
  // TLS to the upstreams (tls.enabled): verified against a CA, optionally with a client
  // certificate.
  net::TlsClientOptions tls;
};

struct RouteConfig {
  std::string name;  // for metrics; default: host + path_prefix
  std::string host;  // exact, "*.suffix", or "" for any
  std::string path_prefix = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // all must match (names lowercase)
  std::string cluster;
  // Or a traffic split: each request goes to one of these clusters with probability weight/sum
  // (a cluster of weight 0 gets none); retries stay in the cluster the request went to.
  struct WeightedCluster {
    std::string cluster;
    uint32_t weight = 0;
  };
  std::vector<WeightedCluster> split;
  int64_t timeout_ms = 15000;
  resilience::RetryOptions retries;
  double retry_budget_percent = 20;
};

struct ListenerConfig {
  enum class Mode { kHttp, kTcp };
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 7080;
  Mode mode = Mode::kHttp;
  std::vector<RouteConfig> routes;        // kHttp: first match wins
  std::string cluster;                    // kTcp
  size_t max_header_bytes = 64 * 1024;    // beyond: 431
  uint64_t max_body_bytes = 64ull << 20;  // beyond: 413
  // TLS termination (tls.enabled()): a certificate, more chosen by SNI, client certificates.
  net::TlsServerOptions tls;
  // Connections one client address may hold (0: no cap), and how long a request head may take
  // to arrive once it has started (HAProxy's timeout http-request).
  size_t max_connections_per_client = 1024;
  int64_t request_header_timeout_ms = 10000;
  // One line per request (kHttp): `access_log: {path: FILE|stdout, format: json|combined|
  // TEMPLATE, errors_only: BOOL, slower_than: DURATION, sample: FRACTION}` (TEMPLATE: text with
  // $field names; which requests get a line: see docs/proxy.md#access-log).
  std::string access_log_path;  // "": none
  std::string access_log_format = "json";
  bool access_log_errors_only = false;
  int64_t access_log_slower_than_ms = 0;  // 0: every duration
  double access_log_sample = 1.0;
};

struct ProxyConfig {
  std::string registry = "127.0.0.1:7900";  // where `service` clusters are looked up
  // The registry's token and TLS (given by the program: --registry-token, not the file).
  std::string registry_token;
  net::TlsClientOptions registry_tls;
  std::vector<ListenerConfig> listeners;
  std::vector<ClusterConfig> clusters;
  const ClusterConfig* FindCluster(const std::string& name) const;
};

// Parses and checks a config: unknown keys, bad values, unknown clusters, duplicate names and
// ports, a hash key without a hash policy. `name` stands for the file in messages.
Result<ProxyConfig> ParseProxyConfig(std::string_view text, const std::string& name);
Result<ProxyConfig> LoadProxyConfig(const std::string& path);

}  // namespace pier::proxy
