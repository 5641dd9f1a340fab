#include "pier/deploy/runtime/platform.h"

#include <future>

#include "pier/base/logging.h"
#include "pier/base/memory_units.h"
#include "pier/net/tcp_listener.h"

namespace pier::deploy::runtime {

Status Platform::Start(const deploy::Platform& p, const std::string& data_dir) {
  if (!p.cache && !p.queue) return Status::Ok();
  auto listen = net::ParseHostPort(p.resp_listen, "platform.resp");
  if (!listen.ok()) return listen.status();
  if (p.queue) {
    queue::QueueServerOptions qo;
    qo.broker.data_dir = data_dir + "/queue";
    queue_ = std::make_unique<queue::QueueServer>(pool_, qo);
    std::vector<std::string> report;
    if (Status s = queue_->Start(&report); !s.ok()) return s;
    for (const auto& line : report) {
      LogEvent(LogLevel::kWarn, "queue recovery", {{"problem", line}});
    }
    for (const auto& topic : p.queue_topics) {
      std::promise<Status> done;
      queue_->broker().CreateTopic(topic, {}, true, [&done](Status s) { done.set_value(s); });
      Status s = done.get_future().get();
      if (!s.ok() && s.code() != StatusCode::kAlreadyExists) {
        return Status(s.code(), "platform.queue.topics: " + topic + ": " + s.message());
      }
    }
  }
  if (p.cache) {
    cache::CacheServerOptions co;
    co.resp.host = listen->first;
    co.resp.port = listen->second;
    co.maxmemory = p.cache_memory;
    co.policy = p.cache_policy;
    cache_ = std::make_unique<cache::CacheServer>(pool_, co);
    resp_ = &cache_->resp();
  } else {
    queue_only_ = std::make_unique<net::RespServer>(
        pool_, net::RespServerOptions{.host = listen->first, .port = listen->second});
    resp_ = queue_only_.get();
  }
  if (queue_) resp_->AddService(&queue_->resp());
  if (Status s = cache_ ? cache_->Start() : resp_->Start(); !s.ok()) {
    return Status(s.code(), "platform.resp: " + s.message());
  }
  if (p.cache) {
    summary_ += "cache=" + resp_->address() + " (" + p.cache_policy +
                (p.cache_memory ? ", " + HumanBytes(p.cache_memory) : "") + ")";
  }
  if (p.queue) {
    summary_ += std::string(summary_.empty() ? "" : " ") + "queue=" + resp_->address() + " (" +
                std::to_string(p.queue_topics.size()) + " topics)";
  }
  return Status::Ok();
}

void Platform::AddRoutes(net::HttpServer& http) {
  if (queue_) queue_->AddRoutes(http);
}

Status Platform::Register(registry::Client& client) {
  if (!resp_) return Status::Ok();
  auto hp = net::ParseHostPort(resp_->address(), "resp");
  for (const auto& [name, on] :
       {std::pair{"pier-cache", cache_ != nullptr}, {"pier-queue", queue_ != nullptr}}) {
    if (!on || !hp.ok()) continue;
    registry::ServiceDefinition def;
    def.id = name;
    def.name = name;
    def.address = hp->first;
    def.port = hp->second;
    registry::CheckDefinition c;
    c.type = registry::CheckType::kTcp;
    c.tcp = resp_->address();
    c.interval = std::chrono::seconds(10);
    c.timeout = std::chrono::seconds(1);
    def.checks.push_back(c);
    if (Status s = client.Register(def); !s.ok()) return s;
  }
  return Status::Ok();
}

std::map<std::string, std::string> Platform::Env() const {
  std::map<std::string, std::string> env;
  if (cache_) env["PIER_CACHE"] = resp_->address();
  if (resp_ && queue_) env["PIER_QUEUE"] = resp_->address();
  return env;
}

std::string Platform::Describe() const { return summary_; }

void Platform::Shutdown() {
  if (cache_) {
    cache_->Shutdown();
  } else if (resp_) {
    resp_->Shutdown();
  }
  if (queue_) queue_->Shutdown();
}

void Platform::CloseAll() {
  if (resp_) resp_->CloseAll();
}

size_t Platform::active_connections() const { return resp_ ? resp_->active_connections() : 0; }

}  // namespace pier::deploy::runtime
