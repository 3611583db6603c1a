// The driver's side of stopping early (src/stop.hpp): the checkpoint of the step every rank
// agreed to stop at, written so that a second signal meanwhile ends at once and leaves the previous
// checkpoint whole.
#pragma once

#include <functional>

namespace slab::app {

// Arms the second-signal exit (which removes this process's tracked temporaries and locks, the
// checkpoint's and the output's: core/stop.hpp), then runs `write`, which writes the checkpoint (a
// new file renamed over the old one, src/app/checkpoint.hpp). Once it is written, signals are only
// recorded again, so that the run ends with exit code 75 (and Slurm requeues it).
void stop_with_checkpoint(const std::function<void()>& write);

}  // namespace slab::app
