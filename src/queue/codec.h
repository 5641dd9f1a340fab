// File: codec.h
// The queue log's records. A frame is one atomic write: [u32 body length][u32 checksum][body],
// the body a list of ops; the checksum (low 32 bits of XXH3 of the body) lets recovery tell a
// torn or corrupt tail from data. Every length is bounded before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"
#include "pier/queue/types.h"

namespace pier::queue {

inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr size_t kMaxFrameBytes = 80u << 20;    // a batch of publishes
inline constexpr size_t kMaxPayloadBytes = 64u << 20;  // one message (default limit: 8 MiB)
inline constexpr size_t kMaxNameBytes = 200;
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxHeaderBytes = 8192;  // one header name or value

// Why a kPublish record was written.
enum class PublishOrigin : uint8_t {
  kNew = 0,       // a producer's publish (dedup applies)
  kRedrive = 1,   // a dead letter sent back to its subscription
  kRelocate = 2,  // compaction re-wrote a live message so its old segment can go
};

enum class OpType : uint8_t {
  kCreateTopic = 1,
  kDeleteTopic = 2,
  kCreateSubscription = 3,
  kDeleteSubscription = 4,
  kPublish = 5,  // `subscription` empty: every subscription of the topic; else only that one
  kAck = 6,
  kRetry = 7,      // a nack or an expired lease: delivery count and when it is ready again
  kDead = 8,       // removed from the subscription; a kPublish to the dead-letter topic follows
  kDedup = 9,      // a remembered dedup id (segment headers carry them forward)
  kPurge = 10,     // every message of the subscription removed
  kSequence = 11,  // segment headers: ids below `id` were used (so none is handed out twice)
};

struct Op {
  OpType type = OpType::kAck;
  std::string topic;
  std::string subscription;
  uint64_t id = 0;
  // kPublish
  int priority = 0;
  int64_t not_before_ms = 0;
  int64_t publish_ms = 0;
  std::string dedup_id;
  Headers headers;
  std::string payload;
  uint32_t delivery_count = 0;
  PublishOrigin origin = PublishOrigin::kNew;
  size_t payload_offset = 0;  // decoded: where the payload starts, from the frame start
  // kCreateTopic / kCreateSubscription
  TopicOptions topic_options;
  SubscriptionOptions subscription_options;
  // kDead: the last error; kDedup: expiry in expires_ms
  std::string error;
  int64_t expires_ms = 0;
};

// Appends the frame (header and body) for `ops` to `out`; `payload_offsets`, if given, receives
// each op's payload position relative to the frame start.
void EncodeFrame(const std::vector<Op>& ops, std::string* out,
                 std::vector<size_t>* payload_offsets = nullptr);

// Checks a frame header: the body length, or an error when it is out of bounds.
Result<uint32_t> FrameBodyLength(std::string_view header);
bool ChecksumMatches(std::string_view header, std::string_view body);

// Decodes a frame body. Any malformed or out-of-bounds field is an error naming it.
Status DecodeBody(std::string_view body, std::vector<Op>* ops);

}  // namespace pier::queue
