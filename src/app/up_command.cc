// `pier up [FILE]`: runs a system from its architecture spec: the registry and the proxy in this
// process, each service instance through a driver (`process`: child processes; `docker`:
// containers), started in dependency order (waiting for `healthy` dependencies), registered
// with its health check, reached through the proxy's routes. It serves the deploy API that
// `pier deploy`, `pier rollback` and `pier status` use (system.h). Ctrl-C stops the services in
// reverse order. Without FILE it runs examples/demo/pier.yaml's system, compiled in.
#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/commands.h"
#include "app/demo_spec.h"
#include "app/server_runtime.h"
#include "app/spec_check.h"
#include "app/table.h"
#include "pier/base/logging.h"
#include "pier/deploy/driver.h"
#include "pier/deploy/runtime/platform.h"
#include "pier/deploy/runtime/system.h"
#include "pier/deploy/validate.h"
#include "pier/net/tracer.h"
#include "pier/proxy/proxy_server.h"
#include "pier/registry/client.h"
#include "pier/registry/registry_server.h"

namespace pier::app {

namespace {

using deploy::runtime::Platform;
using deploy::runtime::System;

struct UpFlags : ServerFlags {
  UpFlags() {
    http = "127.0.0.1:7900";
    data_dir = "pier-data";
  }
  PerfFlags perf;
  std::string file;
  std::string driver = "process";
  std::string docker_socket = "/var/run/docker.sock";
  double wait_seconds = 60;
};

std::string Self() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "pier" : p.string();
}

void AddDeployRoutes(net::HttpServer& http, const std::atomic<System*>& system) {
  auto with = [&system](auto fn) {
    return [&system, fn](const net::HttpRequest& req) {
      System* sys = system.load();
      if (sys == nullptr) return net::HttpResponse::Error(503, "pier up is still starting");
      return fn(*sys, req);
    };
  };
  http.Route("POST", "/v1/deploy", with([](System& sys, const net::HttpRequest& req) {
               const std::string name(req["X-Pier-File"]);
               std::string report;
               auto spec = CheckedSpec(
                   deploy::ParseArchitecture(req.body(), name.empty() ? "request" : name), &report);
               if (!spec.ok()) return net::HttpResponse::Error(400, spec.status().message());
               Status s = sys.BeginDeploy(std::move(*spec));
               if (!s.ok()) return net::HttpResponse::Error(409, s.message());
               return net::HttpResponse::Json(202, sys.DeployState(0).dump());
             }));
  http.Route("POST", "/v1/deploy/rollback", with([](System& sys, const net::HttpRequest&) {
               Status s = sys.BeginRollback();
               if (!s.ok()) return net::HttpResponse::Error(409, s.message());
               return net::HttpResponse::Json(202, sys.DeployState(0).dump());
             }));
  http.Route("GET", "/v1/deploy", with([](System& sys, const net::HttpRequest& req) {
               size_t from = 0;
               const std::string target(req.target());
               if (auto p = target.find("from="); p != std::string::npos) {
                 from = std::strtoull(target.c_str() + p + 5, nullptr, 10);
               }
               return net::HttpResponse::Json(200, sys.DeployState(from).dump());
             }));
  http.Route("GET", "/v1/status", with([](System& sys, const net::HttpRequest&) {
               return net::HttpResponse::Json(200, sys.Snapshot().dump());
             }));
}

int RunUp(UpFlags& f, const Settings& settings, const CLI::App& sub) {
  if (Status s = settings.Apply("", sub); !s.ok()) return Fail("up", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "up"); !s.ok()) return Fail("up", s);
  std::string report;
  auto spec = CheckedSpec(f.file.empty() ? deploy::ParseArchitecture(kDemoSpec, "built-in demo")
                                         : deploy::LoadArchitecture(f.file),
                          &report);
  if (!spec.ok()) return Fail("up", spec.status());
  const deploy::Architecture& a = *spec;
  const std::string logs = f.data_dir + "/logs";
  std::unique_ptr<deploy::Driver> driver;
  if (f.driver == "process") {
    driver = deploy::MakeProcessDriver({.log_dir = logs});
  } else {  // docker (the settings checked it)
    auto d = deploy::MakeDockerDriver({.socket = f.docker_socket, .project = a.name});
    if (!d.ok()) return Fail("up", d.status());
    driver = std::move(*d);
  }

