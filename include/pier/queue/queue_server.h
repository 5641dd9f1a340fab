// File: queue_server.h
// QueueServer: the broker on the network. Its RESP commands (QPUBLISH, QCONSUME, ...) are a
// net::RespService on a RESP listener (a queue-only one, or the cache's); its HTTP/JSON API is
// mounted under /v1/queue on the HTTP port. Long polls wait without holding a thread; a ticker
// makes delayed messages ready and expires leases.
//   QueueServer q(pool, {.broker = {.data_dir = "pier-data/queue"}});
//   q.Start(&report);  resp_server.AddService(&q.resp());  q.AddRoutes(http);
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/io_pool.h"
#include "pier/queue/broker.h"

namespace pier::net {
class HttpServer;
class RespService;
class Tracer;
}  // namespace pier::net

namespace pier::perf {
class Analyzer;
class Tuner;
}  // namespace pier::perf

namespace pier::queue {

struct QueueServerOptions {
  BrokerOptions broker;
  int64_t tick_ms = 10;           // delayed messages and leases are checked this often
  int64_t max_block_ms = 300000;  // the longest long poll (BLOCK 0 waits this long)
  // A delivered message whose `traceparent` header is sampled gets a consumer span under the
  // publisher's context (not owned; null: none).
  net::Tracer* tracer = nullptr;
};

class QueueServer {
 public:
  QueueServer(net::IoPool& pool, QueueServerOptions options);
  ~QueueServer();

  // Opens (recovers) the broker, registers metrics and starts the ticker. `report` gets a line
  // per problem recovery found.
  Status Start(std::vector<std::string>* report = nullptr);
  // Stops the ticker and ends every long poll.
  void Shutdown();

  Broker& broker() { return *broker_; }
  // The RESP commands, for a net::RespServer (before it starts).
  net::RespService& resp();
  void AddRoutes(net::HttpServer& http);

  // The most messages a consume call that gives no COUNT (RESP) or max (HTTP) gets: 1 unless
  // changed (the tuner's knob queue.consume_batch).
  static constexpr size_t kMaxConsumeBatch = 10000;
  Status SetConsumeBatch(size_t n);
  size_t consume_batch() const;
  // Gives the analyzer the queue's source (queue_perf.h: series and rules) and the tuner the
  // knob queue.consume_batch (objective: acknowledgements/s; guard: the oldest ready age).
  void AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner);
  // Consume now (`count` 0: the consume batch); counted in the consume metrics.
  Result<std::vector<Delivery>> Consume(const std::string& topic, const std::string& sub,
                                        size_t count, int64_t visibility_ms);
  // Consume, waiting up to `block_ms` (< 0: not at all) for a message when there is none.
  boost::asio::awaitable<Result<std::vector<Delivery>>> ConsumeWait(std::string topic,
                                                                    std::string sub, size_t count,
                                                                    int64_t block_ms,
                                                                    int64_t visibility_ms);

  struct Impl;

 private:
  // The consumer span of a delivered message that carries a sampled traceparent header.
  void RecordDelivery(const Delivery& d) const;
  net::IoPool& pool_;
  QueueServerOptions options_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier::queue
