#include "app/stopping.hpp"

#include "core/stop.hpp"

namespace slab::app {

void stop_with_checkpoint(const std::function<void()>& write) {
  stop::end_on_next_signal();
  write();
  stop::record_signals_only();
}

}  // namespace slab::app
