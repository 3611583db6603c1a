#include "app/stopping.hpp"

#include <cstdio>

#include "core/stop.hpp"
#include "core/text.hpp"

namespace slab::app {

void stop_with_checkpoint(const std::function<void()>& write) {
  stop::end_on_next_signal();
  write();
  stop::record_signals_only();
}

void warn_if_time_limit_within_margin(const mpi::Comm& comm, double seconds) {
  const double margin = stop::margin(0);
  if (!comm.is_root() || seconds <= 0 || seconds > margin) return;
  std::fprintf(stderr,
               "slab: warning: --time-limit %s s is within the %s s a run keeps in hand before its limit (for the "
               "last step, the checkpoint and the exit): it stops after its first steps (exit 75, resumable with "
               "--restart); give a limit well above %s s\n",
               format_number(seconds).c_str(), format_number(margin, 3).c_str(), format_number(margin, 3).c_str());
}

}  // namespace slab::app
