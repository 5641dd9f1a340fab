#include "queue/server/command.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "pier/base/strings.h"

namespace pier::queue {

namespace {

constexpr size_t kMaxBatch = 10000;
constexpr int64_t kMaxMs = 365LL * 24 * 3600 * 1000;

std::string Upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

class Args {
 public:
  Args(const std::vector<std::string_view>& a) : a_(a), name_(Upper(a[0])) {}
  size_t size() const { return a_.size(); }
  std::string_view operator[](size_t i) const { return a_[i]; }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("ERR " + name_ + ": " + what);
  }
  Status Arity() const {
    return Status::InvalidArgument("ERR wrong number of arguments for '" + AsciiLower(name_) +
                                   "' command");
  }
  // An integer in [lo, hi] at position i, named `what` in the error.
  Status Int(size_t i, const char* what, int64_t lo, int64_t hi, int64_t* out) const {
    if (i >= a_.size()) return Error(std::string(what) + " is missing");
    std::string_view s = a_[i];
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec != std::errc() || p != s.data() + s.size() || *out < lo || *out > hi) {
      return Error(std::string(what) + " must be an integer from " + std::to_string(lo) + " to " +
                   std::to_string(hi) + ", got '" + std::string(s.substr(0, 64)) + "'");
    }
    return Status::Ok();
  }
  Status Id(size_t i, uint64_t* out) const {
    std::string_view s = a_[i];
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec != std::errc() || p != s.data() + s.size() || *out == 0) {
      return Error("message id must be a positive integer, got '" + std::string(s.substr(0, 64)) +
                   "'");
    }
    return Status::Ok();
  }
  bool Is(size_t i, std::string_view word) const {
    if (i >= a_.size() || a_[i].size() != word.size()) return false;
    return Upper(a_[i]) == word;
  }
  const std::string& name() const { return name_; }

 private:
  const std::vector<std::string_view>& a_;
  std::string name_;
};

Status ParsePublish(const Args& a, QueueCommand& c) {
  if (a.size() < 3) return a.Arity();
  c.topic = a[1];
  PublishRequest r;
  r.topic = c.topic;
  r.payload = a[2];
  for (size_t i = 3; i < a.size(); ++i) {
    int64_t v = 0;
    if (a.Is(i, "PRIORITY")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "PRIORITY", 0, 255, &v));
      r.priority = static_cast<int>(v);
    } else if (a.Is(i, "DELAY")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "DELAY", 0, kMaxMs, &r.delay_ms));
    } else if (a.Is(i, "DEDUP")) {
      if (++i >= a.size()) return a.Error("DEDUP needs an id");
      r.dedup_id = a[i];
    } else if (a.Is(i, "HEADER")) {
      if (i + 2 >= a.size()) return a.Error("HEADER needs a name and a value");
      r.headers.emplace_back(std::string(a[i + 1]), std::string(a[i + 2]));
      i += 2;
    } else {
      return a.Error("unknown option '" + std::string(a[i].substr(0, 64)) + "'");
    }
  }
  c.publish.push_back(std::move(r));
  return Status::Ok();
}

Status ParseIds(const Args& a, size_t from, size_t to, QueueCommand& c) {
  if (to - from > kMaxBatch) return a.Error("at most " + std::to_string(kMaxBatch) + " ids");
  for (size_t i = from; i < to; ++i) {
    uint64_t id = 0;
    PIER_RETURN_IF_ERROR(a.Id(i, &id));
    c.ids.push_back(id);
  }
  return Status::Ok();
}

