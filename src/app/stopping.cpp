#include "app/stopping.hpp"

#include "core/stop.hpp"
#include "io/output.hpp"

namespace slab::app {

void stop_with_checkpoint(const mpi::Comm& comm, const std::string& checkpoint, const std::string& out,
                          const std::function<void()>& write) {
  // io::Output writes "<target>.partial" and renames it on commit.
  if (comm.is_root())
    stop::end_on_next_signal(io::output_target(checkpoint) + ".partial", io::output_target(out) + ".partial");
  else
    stop::end_on_next_signal("", "");
  write();
}

}  // namespace slab::app
