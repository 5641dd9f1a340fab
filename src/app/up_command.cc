// `pier up [FILE]`: runs a system from its architecture spec with the process driver: the
// registry and the proxy in this process, each service instance as a child process started in
// dependency order (waiting for `healthy` dependencies), registered with its health check in
// the registry, and reached through the proxy's routes. Ctrl-C stops the services in reverse
// order. Without FILE it runs examples/demo/pier.yaml's system, compiled in (demo_spec.h.in).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "app/commands.h"
#include "app/demo_spec.h"
#include "app/server_runtime.h"
#include "app/table.h"
#include "pier/base/logging.h"
#include "pier/deploy/process.h"
#include "pier/deploy/validate.h"
#include "pier/proxy/proxy_server.h"
#include "pier/registry/client.h"
#include "pier/registry/registry_server.h"

namespace pier::app {

namespace {

struct UpFlags : ServerFlags {
  UpFlags() {
    http = "127.0.0.1:7900";
    data_dir = "pier-data";
  }
  std::string file;
  double wait_seconds = 60;
};

struct Instance {
  std::string id, service, version;
  uint16_t port = 0;
  std::unique_ptr<deploy::ChildProcess> process;
};

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// Services in an order where each comes after what it depends on (validation rejected cycles).
std::vector<const deploy::Service*> StartOrder(const deploy::Architecture& a) {
  std::vector<const deploy::Service*> order;
  std::set<std::string> placed;
  while (order.size() < a.services.size()) {
    for (const auto& s : a.services) {
      if (placed.count(s.name)) continue;
      bool ready = true;
      for (const auto& d : s.depends_on) ready = ready && placed.count(d.service);
      if (ready) {
        order.push_back(&s);
        placed.insert(s.name);
      }
    }
  }
  return order;
}

registry::ServiceDefinition Registration(const deploy::Service& s, const Instance& inst) {
  registry::ServiceDefinition def;
  def.id = inst.id;
  def.name = s.name;
  def.address = "127.0.0.1";
  def.port = inst.port;
  def.meta["version"] = s.version;
  const auto& h = s.health;
  if (h.kind == deploy::HealthCheck::Kind::kHttp || h.kind == deploy::HealthCheck::Kind::kTcp) {
    registry::CheckDefinition c;
    const uint16_t port = h.port != 0 ? h.port : inst.port;
    if (h.kind == deploy::HealthCheck::Kind::kHttp) {
      c.type = registry::CheckType::kHttp;
      c.http = "http://127.0.0.1:" + std::to_string(port) + h.http_path;
    } else {
      c.type = registry::CheckType::kTcp;
      c.tcp = "127.0.0.1:" + std::to_string(port);
    }
    c.interval = std::chrono::milliseconds(h.interval_ms);
    c.timeout = std::chrono::milliseconds(h.timeout_ms);
    c.failures_before_critical = static_cast<int>(h.retries);
    def.checks.push_back(c);
  }
  return def;
}

// The proxy's configuration for the spec's routes: one cluster per routed service, fed by the
// registry (healthy instances only).
proxy::ProxyConfig ProxyFor(const deploy::Architecture& a, const std::string& registry) {
  proxy::ProxyConfig pc;
  pc.registry = registry;
  proxy::ListenerConfig l;
  l.name = "proxy";
  auto hp = net::ParseHostPort(a.platform.proxy_listen, "platform.proxy.listen");
  if (hp.ok()) {
    l.host = hp->first;
    l.port = hp->second;
  }
  std::set<std::string> clusters;
  for (const auto& r : a.routes) {
    proxy::RouteConfig rc;
    rc.host = r.host;
    rc.path_prefix = r.path_prefix;
    rc.cluster = r.service;
    rc.timeout_ms = r.timeout_ms;
    rc.retries.max_retries = r.retries;
    l.routes.push_back(rc);
    if (clusters.insert(r.service).second) {
      proxy::ClusterConfig c;
      c.name = r.service;
      c.service = r.service;
      c.policy = r.policy;
      pc.clusters.push_back(c);
    }
  }
  pc.listeners.push_back(l);
  return pc;
}

std::string Self() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "pier" : p.string();
}

int RunUp(UpFlags f) {
  if (Status s = InitLogging(f.log_level); !s.ok()) return Fail("up", s);
  auto spec = f.file.empty() ? deploy::ParseArchitecture(kDemoSpec, "built-in demo")
                             : deploy::LoadArchitecture(f.file);
  if (!spec.ok()) return Fail("up", spec.status());
  const deploy::Architecture& a = *spec;
  auto problems = deploy::Validate(a, {.capacity = deploy::Capacity::OfThisMachine()});
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << deploy::FormatProblem(p);
    return Fail("up", Status::InvalidArgument(std::to_string(problems.size()) +
                                              " problems in the spec (see pier validate)"));
  }
  for (const auto& s : a.services) {
    if (s.command.empty()) {
      return Fail("up", Status::InvalidArgument(
                            s.where + ": services." + s.name +
                            ": runs an image; pier up has only the process driver so far "
                            "(give the service a command)"));
    }
  }
  const std::string logs = f.data_dir + "/logs";
  std::filesystem::create_directories(logs);

