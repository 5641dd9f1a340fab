#include "pier/base/hash.h"

#include <xxhash.h>

namespace pier {

uint64_t HashBytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

}  // namespace pier
