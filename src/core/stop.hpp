// Stopping a run early and cleanly. SIGTERM, SIGINT, SIGHUP, SIGUSR1 or SIGUSR2 reaching any rank, or a
// wall-time limit coming close, make every rank agree to stop at the same step boundary; the
// driver then writes a checkpoint of that step and the run ends with exit_code ("stopped,
// resumable"). The signal handler only records the signal; the agreement is a non-blocking
// MAX-allreduce started at one step boundary and completed at the next, so each step pays one
// small reduction that overlaps the step's own work, and the decision lags one step.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>

#include "core/mpi.hpp"

namespace slab::stop {

// The exit code of a run that stopped early and can be resumed: EX_TEMPFAIL of <sysexits.h>.
inline constexpr int exit_code = 75;

// A reason to stop: a signal number, or time_limit.
inline constexpr int time_limit = 1000;
// "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", or "the time limit".
[[nodiscard]] std::string describe(int reason);

// Installs the handlers for SIGTERM, SIGINT, SIGHUP (a lost terminal), SIGUSR1 and SIGUSR2 (which
// only record the first signal received), and ignores SIGPIPE. Call first thing in main, so that a signal during
// start-up is recorded rather than fatal, and again after MPI_Init (which may install handlers of its own); a signal
// recorded before is kept.
void install_handlers();
// The first signal this process received, or 0.
[[nodiscard]] int received() noexcept;
// From now on, another of those signals ends the process at once with the signal's default action,
// after removing the tracked scratch files below. Call when the final checkpoint starts: a second
// signal is the user insisting. A copy of the first signal within a second of it does not count
// (srun and slurmstepd both pass on Slurm's SIGTERM).
void end_on_next_signal();
// Back to recording signals only: the checkpoint is whole, nothing is left to lose, and the run
// ends with exit_code whatever arrives now.
void record_signals_only();

// The files this process created and would remove on its way out: a temporary and the lock that
// names it (io/file_owner.hpp). A second signal unlinks the temporary and then, once the temporary
// is gone, the lock; a temporary folder (.csv output) is left with its lock, so that the next run
// on that target removes it. Up to 8 pairs at once; returns a handle for forget_scratch (-1: the
// table is full, and these stay behind for the next run). Not called from a signal handler.
int track_scratch(const std::string& temporary, const std::string& lock) noexcept;
void forget_scratch(int handle) noexcept;

// The longest wall-time limit, in seconds (about 31 years): beyond it, the deadline would overflow
// the clock's 64-bit nanoseconds.
inline constexpr double max_time_limit = 1e9;

// A wall-time limit, `seconds` from now (0 or less: none; at most max_time_limit). The run stops while there is time
// left for one more step, the checkpoint and the exit: the margin is twice the longest step-to-step interval seen, plus
// twice the cost of a checkpoint (the largest given to note_checkpoint, at least 0.5 s), plus 1 s.
void set_time_limit(double seconds);
// The wall time a checkpoint took, or an estimate before one was written; the margin keeps twice
// the largest seen.
void note_checkpoint(double seconds);
// The margin kept before the limit, after step intervals up to `longest_step` seconds.
[[nodiscard]] double margin(double longest_step);

// The agreement, for one loop over steps: call poll() on every rank at every step boundary (the
// same boundaries on every rank). It returns 0 to go on, or the agreed reason to stop at this
// boundary, the same on every rank. The first call always returns 0, so a run makes at least one
// step of progress before it stops. Owns a duplicate of the communicator for its reductions.
class Poll {
 public:
  explicit Poll(const mpi::Comm& comm);
  ~Poll() = default;  // completes an outstanding reduction (collective: every rank leaves its loop together)
  Poll(const Poll&) = delete;
  Poll& operator=(const Poll&) = delete;

  [[nodiscard]] int poll();

 private:
  [[nodiscard]] int local_reason();

  mpi::Comm comm_;
  int sent_ = 0;
  int agreed_ = 0;
  std::int64_t calls_ = 0;
  std::chrono::steady_clock::time_point last_;
  double longest_ = 0;
  mpi::Request request_;  // the reduction of sent_ into agreed_; declared last, so completed first
};

// Thrown on every rank once the checkpoint of a stopped run is written; main prints what() on
// rank 0 and exits with exit_code.
class Stopped : public std::exception {
 public:
  // "stopped by SIGTERM at step 400 of 1000; resume with --restart FILE" (unit: step, iteration).
  Stopped(int reason, const std::string& unit, std::int64_t step, std::int64_t steps, const std::string& checkpoint);
  [[nodiscard]] const char* what() const noexcept override { return text_.c_str(); }

 private:
  std::string text_;
};

}  // namespace slab::stop
