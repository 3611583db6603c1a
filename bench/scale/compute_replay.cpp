// Computation timed on this machine and injected into the simulation, with the noise of a shared
// machine taken out.
//
// SMPI's own accounting (smpi/simulate-computation) injects the CPU time of every stretch of code
// between two MPI calls as measured. On a machine shared with other jobs a stretch sometimes takes
// 1.5-3x its usual time (caches and memory bandwidth taken by others), and a simulated step lasts
// as long as its slowest rank: with thousands of ranks the study would measure this machine's worst
// moments, not the algorithm. So scale.sh turns SMPI's accounting off and this file does it
// instead, through the PMPI interface: every MPI call that can let another simulated rank run
// (gen_wrappers.py lists them) ends this rank's compute section, measures its CPU time
// (CLOCK_THREAD_CPUTIME_ID, as SMPI does) and injects a cost with smpi_execute before the call.
//
// Within repetitions (replay_next_repetition()), a section is known by its call path: the sequence
// of MPI calls this rank has made since the repetition began, the call ending it included. Sections
// with the same path run the same code on the same amount of data (every rank of the study owns the
// same number of rows), so each injects the least CPU time measured so far for its path, by any
// rank in any repetition: SMPI_SAMPLE_GLOBAL's pooling of samples across ranks, with the minimum (the
// undisturbed cost) in place of the mean. The unit's first section (up to its first MPI call) is
// known by where it starts alone: every rank enters it at the same point with the same data, and
// only the call ending it differs (rank 0 of the heat solvers has no left neighbour to receive
// from). Likewise the unit's last section, up to the MPI_Wtime that ends it, is known by that
// clock read's place in the repetition alone (every rank leaves the unit with the same work after
// its last message; cn's ranks with a path of their own in the reduced system injected their cold
// samples of it, 30-116 us, against the 7.7 us of the 2,047 ranks that share one path, at 4,096
// ranks). Work that only some ranks do shows as a different path and keeps its own time. Outside
// repetitions (set-up) a section injects what it measured. Sections below 1 us are dropped, as
// SMPI's smpi/cpu-threshold does by default.
//
// Why pool across all ranks (docs/scaling.md, "Why the injected computation grew with P"): the
// section that runs first after a global synchronisation is slow (at 1,024 ranks gd's pass took
// 2.3-2.8 ms there against 0.9-1.0 ms for the other ranks; probably the bulk arrays, one array for
// all simulated ranks (shared_memory.cpp), are out of cache after the simulator's work for the
// synchronisation, and the first rank brings them back for the others). The
// first rank after the barrier was rank 0 (or the last rank), and while their sections had paths
// of their own (an earlier version told rank 0 and the last rank apart) those cold samples were
// all their paths had, and they were on every step's critical path.
#include "compute_replay.hpp"

#include <mpi.h>
#include <smpi/smpi.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unordered_map>
#include <vector>

#undef clock_gettime  // smpicxx maps it to the simulated clock; this file needs the CPU's

