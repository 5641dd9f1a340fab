// File: resp_extension.h
// RespExtension: commands another module serves on the RESP listener (the queue's Q* commands
// next to the cache's). Each connection opens a Session; a command starts at once and returns a
// PendingReply that completes later (once durable, or when a long poll ends). After starting
// every command of what it read, the connection calls Flush() (a session may hold writes until
// then, to submit a pipeline as one batch) and writes the replies in request order.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pier::net {

// A reply that is ready now or later. Complete() may run on any thread; Wait() runs on the
// connection's executor.
class PendingReply : public std::enable_shared_from_this<PendingReply> {
 public:
  explicit PendingReply(boost::asio::any_io_executor ex) : timer_(ex) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  void Complete(std::string reply);
  boost::asio::awaitable<void> Wait();
  // The reply (valid once Wait() returned or ready() is true).
  const std::string& reply() const { return reply_; }
  bool ready() const;

 private:
  mutable std::mutex mu_;
  bool done_ = false;
  std::string reply_;
  boost::asio::steady_timer timer_;
};

class RespExtension {
 public:
  // One connection's commands. Used by that connection's coroutine only.
  class Session {
   public:
    virtual ~Session() = default;
    // Starts a command. `args` are valid only during the call. `protocol` is 2 or 3.
    virtual std::shared_ptr<PendingReply> Start(const std::vector<std::string_view>& args,
                                                int protocol) = 0;
    // Submits whatever Start() held back.
    virtual void Flush() {}
  };

  virtual ~RespExtension() = default;
  // Whether this extension serves the command (case-insensitive).
  virtual bool Handles(std::string_view name) const = 0;
  // A session for a connection whose replies complete on `ex`.
  virtual std::unique_ptr<Session> NewSession(boost::asio::any_io_executor ex) = 0;
};

}  // namespace pier::net
