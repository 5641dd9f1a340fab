#include "registry/server/consul_api.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <random>

#include "pier/base/strings.h"
#include "pier/net/http_query.h"
#include "registry/definition_json.h"

namespace asio = boost::asio;
using nlohmann::json;

namespace pier::registry {

namespace {

constexpr auto kDefaultWait = std::chrono::minutes(5);  // Consul's defaults
constexpr auto kMaxWait = std::chrono::minutes(10);
constexpr size_t kMaxOutput = 4096;

net::HttpResponse Text(int status, std::string body) {
  return net::HttpResponse::Text(status, std::move(body));
}

net::HttpResponse ErrorFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return Text(400, s.message());
    case StatusCode::kNotFound:
      return Text(404, s.message());
    default:
      return Text(500, s.message());
  }
}

// The empty 200 Consul answers writes with.
net::HttpResponse Ok() { return Text(200, ""); }

net::HttpResponse JsonResponse(const json& j, uint64_t index = 0) {
  net::HttpResponse r = net::HttpResponse::Json(200, j.dump());
  if (index) {
    r.headers.emplace_back("X-Consul-Index", std::to_string(index));
    r.headers.emplace_back("X-Consul-KnownLeader", "true");
    r.headers.emplace_back("X-Consul-LastContact", "0");
  }
  return r;
}

std::string Tail(const net::HttpRequest& req, std::string_view prefix) {
  auto q = net::ParseQuery(std::string_view(req.target().data(), req.target().size()));
  return q.path.size() > prefix.size() ? q.path.substr(prefix.size()) : "";
}

net::HttpQuery Query(const net::HttpRequest& req) {
  return net::ParseQuery(std::string_view(req.target().data(), req.target().size()));
}

// Go's strconv.ParseBool, with a bare `?flag` meaning true.
bool ParseFlag(const std::string& v, bool* out) {
  if (v.empty() || v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") {
    *out = true;
    return true;
  }
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    *out = false;
    return true;
  }
  return false;
}

// ?tag= (all of them), ?passing, ?service-meta=key:value (pier's; Consul filters with ?filter=).
Status ParseFilter(const net::HttpQuery& q, InstanceFilter* f) {
  if (q.Has("passing") && !ParseFlag(q.Get("passing"), &f->passing_only)) {
    return Status::InvalidArgument("Invalid value for ?passing");
  }
  for (auto& t : q.All("tag")) f->tags.push_back(t);
  for (auto& m : q.All("service-meta")) {
    size_t colon = m.find(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("Invalid ?service-meta=" + m + ": use key:value");
    }
    f->meta[m.substr(0, colon)] = m.substr(colon + 1);
  }
  return Status::Ok();
}

}  // namespace

ConsulApi::ConsulApi(ServiceRegistry& registry, WatchHub& hub, asio::any_io_executor disk,
                     NodeInfo node)
    : registry_(registry), hub_(hub), writes_(registry, std::move(disk)), node_(std::move(node)) {}

net::AsyncHttpHandler ConsulApi::Guard(Handler h) {
  return [this, h](const Request& req) -> asio::awaitable<Response> {
    auto q = Query(req);
    if (q.Has("dc") && q.Get("dc") != node_.datacenter) {
      co_return Text(500, "No path to datacenter");
    }
    if (q.Has("filter") && !q.Get("filter").empty()) {
      co_return Text(400,
                     "?filter expressions are not supported by pier; use ?tag=, ?passing "
                     "or ?service-meta=key:value");
    }
    co_return co_await (this->*h)(req);
  };
}

