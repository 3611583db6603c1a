// The time loop shared by every heat scheme: steps, snapshots, the NaN check, progress, timing.
#pragma once

#include <chrono>
#include <cmath>

#include "heat.hpp"

namespace slab::heat::detail {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// advance() performs one step; current() returns this rank's nodes after it.
template <class Advance, class Current>
void run_steps(const mpi::Comm& comm, const Problem& p, std::int64_t first_step, const Observer& observer,
               Timing& timing, Advance&& advance, Current&& current) {
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
  const std::int64_t progress_every = std::max<std::int64_t>(1, p.steps / 100);
  emit_due(first_step);
  for (std::int64_t step = first_step + 1; step <= p.steps; ++step) {
    advance();
    emit_due(step);
    if (observer.checkpoint && observer.checkpoint_every > 0 && step % observer.checkpoint_every == 0 &&
        step < p.steps) {
      const auto started = std::chrono::steady_clock::now();
      observer.checkpoint(step, current());
      timing.observe += seconds_since(started);
    }
    if (observer.progress && (step % progress_every == 0 || step == p.steps)) observer.progress(step, p.time_at(step));
  }
}

}  // namespace slab::heat::detail
