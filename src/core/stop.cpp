#include "core/stop.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>

namespace slab::stop {
namespace {

using clock = std::chrono::steady_clock;

constexpr int handled[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};

volatile std::sig_atomic_t first_signal = 0;
volatile std::sig_atomic_t first_signal_at = 0;  // CLOCK_MONOTONIC seconds
volatile std::sig_atomic_t final_phase = 0;
// Files the handler removes before ending the process; written before final_phase is set.
char scratch_paths[2][4096];

std::sig_atomic_t monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return static_cast<std::sig_atomic_t>(now.tv_sec);
}

extern "C" void on_signal(int signal) {
  if (final_phase != 0) {
    // Under Slurm both srun and slurmstepd pass on a SIGTERM: a copy of the first signal within a
    // second is not somebody insisting.
    if (signal == first_signal && monotonic_seconds() - first_signal_at <= 1) return;
    for (const char* path : scratch_paths)
      if (path[0] != '\0') unlink(path);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  if (first_signal == 0) {
    first_signal_at = monotonic_seconds();
    first_signal = signal;
  }
}

std::optional<clock::time_point> deadline;
double checkpoint_cost = 0;  // the largest measured, seconds

void copy_path(char* to, const std::string& from) {
  const std::size_t n = std::min(from.size(), sizeof scratch_paths[0] - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

}  // namespace

std::string describe(int reason) {
  switch (reason) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    case time_limit:
      return "the time limit";
    default:
      return "signal " + std::to_string(reason);
  }
}

void install_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // Interrupted reads and writes (HDF5, MPI-IO) restart instead of failing with EINTR.
  action.sa_flags = SA_RESTART;
  for (const int signal : handled) sigaction(signal, &action, nullptr);
}

int received() noexcept { return first_signal; }

void end_on_next_signal(const std::string& scratch, const std::string& other_scratch) {
  copy_path(scratch_paths[0], scratch);
  copy_path(scratch_paths[1], other_scratch);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  final_phase = 1;
}

void set_time_limit(double seconds) {
  if (seconds > 0)
    deadline = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
  else
    deadline.reset();
}

void note_checkpoint(double seconds) { checkpoint_cost = std::max(checkpoint_cost, seconds); }

double margin(double longest_step) { return 2 * longest_step + 2 * std::max(checkpoint_cost, 0.5) + 1.0; }

Poll::Poll(const mpi::Comm& comm) : comm_(mpi::Comm::duplicate(comm.get())), last_(clock::now()) {}

Poll::~Poll() {
  if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
}

int Poll::local_reason() {
  if (const int signal = received()) return signal;
  if (deadline &&
      clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(margin(longest_))) >=
          *deadline)
    return time_limit;
  return 0;
}

int Poll::poll() {
  const auto now = clock::now();
  if (calls_++ > 0) longest_ = std::max(longest_, std::chrono::duration<double>(now - last_).count());
  last_ = now;
  if (request_ != MPI_REQUEST_NULL) SLAB_MPI(MPI_Wait(&request_, MPI_STATUS_IGNORE));
  const int decided = agreed_;
  sent_ = local_reason();
  SLAB_MPI(MPI_Iallreduce(&sent_, &agreed_, 1, MPI_INT, MPI_MAX, comm_.get(), &request_));
  return decided;
}

Stopped::Stopped(int reason, const std::string& unit, std::int64_t step, std::int64_t steps,
                 const std::string& checkpoint)
    : text_("stopped by " + describe(reason) + " at " + unit + " " + std::to_string(step) + " of " +
            std::to_string(steps) + "; resume with --restart " + checkpoint) {}

}  // namespace slab::stop
