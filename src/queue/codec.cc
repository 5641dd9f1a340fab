#include "queue/codec.h"

#include <cstring>

#include "pier/base/hash.h"

namespace pier::queue {

namespace {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void I64(int64_t v) { Raw(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }
  size_t size() const { return out_->size(); }

 private:
  void Raw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }  // LE hosts
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool I64(int64_t* v) { return Raw(v, 8); }
  bool Str(std::string* s, size_t max) {
    uint32_t n;
    if (!U32(&n) || n > max || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Raw(void* p, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

uint32_t Checksum(std::string_view body) { return static_cast<uint32_t>(HashBytes(body)); }

void EncodeOp(const Op& op, Writer& w, size_t frame_start, std::vector<size_t>* payload_offsets) {
  w.U8(static_cast<uint8_t>(op.type));
  w.Str(op.topic);
  w.Str(op.subscription);
  w.U64(op.id);
  switch (op.type) {
    case OpType::kCreateTopic:
      w.U32(static_cast<uint32_t>(op.topic_options.max_priority));
      w.I64(op.topic_options.dedup_window_ms);
      break;
    case OpType::kCreateSubscription: {
      const auto& s = op.subscription_options;
      w.I64(s.visibility_timeout_ms);
      w.U32(s.max_deliveries);
      w.I64(s.backoff_base_ms);
      w.I64(s.backoff_max_ms);
      w.Str(s.dead_letter_topic);
      break;
    }
    case OpType::kPublish:
      w.U8(static_cast<uint8_t>(op.priority));
      w.I64(op.not_before_ms);
      w.I64(op.publish_ms);
      w.U32(op.delivery_count);
      w.U8(static_cast<uint8_t>(op.origin));
      w.Str(op.dedup_id);
      w.U32(static_cast<uint32_t>(op.headers.size()));
      for (const auto& [k, v] : op.headers) {
        w.Str(k);
        w.Str(v);
      }
      if (payload_offsets) payload_offsets->push_back(w.size() + 4 - frame_start);
      w.Str(op.payload);
      break;
    case OpType::kRetry:
      w.U32(op.delivery_count);
      w.I64(op.not_before_ms);
      break;
    case OpType::kDead:
      w.Str(op.error);
      break;
    case OpType::kDedup:
      w.Str(op.dedup_id);
      w.I64(op.expires_ms);
      break;
    case OpType::kDeleteTopic:
    case OpType::kDeleteSubscription:
    case OpType::kAck:
    case OpType::kPurge:
    case OpType::kSequence:
      break;
  }
}

}  // namespace

void EncodeFrame(const std::vector<Op>& ops, std::string* out,
                 std::vector<size_t>* payload_offsets) {
  const size_t start = out->size();
  out->append(kFrameHeaderBytes, '\0');
  Writer w(out);
  w.U32(static_cast<uint32_t>(ops.size()));
  for (const Op& op : ops) EncodeOp(op, w, start, payload_offsets);
  const uint32_t len = static_cast<uint32_t>(out->size() - start - kFrameHeaderBytes);
  const uint32_t sum = Checksum(std::string_view(*out).substr(start + kFrameHeaderBytes));
  std::memcpy(out->data() + start, &len, 4);
  std::memcpy(out->data() + start + 4, &sum, 4);
}

Result<uint32_t> FrameBodyLength(std::string_view header) {
  if (header.size() < kFrameHeaderBytes) return Status::InvalidArgument("short frame header");
  uint32_t len;
  std::memcpy(&len, header.data(), 4);
  if (len == 0 || len > kMaxFrameBytes) {
    return Status::InvalidArgument("frame length " + std::to_string(len) + " out of bounds");
  }
  return len;
}

bool ChecksumMatches(std::string_view header, std::string_view body) {
  uint32_t sum;
  std::memcpy(&sum, header.data() + 4, 4);
  return sum == Checksum(body);
}

Status DecodeBody(std::string_view body, std::vector<Op>* ops) {
  Reader r(body);
  uint32_t count;
  if (!r.U32(&count) || count == 0 || count > body.size()) {
    return Status::InvalidArgument("bad op count");
  }
  ops->clear();
  for (uint32_t i = 0; i < count; ++i) {
    Op op;
    uint8_t type;
    auto bad = [&](const char* field) {
      return Status::InvalidArgument("op " + std::to_string(i) + ": bad " + field);
    };
    if (!r.U8(&type) || type < 1 || type > static_cast<uint8_t>(OpType::kSequence)) {
      return bad("type");
    }
    op.type = static_cast<OpType>(type);
    if (!r.Str(&op.topic, kMaxNameBytes)) return bad("topic");
    if (!r.Str(&op.subscription, kMaxNameBytes)) return bad("subscription");
    if (!r.U64(&op.id)) return bad("id");
    switch (op.type) {
      case OpType::kCreateTopic: {
        uint32_t p;
        if (!r.U32(&p) || p > 255) return bad("max priority");
        op.topic_options.max_priority = static_cast<int>(p);
        if (!r.I64(&op.topic_options.dedup_window_ms) || op.topic_options.dedup_window_ms < 0) {
          return bad("dedup window");
        }
        break;
      }
      case OpType::kCreateSubscription: {
        auto& s = op.subscription_options;
        if (!r.I64(&s.visibility_timeout_ms) || s.visibility_timeout_ms <= 0) {
          return bad("visibility timeout");
        }
        if (!r.U32(&s.max_deliveries) || s.max_deliveries == 0) return bad("max deliveries");
        if (!r.I64(&s.backoff_base_ms) || s.backoff_base_ms < 0) return bad("backoff base");
        if (!r.I64(&s.backoff_max_ms) || s.backoff_max_ms < 0) return bad("backoff max");
        if (!r.Str(&s.dead_letter_topic, kMaxNameBytes)) return bad("dead-letter topic");
        break;
      }
      case OpType::kPublish: {
        uint8_t prio, origin;
        uint32_t nh;
        if (!r.U8(&prio)) return bad("priority");
        op.priority = prio;
        if (!r.I64(&op.not_before_ms) || !r.I64(&op.publish_ms)) return bad("times");
        if (!r.U32(&op.delivery_count)) return bad("delivery count");
        if (!r.U8(&origin) || origin > 2) return bad("origin");
        op.origin = static_cast<PublishOrigin>(origin);
        if (!r.Str(&op.dedup_id, kMaxNameBytes)) return bad("dedup id");
        if (!r.U32(&nh) || nh > kMaxHeaders) return bad("header count");
        for (uint32_t h = 0; h < nh; ++h) {
          std::string k, v;
          if (!r.Str(&k, kMaxHeaderBytes) || !r.Str(&v, kMaxHeaderBytes)) return bad("header");
          op.headers.emplace_back(std::move(k), std::move(v));
        }
        op.payload_offset = kFrameHeaderBytes + r.pos() + 4;
        if (!r.Str(&op.payload, kMaxPayloadBytes)) return bad("payload");
        break;
      }
      case OpType::kRetry:
        if (!r.U32(&op.delivery_count) || !r.I64(&op.not_before_ms)) return bad("retry");
        break;
      case OpType::kDead:
        if (!r.Str(&op.error, kMaxHeaderBytes)) return bad("error");
        break;
      case OpType::kDedup:
        if (!r.Str(&op.dedup_id, kMaxNameBytes) || !r.I64(&op.expires_ms)) return bad("dedup");
        break;
      case OpType::kDeleteTopic:
      case OpType::kDeleteSubscription:
      case OpType::kAck:
      case OpType::kPurge:
      case OpType::kSequence:
        break;
    }
    ops->push_back(std::move(op));
  }
  if (!r.done()) return Status::InvalidArgument("trailing bytes after the last op");
  return Status::Ok();
}

}  // namespace pier::queue
