// File: consul_api.h
// ConsulApi: Consul's HTTP API (agent, catalog, health, status) over a ServiceRegistry, with
// blocking queries (?index=&wait=, X-Consul-Index) and Consul's status codes and error texts.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <string>

#include "pier/net/http_server.h"
#include "pier/registry/registry.h"
#include "registry/server/consul_json.h"
#include "registry/server/watch_hub.h"
#include "registry/server/write_queue.h"

namespace pier::registry {

class ConsulApi {
 public:
  // Writes (which touch the store) are committed in groups on `disk`, off the I/O threads.
  ConsulApi(ServiceRegistry& registry, WatchHub& hub, boost::asio::any_io_executor disk,
            NodeInfo node);
  void AddRoutes(net::HttpServer& http);

 private:
  using Request = net::HttpRequest;
  using Response = net::HttpResponse;
  using Handler = boost::asio::awaitable<Response> (ConsulApi::*)(const Request&);

  // Wraps a handler with Consul's query checks (?dc, ?filter); the token is the HTTP server's.
  net::AsyncHttpHandler Guard(Handler h);
  // A blocking read: waits on `topic` while `index()` <= ?index, then renders.
  // (GCC 12 destroys some temporaries of a co_await expression twice: callers pass named
  // locals, never temporaries, to coroutines.)
  boost::asio::awaitable<Response> Blocking(const Request& req, const std::string& topic,
                                            const std::function<uint64_t()>& index,
                                            const std::function<nlohmann::json()>& render);

  boost::asio::awaitable<Response> Register(const Request& req);
  boost::asio::awaitable<Response> Deregister(const Request& req);
  boost::asio::awaitable<Response> Maintenance(const Request& req);
  boost::asio::awaitable<Response> CheckPass(const Request& req);
  boost::asio::awaitable<Response> CheckWarn(const Request& req);
  boost::asio::awaitable<Response> CheckFail(const Request& req);
  boost::asio::awaitable<Response> CheckUpdate(const Request& req);
  boost::asio::awaitable<Response> AgentServices(const Request& req);
  boost::asio::awaitable<Response> AgentService(const Request& req);
  boost::asio::awaitable<Response> AgentChecks(const Request& req);
  boost::asio::awaitable<Response> AgentSelf(const Request& req);
  boost::asio::awaitable<Response> CatalogServices(const Request& req);
  boost::asio::awaitable<Response> CatalogService(const Request& req);
  boost::asio::awaitable<Response> CatalogNodes(const Request& req);
  boost::asio::awaitable<Response> HealthService(const Request& req);
  boost::asio::awaitable<Response> HealthChecks(const Request& req);
  boost::asio::awaitable<Response> HealthState(const Request& req);
  boost::asio::awaitable<Response> StatusLeader(const Request& req);
  boost::asio::awaitable<Response> StatusPeers(const Request& req);
  boost::asio::awaitable<Response> TtlUpdate(const Request& req, const char* prefix,
                                             HealthStatus status);

  ServiceRegistry& registry_;
  WatchHub& hub_;
  WriteQueue writes_;
  NodeInfo node_;
};

}  // namespace pier::registry