void ConsulApi::AddRoutes(net::HttpServer& http) {
  http.RouteAsync("PUT", "/v1/agent/service/register", Guard(&ConsulApi::Register));
  // Consul before 1.0 took GET for deregistration and TTL updates, and clients still send it
  // (python-consul 0.7 does): both methods are accepted, and both mutate.
  for (const char* method : {"PUT", "GET"}) {
    const auto mutate = net::Access::kMutate;
    http.RoutePrefix(method, "/v1/agent/service/deregister/", Guard(&ConsulApi::Deregister),
                     mutate);
    http.RoutePrefix(method, "/v1/agent/check/pass/", Guard(&ConsulApi::CheckPass), mutate);
    http.RoutePrefix(method, "/v1/agent/check/warn/", Guard(&ConsulApi::CheckWarn), mutate);
    http.RoutePrefix(method, "/v1/agent/check/fail/", Guard(&ConsulApi::CheckFail), mutate);
  }
  http.RoutePrefix("PUT", "/v1/agent/service/maintenance/", Guard(&ConsulApi::Maintenance));
  http.RoutePrefix("GET", "/v1/agent/service/", Guard(&ConsulApi::AgentService));
  http.RoutePrefix("PUT", "/v1/agent/check/update/", Guard(&ConsulApi::CheckUpdate));
  http.RouteAsync("GET", "/v1/agent/services", Guard(&ConsulApi::AgentServices));
  http.RouteAsync("GET", "/v1/agent/checks", Guard(&ConsulApi::AgentChecks));
  http.RouteAsync("GET", "/v1/agent/self", Guard(&ConsulApi::AgentSelf));
  http.RouteAsync("GET", "/v1/catalog/services", Guard(&ConsulApi::CatalogServices));
  http.RoutePrefix("GET", "/v1/catalog/service/", Guard(&ConsulApi::CatalogService));
  http.RouteAsync("GET", "/v1/catalog/nodes", Guard(&ConsulApi::CatalogNodes));
  http.RoutePrefix("GET", "/v1/health/service/", Guard(&ConsulApi::HealthService));
  http.RoutePrefix("GET", "/v1/health/checks/", Guard(&ConsulApi::HealthChecks));
  http.RoutePrefix("GET", "/v1/health/state/", Guard(&ConsulApi::HealthState));
  http.RouteAsync("GET", "/v1/status/leader", Guard(&ConsulApi::StatusLeader));
  http.RouteAsync("GET", "/v1/status/peers", Guard(&ConsulApi::StatusPeers));
}

asio::awaitable<net::HttpResponse> ConsulApi::Blocking(const Request& req, const std::string& topic,
                                                       const std::function<uint64_t()>& index,
                                                       const std::function<json()>& render) {
  auto q = Query(req);
  uint64_t seen = 0;
  if (q.Has("index")) {
    std::string v = q.Get("index");
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seen);
    if (ec != std::errc() || p != v.data() + v.size()) co_return Text(400, "Invalid index");
  }
  std::chrono::steady_clock::duration wait = kDefaultWait;
  if (q.Has("wait")) {
    auto w = ParseGoDuration(q.Get("wait"));
    if (!w.ok() || w->count() < 0) co_return Text(400, "Invalid wait time");
    wait = std::min<std::chrono::steady_clock::duration>(*w, kMaxWait);
  }
  // Block only while the index is the one the client has: an index the registry has not reached
  // (it restarted and its indexes began again) answers at once so the client starts over.
  std::chrono::microseconds waited{0};
  if (seen > 0 && index() == seen) {
    // Consul adds up to wait/16 of jitter so watchers that woke together spread out.
    thread_local std::minstd_rand rng(std::random_device{}());
    wait += std::chrono::steady_clock::duration(
        std::uniform_int_distribution<int64_t>(0, wait.count() / 16)(rng));
    const auto started = std::chrono::steady_clock::now();
    co_await hub_.Wait(topic, index, seen, wait);
    waited = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
  }
  uint64_t at = index();  // read before rendering: a later change re-fires, never goes missing
  net::HttpResponse response = JsonResponse(render(), at);
  response.waited = waited;  // a long poll is not a slow request
  co_return response;
}

asio::awaitable<net::HttpResponse> ConsulApi::Register(const Request& req) {
  auto def = ParseServiceRegistration(req.body());
  if (!def.ok()) co_return ErrorFor(def.status());
  const auto write = ServiceRegistry::Write::Register(std::move(*def));
  Status s = co_await writes_.Submit(write);
  co_return s.ok() ? Ok() : ErrorFor(s);
}

asio::awaitable<net::HttpResponse> ConsulApi::Deregister(const Request& req) {
  std::string id = Tail(req, "/v1/agent/service/deregister/");
  if (id.empty()) co_return Text(400, "Missing service ID");
  const auto write = ServiceRegistry::Write::Deregister(id);
  Status s = co_await writes_.Submit(write);
  co_return s.ok() ? Ok() : ErrorFor(s);
}

