// File: export.h
// Writes an architecture spec for other platforms: a Compose file (services with healthcheck,
// depends_on conditions, deploy.replicas and deploy.resources) and Kubernetes manifests (per
// service a ConfigMap for its env, a Deployment with a RollingUpdate strategy, probes and
// resources, and a Service). Each export lists what the target cannot express.
//   auto out = ExportCompose(arch);   write(out.text);   for (auto& u : out.unsupported) warn(u);
#pragma once

#include <string>
#include <vector>

#include "pier/deploy/spec.h"

namespace pier::deploy {

struct ExportResult {
  std::string text;                      // YAML (Kubernetes: documents separated by ---)
  std::vector<std::string> unsupported;  // one line each: what was left out and why
};

ExportResult ExportCompose(const Architecture& a);

struct KubernetesOptions {
  std::string max_surge = "25%";  // RollingUpdate, as Kubernetes' defaults
  std::string max_unavailable = "25%";
};
ExportResult ExportKubernetes(const Architecture& a, const KubernetesOptions& options = {});

}  // namespace pier::deploy
