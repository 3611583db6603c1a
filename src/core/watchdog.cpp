#include "core/watchdog.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/stop.hpp"

namespace slab::watchdog {

namespace {

using clock = std::chrono::steady_clock;

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

// What the thread watches: written by the loop, read by the thread.
struct Watched {
  std::atomic<bool> armed{false};
  std::atomic<std::int64_t> last_ns{0};     // when the loop last reached a step boundary
  std::atomic<std::int64_t> longest_ns{0};  // the longest interval between two boundaries
  std::atomic<std::int64_t> step{0};
  std::atomic<std::int64_t> limit_ns{0};
  std::atomic<int> rank{0};
  std::atomic<const char*> unit{"step"};
};
Watched watched;

[[noreturn]] void give_up(std::int64_t waited_ns) noexcept {
  char line[512];
  const int n = std::snprintf(
      line, sizeof line,
      "slab: error: no progress for %.0f s after %s %lld (rank %d): a rank or node of this run is lost or stalled; "
      "ending with exit code %d so that the run can resume from its last checkpoint (%s=%g)\n",
      static_cast<double>(waited_ns) / 1e9, watched.unit.load(), static_cast<long long>(watched.step.load()),
      watched.rank.load(), stop::exit_code, variable, static_cast<double>(watched.limit_ns.load()) / 1e9);
  if (n > 0) {
    const ssize_t written = ::write(STDERR_FILENO, line, std::min(static_cast<std::size_t>(n), sizeof line - 1));
    (void)written;  // nothing else to do when stderr is gone
  }
  // The main thread is blocked in MPI: neither it nor MPI can be asked to end cleanly.
  std::_Exit(stop::exit_code);
}

// The thread: wakes up four times per second, and ends the process once the loop is overdue.
void watch() noexcept {
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!watched.armed.load()) continue;
    const std::int64_t waited = now_ns() - watched.last_ns.load();
    const auto limit =
        std::max(watched.limit_ns.load(),
                 static_cast<std::int64_t>(interval_factor * static_cast<double>(watched.longest_ns.load())));
    if (waited > limit && watched.armed.load()) give_up(waited);
  }
}

void start_thread_once() {
  static const bool started = [] {
    std::thread(watch).detach();
    return true;
  }();
  (void)started;
}

}  // namespace

double configured_limit() {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !std::isfinite(seconds) || seconds < 0 || seconds > 1e9)
    throw InputError(std::string(variable) + "='" + text + "' is not a number of seconds from 0 (no watchdog) to 1e9");
  return seconds;
}

Guard::Guard(int rank, const char* unit) {
  const double limit = configured_limit();
  if (limit <= 0) return;
  watched.rank = rank;
  watched.unit = unit;
  watched.step = 0;
  watched.longest_ns = 0;
  watched.limit_ns = static_cast<std::int64_t>(limit * 1e9);
  watched.last_ns = now_ns();
  watched.armed = true;
  armed_ = true;
  start_thread_once();
}

Guard::~Guard() {
  if (armed_) watched.armed = false;
}

void Guard::progress(std::int64_t step) noexcept {
  if (!armed_) return;
  watched.step = step;
  tick();
}

void tick() noexcept {
  if (!watched.armed.load(std::memory_order_relaxed)) return;
  const std::int64_t now = now_ns();
  const std::int64_t interval = now - watched.last_ns.load();
  if (interval > watched.longest_ns.load()) watched.longest_ns = interval;
  watched.last_ns = now;
}

}  // namespace slab::watchdog
