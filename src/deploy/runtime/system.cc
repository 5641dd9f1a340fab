#include "pier/deploy/runtime/system.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "pier/base/clock.h"
#include "pier/net/tcp_listener.h"

namespace pier::deploy::runtime {

namespace {

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

std::string ClusterOf(const std::string& service, const std::string& version) {
  return service + "@" + version;
}

const char* HealthName(registry::HealthStatus s) {
  switch (s) {
    case registry::HealthStatus::kPassing:
      return "passing";
    case registry::HealthStatus::kWarning:
      return "warning";
    case registry::HealthStatus::kCritical:
      return "critical";
    default:
      return "maintenance";
  }
}

}  // namespace

System::System(deploy::Driver& driver, registry::Client& registry, proxy::ProxyServer& proxy,
               SystemOptions options)
    : driver_(driver), registry_(registry), proxy_(proxy), options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = [] { return SteadyNowMs(); };
}

System::~System() {
  stopping_ = true;
  wake_.notify_all();
  if (rollout_.joinable()) rollout_.join();
}

void System::LogIfFailed(const std::string& what, const Status& s) {
  if (!s.ok()) Log(what + " failed: " + s.message());
}

void System::Log(const std::string& line) {
  std::cout << line << std::endl;
  std::lock_guard l(log_mu_);
  log_.push_back(line);
}

bool System::Pause(int64_t ms) {
  std::unique_lock l(wake_mu_);
  wake_.wait_for(l, std::chrono::milliseconds(ms), [this] { return abort_ || stopping_; });
  return !abort_ && !stopping_;
}

