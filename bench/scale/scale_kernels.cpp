// One unit of work of a slab kernel, timed on the simulated clock: the driver of bench/scale.sh.
//
//   smpirun ... scale_kernels <gd|qr|cn|explicit> <global rows or grid nodes> [repetitions]
//
// Built with smpicxx from slab's own sources (src/core, solvers/; see Makefile), so the study runs
// whatever the project's reductions and solvers are today. Units of work:
//   gd        one gradient-descent iteration: the pass over the local rows (regression::gradient_pass)
//             and the reproducible reduction of its partial tree (combine_tree), exactly what
//             regression::gradient_descent does per iteration; X has 16 columns;
//   qr        one qr fit: regression::qr (TSQR of [1 X y], the exchange of straddling leaf blocks,
//             the merge up the fixed tree, the back substitution);
//   cn        one Crank-Nicolson step of the direct tridiagonal solver (tridiag::Solver::advance(1),
//             the operator heat::direct_operator builds; set-up and load are outside the timing);
//   explicit  one explicit step: the second of three temporal blocks of heat::solve_explicit (16 steps
//             each: the stop agreement, the halo exchange overlapped with the interior tiles, the
//             tiles next to the halo) on a periodic grid, from the last rank's progress report at
//             its start to the last rank's at its end, divided by 16. The first block holds the
//             solve's set-up (its arrays, the copy of the grid, the stop agreement's communicator)
//             and the last its NaN check and copy back: once per solve or per snapshot, not per step.
// Each repetition starts after a barrier; its time is the slowest rank's MPI_Wtime difference, which
// under SMPI is simulated time: computation measured on this machine and injected, communication
// simulated on the platform. Rank 0 prints one JSON object per repetition.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "bench/scale/compute_replay.hpp"
#include "core/dist_tensor.hpp"
#include "core/mpi.hpp"
#include "core/tree_sum.hpp"
#include "solvers/heat.hpp"
#include "solvers/heat_direct.hpp"
#include "solvers/heat_explicit.hpp"
#include "solvers/regression.hpp"
#include "solvers/tridiagonal.hpp"
#include "solvers/tsqr.hpp"

namespace {

using namespace slab;

constexpr std::size_t features = 16;
constexpr std::int64_t explicit_block = 16;  // steps per temporal block (solve_explicit's default)

// A value in [-0.5, 0.5) from a global index: cheap (set-up is most of a simulation's wall time),
// deterministic, and full rank for QR.
double pattern(std::uint64_t i) { return static_cast<double>((i * 2654435761u) % 1021u) / 1021.0 - 0.5; }

// Fills `values` with the pattern, once per array: the bulk arrays of all simulated ranks are one
// array (shared_memory.cpp), and filling it again for every rank would only cost wall time. Call it
// after a barrier that follows every rank's allocation: a rank that allocates (and zeroes) the
// shared array later would undo the fill.
void fill_once(std::span<double> values, std::uint64_t seed) {
  static std::set<const double*> filled;  // shared by all simulated ranks (no privatization)
  if (values.size() >= (std::size_t{1} << 17) && !filled.insert(values.data()).second) return;
  for (std::size_t k = 0; k < values.size(); ++k) values[k] = pattern(seed + k);
}

struct Regression {
  DistTensor X, y;
  Regression(const mpi::Comm& comm, std::int64_t rows)
      : X(comm, {static_cast<std::size_t>(rows), features}), y(comm, {static_cast<std::size_t>(rows)}) {
    comm.barrier();
    fill_once(X.local().data(), 0);
    fill_once(y.local().data(), 12345);
  }
};

heat::Problem heat_problem(std::int64_t nx, heat::Scheme scheme, std::int64_t steps,
                           heat::Boundary bc = heat::Boundary::dirichlet) {
  heat::Request q;
  q.nx = nx;
  q.scheme = scheme;
  q.bc = bc;
  q.steps = steps;
  q.diffusion_number = 0.4;
  q.snapshots = 1;
  return heat::resolve(q);
}

// The grid's initial values (the pattern, not heat::initial's sine: set-up time is wall time).
std::vector<double> initial(const mpi::Comm& comm, const RowPartition& part) {
  std::vector<double> u(static_cast<std::size_t>(part.count()));
  comm.barrier();
  fill_once(u, 777);
  return u;
}

// Runs `unit` `reps` times; returns the slowest rank's simulated seconds of each.
template <class Unit>
std::vector<double> time_units(const mpi::Comm& comm, int reps, Unit&& unit) {
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    comm.barrier();
    replay_next_repetition();
    const double start = MPI_Wtime();
    unit();
    seconds.push_back(comm.allreduce_max(MPI_Wtime() - start));
  }
  return seconds;
}

