#include "queue/state.h"

#include <algorithm>
#include <vector>

namespace pier::queue {

std::string OriginOf(const std::string& topic, const std::string& sub) { return topic + "/" + sub; }

namespace {
uint32_t OrderOf(int priority) { return 255u - static_cast<uint32_t>(priority); }
}  // namespace

void Subscription::Unindex(const Entry& e) {
  const uint64_t id = e.msg->id;
  switch (e.state) {
    case EntryState::kReady:
      ready.erase({OrderOf(e.msg->priority), id});
      ready_age.erase({e.msg->publish_ms, id});
      break;
    case EntryState::kDelayed:
      delayed.erase({e.not_before_ms, id});
      break;
    case EntryState::kInFlight:
      leases.erase({e.lease_until_ms, id});
      break;
  }
}

void Subscription::Requeue(Entry& e, int64_t not_before_ms, int64_t now_ms) {
  Unindex(e);
  e.not_before_ms = not_before_ms;
  const uint64_t id = e.msg->id;
  if (not_before_ms > now_ms) {
    e.state = EntryState::kDelayed;
    delayed.insert({not_before_ms, id});
  } else {
    e.state = EntryState::kReady;
    ready.insert({OrderOf(e.msg->priority), id});
    ready_age.insert({e.msg->publish_ms, id});
  }
}

void Subscription::Add(std::shared_ptr<MessageData> msg, uint32_t delivery_count,
                       int64_t not_before_ms, int64_t now_ms) {
  const uint64_t id = msg->id;
  auto [it, inserted] = entries.try_emplace(id);
  Entry& e = it->second;
  if (inserted) {
    e.msg = std::move(msg);
    ++e.msg->holders;
    if (!e.msg->dead_origin.empty()) ++dead_by_origin[e.msg->dead_origin];
    e.state = EntryState::kReady;  // indexed just below
    ready.insert({OrderOf(e.msg->priority), id});
    ready_age.insert({e.msg->publish_ms, id});
  }
  e.delivery_count = delivery_count;
  Requeue(e, not_before_ms, now_ms);
}

std::shared_ptr<MessageData> Subscription::Remove(uint64_t id) {
  auto it = entries.find(id);
  if (it == entries.end()) return nullptr;
  Unindex(it->second);
  auto msg = std::move(it->second.msg);
  entries.erase(it);
  --msg->holders;
  if (!msg->dead_origin.empty()) {
    auto d = dead_by_origin.find(msg->dead_origin);
    if (d != dead_by_origin.end() && --d->second == 0) dead_by_origin.erase(d);
  }
  return msg;
}

Entry* Subscription::Find(uint64_t id) {
  auto it = entries.find(id);
  return it == entries.end() ? nullptr : &it->second;
}

void Subscription::SetLease(Entry& e, int64_t until_ms) {
  Unindex(e);
  e.state = EntryState::kInFlight;
  e.lease_until_ms = until_ms;
  leases.insert({until_ms, e.msg->id});
}

Entry* Subscription::LeaseNext(int64_t now_ms, int64_t visibility_ms) {
  if (ready.empty()) return nullptr;
  Entry& e = entries.at(ready.begin()->second);
  SetLease(e, now_ms + visibility_ms);
  ++e.delivery_count;
  if (e.delivery_count > 1) ++counters.redelivered;
  return &e;
}

std::vector<uint64_t> Subscription::DueDelayed(int64_t now_ms) const {
  std::vector<uint64_t> ids;
  for (auto it = delayed.begin(); it != delayed.end() && it->first <= now_ms; ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<uint64_t> Subscription::ExpiredLeases(int64_t now_ms) const {
  std::vector<uint64_t> ids;
  for (auto it = leases.begin(); it != leases.end() && it->first <= now_ms; ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

void Subscription::Sample(int64_t now_ms) {
  if (!samples.empty() && now_ms - samples.back().first < 1000) return;
  samples.emplace_back(now_ms, counters);
  while (samples.size() > 2 && now_ms - samples[1].first >= 60000) samples.pop_front();
}

SubscriptionStats Subscription::StatsAt(int64_t now_ms) const {
  SubscriptionStats s;
  s.topic = topic;
  s.name = name;
  s.options = options;
  s.ready = ready.size();
  s.in_flight = leases.size();
  s.delayed = delayed.size();
  s.oldest_ready_age_ms =
      ready_age.empty() ? 0 : std::max<int64_t>(0, now_ms - ready_age.begin()->first);
  s.published = counters.published;
  s.acked = counters.acked;
  s.nacked = counters.nacked;
  s.redelivered = counters.redelivered;
  s.dead_lettered = counters.dead_lettered;
  s.delivery_counts = delivery_counts;
  if (!samples.empty() && now_ms > samples.front().first) {
    const auto& [t0, c0] = samples.front();
    const double secs = std::max(1.0, double(now_ms - t0) / 1000.0);
    s.publish_rate = double(counters.published - c0.published) / secs;
    s.ack_rate = double(counters.acked - c0.acked) / secs;
    s.nack_rate = double(counters.nacked - c0.nacked) / secs;
    s.redelivery_rate = double(counters.redelivered - c0.redelivered) / secs;
  }
  return s;
}

}  // namespace pier::queue
