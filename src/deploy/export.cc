#include "pier/deploy/export.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>

namespace pier::deploy {

namespace {

std::string Cpus(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", c);
  return buf;
}

std::string GoSeconds(int64_t ms) {  // "5s", "1.5s", "250ms"
  char buf[32];
  if (ms % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  }
  return buf;
}

int64_t WholeSeconds(int64_t ms, int64_t min) {
  const int64_t s = (ms + 999) / 1000;
  return s < min ? min : s;
}

std::string ImageOf(const Service& s, std::vector<std::string>* unsupported) {
  if (!s.image.empty()) return s.image;
  unsupported->push_back("services." + s.name +
                         ": runs a command, not an image; the target needs an image, so it is "
                         "named pier-" +
                         s.name + ":" + s.version + " (build or set image:)");
  return "pier-" + s.name + ":" + s.version;
}

// What neither Compose nor Kubernetes has: pier's own platform parts, calls and routes.
void CommonGaps(const Architecture& a, const char* routes_hint,
                std::vector<std::string>* unsupported) {
  if (a.platform.registry || a.platform.proxy || a.platform.cache || a.platform.queue) {
    unsupported->push_back(
        "platform: the registry, proxy, cache and queue are pier's own; run `pier` as a service "
        "(pier registry / proxy / cache / queue) to keep them");
  }
  for (const auto& s : a.services) {
    if (!s.calls.empty()) {
      unsupported->push_back("services." + s.name +
                             ".calls: call timeouts and retries live in the caller (or the pier "
                             "proxy), not in the platform");
    }
  }
  if (!a.routes.empty()) {
    unsupported->push_back(std::string("routes: ") + routes_hint);
  }
}

void HealthTestCompose(YAML::Emitter& e, const HealthCheck& h, uint16_t port) {
  e << YAML::Key << "test" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  switch (h.kind) {
    case HealthCheck::Kind::kHttp:
      e << "CMD-SHELL"
        << "wget -q -O /dev/null http://127.0.0.1:" + std::to_string(port) + h.http_path +
               " || exit 1";
      break;
    case HealthCheck::Kind::kTcp:
      e << "CMD-SHELL"
        << "nc -z 127.0.0.1 " + std::to_string(port) + " || exit 1";
      break;
    case HealthCheck::Kind::kCommand:
      e << "CMD";
      for (const auto& a : h.command) e << a;
      break;
    case HealthCheck::Kind::kNone:
      break;
  }
  e << YAML::EndSeq;
}

// A Kubernetes name: lowercase letters, digits and '-'.
std::string K8sName(const std::string& name, std::vector<std::string>* unsupported) {
  std::string out;
  for (char c : name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) != 0) ? l : '-';
  }
  if (out != name) {
    unsupported->push_back("services." + name +
                           ": Kubernetes names are lowercase DNS labels; "
                           "named " +
                           out);
  }
  return out;
}

void Probe(YAML::Emitter& e, const char* key, const HealthCheck& h, uint16_t port,
           bool with_start) {
  e << YAML::Key << key << YAML::Value << YAML::BeginMap;
  switch (h.kind) {
    case HealthCheck::Kind::kHttp:
      e << YAML::Key << "httpGet" << YAML::Value << YAML::BeginMap << YAML::Key << "path"
        << YAML::Value << h.http_path << YAML::Key << "port" << YAML::Value << port << YAML::EndMap;
      break;
    case HealthCheck::Kind::kTcp:
      e << YAML::Key << "tcpSocket" << YAML::Value << YAML::BeginMap << YAML::Key << "port"
        << YAML::Value << port << YAML::EndMap;
      break;
    case HealthCheck::Kind::kCommand:
      e << YAML::Key << "exec" << YAML::Value << YAML::BeginMap << YAML::Key << "command"
        << YAML::Value << h.command << YAML::EndMap;
      break;
    case HealthCheck::Kind::kNone:
      break;
  }
  e << YAML::Key << "periodSeconds" << YAML::Value << WholeSeconds(h.interval_ms, 1);
  e << YAML::Key << "timeoutSeconds" << YAML::Value << WholeSeconds(h.timeout_ms, 1);
  e << YAML::Key << "failureThreshold" << YAML::Value << h.retries;
  if (with_start) {
    e << YAML::Key << "initialDelaySeconds" << YAML::Value << WholeSeconds(h.start_period_ms, 0);
  }
  e << YAML::EndMap;
}

void Labels(YAML::Emitter& e, const std::string& app, const std::string& name,
            const std::string& version) {
  e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "app.kubernetes.io/name" << YAML::Value << name;
  e << YAML::Key << "app.kubernetes.io/part-of" << YAML::Value << app;
  if (!version.empty()) e << YAML::Key << "app.kubernetes.io/version" << YAML::Value << version;
  e << YAML::EndMap;
}

}  // namespace

