#include "pier/proxy/proxy_server.h"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

#include "pier/base/clock.h"
#include "pier/base/logging.h"
#include "pier/net/tcp_listener.h"
#include "pier/net/tls.h"
#include "pier/registry/client.h"
#include "proxy/proxy_metric_names.h"
#include "proxy/runtime.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace pier::proxy {

namespace {
constexpr std::chrono::milliseconds kTickEvery{250};

nlohmann::json Split(const Route& r) {
  nlohmann::json j = nlohmann::json::array();
  if (r.split.empty())
    return nlohmann::json::array({{{"cluster", r.cluster->name()}, {"weight", 100}}});
  for (size_t i = 0; i < r.split.size(); ++i) {
    j.push_back({{"cluster", r.split[i]->name()}, {"weight", r.config.split[i].weight}});
  }
  return j;
}
}  // namespace

struct ProxyServer::Impl {
  struct Listener {
    ListenerConfig config;
    std::shared_ptr<net::TcpListener> tcp;
    std::unique_ptr<SessionEnv> env;
    std::shared_ptr<net::TlsServerContext> tls;  // null: plain
  };

  Impl(net::IoPool& p, ProxyServerOptions o)
      : pool(p),
        options(o),
        metrics(o.metrics != nullptr ? *o.metrics : metrics::Registry::Global()) {
    for (size_t i = 0; i < pool.size(); ++i) {
      workers.push_back(std::make_unique<Worker>(pool.At(i)));
      by_io[&pool.At(i)] = workers.back().get();
    }
  }

  std::shared_ptr<const Runtime> Current() const {
    std::lock_guard l(runtime_mu);
    return runtime;
  }

  Result<Listener> Bind(const ListenerConfig& lc) {
    Listener l;
    l.config = lc;
    l.env = std::make_unique<SessionEnv>();
    l.env->listener = lc.name;
    l.env->runtime = [this] { return Current(); };
    l.env->version = &version;
    l.env->tunnel_idle_ms = options.client_idle_timeout.count();
    l.env->tracer = options.tracer;
    l.env->trace_sample = options.trace_sample;
    l.env->worker = [this](boost::asio::io_context& io) -> Worker& { return *by_io.at(&io); };
    for (size_t i = 0; i < l.env->stages.size(); ++i) {
      l.env->stages[i] = &metrics.GetHistogram(
          metric_names::kStageSeconds,
          "HTTP request latency by stage: a new upstream connection's connect; request head in "
          "to the upstream's response head (first_byte) and to the response's last byte.",
          {{"listener", lc.name}, {"stage", kStageNames[i]}}, 1e-6);
    }
    const SessionEnv* env = l.env.get();
    if (lc.tls.enabled()) {
      auto tls = net::TlsServerContext::Create(lc.tls);
      if (!tls.ok()) return tls.status();
      l.tls = *tls;
    }
    net::ConnectionHandler handler;
    if (lc.mode == ListenerConfig::Mode::kTcp) {
      handler = [env](net::Connection& c) { return ServeTcp(c, *env); };
    } else {
      handler = [env](net::Connection& c) { return ServeHttp(c, *env); };
    }
    auto tcp = net::TcpListener::Bind(
        pool,
        {.host = lc.host,
         .port = lc.port,
         .max_connections = options.max_connections,
         .max_connections_per_client = lc.max_connections_per_client,
         .idle_timeout = options.client_idle_timeout,
         .tls = l.tls,
         .handshake_timeout = std::chrono::milliseconds(lc.request_header_timeout_ms)},
        std::move(handler));
    if (!tcp.ok()) {
      return Status(tcp.status().code(), "listener '" + lc.name + "': " + tcp.status().message());
    }
    l.tcp = std::move(*tcp);
    return l;
  }

