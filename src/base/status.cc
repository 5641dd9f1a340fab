#include "pier/base/status.h"

namespace pier {

int Status::ExitCode() const {
  switch (code_) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kUnavailable:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 2;
    default:
      return 1;
  }
}

namespace detail {
void CheckFailed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "PIER_CHECK failed at %s:%d: %s %s\n", file, line, expr, msg);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace pier
