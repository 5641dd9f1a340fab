#include "pier/proxy/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "pier/base/config.h"
#include "pier/base/strings.h"
#include "proxy/access_line.h"

namespace pier::proxy {

namespace {

// Splits "HOST:PORT"; false when malformed.
bool SplitHostPort(std::string_view s, std::string* host, uint16_t* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  uint32_t p = 0;
  auto tail = s.substr(colon + 1);
  auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), p);
  if (ec != std::errc() || end != tail.data() + tail.size() || p > 65535) return false;
  *host = std::string(s.substr(0, colon));
  *port = static_cast<uint16_t>(p);
  return true;
}

std::string Lower(const std::string& s) { return AsciiLower(s); }

void ReadPercent(ConfigSection& s, const char* key, double* out, double min) {
  double v = *out;
  s.Read(key, &v);
  if (v < min || v > 100) {
    s.Error(key, "must be a percentage from " + std::to_string(static_cast<int>(min)) + " to 100");
  } else {
    *out = v;
  }
}

void ParseBreaker(ConfigSection s, ClusterConfig& c) {
  if (s.Keys().empty()) return;  // no breaker section: none
  c.breaker_enabled = true;
  auto& b = c.breaker;
  std::string window = "count";
  s.Read("window", &window);
  if (window == "time") {
    b.window = resilience::BreakerOptions::Window::kTime;
  } else if (window != "count") {
    s.Error("window", "use count or time, got '" + window + "'");
  }
  s.Read("window_size", &b.window_size, 1, 100000);
  s.Read("minimum_calls", &b.minimum_calls, 1, 100000);
  ReadPercent(s, "failure_rate", &b.failure_rate_threshold, 1);
  ReadPercent(s, "slow_call_rate", &b.slow_call_rate_threshold, 1);
  s.ReadDurationMs("slow_call", &b.slow_call_ms, 1, 3600000);
  s.ReadDurationMs("wait_in_open", &b.wait_in_open_ms, 1, 3600000);
  s.Read("open_backoff", &b.open_backoff);
  s.ReadDurationMs("max_wait_in_open", &b.max_wait_in_open_ms, 1, 86400000);
  s.Read("half_open_calls", &b.permitted_calls_in_half_open, 1, 10000);
  s.ReadDurationMs("max_wait_in_half_open", &b.max_wait_in_half_open_ms, 1, 3600000);
  b.max_wait_in_open_ms = std::max(b.max_wait_in_open_ms, b.wait_in_open_ms);
  if (Status st = resilience::CircuitBreaker::Validate(b); !st.ok()) {
    s.Error(s.Keys().front(), st.message());
  }
}

void ParseOutlier(ConfigSection s, ClusterConfig& c) {
  auto& o = c.outlier;
  s.Read("enabled", &c.outlier_enabled);
  s.Read("consecutive_5xx", &o.consecutive_5xx, 0, 100000);
  s.Read("consecutive_gateway_failures", &o.consecutive_gateway_failures, 0, 100000);
  s.ReadDurationMs("interval", &o.interval_ms, 100, 3600000);
  s.ReadDurationMs("base_ejection", &o.base_ejection_ms, 1, 3600000);
  s.ReadDurationMs("max_ejection", &o.max_ejection_ms, 1, 86400000);
  ReadPercent(s, "max_ejection_percent", &o.max_ejection_percent, 0);
  s.Read("success_rate_stdev_factor", &o.success_rate_stdev_factor);
  s.Read("success_rate_minimum_hosts", &o.success_rate_minimum_hosts, 1, 100000);
  s.Read("success_rate_request_volume", &o.success_rate_request_volume, 1, 100000000);
}

void ParseHashKey(ConfigSection& s, ClusterConfig& c) {
  std::string text;
  s.Read("hash_key", &text);
  if (text.empty()) return;
  auto& k = c.hash_key;
  if (text == "path") {
    k.kind = HashKey::Kind::kPath;
  } else if (text == "client_address") {
    k.kind = HashKey::Kind::kClientAddress;
  } else if (text.rfind("header:", 0) == 0 && text.size() > 7) {
    k = {HashKey::Kind::kHeader, Lower(text.substr(7))};
  } else if (text.rfind("cookie:", 0) == 0 && text.size() > 7) {
    k = {HashKey::Kind::kCookie, text.substr(7)};
  } else {
    s.Error("hash_key", "use header:NAME, cookie:NAME, path or client_address, got '" + text + "'");
    return;
  }
  if (c.policy != "ring_hash" && c.policy != "maglev") {
    s.Error("hash_key", "only ring_hash and maglev use a hash key (policy is " + c.policy + ")");
  }
}

