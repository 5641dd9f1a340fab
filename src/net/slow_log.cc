#include "pier/net/slow_log.h"

#include <algorithm>

#include "pier/base/strings.h"

namespace pier::net {
namespace {

constexpr std::string_view kRedacted = "(redacted)";

// Which arguments hold a password, as Redis redacts them from the slow log.
std::vector<bool> Secret(const std::vector<std::string_view>& args) {
  std::vector<bool> secret(args.size(), false);
  if (args.empty()) return secret;
  if (EqualsIgnoreCase(args[0], "auth")) {
    std::fill(secret.begin() + 1, secret.end(), true);
  } else if (EqualsIgnoreCase(args[0], "hello")) {
    for (size_t i = 2; i < args.size(); ++i) {  // as HELLO reads its options
      const size_t more = args.size() - 1 - i;
      if (EqualsIgnoreCase(args[i], "auth") && more >= 2) {
        secret[i + 1] = secret[i + 2] = true;
        i += 2;
      } else if (EqualsIgnoreCase(args[i], "setname") && more >= 1) {
        ++i;
      } else {
        break;
      }
    }
  } else if (args.size() > 2 && EqualsIgnoreCase(args[0], "config") &&
             EqualsIgnoreCase(args[1], "set")) {
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      if (EqualsIgnoreCase(args[i], "requirepass") || EqualsIgnoreCase(args[i], "masterauth")) {
        secret[i + 1] = true;
      }
    }
  }
  return secret;
}

}  // namespace

std::vector<std::string> SlowLog::Shorten(const std::vector<std::string_view>& args) {
  const std::vector<bool> secret = Secret(args);
  const size_t n = std::min(args.size(), kMaxArgs);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (n != args.size() && i == n - 1) {
      out.push_back("... (" + std::to_string(args.size() - n + 1) + " more arguments)");
    } else if (secret[i]) {
      out.emplace_back(kRedacted);
    } else if (args[i].size() > kMaxArgBytes) {
      out.push_back(std::string(args[i].substr(0, kMaxArgBytes)) + "... (" +
                    std::to_string(args[i].size() - kMaxArgBytes) + " more bytes)");
    } else {
      out.emplace_back(args[i]);
    }
  }
  return out;
}

size_t SlowLog::max_len() const {
  std::lock_guard lock(mu_);
  return max_len_;
}

void SlowLog::set_max_len(size_t n) {
  std::lock_guard lock(mu_);
  max_len_ = n;
  if (entries_.size() > n) entries_.resize(n);
}

void SlowLog::Add(int64_t unix_s, int64_t micros, std::vector<std::string> args, std::string peer,
                  std::string name) {
  std::lock_guard lock(mu_);
  // Redis counts an entry's id even when slowlog-max-len is 0 and nothing is kept.
  entries_.push_front(
      Entry{next_id_++, unix_s, micros, std::move(args), std::move(peer), std::move(name)});
  if (entries_.size() > max_len_) entries_.resize(max_len_);
}

std::vector<SlowLog::Entry> SlowLog::Latest(size_t count) const {
  std::lock_guard lock(mu_);
  const size_t n = std::min(count, entries_.size());
  return {entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n)};
}

size_t SlowLog::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void SlowLog::Reset() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

void LatencyMonitor::Add(std::string_view event, int64_t unix_s, int64_t ms) {
  std::lock_guard lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Series{}).first;
  Series& s = it->second;
  s.max_ms = std::max(s.max_ms, ms);
  if (!s.samples.empty() && s.samples.back().unix_s == unix_s) {
    s.samples.back().ms = std::max(s.samples.back().ms, ms);  // one sample per second
    return;
  }
  s.samples.push_back({unix_s, ms});
  if (s.samples.size() > kHistory) s.samples.pop_front();
}

std::vector<LatencyMonitor::Latest> LatencyMonitor::LatestAll() const {
  std::lock_guard lock(mu_);
  std::vector<Latest> out;
  for (const auto& [name, s] : events_) {
    out.push_back({name, s.samples.back().unix_s, s.samples.back().ms, s.max_ms});
  }
  return out;
}

std::vector<LatencyMonitor::Sample> LatencyMonitor::History(std::string_view event) const {
  std::lock_guard lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) return {};
  return {it->second.samples.begin(), it->second.samples.end()};
}

size_t LatencyMonitor::Reset(const std::vector<std::string_view>& events) {
  std::lock_guard lock(mu_);
  if (events.empty()) {
    const size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (std::string_view e : events) {
    auto it = events_.find(e);
    if (it == events_.end()) continue;
    events_.erase(it);
    ++n;
  }
  return n;
}

}  // namespace pier::net
