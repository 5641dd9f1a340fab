// `pier proxy`: the HTTP/1.1 and TCP reverse proxy, from a YAML file (`--config`) or the
// one-liner `pier proxy --listen 127.0.0.1:8080 --to 127.0.0.1:9001,127.0.0.1:9002`.

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "pier/base/logging.h"
#include "pier/net/tcp_listener.h"
#include "pier/proxy/config.h"
#include "pier/proxy/proxy_server.h"

namespace pier::app {

namespace {

struct ProxyFlags : ServerFlags {
  ProxyFlags() {
    listen = "127.0.0.1:7080";
    http = "127.0.0.1:7901";
    data_dir = "pier-data";
  }
  std::string to;
  std::string policy = "round_robin";
  std::string mode = "http";
  std::string access_log;
  double trace_sample = 1.0;
  std::string access_log_format = "json";
  std::string registry;
  std::string registry_token;
  double idle_timeout_seconds = 60;
  PerfFlags perf;
};

// The configuration the one-liner stands for: one listener, one route, one static cluster.
Result<proxy::ProxyConfig> OneLiner(const ProxyFlags& f) {
  auto listen = net::ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return listen.status();
  proxy::ClusterConfig c;
  c.name = "backend";
  c.policy = f.policy;
  const auto& names = balance::LoadBalancer::PolicyNames();
  if (std::find(names.begin(), names.end(), f.policy) == names.end()) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("--policy: unknown policy '" + f.policy + "' (use " + all + ")");
  }
  std::stringstream ss(f.to);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    auto hp = net::ParseHostPort(item, "--to");
    if (!hp.ok()) return hp.status();
    c.endpoints.push_back({item, 1});
  }
  if (c.endpoints.empty()) return Status::InvalidArgument("--to: give at least one HOST:PORT");
  if (!f.access_log.empty() && f.mode != "http") {
    return Status::InvalidArgument("--access-log: a tcp listener has no requests to log");
  }
  proxy::ListenerConfig l;
  l.name = "proxy";
  l.host = listen->first;
  l.port = listen->second;
  if (f.mode == "tcp") {
    l.mode = proxy::ListenerConfig::Mode::kTcp;
    l.cluster = c.name;
  } else if (f.mode == "http") {
    l.access_log_path = f.access_log;
    l.access_log_format = f.access_log_format;
    proxy::RouteConfig r;
    r.cluster = c.name;
    l.routes.push_back(r);
  } else {
    return Status::InvalidArgument("--mode: use http or tcp, got '" + f.mode + "'");
  }
  proxy::ProxyConfig cfg;
  cfg.listeners.push_back(l);
  cfg.clusters.push_back(c);
  return cfg;
}

Result<proxy::ProxyConfig> Load(const ProxyFlags& f) {
  if (f.config.empty()) return OneLiner(f);
  auto cfg = proxy::LoadProxyConfig(f.config);
  if (cfg.ok() && !f.registry.empty()) cfg->registry = f.registry;
  if (cfg.ok()) cfg->registry_token = f.registry_token;
  return cfg;
}

