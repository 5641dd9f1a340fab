#include "pier/cache/cache_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "cache/server/cache_metric_names.h"
#include "cache/server/cluster.h"
#include "cache/server/cluster_bus.h"
#include "cache/server/command.h"
#include "cache/server/database.h"
#include "pier/metrics/metrics.h"
#include "pier/net/resp_server.h"

namespace asio = boost::asio;

namespace pier::cache {

using server::CommandContext;
using server::CommandSpec;
using server::CommandTable;

// The keyspace as a RESP service, and the server it runs on.
struct CacheServer::Impl final : net::RespService {
  Impl(net::IoPool& pool, CacheServerOptions o) : pool(pool), options(std::move(o)) {
    size_t shards = options.shards ? options.shards : 16 * pool.size();
    shards = std::min<size_t>(shards, 256);  // SCAN cursors keep the shard in 8 bits
    db = std::make_unique<server::Database>(shards, options.resp.clock, options.shadow);
    resp = std::make_unique<net::RespServer>(pool, options.resp);
    resp->AddService(this);
    db->notifier().set_pubsub(&resp->pubsub());
    db->set_tracking(&resp->tracking());
    db->scripts().set_on_busy([r = resp.get()](bool busy) { r->set_busy(busy); });
  }

  void ForEachCommand(const std::function<void(const net::RespCommand&)>& fn) const override {
    for (const auto& s : CommandTable::Get().all()) fn(s);
  }

  std::shared_ptr<net::PendingReply> Dispatch(Call& call) override {
    const auto& spec = static_cast<const CommandSpec&>(call.command);
    CommandContext ctx{call.args,
                       call.out,
                       call.client,
                       call.server,
                       *db,
                       cluster.get(),
                       db->UnixMsAt(call.now),
                       call.executor};
    {
      server::CommandEvents events(db->notifier(), spec, call.args);
      spec.handler(ctx);
    }
    // Lists and sorted sets this command created: serve the clients blocked on them (after
    // the whole transaction, inside EXEC).
    if (!call.client.in_transaction && db->blocking().HasReady()) db->blocking().ServeReady();
    call.now = db->Now();
    return std::move(ctx.later);
  }

  bool AppendInfo(std::string_view section, std::string* out) override {
    return server::AppendKeyspaceInfo(*db, cluster.get(), peak_memory, section, out);
  }
  std::vector<net::RespConfigParam> ConfigParams() override {
    return server::KeyspaceConfigParams(*db);
  }
  void ResetStats() override { db->ResetStats(); }
  bool Unblock(uint64_t client_id, bool error) override {
    return db->blocking().Unblock(client_id, error);
  }
  size_t BlockedClients() const override { return db->blocking().parked(); }
  std::shared_ptr<void> BeginTransaction() override {
    return std::make_shared<server::ExclusiveHold>(*db);
  }

  // Cluster mode, every command with keys (the RESP server's key router): false after answering
  // -MOVED or -CROSSSLOT.
  bool RouteToSlot(const net::RespCommand& spec, const std::vector<std::string_view>& args,
                   net::RespWriter& w) const {
    int slot = -1;
    const bool same = net::ForEachKey(spec, args, [&](std::string_view key) {
      const int s = server::KeySlot(key);
      if (slot >= 0 && s != slot) return false;
      slot = s;
      return true;
    });
    if (!same) {
      w.Error("CROSSSLOT Keys in request don't hash to the same slot");
      return false;
    }
    if (slot < 0 || cluster->Owns(slot)) return true;
    const server::ClusterNode& n = cluster->nodes[cluster->owner[slot]];
    w.Error("MOVED " + std::to_string(slot) + " " + n.host + ":" + std::to_string(n.port));
    return false;
  }

  // Per-command metrics over every routed command (the keyspace's, the server's, the
  // queue's when it shares the listener), registered at Start.
  void RegisterMetrics();
  void ScheduleCron();
  size_t Cron();  // active expiry, peak memory

