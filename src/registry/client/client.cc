#include "pier/registry/client.h"

#include <nlohmann/json.hpp>

#include "pier/base/logging.h"
#include "pier/net/http_fetch.h"
#include "pier/net/tcp_listener.h"
#include "registry/definition_json.h"

namespace pier::registry {

using nlohmann::json;

namespace {

std::string Escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<std::vector<Instance>> ParseHealth(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return Status::Internal("registry: the health reply is not a JSON array");
  std::vector<Instance> out;
  try {
    for (const auto& e : j) {
      const json& s = e.at("Service");
      Instance i;
      i.id = s.at("ID").get<std::string>();
      i.service = s.at("Service").get<std::string>();
      i.address = s.value("Address", "");
      if (i.address.empty()) i.address = e.at("Node").value("Address", "");
      i.port = s.value("Port", 0);
      i.tags = s.value("Tags", std::vector<std::string>{});
      i.meta = s.value("Meta", std::map<std::string, std::string>{});
      if (s.contains("Weights")) {
        i.weights.passing = s["Weights"].value("Passing", 1);
        i.weights.warning = s["Weights"].value("Warning", 1);
      }
      i.status = HealthStatus::kPassing;
      for (const auto& c : e.value("Checks", json::array())) {
        HealthStatus st = HealthStatus::kCritical;
        ParseHealthStatus(c.value("Status", "critical"), &st);
        if (c.value("CheckID", "").rfind("_service_maintenance:", 0) == 0) {
          st = HealthStatus::kMaintenance;
        }
        i.status = std::max(i.status, st);
      }
      out.push_back(std::move(i));
    }
  } catch (const json::exception& e) {
    return Status::Internal(std::string("registry: unexpected health reply: ") + e.what());
  }
  return out;
}

std::string FilterQuery(const InstanceFilter& f) {
  std::string q;
  if (f.passing_only) q += "&passing=1";
  for (const auto& t : f.tags) q += "&tag=" + Escape(t);
  for (const auto& [k, v] : f.meta) q += "&service-meta=" + Escape(k + ":" + v);
  return q;
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  auto hp = net::ParseHostPort(options_.address, "registry address");
  if (hp.ok()) {
    host_ = hp->first;
    port_ = hp->second;
  }
}

Client::~Client() {
  std::map<std::string, Duration> registered;
  {
    std::lock_guard l(mu_);
    stopping_ = true;
    registered = heartbeats_;
  }
  cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  for (const auto& [id, ttl] : registered) {
    if (Status s = Deregister(id); !s.ok()) {
      LogEvent(LogLevel::kWarn, "registry client: deregistering on shutdown failed",
               {{"service_id", id}, {"error", s.message()}});
    }
  }
}

Result<Client::Reply> Client::Call(const std::string& method, const std::string& target,
                                   const std::string& body, std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* cancel) {
  if (port_ == 0)
    return Status::InvalidArgument("registry address '" + options_.address + "' is not HOST:PORT");
  net::HttpFetchRequest req;
  req.host = host_;
  req.port = port_;
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = timeout.count() ? timeout : options_.timeout;
  req.cancel = cancel;
  req.tls = options_.tls;
  if (!options_.token.empty()) req.headers.emplace_back("X-Consul-Token", options_.token);
  auto r = net::HttpFetch(req);
  if (!r.ok()) return Status::Unavailable("registry " + r.status().message());
  std::string index = r->Header("X-Consul-Index");
  return Reply{r->status, std::move(r->body), index.empty() ? 0 : std::stoull(index)};
}

Status Client::Expect200(const Result<Reply>& r, const std::string& what) {
  if (!r.ok()) return r.status();
  if (r->status == 200) return Status::Ok();
  StatusCode code = r->status == 404   ? StatusCode::kNotFound
                    : r->status == 400 ? StatusCode::kInvalidArgument
                                       : StatusCode::kUnavailable;
  return Status(code, what + ": " + std::to_string(r->status) + " " + r->body);
}

Status Client::Register(const ServiceDefinition& def) {
  return Expect200(Call("PUT", "/v1/agent/service/register", ServiceToJson(def).dump()),
                   "register " + (def.id.empty() ? def.name : def.id));
}

Status Client::RegisterWithHeartbeat(ServiceDefinition def, Duration ttl) {
  if (def.id.empty()) def.id = def.name;
  CheckDefinition check;
  check.id = "service:" + def.id;
  check.type = CheckType::kTtl;
  check.ttl = ttl;
  def.checks.push_back(check);
  if (Status s = Register(def); !s.ok()) return s;
  if (Status s = UpdateTtl(check.id, HealthStatus::kPassing, "registered"); !s.ok()) return s;
  std::lock_guard l(mu_);
  heartbeats_[def.id] = ttl;
  if (!heartbeat_thread_.joinable()) heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  cv_.notify_all();
  return Status::Ok();
}

void Client::HeartbeatLoop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    Duration period = std::chrono::seconds(30);
    for (const auto& [id, ttl] : heartbeats_) period = std::min(period, ttl / 3);
    cv_.wait_for(l, period);
    if (stopping_) break;
    auto ids = heartbeats_;
    l.unlock();
    for (const auto& [id, ttl] : ids) {
      if (Status s = UpdateTtl("service:" + id, HealthStatus::kPassing); !s.ok()) {
        LogEvent(LogLevel::kWarn, "registry client: heartbeat failed",
                 {{"service_id", id}, {"error", s.message()}});
      }
    }
    l.lock();
  }
}

