// Explicit FTCS: u_i += R (u_{i-1} - 2 u_i + u_{i+1}).
//
// Temporal blocking: each rank keeps `block` ghost nodes per side and exchanges them once per
// `block` steps (non-blocking, overlapped with the tiles that need no ghost). It then advances
// its nodes tile by tile, each tile all `block` steps while it sits in the L1 cache: memory is
// read and written once per block instead of once per step. A tile recomputes the few nodes its
// neighbours also need (a trapezoid), so tiles are independent.
//
// Every node at every step is still the same expression of the same three values, so the result
// is bitwise identical to one step at a time (block = 1) and for any rank count.
#pragma once

#include "solvers/heat.hpp"

namespace slab::heat {

// block: steps per halo exchange; 0 picks the default (16, fewer when a rank owns fewer nodes).
Timing solve_explicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step, std::int64_t block = 0);

}  // namespace slab::heat
