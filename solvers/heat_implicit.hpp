// Backward Euler (theta = 1) and Crank-Nicolson (theta = 1/2) through PETSc (--solver petsc):
//   (I - theta R L) u^{n+1} = (I + (1 - theta) R L) u^n
// with L the second-difference operator of the boundary condition, assembled once as a distributed
// AIJ matrix whose row ownership is slab's RowPartition. One KSP is set up once and reused every
// step; KSPSetFromOptions is called last, so -ksp_type / -pc_type / -ksp_rtol override the
// defaults: on one process a direct solve (LU factors once, triangular solves per step); on
// several, GMRES with block Jacobi + ILU to a relative tolerance of 1e-14, starting from the
// previous step.
#pragma once

#include "solvers/heat.hpp"

namespace slab::heat {

Timing solve_implicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step);

}  // namespace slab::heat