  ServerRuntime rt(f.threads, "up");
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("up", s);
  }
  rt.ShowInUi("/v1/status");
  rt.ShowInUi("/v1/proxy/clusters");
  registry::RegistryServerOptions ro;
  ro.data_dir = "";  // the services of this run only: nothing outlives it
  registry::RegistryServer registry(rt.pool(), ro);
  if (Status s = registry.Open(); !s.ok()) return Fail("up", s);
  const std::string otlp = OtlpEndpoint(f.security.otlp_endpoint);
  // The proxy's spans under their own service name (the runtime's are pier-up's API).
  std::unique_ptr<net::Tracer> proxy_tracer;
  if (!otlp.empty()) {
    auto t = net::Tracer::Create(otlp, "pier-proxy");
    if (!t.ok()) return Fail("up", t.status());
    proxy_tracer = std::move(*t);
  }
  proxy::ProxyServer proxy(rt.pool(), {.tracer = proxy_tracer.get()});
  Platform platform(rt.pool());
  if (Status s = platform.Start(a.platform, f.data_dir); !s.ok()) return Fail("up", s);
  if (platform.cache_server()) platform.cache_server()->AttachTo(rt.analyzer(), rt.tuner());
  if (platform.queue_server()) platform.queue_server()->AttachTo(rt.analyzer(), rt.tuner());
  proxy.AttachTo(rt.analyzer(), rt.tuner());
  registry.AttachTo(rt.analyzer(), rt.tuner());
  if (Status s = rt.ConfigurePerf(f.perf); !s.ok()) return Fail("up", s);
  if (a.platform.queue) rt.ShowInUi("/v1/queue/stats");
  std::atomic<System*> system{nullptr};
  std::function<Status()> no_reload = [] {
    return Status::InvalidArgument("pier up changes its routes through pier deploy");
  };
  if (Status s = rt.ListenHttp(f.http,
                               [&](net::HttpServer& h) {
                                 registry.AddRoutes(h);
                                 proxy.AddAdminRoutes(h, no_reload);
                                 platform.AddRoutes(h);
                                 AddDeployRoutes(h, system);
                               });
      !s.ok()) {
    return Fail("up", s);
  }
  rt.Start();
  registry.Start();
  const std::string api = rt.http().address();
  // The registry and proxy of this process call its own API: with the token, and over TLS
  // (to itself on this address, so not verified) when the API speaks it.
  net::TlsClientOptions self_tls{.enabled = f.security.http_tls == "yes", .verify = false};
  registry::Client client({.address = api, .token = rt.token(), .tls = self_tls});
  if (Status s = platform.Register(client); !s.ok()) return Fail("up", s);
  auto env = platform.Env();
  env["PIER_REGISTRY"] = api;
  if (!otlp.empty()) env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;  // each gets OTEL_SERVICE_NAME
  System sys(*driver, client, proxy,
             {.registry_address = api,
              .registry_token = rt.token(),
              .registry_tls = self_tls,
              .self = Self(),
              .log_dir = logs,
              .wait = std::chrono::milliseconds(static_cast<int64_t>(f.wait_seconds * 1000)),
              .env = env,
              .platform = platform.Describe()});
  std::atomic<bool> done{false};
  std::thread supervisor([&] {
    while (!done) {
      sys.Supervise();
      for (int i = 0; i < 5 && !done; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the restart cadence
      }
    }
  });
  auto stop = [&] {
    done = true;
    if (supervisor.joinable()) supervisor.join();
    sys.StopAll();
  };
  Status up = sys.StartProxy(a);
  if (up.ok()) {
    std::string line = "listening";
    for (const auto& [name, addr] : proxy.addresses()) line += " " + name + "=" + addr;
    if (auto e = platform.Env(); !e.empty()) line += " resp=" + e.begin()->second;
    std::cout << line << " http=" << api << std::endl;
    up = sys.Up();
  }
  if (!up.ok()) {
    stop();
    return Fail("up", up);
  }
  sys.Refresh();  // a first snapshot before the API serves it
  system = &sys;
  const auto d = sys.Snapshot();
  std::vector<std::vector<std::string>> rows;
  size_t count = 0;
  for (const auto& s : d["services"]) {
    for (const auto& v : s["versions"]) {
      for (const auto& i : v["instances"]) {
        ++count;
        rows.push_back({s["name"], v["version"], i["id"], i["address"], i.value("handle", "")});
      }
    }
  }
  PrintTable({},
             {"service", "version", "instance", "address",
              driver->name() == "docker" ? "container" : "pid"},
             rows);
  std::cout << "up: " << count << " instances of " << a.services.size() << " services ("
            << driver->name() << " driver); routes on " << a.platform.proxy_listen
            << (platform.Describe().empty() ? "" : "; " + platform.Describe())
            << "; pier status, pier deploy FILE (Ctrl-C stops them)" << std::endl;
  rt.OnShutdown([&] {
    system = nullptr;
    stop();
    proxy.Shutdown();
    platform.Shutdown();
    registry.Shutdown();
  });
  rt.OnForceClose([&] {
    proxy.CloseAll();
    platform.CloseAll();
  });
  rt.CountConnections([&] { return proxy.active_connections() + platform.active_connections(); });
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<UpFlags>();
  auto settings = std::make_shared<Settings>("up");
  CLI::App* sub = app.add_subcommand(
      "up", "Run a system from its spec: registry, proxy and services (default: a built-in demo)");
  sub->add_option("file", f->file, "The spec (pier.yaml); none: the built-in demo");
  f->AddTo(*settings, "");
  f->perf.AddTo(*settings);
  settings->In(Settings::Scope::kFlagOnly)
      .Text("http", &f->http, "Registry API and proxy admin HOST:PORT")
      .Text("data-dir", &f->data_dir,
            "Where service logs (DIR/logs) and the deploy API's token (DIR/token, created on the "
            "first start; pier deploy reads it) live")
      .Choice("driver", &f->driver, "process (child processes) or docker (containers)",
              {"process", "docker"})
      .Text("docker-socket", &f->docker_socket, "The Docker Engine API's unix socket")
      .Number("wait", &f->wait_seconds, "Seconds to wait for a healthy dependency", 0, 86400);
  f->security.AddTo(*settings, /*resp=*/false);
  settings->AddTo(sub);
  sub->callback([f, settings, sub, set_action] {
    set_action([f, settings, sub] { return RunUp(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
