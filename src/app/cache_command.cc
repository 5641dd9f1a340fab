// `pier cache`: the Redis-compatible cache server.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/commands.h"
#include "app/config_flags.h"
#include "app/server_runtime.h"
#include "pier/base/config.h"
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

// Fills every field whose flag was not given from the config file's `cache:` section (and the
// top-level threads/log-level), so flags win over the file.
Status ApplyConfig(CacheFlags& f, const CLI::App& sub) {
  if (f.config.empty()) return Status::Ok();
  auto doc = ConfigDocument::LoadFile(f.config);
  if (!doc.ok()) return doc.status();
  auto root = (*doc)->Root();
  auto c = root.Section("cache");
  ConfigFlags take(sub);
  take.Common(root, f);
  take(c, "listen", "--listen", &f.listen);
  take(c, "http", "--http", &f.http);
  take(c, "maxmemory", "--maxmemory", &f.maxmemory);
  take(c, "maxmemory-policy", "--maxmemory-policy", &f.policy);
  take(c, "requirepass", "--requirepass", &f.requirepass);
  f.security.ReadConfig(c, take, /*resp=*/true);
  take(c, "timeout", "--timeout", &f.timeout, uint64_t{0}, uint64_t{365ull * 86400});
  take(c, "maxclients", "--maxclients", &f.maxclients, uint64_t{1}, uint64_t{1000000});
  take(c, "cluster", "--cluster", &f.cluster);
  take.YesNo(c, "queue", "--queue", &f.queue);
  take(root, "data-dir", "--data-dir", &f.data_dir);
  // Validate values here so errors point at the file.
  if (c.Has("maxmemory") && sub.count("--maxmemory") == 0 && !ParseMemory(f.maxmemory).ok()) {
    c.Error("maxmemory", "'" + f.maxmemory + "' is not a memory value (e.g. 100mb)");
  }
  if (c.Has("maxmemory-policy") && sub.count("--maxmemory-policy") == 0 &&
      !cache::CacheServer::CheckPolicyName(f.policy).ok()) {
    c.Error("maxmemory-policy", "unknown policy '" + f.policy + "'");
  }
  return (*doc)->Finish();
}

int RunCache(CacheFlags f, const CLI::App& sub) {
  if (Status s = ApplyConfig(f, sub); !s.ok()) return Fail("cache", s);
  if (Status s = InitLogging(f.log_level); !s.ok()) return Fail("cache", s);
  auto listen = net::ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return Fail("cache", listen.status());
  auto maxmemory = ParseMemory(f.maxmemory);
  if (!maxmemory.ok())
    return Fail("cache", Status::InvalidArgument("--maxmemory: " + maxmemory.status().message()));
  for (auto [flag, value] : {std::pair{"--queue", &f.queue}, {"--shadow", &f.shadow}}) {
    if (Status s = ConfigFlags::CheckYesNo(flag, *value); !s.ok()) return Fail("cache", s);
  }
  ServerRuntime rt(f.threads);
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("cache", s);
  }
  // Clients move to as few I/O threads as keep up (see ThreadBalance): a client on the same
  // machine keeps its core.
  rt.pool().SetElastic();
  cache::CacheServerOptions o;
  o.resp = f.security.RespListener(*listen, f.requirepass, rt.tls());
  o.resp.timeout = std::chrono::seconds(f.timeout);
  o.resp.maxclients = f.maxclients;
  o.resp.config_file = f.config;
  o.maxmemory = *maxmemory;
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
    q = std::make_unique<queue::QueueServer>(rt.pool(), qo);
    std::vector<std::string> report;
    if (Status s = q->Start(&report); !s.ok()) return Fail("cache", s);
    for (const auto& line : report) std::cerr << "pier cache: queue recovery: " << line << "\n";
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
  spdlog::info("pier cache ready: resp={} http={} threads={} maxmemory={} policy={}",
               server.address(), rt.http().address(), rt.pool().size(), *maxmemory, f.policy);
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddCacheCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<CacheFlags>();
  CLI::App* sub = app.add_subcommand("cache", "Run the Redis-compatible cache server");
  sub->add_option("--listen", f->listen, "RESP listener HOST:PORT (port 0 picks a free one)")
      ->capture_default_str();
  sub->add_option("--http", f->http, "HTTP admin listener HOST:PORT (/metrics, /health)")
      ->capture_default_str();
  sub->add_option("--threads", f->threads, "I/O threads (0: one per core)");
  f->perf.AddTo(sub);
  sub->add_option("--shadow", f->shadow,
                  "yes: predict hit ratios per policy and size from a sample of the keys (with "
                  "maxmemory; the analyzer's cache suggestions need it)")
      ->capture_default_str();
  sub->add_option("--config", f->config,
                  "YAML config file (its `cache:` section); flags override it");
  sub->add_option("--log-level", f->log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  sub->add_option("--data-dir", f->data_dir,
                  "Where the API token (DIR/token) and, with --queue yes, the queue's log "
                  "(DIR/queue) live (default pier-data); the cache itself keeps no files");
  sub->add_option("--queue", f->queue,
                  "yes: also serve the durable queue (QPUBLISH, QCONSUME, ...) on this listener "
                  "and its HTTP API (see pier queue for its own options)")
      ->capture_default_str();
  sub->add_option("--maxmemory", f->maxmemory, "Memory limit for keys, e.g. 100mb, 2gb (0: none)")
      ->capture_default_str();
  sub->add_option("--maxmemory-policy", f->policy,
                  "noeviction, allkeys-{lru,lfu,random,fifo,s3fifo,sieve,wtinylfu}, "
                  "volatile-{lru,lfu,random,ttl}")
      ->capture_default_str();
  sub->add_option("--requirepass", f->requirepass, "Password clients must AUTH with");
  sub->add_option("--timeout", f->timeout, "Close clients idle this many seconds (0: never)");
  sub->add_option("--maxclients", f->maxclients, "Maximum client connections")
      ->capture_default_str();
  f->security.AddTo(sub, /*resp=*/true);
  sub->add_option("--cluster", f->cluster,
                  "Cluster mode: a nodes file listing every node (HOST:PORT [SLOTS]); this node is "
                  "the one whose address is --listen");
  sub->add_option("--shutdown-timeout", f->shutdown_seconds,
                  "Seconds in-flight requests get on SIGTERM")
      ->capture_default_str();
  sub->callback([f, sub, set_action] { set_action([f, sub] { return RunCache(*f, *sub); }); });
}

}  // namespace pier::app