bool IsIdLike(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

Status ParseNack(const Args& a, QueueCommand& c) {
  if (a.size() < 4) return a.Arity();
  c.topic = a[1];
  c.sub = a[2];
  size_t i = 3;
  while (i < a.size() && IsIdLike(a[i])) ++i;
  if (i == 3) return a.Error("at least one message id is needed");
  PIER_RETURN_IF_ERROR(ParseIds(a, 3, i, c));
  for (; i < a.size(); ++i) {
    if (a.Is(i, "RETRY")) {
      c.outcome = NackOutcome::kRetry;
    } else if (a.Is(i, "DEAD")) {
      c.outcome = NackOutcome::kDead;
    } else if (a.Is(i, "DELAY")) {
      c.outcome = NackOutcome::kRetryAfter;
      PIER_RETURN_IF_ERROR(a.Int(++i, "DELAY", 0, kMaxMs, &c.delay_ms));
    } else if (a.Is(i, "ERROR")) {
      if (++i >= a.size()) return a.Error("ERROR needs a text");
      c.error = std::string(a[i].substr(0, 8192));
    } else {
      return a.Error("unknown option '" + std::string(a[i].substr(0, 64)) + "'");
    }
  }
  return Status::Ok();
}

Status ParseConsume(const Args& a, QueueCommand& c) {
  if (a.size() < 2) return a.Arity();
  c.topic = a[1];
  for (size_t i = 2; i < a.size(); ++i) {
    int64_t v = 0;
    if (a.Is(i, "SUB")) {
      if (++i >= a.size()) return a.Error("SUB needs a subscription name");
      c.sub = a[i];
    } else if (a.Is(i, "COUNT")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "COUNT", 1, kMaxBatch, &v));
      c.count = static_cast<size_t>(v);
    } else if (a.Is(i, "BLOCK")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "BLOCK", 0, kMaxMs, &c.block_ms));
    } else if (a.Is(i, "VISIBILITY")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "VISIBILITY", 1, kMaxMs, &c.visibility_ms));
    } else {
      return a.Error("unknown option '" + std::string(a[i].substr(0, 64)) + "'");
    }
  }
  return Status::Ok();
}

Status ParseTopic(const Args& a, QueueCommand& c) {
  if (a.size() < 2) return a.Arity();
  if (a.Is(1, "LIST")) {
    if (a.size() != 2) return a.Arity();
    c.kind = CommandKind::kTopicList;
    return Status::Ok();
  }
  if (a.size() < 3) return a.Arity();
  c.topic = a[2];
  if (a.Is(1, "DELETE")) {
    if (a.size() != 3) return a.Arity();
    c.kind = CommandKind::kTopicDelete;
    return Status::Ok();
  }
  if (!a.Is(1, "CREATE"))
    return a.Error("unknown subcommand '" + std::string(a[1].substr(0, 64)) + "'");
  c.kind = CommandKind::kTopicCreate;
  for (size_t i = 3; i < a.size(); ++i) {
    int64_t v = 0;
    if (a.Is(i, "MAXPRIORITY")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "MAXPRIORITY", 0, 255, &v));
      c.topic_options.max_priority = static_cast<int>(v);
    } else if (a.Is(i, "DEDUPWINDOW")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "DEDUPWINDOW", 0, kMaxMs, &c.topic_options.dedup_window_ms));
    } else if (a.Is(i, "NODEFAULT")) {
      c.default_subscription = false;
    } else {
      return a.Error("unknown option '" + std::string(a[i].substr(0, 64)) + "'");
    }
  }
  return Status::Ok();
}

Status ParseSub(const Args& a, QueueCommand& c) {
  if (a.size() < 3) return a.Arity();
  c.topic = a[2];
  if (a.Is(1, "LIST")) {
    if (a.size() != 3) return a.Arity();
    c.kind = CommandKind::kSubList;
    return Status::Ok();
  }
  if (a.size() < 4) return a.Arity();
  c.sub = a[3];
  if (a.Is(1, "DELETE")) {
    if (a.size() != 4) return a.Arity();
    c.kind = CommandKind::kSubDelete;
    return Status::Ok();
  }
  if (!a.Is(1, "CREATE"))
    return a.Error("unknown subcommand '" + std::string(a[1].substr(0, 64)) + "'");
  c.kind = CommandKind::kSubCreate;
  auto& o = c.sub_options;
  for (size_t i = 4; i < a.size(); ++i) {
    int64_t v = 0;
    if (a.Is(i, "VISIBILITY")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "VISIBILITY", 1, kMaxMs, &o.visibility_timeout_ms));
    } else if (a.Is(i, "MAXDELIVERIES")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "MAXDELIVERIES", 1, 1000000, &v));
      o.max_deliveries = static_cast<uint32_t>(v);
    } else if (a.Is(i, "BACKOFF")) {
      PIER_RETURN_IF_ERROR(a.Int(++i, "BACKOFF base", 0, kMaxMs, &o.backoff_base_ms));
      PIER_RETURN_IF_ERROR(a.Int(++i, "BACKOFF max", o.backoff_base_ms, kMaxMs, &o.backoff_max_ms));
    } else if (a.Is(i, "DEADLETTER")) {
      if (++i >= a.size()) return a.Error("DEADLETTER needs a topic");
      o.dead_letter_topic = a[i];
    } else {
      return a.Error("unknown option '" + std::string(a[i].substr(0, 64)) + "'");
    }
  }
  return Status::Ok();
}

