// `pier queue`: the durable message queue (RESP commands and the HTTP API), and
// `pier queue stats`: its topics and subscriptions as a table.

#include <iostream>
#include <nlohmann/json.hpp>

#include "app/api_client.h"
#include "app/commands.h"
#include "app/server_runtime.h"
#include "app/settings.h"
#include "app/table.h"
#include "pier/base/logging.h"
#include "pier/base/memory_units.h"
#include "pier/net/http_fetch.h"
#include "pier/net/resp_server.h"
#include "pier/net/tcp_listener.h"
#include "pier/queue/queue_server.h"

namespace pier::app {

namespace {

struct QueueFlags : ServerFlags {
  QueueFlags() {
    listen = "127.0.0.1:7379";
    http = "127.0.0.1:7900";
    data_dir = "pier-data";
  }
  std::string fsync = "batch";
  int64_t batch_delay_us = 500;
  std::string segment_size = "16mb";
  std::string max_memory = "256mb";
  std::string max_message_size = "8mb";
  std::string requirepass;
  PerfFlags perf;
};

// The queue's settings table: its flags and the keys of the config file's `queue:` section.
void AddSettings(Settings& s, QueueFlags& f) {
  f.AddTo(s, "queue");
  f.perf.AddTo(s);
  s.Text("listen", &f.listen, "RESP listener HOST:PORT (port 0 picks a free one)")
      .Text("http", &f.http, "HTTP listener HOST:PORT (queue API, /metrics, /health)")
      .In(Settings::Scope::kTop)
      .Text("data-dir", &f.data_dir, "Where the log lives (DIR/queue)")
      .In(Settings::Scope::kSection)
      .Text("fsync", &f.fsync,
            "always: one fdatasync before each reply (shared by concurrent writes); batch: group "
            "commit within --batch-delay-us; none: leave it to the OS")
      .Integer("batch-delay-us", &f.batch_delay_us,
               "With --fsync batch: how long a write waits for others to share its fsync", 0,
               100000)
      .Text("segment-size", &f.segment_size,
            "Log segment size (each is filled with zeros ahead of use)",
            Settings::Memory(4096, 1ull << 32))
      .Text("max-memory", &f.max_memory,
            "Payload bytes kept in memory; beyond, payloads are read from the log",
            Settings::Memory(0, 1ull << 50))
      .Text("max-message-size", &f.max_message_size, "Largest payload accepted",
            Settings::Memory(1, 64ull << 20))
      .Text("requirepass", &f.requirepass, "Password RESP clients must AUTH with");
  f.security.AddTo(s, /*resp=*/true);
}

int RunQueue(QueueFlags& f, const Settings& settings, const CLI::App& sub) {
  if (Status s = settings.Apply(f.config, sub); !s.ok()) return Fail("queue", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "queue"); !s.ok()) return Fail("queue", s);
  auto listen = net::ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return Fail("queue", listen.status());
  // Checked by the settings.
  const uint64_t segment = *ParseMemory(f.segment_size), memory = *ParseMemory(f.max_memory),
                 message = *ParseMemory(f.max_message_size);
  ServerRuntime rt(f.threads, "queue");
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("queue", s);
  }
  rt.ShowInUi("/v1/queue/stats");
  queue::QueueServerOptions qo;
  qo.broker.data_dir = f.data_dir + "/queue";
  qo.broker.fsync = f.fsync;
  qo.broker.batch_delay_us = f.batch_delay_us;
  qo.broker.segment_bytes = segment;
  qo.broker.max_resident_bytes = memory;
  qo.broker.max_payload_bytes = message;
  qo.tracer = rt.tracer();
  queue::QueueServer queue(rt.pool(), qo);
  std::vector<std::string> report;
  if (Status s = queue.Start(&report); !s.ok()) return Fail("queue", s);
  for (const auto& line : report) LogEvent(LogLevel::kWarn, "queue recovery", {{"problem", line}});
  queue.AttachTo(rt.analyzer(), rt.tuner());
  if (Status s = rt.ConfigurePerf(f.perf); !s.ok()) return Fail("queue", s);

  // The RESP listener, serving the queue's commands.
  net::RespServer resp(rt.pool(),
                       f.security.RespListener(*listen, f.requirepass, rt.tls(), rt.tracer()));
  resp.AddService(&queue.resp());
  if (Status s = resp.Start(); !s.ok()) return Fail("queue", s);
  if (Status s = rt.ListenHttp(f.http, [&](net::HttpServer& h) { queue.AddRoutes(h); }); !s.ok()) {
    return Fail("queue", s);
  }
  rt.OnShutdown([&] {
    resp.Shutdown();
    queue.Shutdown();
  });
  rt.OnForceClose([&] { resp.CloseAll(); });
  rt.CountConnections([&] { return resp.active_connections(); });
  rt.Start();
  std::cout << "listening resp=" << resp.address()
            << (resp.tls_address().empty() ? "" : " tls=" + resp.tls_address())
            << " http=" << rt.http().address() << std::endl;
  auto log = queue.broker().LogStats();
  LogEvent(LogLevel::kInfo, "pier queue ready",
           {{"resp", resp.address()},
            {"http", rt.http().address()},
            {"data", qo.broker.data_dir},
            {"fsync", f.fsync},
            {"segments", log.segments}});
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

struct StatsFlags {
  ApiFlags api;
  bool csv = false;
  bool json = false;
};

std::string Rate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

int RunStats(const StatsFlags& f) {
  auto r = f.api.Call("GET", "/v1/queue/stats");
  if (!r.ok()) return Fail("queue stats", r.status());
  if (r->status != 200) {
    return Fail("queue stats", Status::Unavailable("GET /v1/queue/stats on " + f.api.http +
                                                   ": HTTP " + std::to_string(r->status)));
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("topics")) {
    return Fail("queue stats",
                Status::Unavailable(f.api.http + " did not answer with queue stats"));
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : j["topics"]) {
    for (const auto& s : t["subscriptions"]) {
      auto n = [&](const char* k) { return std::to_string(s.value(k, uint64_t{0})); };
      rows.push_back({t.value("name", ""), s.value("subscription", ""), n("ready"), n("in_flight"),
                      n("delayed"), n("dead"), Rate(s.value("oldest_ready_age_ms", 0.0) / 1000.0),
                      Rate(s.value("publish_rate", 0.0)), Rate(s.value("ack_rate", 0.0)),
                      n("redelivered")});
    }
  }
  PrintTable({.csv = f.csv, .json = f.json},
             {"topic", "subscription", "ready", "in_flight", "delayed", "dead", "oldest_s",
              "pub_per_s", "ack_per_s", "redelivered"},
             rows);
  return 0;
}

}  // namespace

void AddQueueCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<QueueFlags>();
  auto settings = std::make_shared<Settings>("queue");
  CLI::App* sub = app.add_subcommand("queue", "Run the durable message queue (or: queue stats)");
  AddSettings(*settings, *f);
  settings->AddTo(sub);
  sub->require_subcommand(0, 1);

  auto s = std::make_shared<StatsFlags>();
  CLI::App* stats = sub->add_subcommand("stats", "Print the queue's topics and subscriptions");
  s->api.AddTo(stats, "The queue");
  stats->add_flag("--csv", s->csv, "Print CSV with a header row");
  stats->add_flag("--json", s->json, "Print JSON");
  stats->callback([s, set_action] { set_action([s] { return RunStats(*s); }); });

  sub->callback([f, settings, sub, stats, set_action] {
    if (stats->parsed()) return;
    set_action([f, settings, sub] { return RunQueue(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
