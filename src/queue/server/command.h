// File: command.h
// The queue's RESP commands, parsed from a request's arguments into a QueueCommand. Pure (no
// I/O), so the fuzz target drives it directly. Syntax is in docs/queue.md; every error names the
// command and the argument that is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"
#include "pier/queue/types.h"

namespace pier::queue {

enum class CommandKind {
  kPublish,       // QPUBLISH topic payload [PRIORITY n] [DELAY ms] [DEDUP id] [HEADER k v]...
  kMultiPublish,  // QMPUBLISH topic payload [payload ...]
  kConsume,       // QCONSUME topic [SUB s] [COUNT n] [BLOCK ms] [VISIBILITY ms]
  kAck,           // QACK topic sub id [id ...]
  kNack,          // QNACK topic sub id [id ...] [RETRY | DELAY ms | DEAD] [ERROR text]
  kExtend,        // QEXTEND topic sub ms id [id ...]
  kStats,         // QSTATS [topic]
  kDeadList,      // QDEAD topic sub LIST [COUNT n]
  kDeadGet,       // QDEAD topic sub GET id
  kDeadPurge,     // QDEAD topic sub PURGE
  kRedrive,       // QREDRIVE topic sub [id ...]
  kTopicCreate,   // QTOPIC CREATE topic [MAXPRIORITY n] [DEDUPWINDOW ms] [NODEFAULT]
  kTopicDelete,   // QTOPIC DELETE topic
  kTopicList,     // QTOPIC LIST
  kSubCreate,     // QSUB CREATE topic sub [VISIBILITY ms] [MAXDELIVERIES n] [BACKOFF base max]
                  //   [DEADLETTER topic]
  kSubDelete,     // QSUB DELETE topic sub
  kSubList,       // QSUB LIST topic
};

struct QueueCommand {
  CommandKind kind = CommandKind::kStats;
  std::string topic, sub = kDefaultSubscription;
  std::vector<PublishRequest> publish;
  std::vector<uint64_t> ids;
  size_t count = 0;           // QCONSUME: 0 = the server's consume batch; QDEAD LIST: 100
  int64_t block_ms = -1;      // QCONSUME: -1 = do not block; 0 = block forever (capped)
  int64_t visibility_ms = 0;  // QCONSUME, QEXTEND
  NackOutcome outcome = NackOutcome::kRetry;
  int64_t delay_ms = 0;
  std::string error;
  TopicOptions topic_options;
  bool default_subscription = true;
  SubscriptionOptions sub_options;
};

// The command names this parser knows (upper case).
bool IsQueueCommand(std::string_view name);

// Parses args (args[0] is the command name). Errors read like Redis's, prefixed "ERR".
Result<QueueCommand> ParseQueueCommand(const std::vector<std::string_view>& args);

}  // namespace pier::queue
