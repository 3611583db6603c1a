#include "core/checked.hpp"

#include <charconv>
#include <cstdio>
#include <utility>

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

std::optional<std::uint64_t> parse_bytes(const std::string& text) {
  std::uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || rest == text.data()) return std::nullopt;
  const std::string unit(rest, end);
  static const std::pair<const char*, std::uint64_t> units[] = {{"", 1},
                                                                {"B", 1},
                                                                {"K", 1ULL << 10},
                                                                {"KiB", 1ULL << 10},
                                                                {"M", 1ULL << 20},
                                                                {"MiB", 1ULL << 20},
                                                                {"G", 1ULL << 30},
                                                                {"GiB", 1ULL << 30},
                                                                {"T", 1ULL << 40},
                                                                {"TiB", 1ULL << 40},
                                                                {"kB", 1000},
                                                                {"KB", 1000},
                                                                {"MB", 1000000},
                                                                {"GB", 1000000000},
                                                                {"TB", 1000000000000}};
  for (const auto& [name, scale] : units) {
    if (unit != name) continue;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(number, scale, &bytes)) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

}  // namespace slab
