// A progress watchdog for the step loops. A rank blocked in MPI on a peer that is gone (its node
// crashed or dropped off the network) waits forever: Open MPI's TCP transport prints "peer hangup"
// and keeps waiting, and Slurm ends the job only once it declares the node down (SlurmdTimeout,
// 300 s by default, a site setting). The watchdog bounds that wait in slab itself: while a step
// loop runs, a thread checks that the loop reaches its next step boundary in time, and otherwise
// ends this process with one `slab: error:` line and exit code 75 (stop::exit_code, "resumable"),
// so that the job script requeues the run and it resumes from its last whole checkpoint.
//
// The limit is SLAB_PROGRESS_TIMEOUT seconds (unset, empty or 0: no watchdog), or three times the
// longest step-to-step interval seen so far in the loop (a slow checkpoint or snapshot write), if
// that is longer. The thread only reads atomics, sleeps and writes to stderr: it never calls MPI.
#pragma once

#include <cstdint>

namespace slab::watchdog {

// The environment variable that sets the limit, in seconds.
inline constexpr const char* variable = "SLAB_PROGRESS_TIMEOUT";
// How many times the longest step-to-step interval seen the limit is at least.
inline constexpr double interval_factor = 3.0;

// SLAB_PROGRESS_TIMEOUT in seconds; 0 when unset, empty or 0. Throws InputError when it is not a
// number of seconds in [0, 1e9].
[[nodiscard]] double configured_limit();

// Watches one step loop: construct before the loop, call progress() at every step boundary; the
// destructor stops watching. unit names the loop's steps in the message ("step", "iteration").
class Guard {
 public:
  // rank: this process's rank, for the message.
  Guard(int rank, const char* unit);
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  // The loop reached step `step`: the clock starts again.
  void progress(std::int64_t step) noexcept;

 private:
  bool armed_ = false;
};

// Progress inside a long chunk of steps (a solver that advances many steps between two boundaries
// of the loop calls it every few steps): the clock starts again, the step stays. Does nothing
// while no Guard watches.
void tick() noexcept;

}  // namespace slab::watchdog
