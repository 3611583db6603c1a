// Computation timed on this machine and injected into the simulation, with the noise of a shared
// machine taken out.
//
// SMPI's own accounting (smpi/simulate-computation) injects the CPU time of every stretch of code
// between two MPI calls as measured. On a machine shared with other jobs one rank's stretch is
// sometimes 1.5-3x its usual time (caches and memory bandwidth taken by others), and a simulated
// step lasts as long as its slowest rank: with thousands of ranks the study would measure this
// machine's worst moments, not the algorithm. So scale.sh turns SMPI's accounting off and this file
// does it instead, through the PMPI interface: every MPI call that can let another simulated rank
// run (gen_wrappers.py lists them) ends this rank's compute section, measures its CPU time
// (CLOCK_THREAD_CPUTIME_ID, as SMPI does) and injects it with smpi_execute before the call.
// Within repetitions (replay_next_repetition()), the k-th section of a repetition injects the least
// CPU time this rank has measured for its k-th section so far: the rank runs the same code on the
// same data every repetition, so the minimum is its undisturbed cost. Sections below 1 us are
// dropped, as SMPI's smpi/cpu-threshold does by default.
#include "compute_replay.hpp"

#include <mpi.h>
#include <smpi/smpi.h>
#include <time.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#undef clock_gettime  // smpicxx maps it to the simulated clock; this file needs the CPU's

namespace {

constexpr double cpu_threshold = 1e-6;

struct RankState {
  double started = 0;  // CPU time at the start of the current section
  bool in_section = false;
  int repetition = -1;    // -1: before the first repetition (set-up): inject as measured
  std::size_t index = 0;  // the current section's index within the repetition
  std::vector<double> least;
};

std::unordered_map<int, RankState>& states() {
  static auto* table = new std::unordered_map<int, RankState>();
  return *table;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// This rank's state, or nullptr outside MPI_Init .. MPI_Finalize.
RankState* current() {
  int initialized = 0, finalized = 0;
  PMPI_Initialized(&initialized);
  if (initialized == 0) return nullptr;
  PMPI_Finalized(&finalized);
  if (finalized != 0) return nullptr;
  int rank = 0;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return &states()[rank];
}

// Ends this rank's compute section and injects its cost; then the MPI call runs; then the next
// section starts.
class Section {
 public:
  Section() {
    RankState* s = current();
    if (s == nullptr || !s->in_section) return;
    const double measured = cpu_seconds() - s->started;
    s->in_section = false;
    double cost = measured;
    if (s->repetition >= 0) {
      if (s->index >= s->least.size()) s->least.resize(s->index + 1, measured);
      s->least[s->index] = std::min(s->least[s->index], measured);
      cost = s->least[s->index];
      ++s->index;
    }
    if (cost >= cpu_threshold) smpi_execute(cost);
  }
  ~Section() {
    if (RankState* s = current()) {
      s->in_section = true;
      s->started = cpu_seconds();
    }
  }
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;
};

}  // namespace

void replay_next_repetition() {
  if (RankState* s = current()) {
    ++s->repetition;
    s->index = 0;
  }
}

#include "mpi_wrappers.inc"
