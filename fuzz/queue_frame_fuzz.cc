// The queue log's frame decoder (what recovery reads from disk): any bytes decode or fail with
// a reason; a decoded body encodes back to the same bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queue/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<pier::queue::Op> ops;
  if (!pier::queue::DecodeBody(body, &ops).ok()) return 0;
  std::string frame;
  std::vector<size_t> offsets;
  pier::queue::EncodeFrame(ops, &frame, &offsets);
  if (frame.substr(pier::queue::kFrameHeaderBytes) != body) __builtin_trap();
  auto len = pier::queue::FrameBodyLength(frame);
  if (!len.ok() || *len != size) __builtin_trap();
  if (!pier::queue::ChecksumMatches(frame, body)) __builtin_trap();
  size_t p = 0;
  for (const auto& op : ops) {
    if (op.type != pier::queue::OpType::kPublish) continue;
    if (offsets[p] != op.payload_offset) __builtin_trap();
    if (frame.compare(offsets[p], op.payload.size(), op.payload) != 0) __builtin_trap();
    ++p;
  }
  return 0;
}