void ParseClientTls(ConfigSection s, ClusterConfig& c) {
  if (s.Keys().empty()) return;
  auto& t = c.tls;
  t.enabled = true;
  t.what = "cluster '" + c.name + "' tls";
  t.alpn = {"http/1.1"};
  s.Read("ca", &t.ca_cert_file);
  s.Read("cert", &t.cert_file);
  s.Read("key", &t.key_file);
  s.Read("server_name", &t.server_name);
  s.Read("verify", &t.verify);
  if (t.cert_file.empty() != t.key_file.empty()) {
    s.Error(t.cert_file.empty() ? "cert" : "key", "a client certificate needs both cert and key");
  }
}

void ParseServerTls(ConfigSection s, ListenerConfig& l) {
  if (s.Keys().empty()) return;
  auto& t = l.tls;
  t.what = "listener '" + l.name + "' tls";
  t.alpn = {"http/1.1"};
  s.Read("cert", &t.cert_file);
  s.Read("key", &t.key_file);
  if (t.cert_file.empty()) s.Error("cert", "a TLS listener needs a certificate (cert and key)");
  if (t.key_file.empty()) s.Error("key", "a TLS listener needs a certificate (cert and key)");
  s.Read("client_ca", &t.ca_cert_file);
  s.Read("client_auth", &t.auth_clients);
  if (t.auth_clients != "no" && t.auth_clients != "yes" && t.auth_clients != "optional") {
    s.Error("client_auth", "use no, optional or yes, got '" + t.auth_clients + "'");
  } else if (t.auth_clients != "no" && t.ca_cert_file.empty()) {
    s.Error("client_ca", "client_auth " + t.auth_clients + " needs client_ca");
  }
  s.Read("protocols", &t.protocols);
  s.Read("ciphers", &t.ciphers);
  s.Read("ciphersuites", &t.ciphersuites);
  for (auto e : s.List("sni")) {
    net::TlsServerOptions::Sni sni;
    e.Read("names", &sni.names);
    e.Read("cert", &sni.cert_file);
    e.Read("key", &sni.key_file);
    if (sni.names.empty()) e.Error("names", "an SNI entry names the hosts it serves");
    if (sni.cert_file.empty() || sni.key_file.empty()) {
      e.Error(sni.cert_file.empty() ? "cert" : "key", "an SNI entry needs cert and key");
    }
    t.sni.push_back(std::move(sni));
  }
}

ClusterConfig ParseCluster(ConfigSection s, const std::string& name) {
  ClusterConfig c;
  c.name = name;
  std::vector<std::string> endpoints;
  s.Read("endpoints", &endpoints);
  for (const auto& e : endpoints) {
    // "HOST:PORT" or "HOST:PORT weight=N"
    balance::HostSpec h;
    std::string addr = e;
    if (size_t sp = e.find(' '); sp != std::string::npos) {
      addr = e.substr(0, sp);
      std::string rest = e.substr(sp + 1);
      uint32_t w = 0;
      if (rest.rfind("weight=", 0) != 0 ||
          std::from_chars(rest.data() + 7, rest.data() + rest.size(), w).ec != std::errc() ||
          w == 0 || w > 1000) {
        s.Error("endpoints", "'" + e + "': write HOST:PORT or HOST:PORT weight=N (1-1000)");
        continue;
      }
      h.weight = w;
    }
    std::string host;
    uint16_t port = 0;
    if (!SplitHostPort(addr, &host, &port) || port == 0) {
      s.Error("endpoints", "'" + addr + "' is not HOST:PORT");
      continue;
    }
    h.address = addr;
    c.endpoints.push_back(h);
  }
  s.Read("service", &c.service);
  s.Read("tags", &c.tags);
  if (!c.tags.empty() && c.service.empty()) s.Error("tags", "tags filter a registry service");
  if (c.endpoints.empty() == c.service.empty()) {
    s.Error(c.service.empty() ? "endpoints" : "service",
            "a cluster needs endpoints or a registry service (one of them)");
  }
  s.Read("policy", &c.policy);
  const auto& names = balance::LoadBalancer::PolicyNames();
  if (std::find(names.begin(), names.end(), c.policy) == names.end()) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    s.Error("policy", "unknown policy '" + c.policy + "' (" + all + ")");
  }
  ParseHashKey(s, c);
  s.ReadDurationMs("connect_timeout", &c.connect_timeout_ms, 1, 600000);
  s.ReadDurationMs("idle_timeout", &c.idle_timeout_ms, 1, 86400000);
  s.Read("max_idle_per_host", &c.max_idle_per_host, 0, 100000);
  double panic_percent = c.panic_threshold * 100;  // a percent in the file, a share inside
  ReadPercent(s, "panic_threshold", &panic_percent, 0);
  c.panic_threshold = panic_percent / 100;
  s.ReadDurationMs("slow_start", &c.slow_start_ms, 0, 3600000);
  if (s.Has("concurrency_limit")) {
    std::string limit;
    s.Read("concurrency_limit", &limit);
    auto parsed = resilience::ParseConcurrencyLimit(limit);
    if (parsed.ok()) {
      c.concurrency = *parsed;
    } else {
      s.Error("concurrency_limit", parsed.status().message());
    }
  }
  ParseBreaker(s.Section("breaker"), c);
  ParseOutlier(s.Section("outlier"), c);
  ParseClientTls(s.Section("tls"), c);
  return c;
}

