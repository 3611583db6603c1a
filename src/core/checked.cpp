#include "core/checked.hpp"

#include <cstdio>

namespace slab {

std::string format_bytes(Checked bytes) {
  if (bytes.overflowed()) return "more than 16 EiB (beyond 64-bit sizes)";
  const std::uint64_t b = bytes.value();
  if (b < 1024) return std::to_string(b) + " B";
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(b) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char text[32];
  // Three significant digits; 1000 to 1023 whole (%.3g would write 1e+03).
  std::snprintf(text, sizeof text, v >= 1000 ? "%.0f %s" : "%.3g %s", v, units[unit]);
  return text;
}

}  // namespace slab