std::vector<double> run(const mpi::Comm& comm, const std::string& kernel, std::int64_t global, int reps) {
  if (kernel == "gd") {
    const Regression data(comm, global);
    std::vector<double> w(features, 0.0);
    double b = 0.0;
    return time_units(comm, reps, [&] {
      const PartialTree part = regression::gradient_pass(data.X, data.y, w, b);
      const auto sums = combine_tree(comm, global, features + 2, part.nodes, part.values);
      for (std::size_t j = 0; j < features; ++j) w[j] -= 1e-3 * 2.0 / static_cast<double>(global) * sums[j];
      b -= 1e-3 * 2.0 / static_cast<double>(global) * sums[features];
    });
  }
  if (kernel == "qr") {
    const Regression data(comm, global);
    return time_units(comm, reps, [&] { (void)regression::qr(comm, data.X, data.y); });
  }
  const RowPartition part(global, comm.size(), comm.rank());
  if (kernel == "cn") {
    const heat::Problem p = heat_problem(global, heat::Scheme::crank_nicolson, 1);
    tridiag::Solver solver(comm, part, heat::direct_operator(p));
    solver.load(initial(comm, part));
    return time_units(comm, reps, [&] { solver.advance(1); });
  }
  if (kernel == "explicit") {
    // Periodic: every rank has two neighbours, the same calls and the same work (one rank
    // exchanges its halo with itself), so compute_replay.cpp pools every rank's samples; with
    // Dirichlet ends, ranks 0 and P - 1 would keep call paths, and noisier times, of their own.
    const heat::Problem p =
        heat_problem(global, heat::Scheme::explicit_euler, 3 * explicit_block, heat::Boundary::periodic);
    std::vector<double> u = initial(comm, part);
    // With 48 steps the loop reports progress after every block (heat_loop.hpp: every 1 % of the
    // run, at least every step), so the reports at steps 16 and 32 bracket the middle block.
    double block_start = 0, block_end = 0;
    heat::Observer observer;
    observer.progress = [&](std::int64_t step, double) {
      if (step == explicit_block) block_start = MPI_Wtime();
      if (step == 2 * explicit_block) block_end = MPI_Wtime();
    };
    std::vector<double> seconds;
    for (int r = 0; r < reps; ++r) {
      comm.barrier();
      replay_next_repetition();
      (void)heat::solve_explicit(comm, p, u, observer, 0);
      // From the last rank to start the block to the last to end it: the stop agreement that
      // opens the block waits for every rank, so a rank that finished the first block early does
      // not count that block's imbalance as the second's.
      const double started = comm.allreduce_max(block_start);
      seconds.push_back((comm.allreduce_max(block_end) - started) / static_cast<double>(explicit_block));
    }
    return seconds;
  }
  throw InputError("unknown kernel '" + kernel + "' (gd, qr, cn or explicit)");
}

}  // namespace

// Exported: smpirun loads this binary as a library and calls main (everything else is hidden).
[[gnu::visibility("default")]] int main(int argc, char** argv) {
  mpi::Environment environment(argc, argv);
  const mpi::Comm comm = mpi::Comm::view(MPI_COMM_WORLD);
  try {
    if (argc < 3) throw InputError("usage: scale_kernels <gd|qr|cn|explicit> <global rows or nodes> [repetitions]");
    const std::string kernel = argv[1];
    const std::int64_t global = std::strtoll(argv[2], nullptr, 10);
    const int reps = argc > 3 ? std::atoi(argv[3]) : 2;
    if (global < comm.size() || reps < 1) throw InputError("need at least one row per rank and one repetition");
    const std::vector<double> seconds = run(comm, kernel, global, reps);
    if (comm.is_root())
      for (std::size_t r = 0; r < seconds.size(); ++r)
        std::printf("{\"kernel\": \"%s\", \"ranks\": %d, \"global\": %lld, \"rep\": %zu, \"seconds\": %.9g}\n",
                    kernel.c_str(), comm.size(), static_cast<long long>(global), r, seconds[r]);
    std::fflush(stdout);
  } catch (const std::exception& e) {
    if (comm.is_root()) std::fprintf(stderr, "scale_kernels: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