Result<System::Instance> System::StartInstance(const deploy::Service& s) {
  Instance inst;
  {
    std::lock_guard l(mu_);
    inst.id = s.name + "-" + s.version + "-" + std::to_string(++serial_[s.name]);
  }
  inst.host_port = FreePort();
  deploy::InstanceSpec spec;
  spec.id = inst.id;
  spec.service = s.name;
  spec.version = s.version;
  spec.image = s.image;
  spec.command = s.command;
  spec.cpu = s.cpu;
  spec.memory = s.memory;
  spec.pids = s.pids;
  spec.health = s.health;
  spec.restart = s.restart;
  spec.host_port = inst.host_port;
  // A process listens where pier reaches it; a container on its own port, published.
  const bool container = driver_.name() == "docker";
  spec.port = container ? deploy::ProbePort(s) : inst.host_port;
  if (!spec.command.empty() && spec.command[0] == "pier" && !container) {
    spec.command[0] = options_.self;
  }
  spec.env = options_.env;
  for (const auto& [k, v] : s.env) spec.env[k] = v;
  spec.env["PORT"] = std::to_string(spec.port);
  spec.env["PIER_SERVICE"] = s.name;
  if (spec.env.count("OTEL_EXPORTER_OTLP_ENDPOINT") && !s.env.count("OTEL_SERVICE_NAME")) {
    spec.env["OTEL_SERVICE_NAME"] = s.name;  // OpenTelemetry SDKs name their spans by it
  }
  spec.env["PIER_VERSION"] = s.version;
  spec.env["PIER_INSTANCE"] = inst.id;
  for (const auto& [name, addr] : proxy_.addresses()) {
    if (name == "proxy") spec.env["PIER_PROXY"] = addr;  // where one service calls another
  }
  // ${NAME} in the command is the instance's variable NAME (PORT, PIER_PROXY...), as Compose
  // interpolates; an unknown name stays as it is.
  for (auto& arg : spec.command) {
    for (size_t at = 0; (at = arg.find("${", at)) != std::string::npos;) {
      const size_t end = arg.find('}', at);
      if (end == std::string::npos) break;
      const auto var = spec.env.find(arg.substr(at + 2, end - at - 2));
      if (var == spec.env.end()) {
        at = end;
        continue;
      }
      arg.replace(at, end - at + 1, var->second);
      at += var->second.size();
    }
  }
  if (Status st = driver_.Start(spec); !st.ok()) return st;

  registry::ServiceDefinition def;
  def.id = inst.id;
  def.name = s.name;
  def.address = "127.0.0.1";
  def.port = inst.host_port;
  def.tags = {s.version};
  def.meta["version"] = s.version;
  const auto& h = s.health;
  if (h.kind == deploy::HealthCheck::Kind::kHttp || h.kind == deploy::HealthCheck::Kind::kTcp) {
    registry::CheckDefinition c;
    // A process's check port is literal; a container's is reached through the published port.
    const uint16_t port = (h.port != 0 && !container) ? h.port : inst.host_port;
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
  if (Status st = registry_.Register(def); !st.ok()) {
    LogIfFailed("stopping " + inst.id, driver_.Stop(inst.id, std::chrono::seconds(5)));
    return st;
  }
  auto state = driver_.Inspect(inst.id);
  Log("started " + inst.id + " (" + s.version + ", " + driver_.name() + " " +
      (state.ok() ? state->handle : "?") + ") on 127.0.0.1:" + std::to_string(inst.host_port) +
      (state.ok() && !state->limits.empty() && state->limits != "none asked"
           ? "; limits " + state->limits
           : ""));
  return inst;
}

void System::StopInstance(const Instance& inst) {
  // The proxy stops sending it new requests.
  LogIfFailed("deregistering " + inst.id, registry_.Deregister(inst.id));
  Pause(300);  // requests in flight finish (the watch and in-flight requests settle)
  LogIfFailed("stopping " + inst.id, driver_.Stop(inst.id, std::chrono::seconds(10)));
  Log("stopped " + inst.id);
}

void System::StopVersion(const std::string& service, const std::string& version) {
  std::vector<Instance> doomed;
  {
    std::lock_guard l(mu_);
    auto& st = services_[service];
    auto it = st.versions.find(version);
    if (it == st.versions.end()) return;
    doomed = std::move(it->second.instances);
    st.versions.erase(it);
    if (st.standby == version) st.standby.clear();
  }
  LogIfFailed("updating the proxy's routes", ApplyTraffic());
  for (const auto& inst : doomed) StopInstance(inst);
}

std::string System::LastLogLine(const std::string& instance_id) {
  auto logs = driver_.Logs(instance_id, 4096);
  if (!logs.ok() || logs->empty()) return "";
  std::string text = *logs;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

proxy::ProxyConfig System::ProxyFor() const {
  proxy::ProxyConfig pc;
  pc.registry = options_.registry_address;
  pc.registry_token = options_.registry_token;
  pc.registry_tls = options_.registry_tls;
  proxy::ListenerConfig l;
  l.name = "proxy";
  auto hp = net::ParseHostPort(spec_.platform.proxy_listen, "platform.proxy.listen");
  if (hp.ok()) {
    l.host = hp->first;
    l.port = hp->second;
  }
  std::set<std::string> clusters;
  for (const auto& r : spec_.routes) {
    proxy::RouteConfig rc;
    rc.name = r.host + r.path_prefix;
    rc.host = r.host;
    rc.path_prefix = r.path_prefix;
    rc.timeout_ms = r.timeout_ms;
    rc.retries.max_retries = r.retries;
    auto st = services_.find(r.service);
    uint64_t total = 0;
    if (st != services_.end()) {
      for (const auto& [version, set] : st->second.versions) {
        const std::string name = ClusterOf(r.service, version);
        rc.split.push_back({name, set.weight});
        total += set.weight;
        if (clusters.insert(name).second) {
          proxy::ClusterConfig c;
          c.name = name;
          c.service = r.service;
          c.tags = {version};
          c.policy = r.policy;
          pc.clusters.push_back(c);
        }
      }
    }
    if (rc.split.empty()) {  // not started yet: a cluster of every version, empty for now
      const std::string name = r.service;
      rc.split.push_back({name, 1});
      if (clusters.insert(name).second) {
        proxy::ClusterConfig c;
        c.name = name;
        c.service = r.service;
        c.policy = r.policy;
        pc.clusters.push_back(c);
      }
    } else if (total == 0) {
      for (auto& w : rc.split) w.weight = 1;  // nothing serves yet: no version is preferred
    }
    l.routes.push_back(rc);
  }
  pc.listeners.push_back(l);
  return pc;
}

Status System::ApplyTraffic() {
  proxy::ProxyConfig pc;
  {
    std::lock_guard l(mu_);
    pc = ProxyFor();
  }
  if (!proxy_started_) {
    proxy_started_ = true;
    return proxy_.Start(pc);
  }
  return proxy_.Reload(pc);
}

std::set<std::string> System::PassingIds(const std::string& service, const std::string& version) {
  std::set<std::string> ids;
  auto h = registry_.Healthy(service, {.passing_only = true, .tags = {version}});
  if (h.ok()) {
    for (const auto& i : *h) ids.insert(i.id);
  }
  return ids;
}

size_t System::CountReady(const std::string& service, const std::string& version,
                          int64_t min_ready_ms) {
  const auto passing = PassingIds(service, version);
  const int64_t now = Now();
  std::lock_guard l(mu_);
  auto& st = services_[service];
  auto it = st.versions.find(version);
  if (it == st.versions.end()) return 0;
  size_t ready = 0;
  for (auto& inst : it->second.instances) {
    if (!passing.count(inst.id)) {
      inst.ready_since_ms = 0;
      continue;
    }
    if (inst.ready_since_ms == 0) inst.ready_since_ms = now;
    if (now - inst.ready_since_ms >= min_ready_ms) ++ready;
  }
  return ready;
}

bool System::WaitProxyHosts(const std::string& cluster, size_t n,
                            std::chrono::milliseconds within) {
  const int64_t until = Now() + within.count();
  for (;;) {
    auto t = proxy_.ClusterTotals(cluster);
    if (t.ok() && t->hosts >= n) return true;
    if (Now() > until || !Pause(50)) return false;
  }
}

deploy::Window System::Reading(const std::string& cluster,
                               const proxy::ProxyServer::Totals& since) {
  deploy::Window w;
  auto now = proxy_.ClusterTotals(cluster);
  if (!now.ok()) return w;
  auto sub = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  w.requests = sub(now->requests, since.requests);
  w.errors = sub(now->errors, since.errors);
  metrics::Histogram::Counts diff{};
  for (size_t i = 0; i < diff.size(); ++i) diff[i] = sub(now->latency_us[i], since.latency_us[i]);
  w.p99_us = metrics::Histogram::QuantileOf(diff, 0.99);
  return w;
}

Status System::StartProxy(const deploy::Architecture& a) {
  {
    std::lock_guard l(mu_);
    spec_ = a;
  }
  return ApplyTraffic();
}

std::vector<const deploy::Service*> System::StartOrder(const std::vector<deploy::Service>& all) {
  // Each after what it depends on; validation rejected cycles, and a dependency that is not in
  // `all` already runs.
  std::set<std::string> placed;
  std::vector<const deploy::Service*> order;
  for (bool progress = true; progress && order.size() < all.size();) {
    progress = false;
    for (const auto& s : all) {
      if (placed.count(s.name)) continue;
      bool ready = true;
      for (const auto& d : s.depends_on) {
        const bool listed = std::any_of(
            all.begin(), all.end(), [&](const deploy::Service& o) { return o.name == d.service; });
        ready = ready && (!listed || placed.count(d.service));
      }
      if (ready) {
        order.push_back(&s);
        placed.insert(s.name);
        progress = true;
      }
    }
  }
  return order;
}

Status System::WaitDependencies(const deploy::Service& s) {
  for (const auto& d : s.depends_on) {
    if (d.condition != deploy::Dependency::Condition::kHealthy) continue;
    Log("waiting for " + d.service + " to be healthy");
    const int64_t until = Now() + options_.wait.count();
    std::string version;
    {
      std::lock_guard l(mu_);
      version = services_[d.service].stable;
    }
    while (CountReady(d.service, version, 0) == 0) {
      if (Now() > until || !Pause(100)) {
        return Status::Unavailable(d.service + " did not become healthy within " +
                                   std::to_string(options_.wait.count() / 1000) +
                                   " s; its logs are in " + options_.log_dir);
      }
    }
  }
  return Status::Ok();
}

Status System::Up() {
  deploy::Architecture a;
  {
    std::lock_guard l(mu_);
    a = spec_;
  }
  for (const deploy::Service* s : StartOrder(a.services)) {
    PIER_RETURN_IF_ERROR(WaitDependencies(*s));
    {
      std::lock_guard l(mu_);
      auto& st = services_[s->name];
      st.stable = s->version;
      st.versions[s->version].spec = *s;
      st.versions[s->version].weight = 100;
      order_.push_back(s->name);
    }
    for (uint32_t i = 0; i < s->replicas; ++i) {
      auto inst = StartInstance(*s);
      if (!inst.ok()) return inst.status();
      std::lock_guard l(mu_);
      services_[s->name].versions[s->version].instances.push_back(*inst);
    }
    if (Status st = ApplyTraffic(); !st.ok()) return st;
  }
  return Status::Ok();
}

void System::Supervise() {
  for (const auto& e : driver_.Supervise()) Log(e);
  Refresh();
}

void System::Refresh() {
  auto d = Describe();
  std::lock_guard l(snapshot_mu_);
  snapshot_ = std::move(d);
}

nlohmann::json System::Snapshot() {
  nlohmann::json out;
  {
    std::lock_guard l(snapshot_mu_);
    out = snapshot_;
  }
  std::lock_guard l(log_mu_);
  out["deploy"] = state_;  // the rollout's state is always current
  return out;
}

void System::StopAll() {
  stopping_ = true;
  wake_.notify_all();
  if (rollout_.joinable()) rollout_.join();
  std::vector<std::string> order;
  {
    std::lock_guard l(mu_);
    order = order_;
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::vector<Instance> all;
    {
      std::lock_guard l(mu_);
      for (auto& [_, set] : services_[*it].versions) {
        for (auto& inst : set.instances) all.push_back(inst);
      }
      services_[*it].versions.clear();
    }
    for (const auto& inst : all) {
      LogIfFailed("stopping " + inst.id, driver_.Stop(inst.id, std::chrono::seconds(5)));
    }
  }
}

nlohmann::json System::Describe() {
  std::map<std::string, ServiceState> services;
  std::vector<std::string> order;
  std::string name;
  {
    std::lock_guard l(mu_);
    services = services_;
    order = order_;
    name = spec_.name;
  }
  nlohmann::json out = {
      {"system", name}, {"driver", driver_.name()}, {"platform", options_.platform}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& svc : order) {
    const ServiceState& st = services[svc];
    std::map<std::string, registry::HealthStatus> health;
    if (auto all = registry_.All(svc); all.ok()) {
      for (const auto& i : *all) health[i.id] = i.status;
    }
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& [version, set] : st.versions) {
      nlohmann::json instances = nlohmann::json::array();
      for (const auto& inst : set.instances) {
        nlohmann::json j = {{"id", inst.id},
                            {"address", "127.0.0.1:" + std::to_string(inst.host_port)}};
        auto h = health.find(inst.id);
        j["health"] = h == health.end() ? "unregistered" : HealthName(h->second);
        if (auto s = driver_.Inspect(inst.id); s.ok()) {
          j["running"] = s->running;
          j["restarts"] = s->restarts;
          j["handle"] = s->handle;
          j["limits"] = s->limits;
        }
        instances.push_back(j);
      }
      versions.push_back({{"version", version},
                          {"weight", set.weight},
                          {"replicas", set.spec.replicas},
                          {"instances", instances}});
    }
    list.push_back(
        {{"name", svc},
         {"stable", st.stable},
         {"standby", st.standby},
         {"strategy", deploy::StrategyName(st.versions.count(st.stable)
                                               ? st.versions.at(st.stable).spec.update.strategy
                                               : deploy::UpdatePolicy::Strategy::kRolling)},
         {"versions", versions}});
  }
  out["services"] = list;
  std::lock_guard l(log_mu_);
  out["deploy"] = state_;
  return out;
}

}  // namespace pier::deploy::runtime
