// File: state.h
// The queue's in-memory model: topics, their subscriptions, and per subscription the entries
// for the messages it holds, indexed for delivery order (priority, then id), delay, leases and
// age. Not thread-safe: the Broker guards it with its lock.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "pier/queue/types.h"

namespace pier::queue {

// One published message, shared by the subscriptions that hold it.
struct MessageData {
  uint64_t id = 0;
  std::string topic;
  int priority = 0;
  int64_t publish_ms = 0;
  std::string dedup_id;
  Headers headers;
  std::string payload;  // empty when spilled
  bool spilled = false;
  uint64_t segment = 0, offset = 0;  // where the payload is in the log (0/0: memory only)
  uint32_t length = 0;
  uint32_t holders = 0;     // subscriptions holding it
  std::string dead_origin;  // for dead letters: "<topic>/<subscription>" they came from
  int64_t received_ns = 0;  // steady clock, when this process received it (0: recovered)
};

// "<topic>/<subscription>": how errors and dead letters name a subscription.
std::string OriginOf(const std::string& topic, const std::string& sub);

enum class EntryState { kReady, kDelayed, kInFlight };

struct Entry {
  std::shared_ptr<MessageData> msg;
  EntryState state = EntryState::kReady;
  uint32_t delivery_count = 0;
  int64_t not_before_ms = 0;
  int64_t lease_until_ms = 0;
  int64_t delivered_ns = 0;  // steady clock, the latest lease (0: recovered)
};

// Counters sampled once a second for the one-minute rates.
struct Counters {
  uint64_t published = 0, acked = 0, nacked = 0, redelivered = 0, dead_lettered = 0;
};

struct Subscription {
  std::string topic, name;
  SubscriptionOptions options;
  std::unordered_map<uint64_t, Entry> entries;
  std::set<std::pair<uint32_t, uint64_t>> ready;     // (255 - priority, id)
  std::set<std::pair<int64_t, uint64_t>> ready_age;  // (publish ms, id)
  std::set<std::pair<int64_t, uint64_t>> delayed;    // (not before, id)
  std::set<std::pair<int64_t, uint64_t>> leases;     // (lease until, id)
  std::map<std::string, uint64_t> dead_by_origin;    // dead letters held, by origin
  Counters counters;
  std::deque<std::pair<int64_t, Counters>> samples;  // (ms, counters), the last minute
  std::map<uint32_t, uint64_t> delivery_counts;

  // Adds (or replaces) the entry for `msg`; ready unless not_before is in the future.
  void Add(std::shared_ptr<MessageData> msg, uint32_t delivery_count, int64_t not_before_ms,
           int64_t now_ms);
  // Removes the entry; returns its message (null when absent) so the caller can release it.
  std::shared_ptr<MessageData> Remove(uint64_t id);
  Entry* Find(uint64_t id);
  // Moves an entry to ready or delayed (from any state).
  void Requeue(Entry& e, int64_t not_before_ms, int64_t now_ms);
  // Leases the first ready entry; null when none.
  Entry* LeaseNext(int64_t now_ms, int64_t visibility_ms);
  void SetLease(Entry& e, int64_t until_ms);

  // Ready, delayed and in-flight entries that are due (delayed past not-before, leases past
  // their deadline), in deadline order.
  std::vector<uint64_t> DueDelayed(int64_t now_ms) const;
  std::vector<uint64_t> ExpiredLeases(int64_t now_ms) const;

  SubscriptionStats StatsAt(int64_t now_ms) const;
  void Sample(int64_t now_ms);

 private:
  void Unindex(const Entry& e);
};

struct Topic {
  std::string name;
  TopicOptions options;
  std::map<std::string, Subscription> subscriptions;
  std::unordered_map<std::string, std::pair<uint64_t, int64_t>> dedup;  // id -> (msg, expires)
  uint64_t published = 0, duplicates = 0;
};

}  // namespace pier::queue