  ServerRuntime rt(f.threads);
  registry::RegistryServerOptions ro;
  ro.data_dir = "";  // the services of this run only: nothing outlives it
  registry::RegistryServer registry(rt.pool(), ro);
  if (Status s = registry.Open(); !s.ok()) return Fail("up", s);
  proxy::ProxyServer proxy(rt.pool());
  std::function<Status()> no_reload = [] {
    return Status::InvalidArgument("pier up does not reload its spec; use pier deploy (planned)");
  };
  if (Status s = rt.ListenHttp(f.http,
                               [&](net::HttpServer& h) {
                                 registry.AddRoutes(h);
                                 proxy.AddAdminRoutes(h, no_reload);
                               });
      !s.ok()) {
    return Fail("up", s);
  }
  rt.Start();
  registry.Start();
  const std::string api = rt.http().address();
  if (Status s = proxy.Start(ProxyFor(a, api)); !s.ok()) return Fail("up", s);
  std::string line = "listening";
  for (const auto& [name, addr] : proxy.addresses()) line += " " + name + "=" + addr;
  std::cout << line << " http=" << api << std::endl;

  registry::Client client({.address = api});
  std::vector<Instance> instances;
  // Reverse start order. (No deregistration: the registry lives and dies with this process.)
  auto stop_all = [&] {
    for (auto it = instances.rbegin(); it != instances.rend(); ++it) {
      if (it->process) it->process->Stop(std::chrono::seconds(5));
    }
  };
  const auto wait = std::chrono::milliseconds(static_cast<int64_t>(f.wait_seconds * 1000));
  for (const deploy::Service* s : StartOrder(a)) {
    for (const auto& d : s->depends_on) {
      if (d.condition != deploy::Dependency::Condition::kHealthy) continue;
      std::cout << "waiting for " << d.service << " to be healthy" << std::endl;
      const auto until = std::chrono::steady_clock::now() + wait;
      for (;;) {
        auto h = client.Healthy(d.service);
        if (h.ok() && !h->empty()) break;
        if (std::chrono::steady_clock::now() > until) {
          stop_all();
          return Fail("up", Status::Unavailable(d.service + " did not become healthy within " +
                                                std::to_string(wait.count() / 1000) +
                                                " s; its logs are in " + logs));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the registry
      }
    }
    for (uint32_t i = 1; i <= s->replicas; ++i) {
      Instance inst;
      inst.service = s->name;
      inst.version = s->version;
      inst.id = s->name + "-" + std::to_string(i);
      inst.port = FreePort();
      std::vector<std::string> argv = s->command;
      if (argv[0] == "pier") argv[0] = Self();
      for (auto& arg : argv) {
        for (size_t p; (p = arg.find("${PORT}")) != std::string::npos;) {
          arg.replace(p, 7, std::to_string(inst.port));
        }
      }
      auto env = s->env;
      env["PORT"] = std::to_string(inst.port);
      env["PIER_SERVICE"] = s->name;
      env["PIER_VERSION"] = s->version;
      env["PIER_INSTANCE"] = inst.id;
      auto child = deploy::ChildProcess::Spawn(argv, env, logs + "/" + inst.id + ".log");
      if (!child.ok()) {
        stop_all();
        return Fail("up", Status(child.status().code(),
                                 "services." + s->name + ": " + child.status().message()));
      }
      inst.process = std::move(*child);
      if (Status st = client.Register(Registration(*s, inst)); !st.ok()) {
        stop_all();
        return Fail("up", st);
      }
      std::cout << "started " << inst.id << " (" << s->version << ") pid " << inst.process->pid()
                << " on 127.0.0.1:" << inst.port << std::endl;
      instances.push_back(std::move(inst));
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& inst : instances) {
    rows.push_back({inst.service, inst.version, inst.id, "127.0.0.1:" + std::to_string(inst.port),
                    std::to_string(inst.process->pid())});
  }
  PrintTable({}, {"service", "version", "instance", "address", "pid"}, rows);
  std::cout << "up: " << instances.size() << " instances of " << a.services.size()
            << " services; routes on " << a.platform.proxy_listen << " (Ctrl-C stops them)"
            << std::endl;
  rt.OnShutdown([&] {
    stop_all();
    proxy.Shutdown();
    registry.Shutdown();
  });
  rt.OnForceClose([&] { proxy.CloseAll(); });
  rt.CountConnections([&] { return proxy.active_connections(); });
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<UpFlags>();
  CLI::App* sub = app.add_subcommand(
      "up", "Run a system from its spec: registry, proxy and services (default: a built-in demo)");
  sub->add_option("file", f->file, "The spec (pier.yaml); none: the built-in demo");
  sub->add_option("--http", f->http, "Registry API and proxy admin HOST:PORT")
      ->capture_default_str();
  sub->add_option("--data-dir", f->data_dir, "Where service logs go (DIR/logs)")
      ->capture_default_str();
  sub->add_option("--wait", f->wait_seconds, "Seconds to wait for a healthy dependency")
      ->capture_default_str();
  sub->add_option("--threads", f->threads, "I/O threads (0: one per core)");
  sub->add_option("--log-level", f->log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  sub->add_option("--shutdown-timeout", f->shutdown_seconds,
                  "Seconds in-flight requests get on SIGTERM")
      ->capture_default_str();
  sub->callback([f, set_action] { set_action([f] { return RunUp(*f); }); });
}

}  // namespace pier::app
