// File: client.h
// Network clients of `pier queue` over RESP: a Producer that publishes (each call returns once
// the message is durable) and a Consumer that fetches, acks and nacks, or runs a handler on a
// bounded number of worker threads.
//   auto p = Producer::Connect({.address = "127.0.0.1:7379"});
//   (*p)->Publish({.topic = "jobs", .payload = "resize 42.png"});
//   auto c = Consumer::Connect({.topic = "jobs", .concurrency = 4});
//   (*c)->Run([](const Delivery& d) { return HandlerResult{}; });  // until Stop()
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/tls_options.h"
#include "pier/queue/types.h"

namespace pier::net {
class RespConnection;
}

namespace pier::queue {

struct ClientOptions {
  std::string address = "127.0.0.1:7379";
  std::string password;       // AUTH, when the server has --requirepass
  net::TlsClientOptions tls;  // TLS (the server's --tls-port) when tls.enabled
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{10000};
};

// Not thread-safe: one producer per thread (each holds one connection).
class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Connect(ClientOptions options);
  ~Producer();
  // The message's id once it is durable (a duplicate's dedup id gives the first message's id).
  Result<uint64_t> Publish(const PublishRequest& request);
  // Pipelined: one round trip, one fsync on the server for the lot.
  Result<std::vector<uint64_t>> PublishBatch(const std::vector<PublishRequest>& requests);

 private:
  Producer() = default;
  ClientOptions options_;
  std::unique_ptr<net::RespConnection> conn_;
};

struct ConsumerOptions : ClientOptions {
  std::string topic;
  std::string subscription = kDefaultSubscription;
  size_t concurrency = 4;     // Run(): handlers running at once
  int64_t block_ms = 1000;    // Run(): how long one fetch waits for messages
  int64_t visibility_ms = 0;  // 0: the subscription's
};

struct HandlerResult {
  NackOutcome outcome = NackOutcome::kRetry;  // used when ack is false
  bool ack = true;
  int64_t delay_ms = 0;  // with kRetryAfter
  std::string error;     // recorded with the message (dead letters keep the last one)
  static HandlerResult Retry(std::string error) {
    return {NackOutcome::kRetry, false, 0, std::move(error)};
  }
  static HandlerResult Dead(std::string error) {
    return {NackOutcome::kDead, false, 0, std::move(error)};
  }
};

class Consumer {
 public:
  using Handler = std::function<HandlerResult(const Delivery&)>;
  static Result<std::unique_ptr<Consumer>> Connect(ConsumerOptions options);
  ~Consumer();

  // Up to `max` messages, waiting up to `block_ms` (< 0: not at all) when there are none.
  Result<std::vector<Delivery>> Fetch(size_t max, int64_t block_ms);
  Result<size_t> Ack(const std::vector<uint64_t>& ids);
  Result<size_t> Nack(const std::vector<uint64_t>& ids, NackOutcome outcome, int64_t delay_ms = 0,
                      const std::string& error = "");
  Result<size_t> Extend(const std::vector<uint64_t>& ids, int64_t visibility_ms);

  // Fetches and runs `handler` on at most `concurrency` worker threads until Stop(); acks or
  // nacks each message by its result (an exception is a retry with its what()). Returns the
  // first connection error, or Ok after Stop().
  Status Run(const Handler& handler);
  void Stop() { stop_ = true; }
  uint64_t handled() const { return handled_.load(); }

 private:
  Consumer() = default;
  Result<size_t> Count(std::vector<std::string> args);
  ConsumerOptions options_;
  std::mutex mu_;  // guards conn_ (workers ack while the fetcher waits on its own connection)
  std::unique_ptr<net::RespConnection> conn_;
  std::unique_ptr<net::RespConnection> fetch_conn_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> handled_{0};
};

}  // namespace pier::queue
