#include "pier/base/clock.h"

namespace pier {

Clock& Clock::Steady() {
  static SteadyClock clock;
  return clock;
}

}  // namespace pier
