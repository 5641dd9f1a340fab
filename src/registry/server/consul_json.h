// File: consul_json.h
// The registry's state in the JSON shapes of Consul's API responses (agent, catalog, health).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "pier/registry/types.h"

namespace pier::registry {

// The one node a pier registry presents itself as.
struct NodeInfo {
  std::string id;  // a UUID derived from the name
  std::string name;
  std::string address;
  std::string datacenter;
};
NodeInfo MakeNodeInfo(const std::string& name, const std::string& address,
                      const std::string& datacenter);

nlohmann::json AgentServiceJson(const ServiceDefinition& s, const NodeInfo& node);
nlohmann::json CheckJson(const CheckView& c, const NodeInfo& node);
// Consul's node check, always passing here (the registry is its own node).
nlohmann::json SerfCheckJson(const NodeInfo& node);
nlohmann::json NodeJson(const NodeInfo& node);
nlohmann::json CatalogServiceJson(const InstanceView& v, const NodeInfo& node);
nlohmann::json HealthServiceJson(const InstanceView& v, const NodeInfo& node);

}  // namespace pier::registry