Status ParseDead(const Args& a, QueueCommand& c) {
  if (a.size() < 4) return a.Arity();
  c.topic = a[1];
  c.sub = a[2];
  if (a.Is(3, "PURGE")) {
    if (a.size() != 4) return a.Arity();
    c.kind = CommandKind::kDeadPurge;
  } else if (a.Is(3, "GET")) {
    if (a.size() != 5) return a.Arity();
    c.kind = CommandKind::kDeadGet;
    return ParseIds(a, 4, 5, c);
  } else if (a.Is(3, "LIST")) {
    c.kind = CommandKind::kDeadList;
    c.count = 100;
    if (a.size() == 6 && a.Is(4, "COUNT")) {
      int64_t v = 0;
      PIER_RETURN_IF_ERROR(a.Int(5, "COUNT", 1, kMaxBatch, &v));
      c.count = static_cast<size_t>(v);
    } else if (a.size() != 4) {
      return a.Error("syntax: QDEAD topic sub LIST [COUNT n]");
    }
  } else {
    return a.Error("unknown subcommand '" + std::string(a[3].substr(0, 64)) +
                   "' (LIST, GET, PURGE)");
  }
  return Status::Ok();
}

}  // namespace

bool IsQueueCommand(std::string_view name) {
  static const char* kNames[] = {"QPUBLISH", "QMPUBLISH", "QCONSUME", "QACK",   "QNACK", "QEXTEND",
                                 "QSTATS",   "QDEAD",     "QREDRIVE", "QTOPIC", "QSUB"};
  if (name.empty() || (name[0] != 'q' && name[0] != 'Q') || name.size() > 9) return false;
  const std::string u = Upper(name);
  return std::any_of(std::begin(kNames), std::end(kNames), [&](const char* n) { return u == n; });
}

Result<QueueCommand> ParseQueueCommand(const std::vector<std::string_view>& args) {
  if (args.empty() || !IsQueueCommand(args[0])) {
    return Status::InvalidArgument("ERR not a queue command");
  }
  Args a(args);
  QueueCommand c;
  const std::string& n = a.name();
  Status st;
  if (n == "QPUBLISH") {
    c.kind = CommandKind::kPublish;
    st = ParsePublish(a, c);
  } else if (n == "QMPUBLISH") {
    c.kind = CommandKind::kMultiPublish;
    if (a.size() < 3) return a.Arity();
    if (a.size() - 2 > kMaxBatch)
      return a.Error("at most " + std::to_string(kMaxBatch) + " messages");
    c.topic = a[1];
    for (size_t i = 2; i < a.size(); ++i) {
      c.publish.push_back({.topic = c.topic, .payload = std::string(a[i])});
    }
  } else if (n == "QCONSUME") {
    c.kind = CommandKind::kConsume;
    st = ParseConsume(a, c);
  } else if (n == "QACK" || n == "QREDRIVE") {
    c.kind = n == "QACK" ? CommandKind::kAck : CommandKind::kRedrive;
    if (a.size() < (n == "QACK" ? 4u : 3u)) return a.Arity();
    c.topic = a[1];
    c.sub = a[2];
    st = ParseIds(a, 3, a.size(), c);
  } else if (n == "QNACK") {
    c.kind = CommandKind::kNack;
    st = ParseNack(a, c);
  } else if (n == "QEXTEND") {
    c.kind = CommandKind::kExtend;
    if (a.size() < 5) return a.Arity();
    c.topic = a[1];
    c.sub = a[2];
    st = a.Int(3, "visibility", 1, kMaxMs, &c.visibility_ms);
    if (st.ok()) st = ParseIds(a, 4, a.size(), c);
  } else if (n == "QSTATS") {
    c.kind = CommandKind::kStats;
    if (a.size() > 2) return a.Arity();
    if (a.size() == 2) c.topic = a[1];
  } else if (n == "QDEAD") {
    st = ParseDead(a, c);
  } else if (n == "QTOPIC") {
    st = ParseTopic(a, c);
  } else if (n == "QSUB") {
    st = ParseSub(a, c);
  }
  if (!st.ok()) return st;
  return c;
}

}  // namespace pier::queue
