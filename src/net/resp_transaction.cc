// Transactions: MULTI queues a connection's commands, EXEC runs them as one (every service held
// still against other clients, on every thread, meanwhile), DISCARD drops them, UNWATCH forgets
// the keys WATCH (a keyspace command) watches. Replies and errors are Redis 7.0's.
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "net/resp_builtins.h"
#include "pier/net/resp_server.h"

namespace asio = boost::asio;

namespace pier::net {

namespace {

void Multi(RespService::Call& c) {
  if (c.client.multi) return c.out.Error("ERR MULTI calls can not be nested");
  c.client.multi = std::make_unique<RespClient::Transaction>();
  c.out.Ok();
}

void Discard(RespService::Call& c) {
  if (!c.client.multi) return c.out.Error("ERR DISCARD without MULTI");
  c.client.multi.reset();
  c.client.watch.reset();
  c.out.Ok();
}

void Unwatch(RespService::Call& c) {
  c.client.watch.reset();
  c.out.Ok();
}

void ExecOutsideServer(RespService::Call& c) {
  // RespServer::Execute runs EXEC itself (it needs the connection's sessions); only a direct
  // Dispatch of the builtins could come here.
  c.out.Error("ERR EXEC without MULTI");
}

// Completes when every inner reply did: `text` with each reply spliced in at its offset.
std::shared_ptr<PendingReply> Splice(
    asio::any_io_executor ex, std::string text,
    std::vector<std::pair<size_t, std::shared_ptr<PendingReply>>> parts) {
  auto whole = std::make_shared<PendingReply>(ex);
  asio::co_spawn(
      ex,
      [whole, text = std::move(text), parts = std::move(parts)]() -> asio::awaitable<void> {
        std::string merged;
        size_t pos = 0;
        for (const auto& part : parts) {
          merged.append(text, pos, part.first - pos);
          co_await part.second->Wait();
          merged += part.second->reply();
          pos = part.first;
        }
        merged.append(text, pos, std::string::npos);
        whole->Complete(std::move(merged));
      },
      asio::detached);
  return whole;
}

}  // namespace

void AddTransactionCommands(std::vector<BuiltinCommand>& t) {
  using F = RespCommand;
  const uint32_t base = F::kNoQueue | F::kLoading | F::kStale;
  t.emplace_back("multi", 1, base | F::kFast, Multi, "transaction", "Starts a transaction.",
                 "1.2.0");
  t.emplace_back("exec", 1, base, ExecOutsideServer, "transaction",
                 "Executes all commands in a transaction.", "1.2.0");
  t.emplace_back("discard", 1, base | F::kFast, Discard, "transaction", "Discards a transaction.",
                 "2.0.0");
  t.emplace_back("unwatch", 1, F::kLoading | F::kStale | F::kFast, Unwatch, "transaction",
                 "Forgets about watched keys of a transaction.", "2.2.0");
}

void RespServer::Queue(RespClient& client, const std::vector<std::string_view>& args,
                       RespWriter& w) {
  RespClient::Transaction& tx = *client.multi;
  size_t bytes = 0;
  for (auto a : args) bytes += a.size() + 16;
  // Redis bounds a transaction only by memory; pier bounds its queue by the query buffer limit,
  // so one client cannot hold more than it could send in one request.
  if (tx.bytes + bytes > limits().max_query_buffer) {
    tx.failed = true;
    return w.Error(
        "ERR MULTI queue is larger than client-query-buffer-limit; transaction "
        "will be discarded");
  }
  tx.bytes += bytes;
  tx.queued.emplace_back(args.begin(), args.end());
  w.Simple("QUEUED");
}

std::shared_ptr<PendingReply> RespServer::Exec(
    RespClient& client, std::string* out, Clock::TimePoint* now, asio::any_io_executor ex,
    std::vector<std::unique_ptr<RespService::Session>>& sessions) {
  RespWriter w(out, client.protocol);
  if (!client.multi) {
    w.Error("ERR EXEC without MULTI");
    return nullptr;
  }
  std::unique_ptr<RespClient::Transaction> tx = std::move(client.multi);
  std::unique_ptr<RespClient::Watch> watch = std::move(client.watch);
  client.last_command.store("exec", std::memory_order_relaxed);
  if (tx->failed) {
    w.Error("EXECABORT Transaction discarded because of previous errors.");
    return nullptr;
  }
  std::vector<std::pair<size_t, std::shared_ptr<PendingReply>>> later;
  const size_t start = out->size();
  {
    std::vector<std::shared_ptr<void>> held;
    for (RespService* s : router_.services()) held.push_back(s->BeginTransaction());
    if (watch && watch->Changed(UnixMsAt(*now))) {
      w.NullArray();
    } else {
      w.ArrayHeader(static_cast<int64_t>(tx->queued.size()));
      client.in_transaction = true;
      std::vector<std::string_view> args;
      for (const auto& cmd : tx->queued) {
        args.assign(cmd.begin(), cmd.end());
        const size_t at = out->size();
        if (auto r = Execute(client, args, out, now, ex, sessions)) later.emplace_back(at, r);
      }
      client.in_transaction = false;
    }
    while (!held.empty()) held.pop_back();  // released in reverse order
  }
  watch.reset();  // unregisters outside the services' locks
  if (later.empty()) return nullptr;
  for (auto& part : later) part.first -= start;
  std::string text = out->substr(start);
  out->resize(start);
  return Splice(ex, std::move(text), std::move(later));
}

}  // namespace pier::net
