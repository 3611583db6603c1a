#include "app/report.hpp"

#include <unistd.h>

#include <cstdio>

namespace slab::app {

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
  // The rate is measured from the first report on: what came before it (opening the output,
  // setting up the solver) does not recur, and the first step alone says little.
  const bool first = first_done_ < 0;
  if (first) {
    first_done_ = done;
    first_seconds_ = seconds;
  }
  char eta[48] = "ETA -";
  if (done >= total)
    std::snprintf(eta, sizeof eta, "ETA 0.0 s");
  else if (done > first_done_)
    std::snprintf(
        eta, sizeof eta, "ETA %.1f s",
        (seconds - first_seconds_) / static_cast<double>(done - first_done_) * static_cast<double>(total - done));
  char text[200];
  if (simulated_time >= 0)
    std::snprintf(text, sizeof text, "%s %lld/%lld  t = %.6g  %5.1f%%  elapsed %.1f s  %s", unit_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), simulated_time, 100 * fraction, seconds,
                  eta);
  else
    std::snprintf(text, sizeof text, "%s %lld/%lld  %5.1f%%  elapsed %.1f s  %s", unit_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), 100 * fraction, seconds, eta);
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", text);
    live_line_open_ = true;
    return;
  }
  // A log gets a line every 10 %, the first once a rate is known (or at the end).
  const int decile = static_cast<int>(fraction * 10);
  if (decile != last_decile_ && (!first || done >= total)) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", text);
  }
}

void Reporter::finish_progress() {
  if (live_line_open_) std::fprintf(stderr, "\n");
  live_line_open_ = false;
}

}  // namespace slab::app