namespace {

constexpr double cpu_threshold = 1e-6;
// Section 0 of a repetition runs from its start to time_units' MPI_Wtime; section 1 is the unit's
// own first stretch of computation, up to its first MPI call.
constexpr int first_unit_section = 1;

struct RankState {
  double started = 0;  // CPU time at the start of the current section
  bool in_section = false;
  bool repeating = false;  // inside a repetition: inject the least time of the section's path
  std::uint64_t path = 0;  // hash of the MPI calls since the repetition began, and the rank's class
  int repetition = -1;
  int section = 0;      // index of the section within the repetition
  int clock_reads = 0;  // MPI_Wtime calls within the repetition
  int collectives = 0;  // collectives over all ranks within the repetition
  bool after_collective = false;  // the current section began at a collective over all ranks
};

std::unordered_map<int, RankState>& states() {
  static auto* table = new std::unordered_map<int, RankState>();
  return *table;
}
// The least CPU time measured for each call path, over all ranks and repetitions.
std::unordered_map<std::uint64_t, double>& least() {
  static auto* table = new std::unordered_map<std::uint64_t, double>();
  return *table;
}

// SLAB_SCALE_TRACE=<file>: one line per section in a repetition (rank, repetition, section index,
// call ending it, path, measured and injected seconds), for docs/scaling.md's diagnosis.
std::FILE* trace() {
  static std::FILE* file = [] {
    const char* path = std::getenv("SLAB_SCALE_TRACE");
    return path != nullptr ? std::fopen(path, "w") : nullptr;
  }();
  return file;
}

std::uint64_t mix(std::uint64_t hash, std::uint64_t value) {
  return (hash ^ value) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;  // FNV-style, order-sensitive
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Current {
  RankState* state;
  int rank, size;
};

// This rank's state, or a null state outside MPI_Init .. MPI_Finalize.
Current current() {
  int initialized = 0, finalized = 0;
  PMPI_Initialized(&initialized);
  if (initialized == 0) return {nullptr, 0, 0};
  PMPI_Finalized(&finalized);
  if (finalized != 0) return {nullptr, 0, 0};
  int rank = 0, size = 1;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &size);
  return {&states()[rank], rank, size};
}

// Ends this rank's compute section and injects its cost; then the MPI call runs; then the next
// section starts.
class Section {
 public:
  // `comm`: the communicator of a blocking collective (MPI_COMM_NULL for other calls).
  explicit Section(const char* call, MPI_Comm comm = MPI_COMM_NULL) {
    const Current c = current();
    RankState* s = c.state;
    if (s == nullptr) return;
    const bool collective = comm != MPI_COMM_NULL && size_of(comm) == c.size;
    next_after_collective_ = collective;
    if (!s->in_section) return;
    const double measured = cpu_seconds() - s->started;
    s->in_section = false;
    double cost = measured;
    if (s->repeating) {
      // The key: the path with the call ending the section; for the unit's first section (after
      // the repetition's start and its MPI_Wtime) the path before it alone, since every rank
      // enters it at the same point with the same amount of data.
      const std::uint64_t before = s->path;
      s->path = mix(s->path, std::hash<std::string_view>{}(call));
      // The unit's last section, up to the MPI_Wtime that ends it, is known by that MPI_Wtime's
      // place among the repetition's clock reads alone: every rank leaves the unit with the same
      // work on the same amount of data after its last message, whatever role the messages gave it.
      const bool clock_read = std::string_view(call) == "MPI_Wtime";
      // A section that begins at a collective over all ranks is known by that collective alone:
      // every rank leaves it at the same point of the program, whatever roles the messages before
      // it gave the rank.
      const bool known_by_start = s->section == first_unit_section || s->after_collective;
      const std::uint64_t key = known_by_start ? mix(before, first_unit_section)
                                : clock_read ? mix(0x5EC7105EC7105ull, static_cast<std::uint64_t>(s->clock_reads))
                                             : s->path;
      if (clock_read) ++s->clock_reads;
      // After a collective over all ranks the path starts again from the collective's place
      // among the repetition's collectives (the calls before it no longer tell ranks apart).
      if (collective) s->path = mix(0xC011EC7C011EC7ull, static_cast<std::uint64_t>(++s->collectives));
      double& best = least().try_emplace(key, measured).first->second;
      best = std::min(best, measured);
      cost = best;
      if (std::FILE* f = trace())
        std::fprintf(f, "%d %d %d %s %016llx %.9g %.9g\n", c.rank, s->repetition, s->section, call,
                     static_cast<unsigned long long>(key), measured, cost);
      ++s->section;
    }
    if (cost >= cpu_threshold) smpi_execute(cost);
  }
  ~Section() {
    if (RankState* s = current().state) {
      s->in_section = true;
      s->after_collective = next_after_collective_;
      s->started = cpu_seconds();
    }
  }
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

 private:
  static int size_of(MPI_Comm comm) {
    int size = 0;
    PMPI_Comm_size(comm, &size);
    return size;
  }
  bool next_after_collective_ = false;
};

}  // namespace

void replay_next_repetition() {
  const Current c = current();
  if (c.state == nullptr) return;
  c.state->repeating = true;
  ++c.state->repetition;
  c.state->section = 0;
  c.state->clock_reads = 0;
  c.state->collectives = 0;
  c.state->after_collective = false;
  c.state->path = 0xCBF29CE484222325ull;
}

#include "mpi_wrappers.inc"

// MPI_Iallreduce as a blocking MPI_Allreduce, complete when it returns (*request = MPI_REQUEST_NULL,
// which MPI_Wait and MPI_Test accept at once). SMPI 3.32's nonblocking collectives are linear
// (src/smpi/colls/smpi_nbc_impl.cpp): its MPI_Iallreduce sends to and receives from every other
// rank, P (P - 1) messages, 16.8 million at 4,096 ranks, all in flight at once, and SimGrid's
// network model shares the links among every flow in flight, so a 256-rank simulation of the
// explicit step (whose stop agreement, src/core/stop.cpp, is one MPI_Iallreduce per block of
// steps) took 80 s of wall time per repetition and more with P. Open MPI's own MPI_Iallreduce
// (libnbc) takes log2 P rounds; the blocking MPI_Allreduce here takes Open MPI's algorithm
// (smpi/coll-selector:ompi), also log2 P rounds. The one difference: the reduction's latency is
// on the caller's path in full instead of overlapping the work until the next MPI_Wait, which
// makes the simulated time longer, never shorter (docs/scaling.md).
int MPI_Iallreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm,
                   MPI_Request* request) {
  const Section section("MPI_Iallreduce", comm);
  *request = MPI_REQUEST_NULL;
  return PMPI_Allreduce(sendbuf, recvbuf, count, datatype, op, comm);
}
