// Backward Euler (theta = 1) and Crank-Nicolson (theta = 1/2) by slab's distributed direct
// tridiagonal solver (tridiagonal.hpp):
//   (I - theta R L) u^{n+1} = (I + (1 - theta) R L) u^n,
// the right-hand side fused into the solver's forward sweep. The result is bitwise identical on
// any number of ranks. The same rows as the PETSc path (heat_implicit.cpp).
#pragma once

#include "solvers/heat.hpp"
#include "solvers/tridiagonal.hpp"

namespace slab::heat {

// The operator of problem p (an implicit scheme) for tridiag::Solver.
[[nodiscard]] tridiag::Operator direct_operator(const Problem& p);

// block_rows: the solver's block size (tests use tiny blocks to cross rank boundaries).
Timing solve_direct(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                    std::int64_t first_step, std::int64_t block_rows = tridiag::default_block_rows);

}  // namespace slab::heat
