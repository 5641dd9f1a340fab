// File: types.h
// The queue's vocabulary: topics, subscriptions, messages, and what publish/consume/nack take
// and return. Times are Unix milliseconds (they survive a restart).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pier::queue {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Name every topic gets a subscription of, so publishing with no setup keeps messages.
inline constexpr const char* kDefaultSubscription = "default";

struct TopicOptions {
  int max_priority = 9;              // priorities 0..max_priority (at most 255)
  int64_t dedup_window_ms = 300000;  // a dedup id is remembered this long
};

struct SubscriptionOptions {
  int64_t visibility_timeout_ms = 30000;  // a consumed message's lease
  uint32_t max_deliveries = 5;            // past this, the message goes to the dead-letter topic
  int64_t backoff_base_ms = 1000;         // retry n waits base * 2^(n-1), with jitter, ...
  int64_t backoff_max_ms = 60000;         // ... at most this
  std::string dead_letter_topic;          // "" = "<topic>.<subscription>.dlq"
};

struct PublishRequest {
  std::string topic;
  std::string payload;
  Headers headers;
  int priority = 0;
  int64_t delay_ms = 0;  // not delivered before publish time + delay
  std::string dedup_id;  // a repeat within the topic's window is not stored again
};

struct PublishResult {
  uint64_t id = 0;
  bool duplicate = false;  // the dedup id was seen: `id` is the first message's
};

// A message as a consumer receives it.
struct Delivery {
  uint64_t id = 0;
  std::string topic;
  std::string subscription;
  std::string payload;
  Headers headers;
  int priority = 0;
  int64_t publish_ms = 0;
  uint32_t delivery_count = 0;  // 1 on the first delivery
  int64_t lease_until_ms = 0;
};

enum class NackOutcome { kRetry, kRetryAfter, kDead };

struct SubscriptionStats {
  std::string topic, name;
  SubscriptionOptions options;
  uint64_t ready = 0, in_flight = 0, delayed = 0, dead = 0;
  int64_t oldest_ready_age_ms = 0;
  uint64_t published = 0, acked = 0, nacked = 0, redelivered = 0, dead_lettered = 0;
  double publish_rate = 0, ack_rate = 0, nack_rate = 0, redelivery_rate = 0;  // per second, 1 min
  std::map<uint32_t, uint64_t> delivery_counts;  // deliveries a message needed -> acked messages
};

struct TopicStats {
  std::string name;
  TopicOptions options;
  uint64_t published = 0, duplicates = 0;
  std::vector<SubscriptionStats> subscriptions;
};

}  // namespace pier::queue