Status Client::Deregister(const std::string& service_id) {
  {
    std::lock_guard l(mu_);
    heartbeats_.erase(service_id);
  }
  return Expect200(Call("PUT", "/v1/agent/service/deregister/" + Escape(service_id)),
                   "deregister " + service_id);
}

Status Client::UpdateTtl(const std::string& check_id, HealthStatus status,
                         const std::string& note) {
  const char* verb = status == HealthStatus::kPassing   ? "pass"
                     : status == HealthStatus::kWarning ? "warn"
                                                        : "fail";
  std::string target = std::string("/v1/agent/check/") + verb + "/" + Escape(check_id);
  if (!note.empty()) target += "?note=" + Escape(note);
  return Expect200(Call("PUT", target), "check " + check_id);
}

Status Client::SetMaintenance(const std::string& service_id, bool enable,
                              const std::string& reason) {
  std::string target = "/v1/agent/service/maintenance/" + Escape(service_id) +
                       "?enable=" + (enable ? "true" : "false");
  if (!reason.empty()) target += "&reason=" + Escape(reason);
  return Expect200(Call("PUT", target), "maintenance " + service_id);
}

Result<std::vector<Instance>> Client::Query(const std::string& service,
                                            const InstanceFilter& filter, uint64_t index,
                                            uint64_t* new_index, const std::atomic<bool>* cancel) {
  std::string target = "/v1/health/service/" + Escape(service) + "?" + FilterQuery(filter);
  auto timeout = options_.timeout;
  if (index) {
    target += "&index=" + std::to_string(index) + "&wait=30s";
    timeout += std::chrono::seconds(35);  // the wait plus Consul's jitter
  }
  auto r = Call("GET", target, "", timeout, cancel);
  if (Status s = Expect200(r, "health of " + service); !s.ok()) return s;
  if (new_index) *new_index = r->index;
  return ParseHealth(r->body);
}

Result<std::vector<Instance>> Client::Healthy(const std::string& service, InstanceFilter filter) {
  return Query(service, filter, 0, nullptr);
}

Result<std::vector<Instance>> Client::All(const std::string& service) {
  return Query(service, {}, 0, nullptr);
}

Result<std::map<std::string, std::vector<std::string>>> Client::Services() {
  auto r = Call("GET", "/v1/catalog/services");
  if (Status s = Expect200(r, "catalog"); !s.ok()) return s;
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) return Status::Internal("registry: the catalog reply is not a JSON object");
  std::map<std::string, std::vector<std::string>> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out[it.key()] = it.value().is_array() ? it.value().get<std::vector<std::string>>()
                                          : std::vector<std::string>{};
  }
  return out;
}

std::unique_ptr<Client::WatchHandle> Client::Watch(
    const std::string& service, InstanceFilter filter,
    std::function<void(const std::vector<Instance>&)> fn) {
  auto h = std::make_unique<WatchHandle>();
  WatchHandle* handle = h.get();
  h->thread_ = std::thread([this, handle, service, filter, fn = std::move(fn)] {
    uint64_t index = 0;
    while (!handle->stop_) {
      uint64_t next = 0;
      auto r = Query(service, filter, index, &next, &handle->stop_);
      if (handle->stop_) break;
      if (!r.ok()) {
        LogEvent(LogLevel::kWarn, "registry client: watch failed, retrying in 1 s",
                 {{"service", service}, {"error", r.status().message()}});
        for (int i = 0; i < 50 && !handle->stop_; ++i) {  // back off a second before retrying
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        continue;
      }
      // Consul's rule: an index that goes backwards (a restarted server) starts over.
      if (next != index || index == 0) fn(*r);
      index = next < index ? 0 : next;
    }
  });
  return h;
}

Client::WatchHandle::~WatchHandle() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace pier::registry
