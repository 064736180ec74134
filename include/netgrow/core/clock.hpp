/// \file
/// netgrow/core/clock.hpp: seconds on a monotonic clock, for timing growths and training steps.
/// POSIX clock_gettime rather than <chrono>, whose C++20 header costs every includer about a quarter of a
/// second of parsing.
#pragma once

#include <time.h>

namespace netgrow {

/// Seconds since an arbitrary fixed point, monotonic (CLOCK_MONOTONIC, as std::chrono::steady_clock).
inline double monotonic_seconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace netgrow
