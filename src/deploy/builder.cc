#include "pier/deploy/spec.h"

namespace pier::deploy {

MicroserviceBuilder::MicroserviceBuilder(std::string name) { a_.name = std::move(name); }

deploy::Service& MicroserviceBuilder::current() {
  if (a_.services.empty()) Service("service");
  return a_.services.back();
}

MicroserviceBuilder& MicroserviceBuilder::Service(std::string name) {
  deploy::Service s;
  s.name = std::move(name);
  s.where = "builder: service " + s.name;
  a_.services.push_back(std::move(s));
  return *this;
}

#define PIER_SET(Method, Type, field)                        \
  MicroserviceBuilder& MicroserviceBuilder::Method(Type v) { \
    current().field = std::move(v);                          \
    return *this;                                            \
  }
PIER_SET(Version, std::string, version)
PIER_SET(Image, std::string, image)
PIER_SET(Command, std::vector<std::string>, command)
PIER_SET(Replicas, uint32_t, replicas)
PIER_SET(Cpu, double, cpu)
PIER_SET(Memory, uint64_t, memory)
PIER_SET(Pids, uint64_t, pids)
#undef PIER_SET

MicroserviceBuilder& MicroserviceBuilder::Port(uint16_t host, uint16_t container) {
  current().ports.push_back({host, container});
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::Env(std::string key, std::string value) {
  current().env[std::move(key)] = std::move(value);
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::HttpHealth(std::string path, uint16_t port) {
  auto& h = current().health;
  h.kind = HealthCheck::Kind::kHttp;
  h.http_path = std::move(path);
  h.port = port;
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::TcpHealth(uint16_t port) {
  auto& h = current().health;
  h.kind = HealthCheck::Kind::kTcp;
  h.port = port;
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::DependsOn(std::string service, Dependency::Condition c) {
  current().depends_on.push_back({service, c, current().where + " depends_on " + service});
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::Calls(std::string service, int64_t timeout_ms,
                                                uint32_t retries) {
  current().calls.push_back({service, timeout_ms, retries, current().where + " calls " + service});
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::Route(std::string host, std::string path_prefix,
                                                std::string service, int64_t timeout_ms,
                                                uint32_t retries) {
  deploy::Route r;
  r.host = std::move(host);
  r.path_prefix = std::move(path_prefix);
  r.service = std::move(service);
  r.timeout_ms = timeout_ms;
  r.retries = retries;
  r.where = "builder: route " + r.host + r.path_prefix;
  a_.routes.push_back(std::move(r));
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::Cache(std::string policy, uint64_t memory) {
  a_.platform.cache = true;
  a_.platform.cache_policy = std::move(policy);
  a_.platform.cache_memory = memory;
  return *this;
}

MicroserviceBuilder& MicroserviceBuilder::Queue(std::vector<std::string> topics) {
  a_.platform.queue = true;
  a_.platform.queue_topics = std::move(topics);
  return *this;
}

}  // namespace pier::deploy
