// Wall-clock time for the phase timings: one clock (steady, never set back) and one way to read it.
#pragma once

#include <chrono>

namespace slab {

using Clock = std::chrono::steady_clock;

// Seconds elapsed since `start`.
[[nodiscard]] inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace slab
