// File: runtime.h
// The proxy's routing table at run time: one immutable snapshot of every listener's routes and
// the clusters they send to, built from a ProxyConfig and replaced whole on reload. Requests
// already running keep the snapshot they started with.
//   auto rt = BuildRuntime(config, previous.get(), metrics);
//   const Route* r = rt->listeners.at("web").Match(head, path);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pier/metrics/metrics.h"
#include "pier/proxy/config.h"
#include "pier/resilience/retry.h"
#include "proxy/access_log.h"
#include "proxy/cluster.h"
#include "proxy/http_head.h"

namespace pier::proxy {

struct Route {
  RouteConfig config;
  std::string name;                  // the metrics label: host + path prefix unless named
  std::shared_ptr<Cluster> cluster;  // a single cluster; or a split:
  std::vector<std::shared_ptr<Cluster>> split;
  std::vector<uint64_t> split_upto;  // cumulative weights
  resilience::RetryPolicy retry;
  std::shared_ptr<resilience::RetryBudget> budget;
  metrics::Counter* requests = nullptr;
  metrics::Counter* by_class[5] = {};
  metrics::Counter* retries = nullptr;
  metrics::Histogram* latency = nullptr;  // microseconds, request head in to response head out

  // Whether a request with this Host (port stripped) and path goes here.
  bool Matches(const HttpHead& head, std::string_view host, std::string_view path) const;
  void Count(int status, int64_t duration_us) const;
  // The cluster a request goes to; `random` is any uniformly drawn number (used by splits).
  Cluster& PickCluster(uint64_t random) const;
};

struct ListenerRuntime {
  ListenerConfig config;
  std::vector<Route> routes;              // HTTP: first match wins
  std::shared_ptr<Cluster> tcp_cluster;   // TCP
  std::shared_ptr<AccessLog> access_log;  // null: none
  AccessFilter access_filter;             // which requests get a line
  const Route* Match(const HttpHead& head, std::string_view host, std::string_view path) const;
};

struct Runtime {
  std::map<std::string, ListenerRuntime> listeners;  // by listener name
  std::map<std::string, std::shared_ptr<Cluster>> clusters;
};

// Builds the table for `config`, keeping from `previous` every cluster whose configuration did
// not change (its hosts, breakers and ejections carry over). `access_logs`: the open logs by
// path (ProxyServer opens them first, so a file that cannot be opened fails the reload).
std::shared_ptr<const Runtime> BuildRuntime(
    const ProxyConfig& config, const Runtime* previous, metrics::Registry& metrics,
    const std::map<std::string, std::shared_ptr<AccessLog>>& access_logs = {});

// A Host header without its port or IPv6 brackets: "a.b:80" -> "a.b", "[::1]:80" -> "::1".
std::string_view HostWithoutPort(std::string_view host);

}  // namespace pier::proxy
