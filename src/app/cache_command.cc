// `pier cache`: the Redis-compatible cache server.

#include <iostream>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "app/settings.h"
#include "pier/base/logging.h"
#include "pier/base/memory_units.h"
#include "pier/cache/cache_server.h"
#include "pier/net/http_server.h"
#include "pier/queue/queue_server.h"

namespace pier::app {

namespace {

struct CacheFlags : ServerFlags {
  PerfFlags perf;
  std::string shadow = "yes";
  CacheFlags() {
    listen = "127.0.0.1:7379";
    http = "127.0.0.1:7900";
  }
  std::string maxmemory = "0";
  std::string policy = "noeviction";
  std::string requirepass;
  uint64_t timeout = 0;
  uint64_t maxclients = 10000;
  std::string cluster;
  std::string queue = "no";
};

// The cache's settings table: its flags and the keys of the config file's `cache:` section.
void AddSettings(Settings& s, CacheFlags& f) {
  f.AddTo(s, "cache");
  f.perf.AddTo(s);
  s.Text("listen", &f.listen, "RESP listener HOST:PORT (port 0 picks a free one)")
      .Text("http", &f.http, "HTTP admin listener HOST:PORT (/metrics, /health)")
      .In(Settings::Scope::kTop)
      .Text("data-dir", &f.data_dir,
            "Where the API token (DIR/token) and, with --queue yes, the queue's log (DIR/queue) "
            "live (default pier-data); the cache itself keeps no files")
      .In(Settings::Scope::kFlagOnly)
      .YesNo("shadow", &f.shadow,
             "yes: predict hit ratios per policy and size from a sample of the keys (with "
             "maxmemory; the analyzer's cache suggestions need it)")
      .In(Settings::Scope::kSection)
      .YesNo("queue", &f.queue,
             "yes: also serve the durable queue (QPUBLISH, QCONSUME, ...) on this listener and "
             "its HTTP API (see pier queue for its own options)")
      .Text("maxmemory", &f.maxmemory, "Memory limit for keys, e.g. 100mb, 2gb (0: none)",
            Settings::Memory())
      .Text("maxmemory-policy", &f.policy,
            "noeviction, allkeys-{lru,lfu,random,fifo,s3fifo,sieve,wtinylfu}, "
            "volatile-{lru,lfu,random,ttl}",
            [](const std::string& v) {
              return cache::CacheServer::CheckPolicyName(v).ok()
                         ? Status::Ok()
                         : Status::InvalidArgument("unknown policy '" + v + "'");
            })
      .Text("requirepass", &f.requirepass, "Password clients must AUTH with")
      .Count("timeout", &f.timeout, "Close clients idle this many seconds (0: never)", 0,
             365ull * 86400)
      .Count("maxclients", &f.maxclients, "Maximum client connections", 1, 1000000)
      .Text("cluster", &f.cluster,
            "Cluster mode: a nodes file listing every node (HOST:PORT [SLOTS]); this node is the "
            "one whose address is --listen");
  f.security.AddTo(s, /*resp=*/true);
}

int RunCache(CacheFlags& f, const Settings& settings, const CLI::App& sub) {
  if (Status s = settings.Apply(f.config, sub); !s.ok()) return Fail("cache", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "cache"); !s.ok()) return Fail("cache", s);
  auto listen = net::ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return Fail("cache", listen.status());
  const uint64_t maxmemory = *ParseMemory(f.maxmemory);  // checked by the settings
  ServerRuntime rt(f.threads, "cache");
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("cache", s);
  }
  // Clients move to as few I/O threads as keep up (see ThreadBalance): a client on the same
  // machine keeps its core.
  rt.pool().SetElastic();
  cache::CacheServerOptions o;
  o.resp = f.security.RespListener(*listen, f.requirepass, rt.tls(), rt.tracer());
  o.resp.timeout = std::chrono::seconds(f.timeout);
  o.resp.maxclients = f.maxclients;
  o.resp.config_file = f.config;
  o.maxmemory = maxmemory;
  o.policy = f.policy;
  o.cluster_file = f.cluster;
  o.shadow = f.shadow == "yes";
  cache::CacheServer server(rt.pool(), o);
  server.AttachTo(rt.analyzer(), rt.tuner());
  // --queue yes: the queue's commands on this listener and its API on the HTTP port.
  std::unique_ptr<queue::QueueServer> q;
  if (f.queue == "yes") {
    queue::QueueServerOptions qo;
    qo.broker.data_dir = (f.data_dir.empty() ? std::string("pier-data") : f.data_dir) + "/queue";
    qo.tracer = rt.tracer();
    q = std::make_unique<queue::QueueServer>(rt.pool(), qo);
    std::vector<std::string> report;
    if (Status s = q->Start(&report); !s.ok()) return Fail("cache", s);
    for (const auto& line : report) {
      LogEvent(LogLevel::kWarn, "queue recovery", {{"problem", line}});
    }
    server.AddService(&q->resp());
    rt.ShowInUi("/v1/queue/stats");
    q->AttachTo(rt.analyzer(), rt.tuner());
  }
  if (Status s = rt.ConfigurePerf(f.perf); !s.ok()) return Fail("cache", s);
  if (Status s = server.Start(); !s.ok()) return Fail("cache", s);
  if (Status s = rt.ListenHttp(f.http,
                               [&](net::HttpServer& h) {
                                 if (q) q->AddRoutes(h);
                               });
      !s.ok()) {
    return Fail("cache", s);
  }
  rt.OnShutdown([&] {
    server.Shutdown();
    if (q) q->Shutdown();
  });
  rt.OnForceClose([&] { server.CloseAll(); });
  rt.CountConnections([&] { return server.active_connections(); });
  rt.Start();
  std::cout << "listening resp=" << server.address()
            << (server.tls_address().empty() ? "" : " tls=" + server.tls_address())
            << " http=" << rt.http().address() << std::endl;
  LogEvent(LogLevel::kInfo, "pier cache ready",
           {{"resp", server.address()},
            {"http", rt.http().address()},
            {"threads", rt.pool().size()},
            {"maxmemory", maxmemory},
            {"policy", f.policy}});
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddCacheCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<CacheFlags>();
  auto settings = std::make_shared<Settings>("cache");
  CLI::App* sub = app.add_subcommand("cache", "Run the Redis-compatible cache server");
  AddSettings(*settings, *f);
  settings->AddTo(sub);
  sub->callback([f, settings, sub, set_action] {
    set_action([f, settings, sub] { return RunCache(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
