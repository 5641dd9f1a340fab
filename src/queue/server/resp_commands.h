// File: resp_commands.h
// The queue's commands on a RESP listener: each request is parsed (queue/command.h), run on the
// broker, and answered once durable (writes) or once a message arrives (QCONSUME ... BLOCK).
#pragma once

#include "pier/net/resp_extension.h"
#include "queue/command.h"

namespace pier::queue {

class QueueServer;

class RespCommands final : public net::RespExtension {
 public:
  explicit RespCommands(QueueServer& server) : server_(server) {}
  bool Handles(std::string_view name) const override { return IsQueueCommand(name); }
  std::shared_ptr<net::PendingReply> Start(const std::vector<std::string_view>& args,
                                           int protocol, boost::asio::any_io_executor ex) override;

 private:
  void Run(QueueCommand c, int protocol, std::shared_ptr<net::PendingReply> reply,
           boost::asio::any_io_executor ex);
  QueueServer& server_;
};

}  // namespace pier::queue
