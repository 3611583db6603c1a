// The driver's side of stopping early (src/core/stop.hpp): the checkpoint of the step every rank
// agreed to stop at, written so that a second signal meanwhile ends at once and leaves the previous
// checkpoint whole.
#pragma once

#include <functional>

#include "core/mpi.hpp"

namespace slab::app {

// Arms the second-signal exit (which removes this process's tracked temporaries and locks, the
// checkpoint's and the output's: core/stop.hpp), then runs `write`, which writes the checkpoint (a
// new file renamed over the old one, src/app/checkpoint.hpp). Once it is written, signals are only
// recorded again, so that the run ends with exit code 75 (and Slurm requeues it).
void stop_with_checkpoint(const std::function<void()>& write);

// A --time-limit of `seconds` (0: none) at or below the margin a run keeps before its limit
// (core/stop.hpp: the last step, the checkpoint, the exit) leaves no time to compute: the run would
// stop after its first steps. Rank 0 says so in one warning line; call once the checkpoint's cost
// is estimated (after the plan).
void warn_if_time_limit_within_margin(const mpi::Comm& comm, double seconds);

}  // namespace slab::app