  net::IoPool& pool;
  CacheServerOptions options;
  std::unique_ptr<server::Database> db;
  std::unique_ptr<server::ClusterConfig> cluster;
  std::unique_ptr<net::RespServer> resp;
  // Gone before the RESP server its thread asks for the password; by then no I/O thread runs.
  std::unique_ptr<server::ClusterBus> bus;
  std::shared_ptr<asio::steady_timer> cron_timer;
  std::atomic<uint64_t> peak_memory{0};
  std::atomic<bool> stopping{false};
};

CacheServer::CacheServer(net::IoPool& pool, CacheServerOptions options)
    : impl_(std::make_unique<Impl>(pool, std::move(options))) {}

CacheServer::~CacheServer() = default;

void CacheServer::AddService(net::RespService* service) { impl_->resp->AddService(service); }
net::RespServer& CacheServer::resp() { return *impl_->resp; }
server::Database& CacheServer::db() const { return *impl_->db; }

CacheServer::KeyspaceInfo CacheServer::keyspace_info() const {
  const server::KeyspaceStats st = db().Stats();
  return {.keys = db().KeyCount(),
          .used_bytes = db().UsedBytes(),
          .hits = st.hits,
          .misses = st.misses,
          .expired = st.expired,
          .evicted = st.evicted};
}

Status CacheServer::Start() {
  Impl& m = *impl_;
  const std::string where = m.options.resp.host + ":" + std::to_string(m.options.resp.port);
  if (!m.options.cluster_file.empty()) {
    auto c = server::LoadClusterConfig(m.options.cluster_file, where);
    if (!c.ok()) return c.status();
    m.cluster = std::make_unique<server::ClusterConfig>(std::move(*c));
    net::RespServer* resp = m.resp.get();
    m.bus =
        std::make_unique<server::ClusterBus>(*m.cluster, [resp] { return resp->requirepass(); });
    resp->SetKeyRouter([&m](const net::RespCommand& command,
                            const std::vector<std::string_view>& args,
                            net::RespWriter& w) { return m.RouteToSlot(command, args, w); });
    resp->pubsub().set_forward(
        [bus = m.bus.get()](std::string_view ch, std::string_view msg) { bus->Publish(ch, msg); });
  }
  if (Status s = m.db->SetPolicy(m.options.policy); !s.ok()) {
    return Status::InvalidArgument("maxmemory-policy: " + s.message());
  }
  if (Status s = m.db->SetMaxMemory(m.options.maxmemory); !s.ok()) {
    return Status::InvalidArgument("maxmemory: " + s.message());
  }
  m.RegisterMetrics();  // before the first connection, which reads the observer
  PIER_RETURN_IF_ERROR(m.resp->Start());
  m.ScheduleCron();
  return Status::Ok();
}

void CacheServer::Impl::RegisterMetrics() {
  auto& r = metrics::Registry::Global();
  std::vector<metrics::Counter*> calls;
  for (const net::RespCommand* c : resp->router().commands()) {
    calls.push_back(&r.GetCounter(metric_names::kCommandsTotal, "Commands executed, by command.",
                                  {{"cmd", c->name}}));
  }
  metrics::Histogram* latency = &r.GetHistogram(
      metric_names::kCommandDurationSeconds,
      "Time to parse and execute a command, excluding network I/O.", {}, 1e-9, 7, 30);
  resp->SetObserver([calls = std::move(calls), latency](size_t index, const net::RespCommand&,
                                                        Clock::Duration took) {
    latency->Record(static_cast<uint64_t>(std::max<int64_t>(0, took.count())));
    calls[index]->Inc();
  });
  server::Database* d = db.get();
  net::RespServer* server = resp.get();
  r.AddCallback(metric_names::kKeys, "Keys in the cache.", "gauge", {},
                [d] { return double(d->KeyCount()); });
  r.AddCallback(metric_names::kUsedMemoryBytes, "Bytes held by the keyspace (INFO used_memory).",
                "gauge", {}, [d] { return double(d->UsedBytes()); });
  r.AddCallback(metric_names::kMaxmemoryBytes, "The maxmemory limit (0: none).", "gauge", {},
                [d] { return double(d->maxmemory()); });
  r.AddCallback(metric_names::kKeyspaceHitsTotal, "Lookups that found their key.", "counter", {},
                [d] { return double(d->Stats().hits); });
  r.AddCallback(metric_names::kKeyspaceMissesTotal, "Lookups that did not find their key.",
                "counter", {}, [d] { return double(d->Stats().misses); });
  r.AddCallback(metric_names::kEvictedKeysTotal, "Keys evicted by maxmemory-policy.", "counter", {},
                [d] { return double(d->Stats().evicted); });
  r.AddCallback(metric_names::kExpiredKeysTotal, "Keys removed because their TTL passed.",
                "counter", {}, [d] { return double(d->Stats().expired); });
  r.AddCallback(metric_names::kConnectedClients, "Open client connections.", "gauge", {},
                [server] { return double(server->client_count()); });
}

std::string CacheServer::address() const { return impl_->resp->address(); }
std::string CacheServer::tls_address() const { return impl_->resp->tls_address(); }
uint16_t CacheServer::port() const { return impl_->resp->port(); }

void CacheServer::Shutdown() {
  impl_->stopping = true;
  impl_->db->blocking().Close();
  impl_->resp->Shutdown();
  if (auto t = impl_->cron_timer) asio::post(t->get_executor(), [t] { t->cancel(); });
}

void CacheServer::CloseAll() { impl_->resp->CloseAll(); }
size_t CacheServer::active_connections() const { return impl_->resp->active_connections(); }

std::unique_ptr<net::RespClient> CacheServer::NewClient(std::string addr) {
  return impl_->resp->NewClient(std::move(addr));
}
void CacheServer::ReleaseClient(net::RespClient* c) { impl_->resp->ReleaseClient(c); }

void CacheServer::Execute(net::RespClient& client, const std::vector<std::string_view>& args,
                          std::string* out) {
  Clock::TimePoint now = impl_->db->Now();
  impl_->resp->Execute(client, args, out, &now);
}

size_t CacheServer::Cron() { return impl_->Cron(); }

size_t CacheServer::Impl::Cron() {
  size_t removed = db->ActiveExpire(64);
  uint64_t used = 0;
  if (!db->TryUsedBytes(&used)) return removed;  // a script holds the shards: not now
  uint64_t peak = peak_memory.load();
  while (used > peak && !peak_memory.compare_exchange_weak(peak, used)) {
  }
  return removed;
}

void CacheServer::Impl::ScheduleCron() {
  auto timer = std::make_shared<asio::steady_timer>(pool.At(0));
  cron_timer = timer;
  asio::co_spawn(
      pool.At(0),
      [this, timer]() -> asio::awaitable<void> {
        for (;;) {
          // Redis's active expiry runs at hz 10; when a pass hit its bound, run again soon.
          size_t removed = Cron();
          auto wait = removed >= db->shard_count() * 32 ? std::chrono::milliseconds(1)
                                                        : std::chrono::milliseconds(100);
          timer->expires_after(wait);
          boost::system::error_code ec;
          co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec || stopping) co_return;
        }
      },
      asio::detached);
}

}  // namespace pier::cache