asio::awaitable<net::HttpResponse> ConsulApi::Maintenance(const Request& req) {
  std::string id = Tail(req, "/v1/agent/service/maintenance/");
  if (id.empty()) co_return Text(400, "Missing service ID");
  auto q = Query(req);
  if (!q.Has("enable")) co_return Text(400, "Missing value for enable");
  bool enable = false;
  std::string raw = q.Get("enable");
  if (raw.empty() || !ParseFlag(raw, &enable)) {
    co_return Text(400, "Invalid value for enable: \"" + raw + "\"");
  }
  std::string reason = q.Get("reason");
  const auto write = ServiceRegistry::Write::Maintenance(id, enable, reason);
  Status s = co_await writes_.Submit(write);
  co_return s.ok() ? Ok() : ErrorFor(s);
}

asio::awaitable<net::HttpResponse> ConsulApi::TtlUpdate(const Request& req, const char* prefix,
                                                        HealthStatus status) {
  std::string id = Tail(req, prefix);
  if (id.empty()) co_return Text(400, "Missing check ID");
  std::string note = Query(req).Get("note").substr(0, kMaxOutput);
  Status s = registry_.UpdateTtl(id, status, note);
  co_return s.ok() ? Ok() : ErrorFor(s);
}

asio::awaitable<net::HttpResponse> ConsulApi::CheckPass(const Request& req) {
  co_return co_await TtlUpdate(req, "/v1/agent/check/pass/", HealthStatus::kPassing);
}
asio::awaitable<net::HttpResponse> ConsulApi::CheckWarn(const Request& req) {
  co_return co_await TtlUpdate(req, "/v1/agent/check/warn/", HealthStatus::kWarning);
}
asio::awaitable<net::HttpResponse> ConsulApi::CheckFail(const Request& req) {
  co_return co_await TtlUpdate(req, "/v1/agent/check/fail/", HealthStatus::kCritical);
}

asio::awaitable<net::HttpResponse> ConsulApi::CheckUpdate(const Request& req) {
  std::string id = Tail(req, "/v1/agent/check/update/");
  if (id.empty()) co_return Text(400, "Missing check ID");
  json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    co_return Text(400, "Request decode failed: the body is not a JSON object");
  }
  std::string status_text, output;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string key = AsciiLower(it.key());
    if (key != "status" && key != "output") {
      co_return Text(400, "Request decode failed: " + it.key() + ": unknown field");
    }
    if (!it.value().is_string()) {
      co_return Text(400, "Request decode failed: " + it.key() + ": expected a string");
    }
    (key == "status" ? status_text : output) = it.value().get<std::string>();
  }
  HealthStatus status;
  if (!ParseHealthStatus(status_text, &status) || status == HealthStatus::kMaintenance) {
    co_return Text(400, "Invalid check status: \"" + status_text + "\"");
  }
  Status s = registry_.UpdateTtl(id, status, output.substr(0, kMaxOutput));
  co_return s.ok() ? Ok() : ErrorFor(s);
}

asio::awaitable<net::HttpResponse> ConsulApi::AgentServices(const Request&) {
  json out = json::object();
  for (const auto& v : registry_.AllInstances()) {
    out[v.service.id] = AgentServiceJson(v.service, node_);
  }
  co_return JsonResponse(out);
}

asio::awaitable<net::HttpResponse> ConsulApi::AgentService(const Request& req) {
  std::string id = Tail(req, "/v1/agent/service/");
  auto v = registry_.Instance(id);
  if (!v) co_return Text(404, "unknown service ID: " + id);
  json j = AgentServiceJson(v->service, node_);
  j["ContentHash"] = std::to_string(v->modify_index);
  co_return JsonResponse(j);
}

asio::awaitable<net::HttpResponse> ConsulApi::AgentChecks(const Request&) {
  json out = json::object();
  for (const auto& c : registry_.Checks()) out[c.def.id] = CheckJson(c, node_);
  co_return JsonResponse(out);
}

asio::awaitable<net::HttpResponse> ConsulApi::AgentSelf(const Request&) {
  json config = {{"Datacenter", node_.datacenter},
                 {"NodeName", node_.name},
                 {"NodeID", node_.id},
                 {"Server", true},
                 {"Revision", "pier"},
                 {"Version", "1.15.0"}};  // the Consul API level served
  json member = {{"Name", node_.name},
                 {"Addr", node_.address},
                 {"Port", 8301},
                 {"Tags", {{"dc", node_.datacenter}, {"role", "consul"}}},
                 {"Status", 1}};
  co_return JsonResponse({{"Config", config}, {"Member", member}, {"Meta", json::object()}});
}

