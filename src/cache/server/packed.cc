#include "cache/server/packed.h"

namespace pier::cache::server {

namespace {
size_t VarintSize(size_t n) {
  size_t s = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++s;
  }
  return s;
}
void PutVarint(char* p, size_t n) {
  while (n >= 0x80) {
    *p++ = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  *p = static_cast<char>(n);
}
}  // namespace

std::string_view PackedStrings::At(size_t pos, size_t* next) const {
  size_t n = 0;
  int shift = 0;
  for (;;) {
    const auto b = static_cast<unsigned char>(buf_[pos++]);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  *next = pos + n;
  return std::string_view(buf_).substr(pos, n);
}

size_t PackedStrings::Insert(size_t pos, std::string_view v) {
  const size_t head = VarintSize(v.size());
  buf_.insert(pos, head + v.size(), '\0');
  PutVarint(buf_.data() + pos, v.size());
  buf_.replace(pos + head, v.size(), v);
  ++count_;
  return pos;
}

void PackedStrings::Erase(size_t pos) {
  size_t next;
  At(pos, &next);
  buf_.erase(pos, next - pos);
  --count_;
  if (buf_.capacity() > 64 && buf_.size() < buf_.capacity() / 4) buf_.shrink_to_fit();
}

size_t PackedStrings::Replace(size_t pos, std::string_view v) {
  size_t next;
  At(pos, &next);
  const size_t head = VarintSize(v.size());
  buf_.replace(pos, next - pos, head + v.size(), '\0');
  PutVarint(buf_.data() + pos, v.size());
  buf_.replace(pos + head, v.size(), v);
  return pos + head + v.size();
}

void PackedStrings::EraseFront(size_t pos, size_t n) {
  buf_.erase(0, pos);
  count_ -= static_cast<uint32_t>(n);
}

void PackedStrings::EraseBack(size_t pos, size_t n) {
  buf_.resize(pos);
  count_ -= static_cast<uint32_t>(n);
}

void PackedStrings::Clear() {
  std::string().swap(buf_);
  count_ = 0;
}

PackedStrings PackedStrings::SplitOff(size_t pos, size_t n) {
  PackedStrings tail;
  tail.buf_.assign(buf_, pos, std::string::npos);
  tail.count_ = static_cast<uint32_t>(n);
  buf_.resize(pos);
  buf_.shrink_to_fit();
  count_ -= static_cast<uint32_t>(n);
  return tail;
}

size_t PackedStrings::Find(std::string_view v, size_t stride) const {
  size_t i = 0;
  for (size_t pos = 0, next; pos < buf_.size(); pos = next, ++i) {
    if (At(pos, &next) == v && i % stride == 0) return pos;
  }
  return buf_.size();
}

}  // namespace pier::cache::server