RouteConfig ParseRoute(ConfigSection s) {
  RouteConfig r;
  s.Read("name", &r.name);
  auto m = s.Section("match");
  m.Read("host", &r.host);
  r.host = Lower(r.host);
  m.Read("path_prefix", &r.path_prefix);
  if (r.path_prefix.empty() || r.path_prefix[0] != '/') {
    m.Error("path_prefix", "must start with '/'");
  }
  auto headers = m.Section("headers");
  for (const auto& k : headers.Keys()) {
    std::string v;
    headers.Read(k, &v);
    r.headers.emplace_back(Lower(k), v);
  }
  s.Read("cluster", &r.cluster);
  uint64_t total = 0;
  for (auto w : s.List("clusters")) {
    RouteConfig::WeightedCluster wc;
    w.Read("cluster", &wc.cluster);
    w.Read("weight", &wc.weight, 0, 1000000);
    if (wc.cluster.empty()) w.Error("cluster", "every entry of a split names a cluster");
    total += wc.weight;
    r.split.push_back(wc);
  }
  if (r.cluster.empty() == r.split.empty()) {
    s.Error(r.split.empty() ? "cluster" : "clusters",
            "every route needs a cluster or a split over clusters (one of them)");
  } else if (!r.split.empty() && total == 0) {
    s.Error("clusters", "the weights of a split add up to 0");
  }
  s.ReadDurationMs("timeout", &r.timeout_ms, 1, 86400000);
  auto rt = s.Section("retries");
  rt.Read("max", &r.retries.max_retries, 0, 10);
  if (rt.Has("on")) {
    std::vector<std::string> on;
    rt.Read("on", &on);
    r.retries.retry_on.clear();
    for (const auto& code : on) {
      int v = 0;
      if (std::from_chars(code.data(), code.data() + code.size(), v).ec != std::errc() || v < 100 ||
          v > 599) {
        rt.Error("on", "'" + code + "' is not an HTTP status");
      }
      r.retries.retry_on.push_back(v);
    }
  }
  rt.Read("non_idempotent", &r.retries.retry_non_idempotent);
  rt.ReadDurationMs("base_backoff", &r.retries.base_backoff_ms, 0, 60000);
  rt.ReadDurationMs("max_backoff", &r.retries.max_backoff_ms, 0, 600000);
  if (r.retries.max_backoff_ms < r.retries.base_backoff_ms) {
    rt.Error("max_backoff", "must be at least base_backoff");
  }
  ReadPercent(rt, "budget_percent", &r.retry_budget_percent, 0);
  return r;
}

}  // namespace