asio::awaitable<net::HttpResponse> ConsulApi::CatalogServices(const Request& req) {
  const std::string topic = "catalog";
  const std::function<uint64_t()> index = [this] { return registry_.CatalogIndex(); };
  const std::function<json()> render = [this] {
    json out = json::object();
    for (const auto& [name, tags] : registry_.Services()) {
      out[name] = std::vector<std::string>(tags.begin(), tags.end());
    }
    return out;
  };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::CatalogService(const Request& req) {
  std::string name = Tail(req, "/v1/catalog/service/");
  if (name.empty()) co_return Text(400, "Missing service name");
  InstanceFilter filter;
  if (Status s = ParseFilter(Query(req), &filter); !s.ok()) co_return ErrorFor(s);
  filter.passing_only = false;  // the catalog ignores health
  const std::string topic = "service:" + name;
  const std::function<uint64_t()> index = [this, name] { return registry_.ServiceIndex(name); };
  const std::function<json()> render = [this, name, filter] {
    json out = json::array();
    for (const auto& v : registry_.Instances(name, filter)) {
      out.push_back(CatalogServiceJson(v, node_));
    }
    return out;
  };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::CatalogNodes(const Request& req) {
  const std::string topic = "catalog";
  const std::function<uint64_t()> index = [this] { return registry_.CatalogIndex(); };
  const std::function<json()> render = [this] { return json::array({NodeJson(node_)}); };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::HealthService(const Request& req) {
  std::string name = Tail(req, "/v1/health/service/");
  if (name.empty()) co_return Text(400, "Missing service name");
  InstanceFilter filter;
  if (Status s = ParseFilter(Query(req), &filter); !s.ok()) co_return ErrorFor(s);
  const std::string topic = "service:" + name;
  const std::function<uint64_t()> index = [this, name] { return registry_.ServiceIndex(name); };
  const std::function<json()> render = [this, name, filter] {
    json out = json::array();
    for (const auto& v : registry_.Instances(name, filter)) {
      out.push_back(HealthServiceJson(v, node_));
    }
    return out;
  };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::HealthChecks(const Request& req) {
  std::string name = Tail(req, "/v1/health/checks/");
  if (name.empty()) co_return Text(400, "Missing service name");
  const std::string topic = "service:" + name;
  const std::function<uint64_t()> index = [this, name] { return registry_.ServiceIndex(name); };
  const std::function<json()> render = [this, name] {
    json out = json::array();
    for (const auto& c : registry_.ServiceChecks(name)) out.push_back(CheckJson(c, node_));
    return out;
  };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::HealthState(const Request& req) {
  std::string state = Tail(req, "/v1/health/state/");
  HealthStatus want = HealthStatus::kPassing;
  bool any = state == "any";
  if (state.empty()) co_return Text(400, "Missing check state");
  if (!any && (!ParseHealthStatus(state, &want) || want == HealthStatus::kMaintenance)) {
    co_return Text(400, "Invalid check state");
  }
  // Any change may add or remove checks: this endpoint watches the whole registry.
  const std::string topic = "any";
  const std::function<uint64_t()> index = [this] { return registry_.index(); };
  const std::function<json()> render = [this, any, want] {
    json out = json::array();
    if (any || want == HealthStatus::kPassing) out.push_back(SerfCheckJson(node_));
    for (const auto& c : registry_.Checks()) {
      HealthStatus shown =
          c.status == HealthStatus::kMaintenance ? HealthStatus::kCritical : c.status;
      if (any || shown == want) out.push_back(CheckJson(c, node_));
    }
    return out;
  };
  co_return co_await Blocking(req, topic, index, render);
}

asio::awaitable<net::HttpResponse> ConsulApi::StatusLeader(const Request&) {
  co_return JsonResponse(json(node_.address + ":8300"));
}

asio::awaitable<net::HttpResponse> ConsulApi::StatusPeers(const Request&) {
  co_return JsonResponse(json::array({node_.address + ":8300"}));
}

}  // namespace pier::registry
