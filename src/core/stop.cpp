#include "core/stop.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>
#include <span>

namespace slab::stop {
namespace {

using clock = std::chrono::steady_clock;

constexpr int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

volatile std::sig_atomic_t first_signal = 0;
volatile std::sig_atomic_t first_signal_at = 0;  // CLOCK_MONOTONIC seconds
volatile std::sig_atomic_t final_phase = 0;

// The scratch table: a slot's paths are written while its `ready` is 0, and read by the handler
// only while it is 1.
struct Scratch {
  volatile std::sig_atomic_t ready = 0;
  char temporary[4096] = {};
  char lock[4096] = {};
};
Scratch scratch[8];

// to = file + kind + the decimal digits of n; false if it does not fit. Async-signal-safe.
bool compose(char* to, std::size_t size, const char* file, const char* kind, int n) {
  char digits[16];
  std::size_t count = 0;
  do digits[count++] = static_cast<char>('0' + n % 10);
  while ((n /= 10) > 0);
  const std::size_t file_length = std::strlen(file), kind_length = std::strlen(kind);
  if (file_length + kind_length + count >= size) return false;
  std::memcpy(to, file, file_length);
  std::memcpy(to + file_length, kind, kind_length);
  for (std::size_t i = 0; i < count; ++i) to[file_length + kind_length + i] = digits[count - 1 - i];
  to[file_length + kind_length + count] = '\0';
  return true;
}

// Open MPI's "individual" shared-file-pointer files of an MPI-IO file open for writing, one pair per
// rank ("<file>.data.<rank>", "<file>.metadata.<rank>"; io/file_owner.cpp removes them otherwise).
void remove_mpi_io_companions(const char* file) {
  char path[4096 + 32];
  for (int rank = 0; rank < 1 << 24; ++rank) {
    bool found = false;
    for (const char* kind : {".data.", ".metadata."})
      found = (compose(path, sizeof path, file, kind, rank) && unlink(path) == 0) || found;
    if (!found) return;
  }
}

void remove_scratch() {
  const int saved = errno;
  for (const Scratch& slot : scratch) {
    if (slot.ready == 0) continue;
    const bool gone = unlink(slot.temporary) == 0 || errno == ENOENT;
    remove_mpi_io_companions(slot.temporary);
    if (gone) unlink(slot.lock);
  }
  errno = saved;
}

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
    remove_scratch();
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

// False when the path does not fit (it is then not tracked: a cut path could name another file).
template <std::size_t N>
bool copy_path(char (&to)[N], const std::string& from) {
  if (from.empty() || from.size() >= N) return false;
  std::memcpy(to, from.data(), from.size());
  to[from.size()] = '\0';
  return true;
}

}  // namespace

std::string describe(int reason) {
  switch (reason) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
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
  // A closed stderr (a pipe whose reader died) fails the write with EPIPE instead of killing the rank.
  std::signal(SIGPIPE, SIG_IGN);
}

int received() noexcept { return first_signal; }

void end_on_next_signal() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  final_phase = 1;
}

void record_signals_only() {
  final_phase = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

int track_scratch(const std::string& temporary, const std::string& lock) noexcept {
  for (int handle = 0; handle < static_cast<int>(std::size(scratch)); ++handle) {
    Scratch& slot = scratch[handle];
    if (slot.ready != 0) continue;
    if (!copy_path(slot.temporary, temporary) || !copy_path(slot.lock, lock)) return -1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    slot.ready = 1;
    return handle;
  }
  return -1;
}

void forget_scratch(int handle) noexcept {
  if (handle < 0 || handle >= static_cast<int>(std::size(scratch))) return;
  scratch[handle].ready = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void set_time_limit(double seconds) {
  if (seconds > 0)
    deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                  std::chrono::duration<double>(std::min(seconds, max_time_limit)));
  else
    deadline.reset();
}

void note_checkpoint(double seconds) { checkpoint_cost = std::max(checkpoint_cost, seconds); }

double margin(double longest_step) { return 2 * longest_step + 2 * std::max(checkpoint_cost, 0.5) + 1.0; }

Poll::Poll(const mpi::Comm& comm) : comm_(comm.duplicate()), last_(clock::now()) {}

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
  request_.wait();
  const int decided = agreed_;
  sent_ = local_reason();
  request_ = comm_.iallreduce_max(std::span<const int>(&sent_, 1), std::span<int>(&agreed_, 1));
  return decided;
}

Stopped::Stopped(int reason, const std::string& unit, std::int64_t step, std::int64_t steps,
                 const std::string& checkpoint)
    : text_("stopped by " + describe(reason) + " at " + unit + " " + std::to_string(step) + " of " +
            std::to_string(steps) + "; resume with --restart " + checkpoint) {}

}  // namespace slab::stop