  // Keeps one registry watch per service cluster object; a cluster kept across a reload keeps
  // its watch.
  void SyncWatches(const ProxyConfig& config) {
    std::lock_guard l(watch_mu);
    if (registry_address != config.registry) {
      watches.clear();
      registry = std::make_unique<registry::Client>(registry::ClientOptions{
          .address = config.registry, .token = config.registry_token, .tls = config.registry_tls});
      registry_address = config.registry;
    }
    std::map<const Cluster*, std::unique_ptr<registry::Client::WatchHandle>> next;
    for (const auto& [name, cluster] : Current()->clusters) {
      if (cluster->config().service.empty()) continue;
      if (auto it = watches.find(cluster.get()); it != watches.end()) {
        next[cluster.get()] = std::move(it->second);
        continue;
      }
      std::weak_ptr<Cluster> weak = cluster;
      const std::string service = cluster->config().service;
      next[cluster.get()] = registry->Watch(
          service, {.passing_only = true, .tags = cluster->config().tags},
          [weak, service](const std::vector<registry::Instance>& instances) {
            auto c = weak.lock();
            if (c == nullptr) return;
            std::vector<balance::HostSpec> hosts;
            for (const auto& i : instances) {
              const std::string host = i.address.empty() ? "127.0.0.1" : i.address;
              hosts.push_back(
                  {host + ":" + std::to_string(i.port),
                   static_cast<uint32_t>(i.weights.passing > 0 ? i.weights.passing : 1)});
            }
            LogEvent(LogLevel::kInfo, "healthy instances changed",
                     {{"cluster", c->name()}, {"service", service}, {"healthy", hosts.size()}});
            c->SetEndpoints(hosts);
          });
    }
    watches = std::move(next);  // watches of dropped clusters stop here
  }

  void StartTicker() {
    ticker = std::thread([this] {
      std::unique_lock l(tick_mu);
      while (!tick_cv.wait_for(l, kTickEvery, [this] { return stopping; })) {
        l.unlock();
        auto rt = Current();
        int64_t max_idle = 0;
        for (const auto& [_, c] : rt->clusters) {
          c->Tick();
          max_idle = std::max(max_idle, c->config().idle_timeout_ms);
        }
        for (auto& w : workers) {
          boost::asio::post(w->io,
                            [w = w.get(), max_idle] { w->pool.Expire(SteadyNowMs(), max_idle); });
        }
        l.lock();
      }
    });
  }

  void StopTicker() {
    {
      std::lock_guard l(tick_mu);
      stopping = true;
    }
    tick_cv.notify_all();
    if (ticker.joinable()) ticker.join();
  }

  net::IoPool& pool;
  ProxyServerOptions options;
  metrics::Registry& metrics;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unordered_map<const boost::asio::io_context*, Worker*> by_io;

  mutable std::mutex runtime_mu;
  // The tuner's concurrency limit for every cluster (SetConcurrencyLimit); under reload_mu.
  std::optional<resilience::ConcurrencyLimitOptions> limit_override;
  std::shared_ptr<const Runtime> runtime;
  std::atomic<uint64_t> version{0};

  mutable std::mutex reload_mu;  // Start, Reload and shutdown
  std::map<std::string, Listener> listeners;
  std::map<std::string, std::shared_ptr<AccessLog>> access_logs;  // by path
  std::vector<Listener> retired;  // removed by a reload; their connections still run

  std::mutex watch_mu;
  std::string registry_address;
  std::unique_ptr<registry::Client> registry;
  std::map<const Cluster*, std::unique_ptr<registry::Client::WatchHandle>> watches;

  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;
  std::thread ticker;
};

ProxyServer::ProxyServer(net::IoPool& pool, ProxyServerOptions options)
    : impl_(std::make_unique<Impl>(pool, options)) {}

ProxyServer::~ProxyServer() {
  impl_->StopTicker();
  {
    std::lock_guard l(impl_->watch_mu);
    impl_->watches.clear();
  }
  for (auto& w : impl_->workers) w->deadlines.Stop();
}

Status ProxyServer::Start(const ProxyConfig& config) {
  Status s = Reload(config);
  if (s.ok()) impl_->StartTicker();
  return s;
}

