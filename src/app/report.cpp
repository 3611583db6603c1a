#include "report.hpp"

#include <unistd.h>

#include <cstdio>

namespace slab::app {

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

Reporter::Reporter(bool enabled, std::string unit)
    : enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) != 0),
      unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()) {}

double Reporter::elapsed() const { return seconds_since(start_); }

void Reporter::line(const std::string& text) const {
  if (enabled_) std::fprintf(stderr, "%s\n", text.c_str());
}

void Reporter::progress(std::int64_t done, std::int64_t total, double simulated_time) {
  if (!enabled_ || total <= 0) return;
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const double seconds = elapsed();
  const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
  char text[160];
  if (simulated_time >= 0)
    std::snprintf(text, sizeof text, "%s %lld/%lld  t = %.6g  %5.1f%%  elapsed %.1f s  ETA %.1f s", unit_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), simulated_time, 100 * fraction, seconds,
                  eta);
  else
    std::snprintf(text, sizeof text, "%s %lld/%lld  %5.1f%%  elapsed %.1f s  ETA %.1f s", unit_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), 100 * fraction, seconds, eta);
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", text);
    live_line_open_ = true;
    return;
  }
  const int decile = static_cast<int>(fraction * 10);
  if (decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", text);
  }
}

void Reporter::finish_progress() {
  if (live_line_open_) std::fprintf(stderr, "\n");
  live_line_open_ = false;
}

}  // namespace slab::app