const ClusterConfig* ProxyConfig::FindCluster(const std::string& name) const {
  for (const auto& c : clusters) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<ProxyConfig> ParseProxyConfig(std::string_view text, const std::string& name) {
  auto doc = ConfigDocument::LoadString(text, name);
  if (!doc.ok()) return doc.status();
  auto root = (*doc)->Root();
  ProxyConfig cfg;
  root.Read("registry", &cfg.registry);
  {
    std::string host;
    uint16_t port = 0;
    if (!SplitHostPort(cfg.registry, &host, &port)) {
      root.Error("registry", "'" + cfg.registry + "' is not HOST:PORT");
    }
  }
  auto clusters = root.Section("clusters");
  for (const auto& k : clusters.Keys())
    cfg.clusters.push_back(ParseCluster(clusters.Section(k), k));
  std::set<std::string> names;
  std::set<std::pair<std::string, uint16_t>> addresses;
  for (auto l : root.List("listeners")) {
    ListenerConfig lc;
    l.Read("name", &lc.name);
    if (lc.name.empty()) lc.name = "listener" + std::to_string(cfg.listeners.size());
    if (!names.insert(lc.name).second) l.Error("name", "duplicate listener name '" + lc.name + "'");
    std::string listen = "127.0.0.1:7080";
    l.Read("listen", &listen);
    if (!SplitHostPort(listen, &lc.host, &lc.port)) {
      l.Error("listen", "'" + listen + "' is not HOST:PORT");
    } else if (lc.port != 0 && !addresses.insert({lc.host, lc.port}).second) {
      l.Error("listen", listen + " is used by another listener");
    }
    std::string mode = "http";
    l.Read("mode", &mode);
    if (mode == "tcp") {
      lc.mode = ListenerConfig::Mode::kTcp;
      l.Read("cluster", &lc.cluster);
      if (!cfg.FindCluster(lc.cluster)) {
        l.Error("cluster", "unknown cluster '" + lc.cluster + "'");
      }
    } else if (mode == "http") {
      for (auto r : l.List("routes")) {
        lc.routes.push_back(ParseRoute(r));
        const RouteConfig& rc = lc.routes.back();
        if (!cfg.FindCluster(rc.cluster) && !rc.cluster.empty()) {
          r.Error("cluster", "unknown cluster '" + rc.cluster + "'");
        }
        auto split = r.List("clusters");
        for (size_t i = 0; i < rc.split.size() && i < split.size(); ++i) {
          if (!cfg.FindCluster(rc.split[i].cluster) && !rc.split[i].cluster.empty()) {
            split[i].Error("cluster", "unknown cluster '" + rc.split[i].cluster + "'");
          }
        }
      }
      if (lc.routes.empty()) l.Error("routes", "an http listener needs at least one route");
    } else {
      l.Error("mode", "use http or tcp, got '" + mode + "'");
    }
    uint64_t header_bytes = lc.max_header_bytes;
    l.Read("max_header_bytes", &header_bytes, 1024, 1 << 20);
    lc.max_header_bytes = header_bytes;
    l.Read("max_body_bytes", &lc.max_body_bytes, 0, 1ull << 40);
    uint64_t per_client = lc.max_connections_per_client;
    l.Read("max_connections_per_client", &per_client, 0, 1000000);
    lc.max_connections_per_client = per_client;
    l.ReadDurationMs("request_header_timeout", &lc.request_header_timeout_ms, 1, 3600000);
    ParseServerTls(l.Section("tls"), lc);
    if (l.Has("access_log")) {
      auto log = l.Section("access_log");
      log.Read("path", &lc.access_log_path);
      log.Read("format", &lc.access_log_format);
      log.Read("errors_only", &lc.access_log_errors_only);
      log.ReadDurationMs("slower_than", &lc.access_log_slower_than_ms, 1, 86400000);
      log.Read("sample", &lc.access_log_sample);
      if (lc.access_log_path.empty()) log.Error("path", "give a file or stdout");
      if (auto f = LineFormat::Parse(lc.access_log_format); !f.ok()) {
        log.Error("format", f.status().message());
      }
      if (!(lc.access_log_sample > 0 && lc.access_log_sample <= 1)) {
        log.Error("sample", "give the fraction of requests to log, above 0 and at most 1");
      }
      if (lc.mode != ListenerConfig::Mode::kHttp) {
        l.Error("access_log", "a tcp listener has no requests to log");
      }
    }
    cfg.listeners.push_back(std::move(lc));
  }
  if (cfg.listeners.empty()) root.Error("listeners", "the proxy needs at least one listener");
  if (Status st = (*doc)->Finish(); !st.ok()) return st;
  return cfg;
}

Result<ProxyConfig> LoadProxyConfig(const std::string& path) {
  auto doc = ConfigDocument::LoadFile(path);  // size limit and error text as every config
  if (!doc.ok()) return doc.status();
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseProxyConfig(text, path);
}

}  // namespace pier::proxy