Status ProxyServer::Reload(const ProxyConfig& config) {
  Impl& m = *impl_;
  std::lock_guard l(m.reload_mu);
  // Bind what is new first, so a failure leaves everything as it was.
  std::map<std::string, Impl::Listener> next;
  std::vector<std::shared_ptr<net::TcpListener>> fresh;
  // Client contexts for TLS clusters, read anew on every reload (new certificates).
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> client_tls;
  for (const auto& cc : config.clusters) {
    if (!cc.tls.enabled) continue;
    auto ctx = net::MakeTlsClientContext(cc.tls);
    if (!ctx.ok()) return ctx.status();
    client_tls[cc.name] = *ctx;
  }
  // Access logs by path: one already open (same path and format) is kept.
  std::map<std::string, std::shared_ptr<AccessLog>> access_logs;
  for (const auto& lc : config.listeners) {
    if (lc.access_log_path.empty() || access_logs.count(lc.access_log_path)) continue;
    auto format = LineFormat::Parse(lc.access_log_format);
    if (!format.ok()) {
      return Status::InvalidArgument("listener '" + lc.name +
                                     "': access log format: " + format.status().message());
    }
    auto kept = m.access_logs.find(lc.access_log_path);
    if (kept != m.access_logs.end() && kept->second->format().spec() == format->spec()) {
      access_logs[lc.access_log_path] = kept->second;
      continue;
    }
    auto log = AccessLog::Open(lc.access_log_path, std::move(*format));
    if (!log.ok()) {
      return Status::InvalidArgument("listener '" + lc.name + "': " + log.status().message());
    }
    access_logs[lc.access_log_path] = *log;
  }
  std::vector<std::pair<net::TlsServerContext*, const net::TlsServerOptions*>> tls_updates;
  for (const auto& lc : config.listeners) {
    auto it = m.listeners.find(lc.name);
    if (it != m.listeners.end() && it->second.config.host == lc.host &&
        it->second.config.port == lc.port && it->second.config.mode == lc.mode &&
        it->second.config.max_connections_per_client == lc.max_connections_per_client &&
        (it->second.tls != nullptr) == lc.tls.enabled()) {
      if (lc.tls.enabled()) {  // check the files now; applied once everything else is ready
        auto check = net::TlsServerContext::Create(lc.tls);
        if (!check.ok()) {
          for (auto& f : fresh) f->Close();
          return check.status();
        }
        tls_updates.emplace_back(it->second.tls.get(), &lc.tls);
      }
      continue;  // kept below
    }
    auto bound = m.Bind(lc);
    if (!bound.ok()) {
      for (auto& f : fresh) f->Close();
      return bound.status();
    }
    fresh.push_back(bound->tcp);
    next[lc.name] = std::move(*bound);
  }
  for (const auto& lc : config.listeners) {
    if (next.count(lc.name)) continue;
    auto& kept = m.listeners.at(lc.name);
    kept.config = lc;
    next[lc.name] = std::move(kept);
  }
  for (auto& [ctx, options] : tls_updates) {
    if (Status s = ctx->Update(*options); !s.ok()) {
      LogEvent(LogLevel::kError, "reload: keeping the TLS certificate in use",
               {{"error", s.message()}});
    }
  }
  auto rt = BuildRuntime(config, m.Current().get(), m.metrics, access_logs);
  m.access_logs = std::move(access_logs);
  for (const auto& [name, c] : rt->clusters) {
    c->OverrideConcurrencyLimit(m.limit_override);
    auto t = client_tls.find(name);
    c->set_tls_context(t == client_tls.end() ? nullptr : t->second);
  }
  {
    std::lock_guard rl(m.runtime_mu);
    m.runtime = std::move(rt);
  }
  m.version.fetch_add(1, std::memory_order_release);
  for (auto& [name, old] : m.listeners) {
    if (old.tcp != nullptr) {  // not moved into next: removed or re-bound
      old.tcp->Close();
      m.retired.push_back(std::move(old));
    }
  }
  m.listeners = std::move(next);
  for (auto& f : fresh) f->Start();
  m.SyncWatches(config);
  return Status::Ok();
}

void ProxyServer::ReopenAccessLogs() {
  std::lock_guard l(impl_->reload_mu);
  for (auto& [path, log] : impl_->access_logs) log->Reopen();
}

std::vector<std::pair<std::string, std::string>> ProxyServer::addresses() const {
  std::lock_guard l(impl_->reload_mu);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& lc : impl_->Current()->listeners) {
    auto it = impl_->listeners.find(lc.first);
    if (it != impl_->listeners.end()) out.emplace_back(lc.first, it->second.tcp->address());
  }
  return out;
}

Status ProxyServer::SetConcurrencyLimit(const std::string& limit) {
  std::optional<resilience::ConcurrencyLimitOptions> o;
  if (limit != "config") {
    auto parsed = resilience::ParseConcurrencyLimit(limit);
    if (!parsed.ok()) return parsed.status();
    o = *parsed;
  }
  Impl& m = *impl_;
  std::lock_guard l(m.reload_mu);
  m.limit_override = o;
  for (const auto& [name, c] : m.Current()->clusters) c->OverrideConcurrencyLimit(o);
  return Status::Ok();
}

