// Explicit FTCS: u_i += R (u_{i-1} - 2 u_i + u_{i+1}), one ghost node per side exchanged with the
// neighbouring ranks each step by non-blocking messages while the interior is updated. Every node
// is computed by the same expression from the same inputs, so the result is bitwise identical for
// any rank count.
#pragma once

#include "heat.hpp"

namespace slab::heat {

Timing solve_explicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step);

// One FTCS sweep over nodes [1, n] of a ghosted array (ghosts at 0 and n + 1). Exposed for the
// benchmark, which times the kernel alone.
void ftcs_sweep(const double* __restrict in, double* __restrict out, std::size_t begin, std::size_t end, double r);

}  // namespace slab::heat
