// Backward Euler (theta = 1) and Crank-Nicolson (theta = 1/2) through PETSc:
//   (I - theta R L) u^{n+1} = (I + (1 - theta) R L) u^n
// with L the second-difference operator of the boundary condition, assembled once as a distributed
// AIJ matrix whose row ownership is slab's RowPartition. One KSP is set up once and reused every
// step; KSPSetFromOptions is called last, so -ksp_type / -pc_type / -ksp_rtol override the
// defaults (GMRES, block Jacobi + ILU, relative tolerance 1e-14).
#pragma once

#include "heat.hpp"

namespace slab::heat {

Timing solve_implicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step);

}  // namespace slab::heat