std::string ProxyServer::concurrency_limit() const {
  std::lock_guard l(impl_->reload_mu);
  return impl_->limit_override ? resilience::ConcurrencyLimitText(*impl_->limit_override)
                               : "config";
}

Result<ProxyServer::Totals> ProxyServer::ClusterTotals(const std::string& cluster) const {
  auto rt = impl_->Current();
  auto it = rt->clusters.find(cluster);
  if (it == rt->clusters.end()) return Status::NotFound("no cluster '" + cluster + "'");
  Totals t;
  it->second->ForEachHost([&](const HostStats& h) {
    ++t.hosts;
    t.requests += h.requests->Value();
    t.errors += h.by_class[4]->Value() + h.gateway_failures->Value();
    const auto b = h.latency->Buckets();
    for (size_t i = 0; i < b.size(); ++i) t.latency_us[i] += b[i];
  });
  return t;
}

nlohmann::json ProxyServer::Describe() const {
  auto rt = impl_->Current();
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& [name, addr] : addresses()) {
    const ListenerRuntime& l = rt->listeners.at(name);
    nlohmann::json j = {{"name", name},
                        {"address", addr},
                        {"mode", l.config.mode == ListenerConfig::Mode::kTcp ? "tcp" : "http"}};
    if (l.tcp_cluster) j["cluster"] = l.tcp_cluster->name();
    nlohmann::json routes = nlohmann::json::array();
    for (const auto& r : l.routes) {
      nlohmann::json headers = nlohmann::json::object();
      for (const auto& [k, v] : r.config.headers) headers[k] = v;
      routes.push_back({{"name", r.name},
                        {"host", r.config.host},
                        {"path_prefix", r.config.path_prefix},
                        {"headers", headers},
                        {"clusters", Split(r)},
                        {"timeout_ms", r.config.timeout_ms},
                        {"max_retries", r.config.retries.max_retries},
                        {"requests", r.requests->Value()},
                        {"retries", r.retries->Value()},
                        {"retries_refused_by_budget", r.budget->refused()}});
    }
    if (!routes.empty()) j["routes"] = routes;
    listeners.push_back(std::move(j));
  }
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& [name, c] : rt->clusters) clusters.push_back(c->Describe());
  return {{"listeners", listeners}, {"clusters", clusters}};
}

void ProxyServer::AddAdminRoutes(net::HttpServer& http, std::function<Status()> reload) {
  http.Route("GET", "/v1/proxy/clusters", [this](const net::HttpRequest&) {
    return net::HttpResponse::Json(200, Describe()["clusters"].dump(2) + "\n");
  });
  http.Route("GET", "/v1/proxy/config", [this](const net::HttpRequest&) {
    return net::HttpResponse::Json(200, Describe().dump(2) + "\n");
  });
  http.Route("POST", "/v1/proxy/reload", [reload](const net::HttpRequest&) {
    Status s = reload();
    if (!s.ok()) {
      return net::HttpResponse::Json(
          400, nlohmann::json({{"reloaded", false}, {"error", s.message()}}).dump() + "\n");
    }
    return net::HttpResponse::Json(200, "{\"reloaded\":true}\n");
  });
}

void ProxyServer::Shutdown() {
  std::lock_guard l(impl_->reload_mu);
  for (auto& [_, lis] : impl_->listeners) {
    lis.tcp->Close();
    lis.tcp->CloseIdle();
  }
  for (auto& r : impl_->retired) r.tcp->CloseIdle();
}

void ProxyServer::CloseAll() {
  std::lock_guard l(impl_->reload_mu);
  for (auto& [_, lis] : impl_->listeners) lis.tcp->CloseAll();
  for (auto& r : impl_->retired) r.tcp->CloseAll();
}

size_t ProxyServer::active_connections() const {
  std::lock_guard l(impl_->reload_mu);
  size_t n = 0;
  for (const auto& [_, lis] : impl_->listeners) n += lis.tcp->active_connections();
  for (const auto& r : impl_->retired) n += r.tcp->active_connections();
  return n;
}

}  // namespace pier::proxy
