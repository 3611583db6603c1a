// The driver's side of stopping early (src/stop.hpp): the checkpoint of the step every rank
// agreed to stop at, written so that a second signal meanwhile ends at once and leaves the previous
// checkpoint whole.
#pragma once

#include <functional>
#include <string>

#include "core/mpi.hpp"

namespace slab::app {

// Collective. Arms the second-signal exit (which removes the checkpoint's and the output's
// temporary files on rank 0), then runs `write`, which writes `checkpoint` (a new file renamed
// over the old one, src/app/checkpoint.hpp).
void stop_with_checkpoint(const mpi::Comm& comm, const std::string& checkpoint, const std::string& out,
                          const std::function<void()>& write);

}  // namespace slab::app
