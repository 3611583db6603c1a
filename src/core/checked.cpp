#include "core/checked.hpp"

#include <charconv>
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

std::optional<std::uint64_t> parse_bytes(const std::string& text) {
  std::uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || rest == text.data()) return std::nullopt;
  const std::string unit(rest, end);
  static const char* const names[][2] = {{"B", ""}, {"KiB", "K"}, {"MiB", "M"}, {"GiB", "G"}, {"TiB", "T"}};
  for (unsigned power = 0; power < 5; ++power) {
    if (unit != names[power][0] && unit != names[power][1]) continue;
    const unsigned shift = 10 * power;
    if (shift > 0 && number > (~std::uint64_t{0} >> shift)) return std::nullopt;
    return number << shift;
  }
  return std::nullopt;
}

}  // namespace slab
