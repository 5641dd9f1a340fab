#include "registry/server/consul_json.h"

#include <fmt/format.h>

#include "pier/base/hash.h"
#include "registry/definition_json.h"

namespace pier::registry {

using nlohmann::json;

NodeInfo MakeNodeInfo(const std::string& name, const std::string& address,
                      const std::string& datacenter) {
  uint64_t a = HashBytes(name), b = Mix64(a ^ 0x9e3779b97f4a7c15ull);
  std::string id = fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                               a & 0xffff, b >> 48, b & 0xffffffffffffull);
  return {id, name, address, datacenter};
}

namespace {

json WeightsJson(const Weights& w) { return {{"Passing", w.passing}, {"Warning", w.warning}}; }

const char* TypeName(const CheckView& c) {
  if (c.def.id.rfind("_service_maintenance:", 0) == 0) return "maintenance";
  switch (c.def.type) {
    case CheckType::kHttp:
      return "http";
    case CheckType::kTcp:
      return "tcp";
    case CheckType::kTtl:
      return "ttl";
  }
  return "";
}

json CheckBase(const NodeInfo& node) {
  return {{"Node", node.name},
          {"Notes", ""},
          {"ServiceID", ""},
          {"ServiceName", ""},
          {"ServiceTags", json::array()},
          {"Interval", ""},
          {"Timeout", ""},
          {"ExposedPort", 0},
          {"Definition", json::object()}};
}

}  // namespace

json AgentServiceJson(const ServiceDefinition& s, const NodeInfo& node) {
  return {{"ID", s.id},
          {"Service", s.name},
          {"Tags", s.tags},
          {"Meta", s.meta},
          {"Port", s.port},
          {"Address", s.address},
          {"TaggedAddresses", json::object()},
          {"Weights", WeightsJson(s.weights)},
          {"EnableTagOverride", false},
          {"Datacenter", node.datacenter}};
}

json CheckJson(const CheckView& c, const NodeInfo& node) {
  json j = CheckBase(node);
  j["CheckID"] = c.def.id;
  j["Name"] = c.def.name;
  // Maintenance shows as a critical check, as Consul does.
  j["Status"] =
      HealthStatusName(c.status == HealthStatus::kMaintenance ? HealthStatus::kCritical : c.status);
  j["Notes"] = c.def.notes;
  j["Output"] = c.output;
  j["ServiceID"] = c.service_id;
  j["ServiceName"] = c.service_name;
  j["ServiceTags"] = c.service_tags;
  j["Type"] = TypeName(c);
  if (c.def.type != CheckType::kTtl) {
    j["Interval"] = FormatGoDuration(c.def.interval);
    j["Timeout"] = FormatGoDuration(c.def.timeout);
  }
  j["Definition"] = CheckDefinitionToJson(c.def);
  j["CreateIndex"] = c.create_index;
  j["ModifyIndex"] = c.modify_index;
  return j;
}

json SerfCheckJson(const NodeInfo& node) {
  json j = CheckBase(node);
  j["CheckID"] = "serfHealth";
  j["Name"] = "Serf Health Status";
  j["Status"] = "passing";
  j["Output"] = "Agent alive and reachable";
  j["Type"] = "";
  j["CreateIndex"] = 1;
  j["ModifyIndex"] = 1;
  return j;
}

json NodeJson(const NodeInfo& node) {
  return {{"ID", node.id},
          {"Node", node.name},
          {"Address", node.address},
          {"Datacenter", node.datacenter},
          {"TaggedAddresses", {{"lan", node.address}, {"wan", node.address}}},
          {"Meta", json::object()},
          {"CreateIndex", 1},
          {"ModifyIndex", 1}};
}

json CatalogServiceJson(const InstanceView& v, const NodeInfo& node) {
  const ServiceDefinition& s = v.service;
  return {{"ID", node.id},
          {"Node", node.name},
          {"Address", node.address},
          {"Datacenter", node.datacenter},
          {"TaggedAddresses", {{"lan", node.address}, {"wan", node.address}}},
          {"NodeMeta", json::object()},
          {"ServiceKind", ""},
          {"ServiceID", s.id},
          {"ServiceName", s.name},
          {"ServiceTags", s.tags},
          {"ServiceAddress", s.address},
          {"ServiceTaggedAddresses", json::object()},
          {"ServiceWeights", WeightsJson(s.weights)},
          {"ServiceMeta", s.meta},
          {"ServicePort", s.port},
          {"ServiceEnableTagOverride", false},
          {"CreateIndex", v.create_index},
          {"ModifyIndex", v.modify_index}};
}

json HealthServiceJson(const InstanceView& v, const NodeInfo& node) {
  json service = AgentServiceJson(v.service, node);
  service.erase("Datacenter");
  service["CreateIndex"] = v.create_index;
  service["ModifyIndex"] = v.modify_index;
  json checks = json::array({SerfCheckJson(node)});
  for (const auto& c : v.checks) checks.push_back(CheckJson(c, node));
  return {{"Node", NodeJson(node)}, {"Service", service}, {"Checks", checks}};
}

}  // namespace pier::registry
