// The time loop shared by every heat scheme: steps, snapshots, the NaN check, progress, timing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/stop.hpp"
#include "core/stopwatch.hpp"
#include "core/watchdog.hpp"
#include "solvers/heat.hpp"

namespace slab::heat::detail {

using slab::seconds_since;

// advance(k) performs k steps, 1 <= k <= max_chunk; current() returns this rank's nodes after
// them. Chunks end at every snapshot and checkpoint step, so the observer sees exactly the steps
// it asked for; progress is reported at the end of the chunk that crosses each 1 % mark. A stop
// agreed at a chunk boundary (src/core/stop.hpp) returns early with timing.stopped_by/stopped_at set.
template <class Advance, class Current>
void run_steps(const mpi::Comm& comm, const Problem& p, std::int64_t first_step, const Observer& observer,
               Timing& timing, std::int64_t max_chunk, Advance&& advance, Current&& current) {
  std::int64_t next = 0;  // the next snapshot index
  auto emit_due = [&](std::int64_t step) {
    const auto started = std::chrono::steady_clock::now();
    bool first = true;
    while (next < p.snapshots && p.snapshot_step(next) <= step) {
      if (p.snapshot_step(next) == step && (step > first_step || first_step == 0)) {
        const std::span<const double> u = current();
        if (first) {
          bool finite = true;
          for (const double v : u) finite = finite && std::isfinite(v);
          mpi::collectively(comm, [&] {
            if (!finite)
              throw RuntimeFailure("the solution became NaN or infinite by step " + std::to_string(step) +
                                   " (t = " + std::to_string(p.time_at(step)) + ")");
          });
          first = false;
        }
        if (observer.snapshot) observer.snapshot(next, step, p.time_at(step), u);
      }
      ++next;
    }
    timing.observe += seconds_since(started);
  };
  const bool checkpoints = observer.checkpoint && observer.checkpoint_every > 0;
  const std::int64_t progress_every = std::max<std::int64_t>(1, p.steps / 100);
  emit_due(first_step);
  std::int64_t step = first_step;
  stop::Poll stop_poll(comm);
  watchdog::Guard watchdog(comm.rank(), "step");
  while (step < p.steps) {
    if (const int reason = stop_poll.poll()) {
      timing.stopped_by = reason;
      timing.stopped_at = step;
      return;
    }
    // The chunk ends at the next step anyone must see.
    std::int64_t stop = std::min(p.steps, step + max_chunk);
    if (next < p.snapshots) stop = std::min(stop, std::max(step + 1, p.snapshot_step(next)));
    if (checkpoints) stop = std::min(stop, (step / observer.checkpoint_every + 1) * observer.checkpoint_every);
    advance(stop - step);
    const bool crossed = stop / progress_every != step / progress_every;
    step = stop;
    watchdog.progress(step);
    emit_due(step);
    if (checkpoints && step % observer.checkpoint_every == 0 && step < p.steps) {
      const auto started = std::chrono::steady_clock::now();
      observer.checkpoint(step, current());
      timing.observe += seconds_since(started);
    }
    if (observer.progress && (crossed || step == p.steps)) observer.progress(step, p.time_at(step));
  }
}

}  // namespace slab::heat::detail
