#include "solvers/heat_direct.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "core/watchdog.hpp"
#include "solvers/heat_loop.hpp"

namespace slab::heat {

tridiag::Operator direct_operator(const Problem& p) {
  const double theta = p.scheme == Scheme::crank_nicolson ? 0.5 : 1.0;
  const double lhs = -theta * p.diffusion_number();         // A = I + lhs L
  const double rhs = (1.0 - theta) * p.diffusion_number();  // B = I + rhs L
  const bool explicit_part = theta < 1.0;
  // Periodic with two nodes: both neighbours of a node are the other node, the Neumann rows.
  const Boundary bc = p.bc == Boundary::periodic && p.nx == 2 ? Boundary::neumann : p.bc;
  tridiag::Row interior;
  interior.a = interior.c = 1.0 * lhs;
  interior.d = -2.0 * lhs + 1.0;
  if (explicit_part) interior.rl = interior.rr = 1.0 * rhs, interior.rd = -2.0 * rhs + 1.0;

  tridiag::Operator op;
  op.n = p.nx;
  op.periodic = bc == Boundary::periodic;
  op.identity_rhs = !explicit_part;
  op.interior = interior;
  const std::int64_t last = p.nx - 1;
  const double left = p.left, right = p.right;
  op.row = [=](std::int64_t i) {
    if ((i != 0 && i != last) || bc == Boundary::periodic) return interior;
    tridiag::Row r;  // the identity row of a Dirichlet boundary: u_i = its value
    if (bc == Boundary::dirichlet) {
      r.rd = 0;
      r.rc = i == 0 ? left : right;
      return r;
    }
    r = interior;  // Neumann: mirror ghost, u_{-1} = u_1 and u_n = u_{n-2}
    (i == 0 ? r.c : r.a) = 2.0 * lhs;
    (i == 0 ? r.a : r.c) = 0;
    if (explicit_part) (i == 0 ? r.rr : r.rl) = 2.0 * rhs, (i == 0 ? r.rl : r.rr) = 0;
    return r;
  };
  return op;
}

namespace {

// Factors the operator. The solver's set-up sends messages, so a fault injected on one rank is
// agreed before it; the solver itself fails alike on every rank: if I - theta R L is singular in
// double precision (heat::resolve refuses R from 2^52, where a Neumann grid's constant mode loses
// its 1 beside R), or with an agreed error (memory).
std::unique_ptr<tridiag::Solver> factor(const mpi::Comm& comm, const Problem& p, std::int64_t block_rows) {
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "factor"); });
  try {
    return std::make_unique<tridiag::Solver>(comm, RowPartition(p.nx, comm.size(), comm.rank()), direct_operator(p),
                                             block_rows);
  } catch (const tridiag::SingularSystem& e) {
    char r[32];
    std::snprintf(r, sizeof r, "%.3g", p.diffusion_number());
    mpi::fail_alike(ExitCode::runtime, to_string(p.scheme) + " with R = " + r + " on a " + to_string(p.bc) +
                                           " grid is singular in double precision (" + e.what() +
                                           "): take a smaller --cfl or --dt");
  }
}

}  // namespace

Timing solve_direct(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                    std::int64_t first_step, std::int64_t block_rows) {
  const std::unique_ptr<tridiag::Solver> factored = factor(comm, p, block_rows);
  tridiag::Solver& solver = *factored;
  Timing timing;
  solver.load(u);
  auto advance = [&](std::int64_t steps) {
    const auto started = std::chrono::steady_clock::now();
    // In pieces, so that the progress watchdog (core/watchdog.hpp) sees a long chunk between two
    // snapshots move on; advance(a) then advance(b) is advance(a + b), step by step.
    constexpr std::int64_t piece = 64;
    for (std::int64_t done = 0; done < steps; done += piece) {
      solver.advance(std::min(piece, steps - done));
      watchdog::tick();
    }
    timing.compute += detail::seconds_since(started);
  };
  auto current = [&] {
    solver.store(u);
    return std::span<const double>(u);
  };
  detail::run_steps(comm, p, first_step, observer, timing, p.steps, advance, current);
  solver.store(u);
  return timing;
}

}  // namespace slab::heat
