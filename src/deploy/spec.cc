#include "pier/deploy/spec.h"

#include <charconv>
#include <fstream>
#include <iterator>

#include "pier/base/config.h"
#include "pier/base/memory_units.h"
#include "pier/base/strings.h"

namespace pier::deploy {

namespace {

bool ParsePort(std::string_view s, uint16_t* out) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

void ReadPorts(ConfigSection& s, Service& svc) {
  std::vector<std::string> ports;
  s.Read("ports", &ports);
  for (const auto& p : ports) {
    PortMapping m;
    const size_t colon = p.find(':');
    const bool ok = colon == std::string::npos
                        ? ParsePort(p, &m.container)
                        : ParsePort(std::string_view(p).substr(0, colon), &m.host) &&
                              ParsePort(std::string_view(p).substr(colon + 1), &m.container);
    if (!ok) {
      s.Error("ports", "'" + p + "': write CONTAINER_PORT or HOST_PORT:CONTAINER_PORT (1-65535)");
      continue;
    }
    svc.ports.push_back(m);
  }
}

void ReadResources(ConfigSection r, Service& svc) {
  r.Read("cpu", &svc.cpu);
  if (svc.cpu < 0 || svc.cpu > 1024) r.Error("cpu", "must be from 0 to 1024 cores");
  std::string memory;
  r.Read("memory", &memory);
  if (!memory.empty()) {
    auto m = ParseMemory(memory);
    if (!m.ok()) {
      r.Error("memory", m.status().message() + " (write e.g. 256mb, 1gb)");
    } else {
      svc.memory = *m;
    }
  }
  r.Read("pids", &svc.pids, 0, 1u << 22);
}

void ReadHealth(ConfigSection h, HealthCheck& hc) {
  const int kinds = h.Has("http") + h.Has("tcp") + h.Has("command");
  if (kinds > 1) h.Error("http", "a health check is one of http, tcp or command");
  if (h.Has("http")) {
    hc.kind = HealthCheck::Kind::kHttp;
    h.Read("http", &hc.http_path);
    if (hc.http_path.empty() || hc.http_path[0] != '/') h.Error("http", "a path starting with '/'");
    uint64_t port = 0;  // 0: the instance's own port (PORT)
    h.Read("port", &port, 1, 65535);
    hc.port = static_cast<uint16_t>(port);
  } else if (h.Has("tcp")) {
    hc.kind = HealthCheck::Kind::kTcp;
    uint64_t port = 0;
    h.Read("tcp", &port, 1, 65535);
    hc.port = static_cast<uint16_t>(port);
  } else if (h.Has("command")) {
    hc.kind = HealthCheck::Kind::kCommand;
    h.Read("command", &hc.command);
    if (hc.command.empty()) h.Error("command", "give the command and its arguments");
  }
  h.ReadDurationMs("interval", &hc.interval_ms, 100, 86400000);
  h.ReadDurationMs("timeout", &hc.timeout_ms, 1, 3600000);
  h.ReadDurationMs("start_period", &hc.start_period_ms, 0, 86400000);
  h.Read("retries", &hc.retries, 1, 1000);
}

void ReadUpdate(ConfigSection u, UpdatePolicy& p) {
  std::string strategy = StrategyName(p.strategy);
  u.Read("strategy", &strategy);
  if (strategy == "rolling") {
    p.strategy = UpdatePolicy::Strategy::kRolling;
  } else if (strategy == "blue-green") {
    p.strategy = UpdatePolicy::Strategy::kBlueGreen;
  } else if (strategy == "canary") {
    p.strategy = UpdatePolicy::Strategy::kCanary;
  } else {
    u.Error("strategy", "use rolling, blue-green or canary, got '" + strategy + "'");
  }
  u.Read("max_surge", &p.max_surge, 0, 1000);
  u.Read("max_unavailable", &p.max_unavailable, 0, 1000);
  if (p.max_surge == 0 && p.max_unavailable == 0) {
    u.Error("max_surge", "max_surge and max_unavailable cannot both be 0 (nothing could move)");
  }
  u.ReadDurationMs("min_ready", &p.min_ready_ms, 0, 3600000);
  u.ReadDurationMs("progress_deadline", &p.progress_deadline_ms, 1000, 86400000);
  if (u.Has("steps")) {
    std::vector<std::string> steps;
    u.Read("steps", &steps);
    p.steps.clear();
    for (const auto& text : steps) {
      uint32_t v = 0;
      const bool number =
          std::from_chars(text.data(), text.data() + text.size(), v).ec == std::errc();
      if (!number || v == 0 || v > 100 || (!p.steps.empty() && v <= p.steps.back())) {
        u.Error("steps", "percents must rise from 1 to 100, e.g. [5, 25, 50, 100]");
        break;
      }
      p.steps.push_back(static_cast<uint32_t>(v));
    }
    if (p.steps.empty() || p.steps.back() != 100) u.Error("steps", "the last step must be 100");
  }
  u.ReadDurationMs("step_time", &p.step_ms, 100, 86400000);
  u.Read("max_error_rate", &p.max_error_rate);
  if (p.max_error_rate < 0 || p.max_error_rate > 100) {
    u.Error("max_error_rate", "percentage points from 0 to 100");
  }
  u.Read("max_p99_ratio", &p.max_p99_ratio);
  if (p.max_p99_ratio < 1) u.Error("max_p99_ratio", "must be at least 1");
  u.Read("min_requests", &p.min_requests, 1, 1000000000);
}

Service ReadService(ConfigSection s, const std::string& name) {
  Service svc;
  svc.name = name;
  svc.where = s.Where();
  if (Status st = CheckName("service name", name); !st.ok()) s.Error("", st.message());
  s.Read("version", &svc.version);
  if (!svc.version.empty()) {
    if (Status st = CheckName("version", svc.version); !st.ok()) s.Error("version", st.message());
  }
  s.Read("image", &svc.image);
  s.Read("command", &svc.command);
  if (svc.image.empty() && svc.command.empty()) {
    s.Error("command", "a service runs an image or a command (give one)");
  }
  s.Read("replicas", &svc.replicas, 0, 1000);
  ReadPorts(s, svc);
  auto env = s.Section("env");
  for (const auto& k : env.Keys()) env.Read(k, &svc.env[k]);
  ReadResources(s.Section("resources"), svc);
  ReadHealth(s.Section("health"), svc.health);
  auto deps = s.Section("depends_on");
  for (const auto& k : deps.Keys()) {
    auto d = deps.Section(k);
    Dependency dep;
    dep.service = k;
    dep.where = d.Where();
    std::string condition = "started";
    d.Read("condition", &condition);
    if (condition == "healthy" || condition == "service_healthy") {
      dep.condition = Dependency::Condition::kHealthy;
    } else if (condition != "started" && condition != "service_started") {
      d.Error("condition", "use started or healthy, got '" + condition + "'");
    }
    svc.depends_on.push_back(dep);
  }
  for (auto c : s.List("calls")) {
    Call call;
    call.where = c.Where();
    c.Read("service", &call.service);
    if (call.service.empty()) c.Error("service", "a call names the service it calls");
    c.ReadDurationMs("timeout", &call.timeout_ms, 1, 86400000);
    c.Read("retries", &call.retries, 0, 100);
    svc.calls.push_back(call);
  }
  s.Read("restart", &svc.restart);
  if (svc.restart != "no" && svc.restart != "always" && svc.restart != "on-failure" &&
      svc.restart != "unless-stopped") {
    s.Error("restart", "use no, always, on-failure or unless-stopped, got '" + svc.restart + "'");
  }
  ReadUpdate(s.Section("update"), svc.update);
  return svc;
}

}  // namespace

const char* StrategyName(UpdatePolicy::Strategy s) {
  switch (s) {
    case UpdatePolicy::Strategy::kRolling:
      return "rolling";
    case UpdatePolicy::Strategy::kBlueGreen:
      return "blue-green";
    case UpdatePolicy::Strategy::kCanary:
      return "canary";
  }
  return "?";
}

uint16_t ProbePort(const Service& s) {
  if (s.health.port != 0) return s.health.port;
  return s.ports.empty() ? 80 : s.ports.front().container;
}

const Service* Architecture::Find(const std::string& name) const {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<Architecture> ParseArchitecture(std::string_view text, const std::string& name) {
  auto doc = ConfigDocument::LoadString(text, name);
  if (!doc.ok()) return doc.status();
  auto root = (*doc)->Root();
  Architecture a;
  root.Read("name", &a.name);
  if (!a.name.empty()) {
    if (Status st = CheckName("system name", a.name); !st.ok()) root.Error("name", st.message());
  }
  auto p = root.Section("platform");
  p.Read("registry", &a.platform.registry);
  a.platform.proxy = true;
  auto proxy = p.Section("proxy");
  proxy.Read("enabled", &a.platform.proxy);
  proxy.Read("listen", &a.platform.proxy_listen);
  p.Read("resp", &a.platform.resp_listen);
  if (p.Has("cache")) {
    auto c = p.Section("cache");
    a.platform.cache = true;
    c.Read("enabled", &a.platform.cache);
    c.Read("policy", &a.platform.cache_policy);
    std::string memory;
    c.Read("memory", &memory);
    if (!memory.empty()) {
      auto m = ParseMemory(memory);
      if (!m.ok()) c.Error("memory", m.status().message());
      a.platform.cache_memory = m.ok() ? *m : 0;
    }
  }
  if (p.Has("queue")) {
    auto q = p.Section("queue");
    a.platform.queue = true;
    q.Read("enabled", &a.platform.queue);
    q.Read("topics", &a.platform.queue_topics);
  }
  auto services = root.Section("services");
  for (const auto& k : services.Keys()) a.services.push_back(ReadService(services.Section(k), k));
  if (a.services.empty()) root.Error("services", "a system needs at least one service");
  for (auto r : root.List("routes")) {
    Route route;
    route.where = r.Where();
    r.Read("host", &route.host);
    r.Read("path_prefix", &route.path_prefix);
    if (route.path_prefix.empty() || route.path_prefix[0] != '/') {
      r.Error("path_prefix", "must start with '/'");
    }
    r.Read("service", &route.service);
    if (route.service.empty()) r.Error("service", "a route names the service it sends to");
    r.Read("policy", &route.policy);
    r.ReadDurationMs("timeout", &route.timeout_ms, 1, 86400000);
    r.Read("retries", &route.retries, 0, 10);
    a.routes.push_back(route);
  }
  if (Status st = (*doc)->Finish(); !st.ok()) return st;
  return a;
}

Result<Architecture> LoadArchitecture(const std::string& path) {
  auto doc = ConfigDocument::LoadFile(path);  // size limit and error text as every config
  if (!doc.ok()) return doc.status();
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseArchitecture(text, path);
}

}  // namespace pier::deploy
