#include "pier/registry/registry_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>

#include "pier/base/logging.h"
#include "pier/metrics/metrics.h"
#include "pier/registry/sqlite_store.h"
#include "registry/server/consul_api.h"
#include "registry/server/health_checker.h"
#include "registry/server/registry_metric_names.h"
#include "registry/server/watch_hub.h"
#include "registry/store/etcd_store.h"

namespace asio = boost::asio;

namespace pier::registry {

struct RegistryServer::Impl {
  Impl(net::IoPool& p, RegistryServerOptions o)
      : pool(p),
        options(std::move(o)),
        clock(options.clock ? *options.clock : Clock::Steady()),
        disk(1) {}

  net::IoPool& pool;
  RegistryServerOptions options;
  Clock& clock;
  asio::thread_pool disk;  // store writes and the tick: off the I/O threads, in order
  std::unique_ptr<RegistryStore> store;
  EtcdStore* etcd = nullptr;  // the store, when it is etcd
  std::unique_ptr<ServiceRegistry> registry;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<HealthChecker> checker;
  std::unique_ptr<ConsulApi> api;
  std::shared_ptr<asio::steady_timer> ticker;
  metrics::Gauge* instances = nullptr;
  std::array<metrics::Gauge*, 4> checks_by_status{};
  metrics::Counter* changes = nullptr;

  void UpdateGauges() {
    size_t n = 0;
    std::array<size_t, 4> counts{};
    registry->Count(&n, &counts);
    instances->Set(double(n));
    for (int i = 0; i < 4; ++i) checks_by_status[i]->Set(double(counts[i]));
  }

  asio::awaitable<void> Tick(std::shared_ptr<asio::steady_timer> timer) {
    for (uint64_t ticks = 0;;) {
      timer->expires_after(options.tick);
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      registry->Tick();
      // The gauges follow on the tick, not on every change: counting is O(instances).
      if (++ticks % 10 == 0) UpdateGauges();
    }
  }
};

RegistryServer::RegistryServer(net::IoPool& pool, RegistryServerOptions options)
    : impl_(std::make_unique<Impl>(pool, std::move(options))) {}

RegistryServer::~RegistryServer() {
  Shutdown();
  impl_->disk.join();
}

ServiceRegistry& RegistryServer::registry() { return *impl_->registry; }

Status RegistryServer::Open() {
  Impl& m = *impl_;
  if (!m.options.store.empty()) {
    auto etcd = EtcdStore::Open(m.options.store);
    if (!etcd.ok()) return etcd.status();
    m.etcd = etcd->get();
    m.store = std::move(*etcd);
  } else if (!m.options.data_dir.empty()) {
    std::string path = (std::filesystem::path(m.options.data_dir) / "registry.db").string();
    auto store = OpenSqliteStore(path);
    if (!store.ok()) return store.status();
    m.store = std::move(*store);
  }
  RegistryOptions ro = m.options.registry;
  ro.node_name = m.options.node_name;
  m.registry = std::make_unique<ServiceRegistry>(m.clock, m.store.get(), ro);
  m.hub = std::make_unique<WatchHub>();
  m.checker = std::make_unique<HealthChecker>(m.pool, *m.registry);
  auto& metrics = metrics::Registry::Global();
  m.instances = &metrics.GetGauge(metric_names::kInstances, "Registered service instances.");
  for (auto s : {HealthStatus::kPassing, HealthStatus::kWarning, HealthStatus::kCritical,
                 HealthStatus::kMaintenance}) {
    m.checks_by_status[static_cast<int>(s)] = &metrics.GetGauge(
        metric_names::kChecks, "Health checks by status.", {{"status", HealthStatusName(s)}});
  }
  m.changes = &metrics.GetCounter(metric_names::kChangesTotal,
                                  "Changes to the catalog or to health (index increments).");
  m.registry->OnChange([&m](const Change& c) {
    m.hub->Notify(c);
    m.changes->Inc();
  });
  // Probe loops start once Start() runs; until then Load() only records them.
  Status s = m.registry->Load();
  if (!s.ok()) return s;
  if (m.etcd) {  // heartbeats other registries received, still within their TTL
    auto beats = m.etcd->LoadHeartbeats();
    if (!beats.ok()) return beats.status();
    for (const auto& hb : *beats) m.registry->ApplyRemoteTtl(hb.check_id, hb.status, hb.output);
  }
  size_t loaded = 0;
  std::array<size_t, 4> unused{};
  m.registry->Count(&loaded, &unused);  // a count, not a copy of every instance
  LogEvent(LogLevel::kInfo, "registry: instances loaded",
           {{"instances", loaded},
            {"from", m.etcd    ? m.etcd->where()
                     : m.store ? m.options.data_dir
                               : "memory"}});
  m.api = std::make_unique<ConsulApi>(
      *m.registry, *m.hub, m.disk.get_executor(),
      MakeNodeInfo(m.options.node_name, m.options.node_address, m.options.datacenter));
  return Status::Ok();
}

void RegistryServer::AddRoutes(net::HttpServer& http) { impl_->api->AddRoutes(http); }

void RegistryServer::Start() {
  Impl& m = *impl_;
  m.registry->OnProbe(
      [&m](const std::string& id, uint64_t generation) { m.checker->Start(id, generation); });
  // Checks loaded before the checker was attached.
  for (const auto& [id, generation] : m.registry->ProbeTargets()) m.checker->Start(id, generation);
  if (m.etcd) {
    // Other registries' writes (and our own, which change nothing) arrive through the watch.
    EtcdStore::Followers f;
    f.services = [&m](const std::vector<StoreOp>& ops) { m.registry->ApplyRemote(ops); };
    f.reload = [&m](const std::vector<ServiceDefinition>& all) { m.registry->ReplaceAll(all); };
    f.heartbeat = [&m](const EtcdStore::Heartbeat& hb) {
      m.registry->ApplyRemoteTtl(hb.check_id, hb.status, hb.output);
    };
    m.etcd->Follow(std::move(f));
    // Heartbeats received here go to etcd under a lease, for the other registries.
    m.registry->OnTtlUpdate(
        [&m](const std::string& id, HealthStatus status, const std::string& output, Duration ttl) {
          m.etcd->PublishHeartbeat({id, status, output}, ttl);
        });
  }
  m.UpdateGauges();
  // The tick runs on the disk thread: reaping a service writes to the store.
  m.ticker = std::make_shared<asio::steady_timer>(m.disk.get_executor());
  asio::co_spawn(m.disk.get_executor(), m.Tick(m.ticker), asio::detached);
}

void RegistryServer::Shutdown() {
  Impl& m = *impl_;
  if (m.etcd) m.etcd->Stop();
  if (m.checker) m.checker->Stop();
  if (m.hub) m.hub->Close();
  if (m.ticker) {
    auto t = m.ticker;
    asio::post(t->get_executor(), [t] { t->cancel(); });
  }
}

}  // namespace pier::registry