ExportResult ExportCompose(const Architecture& a) {
  ExportResult r;
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "services" << YAML::Value << YAML::BeginMap;
  for (const auto& s : a.services) {
    e << YAML::Key << s.name << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "image" << YAML::Value << ImageOf(s, &r.unsupported);
    if (!s.command.empty()) e << YAML::Key << "command" << YAML::Value << s.command;
    if (!s.ports.empty()) {
      e << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
      for (const auto& p : s.ports) {
        e << YAML::DoubleQuoted
          << (p.host ? std::to_string(p.host) + ":" : "") + std::to_string(p.container);
      }
      e << YAML::EndSeq;
    }
    if (!s.env.empty()) e << YAML::Key << "environment" << YAML::Value << s.env;
    e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "io.pier.version"
      << YAML::Value << s.version << YAML::EndMap;
    if (s.pids > 0) e << YAML::Key << "pids_limit" << YAML::Value << s.pids;
    if (s.restart != "no") e << YAML::Key << "restart" << YAML::Value << s.restart;
    if (s.update.strategy != UpdatePolicy::Strategy::kRolling) {
      r.unsupported.push_back("services." + s.name +
                              ".update: Compose replaces containers in "
                              "place; " +
                              StrategyName(s.update.strategy) +
                              " needs pier deploy (or a proxy that splits traffic)");
    }
    if (s.health.kind != HealthCheck::Kind::kNone) {
      e << YAML::Key << "healthcheck" << YAML::Value << YAML::BeginMap;
      HealthTestCompose(e, s.health, ProbePort(s));
      e << YAML::Key << "interval" << YAML::Value << GoSeconds(s.health.interval_ms);
      e << YAML::Key << "timeout" << YAML::Value << GoSeconds(s.health.timeout_ms);
      e << YAML::Key << "retries" << YAML::Value << s.health.retries;
      e << YAML::Key << "start_period" << YAML::Value << GoSeconds(s.health.start_period_ms);
      e << YAML::EndMap;
    }
    if (!s.depends_on.empty()) {
      e << YAML::Key << "depends_on" << YAML::Value << YAML::BeginMap;
      for (const auto& d : s.depends_on) {
        e << YAML::Key << d.service << YAML::Value << YAML::BeginMap << YAML::Key << "condition"
          << YAML::Value
          << (d.condition == Dependency::Condition::kHealthy ? "service_healthy"
                                                             : "service_started")
          << YAML::EndMap;
      }
      e << YAML::EndMap;
    }
    e << YAML::Key << "deploy" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "replicas" << YAML::Value << s.replicas;
    if (s.cpu > 0 || s.memory > 0) {
      e << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits"
        << YAML::Value << YAML::BeginMap;
      if (s.cpu > 0) e << YAML::Key << "cpus" << YAML::Value << YAML::DoubleQuoted << Cpus(s.cpu);
      if (s.memory > 0) {
        e << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted
          << std::to_string(s.memory) + "b";
      }
      e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndMap;  // deploy
    e << YAML::EndMap;  // service
  }
  e << YAML::EndMap << YAML::EndMap;
  CommonGaps(a, "Compose has no HTTP routing; put `pier proxy` (or another proxy) in front",
             &r.unsupported);
  r.text =
      std::string("# Compose file for '") + a.name + "', exported by pier\n" + e.c_str() + "\n";
  return r;
}

ExportResult ExportKubernetes(const Architecture& a, const KubernetesOptions& o) {
  ExportResult r;
  std::string out = "# Kubernetes manifests for '" + a.name + "', exported by pier\n";
  for (const auto& s : a.services) {
    const std::string name = K8sName(s.name, &r.unsupported);
    const std::string image = ImageOf(s, &r.unsupported);
    if (!s.env.empty()) {
      YAML::Emitter cm;
      cm << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key
         << "kind" << YAML::Value << "ConfigMap" << YAML::Key << "metadata" << YAML::Value
         << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name + "-env";
      Labels(cm, a.name, name, "");
      cm << YAML::EndMap << YAML::Key << "data" << YAML::Value << s.env << YAML::EndMap;
      out += std::string("---\n") + cm.c_str() + "\n";
    }
    if (s.update.strategy != UpdatePolicy::Strategy::kRolling) {
      r.unsupported.push_back("services." + s.name + ".update: a Deployment rolls; " +
                              StrategyName(s.update.strategy) +
                              " needs two Deployments and a traffic split (a service mesh or "
                              "pier proxy)");
    }
    YAML::Emitter d;
    d << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "apps/v1" << YAML::Key
      << "kind" << YAML::Value << "Deployment" << YAML::Key << "metadata" << YAML::Value
      << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
    Labels(d, a.name, name, s.version);
    d << YAML::EndMap;
    d << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    d << YAML::Key << "replicas" << YAML::Value << s.replicas;
    d << YAML::Key << "strategy" << YAML::Value << YAML::BeginMap << YAML::Key << "type"
      << YAML::Value << "RollingUpdate" << YAML::Key << "rollingUpdate" << YAML::Value
      << YAML::BeginMap << YAML::Key << "maxSurge" << YAML::Value << o.max_surge << YAML::Key
      << "maxUnavailable" << YAML::Value << o.max_unavailable << YAML::EndMap << YAML::EndMap;
    d << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "matchLabels"
      << YAML::Value << YAML::BeginMap << YAML::Key << "app.kubernetes.io/name" << YAML::Value
      << name << YAML::EndMap << YAML::EndMap;
    d << YAML::Key << "template" << YAML::Value << YAML::BeginMap << YAML::Key << "metadata"
      << YAML::Value << YAML::BeginMap;
    Labels(d, a.name, name, s.version);
    d << YAML::EndMap << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    d << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    d << YAML::Key << "name" << YAML::Value << name << YAML::Key << "image" << YAML::Value << image;
    if (!s.command.empty()) d << YAML::Key << "command" << YAML::Value << s.command;
    if (!s.ports.empty()) {
      d << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
      for (const auto& p : s.ports) {
        d << YAML::BeginMap << YAML::Key << "containerPort" << YAML::Value << p.container
          << YAML::EndMap;
        if (p.host != 0) {
          r.unsupported.push_back("services." + s.name + ".ports: host port " +
                                  std::to_string(p.host) +
                                  " is not published; use a NodePort or LoadBalancer Service");
        }
      }
      d << YAML::EndSeq;
    }
    if (!s.env.empty()) {
      d << YAML::Key << "envFrom" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
        << "configMapRef" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value
        << name + "-env" << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
    }
    if (s.cpu > 0 || s.memory > 0) {
      d << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
      for (const char* k : {"requests", "limits"}) {
        d << YAML::Key << k << YAML::Value << YAML::BeginMap;
        if (s.cpu > 0) d << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << Cpus(s.cpu);
        if (s.memory > 0) {
          d << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted
            << std::to_string(s.memory);
        }
        d << YAML::EndMap;
      }
      d << YAML::EndMap;
    }
    if (s.pids > 0) {
      r.unsupported.push_back("services." + s.name +
                              ".resources.pids: Kubernetes limits pids per node (kubelet "
                              "podPidsLimit), not per container");
    }
    if (s.health.kind != HealthCheck::Kind::kNone) {
      Probe(d, "readinessProbe", s.health, ProbePort(s), true);
      Probe(d, "livenessProbe", s.health, ProbePort(s), true);
    }
    d << YAML::EndMap << YAML::EndSeq;  // container, containers
    d << YAML::EndMap << YAML::EndMap;  // pod spec, template
    d << YAML::EndMap << YAML::EndMap;  // spec, deployment
    out += std::string("---\n") + d.c_str() + "\n";
    if (!s.ports.empty()) {
      YAML::Emitter svc;
      svc << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key
          << "kind" << YAML::Value << "Service" << YAML::Key << "metadata" << YAML::Value
          << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
      Labels(svc, a.name, name, "");
      svc << YAML::EndMap << YAML::Key << "spec" << YAML::Value << YAML::BeginMap << YAML::Key
          << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "app.kubernetes.io/name"
          << YAML::Value << name << YAML::EndMap << YAML::Key << "ports" << YAML::Value
          << YAML::BeginSeq;
      for (const auto& p : s.ports) {
        svc << YAML::BeginMap << YAML::Key << "name" << YAML::Value
            << "p" + std::to_string(p.container) << YAML::Key << "port" << YAML::Value
            << p.container << YAML::Key << "targetPort" << YAML::Value << p.container
            << YAML::EndMap;
      }
      svc << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
      out += std::string("---\n") + svc.c_str() + "\n";
    }
    if (!s.depends_on.empty()) {
      r.unsupported.push_back("services." + s.name +
                              ".depends_on: Kubernetes has no start order; readiness probes "
                              "keep traffic away until a dependency is up");
    }
  }
  CommonGaps(a, "write an Ingress (or run `pier proxy` in the cluster)", &r.unsupported);
  r.text = std::move(out);
  return r;
}

}  // namespace pier::deploy
