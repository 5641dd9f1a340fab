// File: resp_commands.h
// The queue's commands on a RESP listener: each request is parsed (queue/server/command.h), run on
// the broker, and answered once durable (writes) or once a message arrives (QCONSUME ... BLOCK). A
// connection's consecutive QPUBLISHes are held until the pipeline has been read and then published
// as one batch: one frame, one fsync, as Redis's event loop gives a pipeline.
#pragma once

#include "pier/net/resp_service.h"
#include "queue/server/command.h"

namespace pier::queue {

class QueueServer;

class RespCommands final : public net::RespService {
 public:
  explicit RespCommands(QueueServer& server) : server_(server) {}
  void ForEachCommand(const std::function<void(const net::RespCommand&)>& fn) const override;
  std::shared_ptr<net::PendingReply> Dispatch(Call& call) override;

 private:
  QueueServer& server_;
};

}  // namespace pier::queue