int RunProxy(const ProxyFlags& f, const Settings& settings, const CLI::App& sub) {
  // --config is the proxy's own file (proxy/config.h), not a settings file: flags only.
  if (Status s = settings.Apply("", sub); !s.ok()) return Fail("proxy", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "proxy"); !s.ok()) return Fail("proxy", s);
  if (!f.config.empty() && (sub.count("--to") || sub.count("--listen"))) {
    return Fail("proxy", Status::InvalidArgument(
                             "--config names the listeners and upstreams; drop --listen/--to"));
  }
  if (f.config.empty() && f.to.empty()) {
    return Fail("proxy", Status::InvalidArgument(
                             "give --to HOST:PORT[,HOST:PORT...] or --config FILE (see --help)"));
  }
  auto cfg = Load(f);
  if (!cfg.ok()) return Fail("proxy", cfg.status());
  ServerRuntime rt(f.threads, "proxy");
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("proxy", s);
  }
  rt.ShowInUi("/v1/proxy/clusters");
  proxy::ProxyServerOptions po;
  po.client_idle_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(f.idle_timeout_seconds * 1000));
  po.tracer = rt.tracer();  // service pier-proxy, or OTEL_SERVICE_NAME
  po.trace_sample = f.trace_sample;
  proxy::ProxyServer server(rt.pool(), po);
  if (Status s = server.Start(*cfg); !s.ok()) return Fail("proxy", s);
  server.AttachTo(rt.analyzer(), rt.tuner());
  if (Status s = rt.ConfigurePerf(f.perf); !s.ok()) return Fail("proxy", s);
  auto reload = [&f, &server]() -> Status {
    if (f.config.empty()) {
      return Status::InvalidArgument("started without --config: nothing to reload");
    }
    auto next = Load(f);
    if (!next.ok()) return next.status();
    return server.Reload(*next);
  };
  if (Status s =
          rt.ListenHttp(f.http, [&](net::HttpServer& h) { server.AddAdminRoutes(h, reload); });
      !s.ok()) {
    return Fail("proxy", s);
  }
  rt.OnReload([&] {
    Status s = reload();
    if (s.ok()) {
      LogEvent(LogLevel::kInfo, "SIGHUP: reloaded", {{"config", f.config}});
    } else {
      LogEvent(LogLevel::kError, "SIGHUP: reload failed, keeping the running configuration",
               {{"config", f.config}, {"error", s.message()}});
    }
  });
  rt.OnReopenLogs([&] { server.ReopenAccessLogs(); });
  rt.OnShutdown([&] { server.Shutdown(); });
  rt.OnForceClose([&] { server.CloseAll(); });
  rt.CountConnections([&] { return server.active_connections(); });
  rt.Start();
  std::string line = "listening";
  std::vector<LogField> fields;
  for (const auto& [name, addr] : server.addresses()) {
    line += " " + name + "=" + addr;
    fields.emplace_back(name, addr);
  }
  std::cout << line << " http=" << rt.http().address() << std::endl;
  fields.emplace_back("http", rt.http().address());
  LogEvent(LogLevel::kInfo, "pier proxy ready", fields);
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

// The proxy's settings table: flags only (its --config is a proxy file of its own).
void AddSettings(Settings& s, ProxyFlags& f) {
  s.In(Settings::Scope::kFlagOnly);
  f.AddTo(s, "");
  f.perf.AddTo(s);
  s.In(Settings::Scope::kFlagOnly)
      .Text("listen", &f.listen, "Proxy listener HOST:PORT for --to (port 0: a free one)")
      .Text("to", &f.to, "Upstreams HOST:PORT[,HOST:PORT...] behind --listen")
      .Text("policy", &f.policy, "Balancing policy for --to")
      .Choice("mode", &f.mode, "http or tcp, for --to", {"http", "tcp"})
      .Text("access-log", &f.access_log, "Access log of --to's listener: FILE or stdout")
      .Text("access-log-format", &f.access_log_format,
            "json, combined, or a template of $fields ('$client $status $duration_ms'), for "
            "--access-log")
      .Number("trace-sample", &f.trace_sample,
              "Share of requests without a trace context that start a trace (0-1; a request's "
              "own sampled context is always followed)",
              0, 1)
      .Text("config", &f.config,
            "Proxy YAML file (listeners, routes, clusters); SIGHUP or POST /v1/proxy/reload "
            "re-reads it")
      .Text("registry", &f.registry,
            "Registry HTTP API HOST:PORT for service clusters (overrides the file's)")
      .Text("registry-token", &f.registry_token,
            "The registry's token, for a registry bound beyond loopback")
      .Text("http", &f.http, "Admin HTTP listener HOST:PORT (/v1/proxy, /metrics)")
      .Text("data-dir", &f.data_dir, "Where the admin API's token is kept (DIR/token)")
      .Number("idle-timeout", &f.idle_timeout_seconds,
              "Seconds a client connection may stay silent", 0.001, 86400);
  f.security.AddTo(s, /*resp=*/false);
}

}  // namespace

void AddProxyCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<ProxyFlags>();
  auto settings = std::make_shared<Settings>("proxy");
  CLI::App* sub = app.add_subcommand(
      "proxy", "Run the HTTP/TCP reverse proxy (--to for one upstream cluster, --config for more)");
  AddSettings(*settings, *f);
  settings->AddTo(sub);
  sub->callback([f, settings, sub, set_action] {
    set_action([f, settings, sub] { return RunProxy(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
