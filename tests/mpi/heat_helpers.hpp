// Helpers for the heat tests: run a problem on a communicator from a global initial condition and
// return the global result on every rank.
#pragma once

#include <mpi.h>

#include <cmath>
#include <vector>

#include "comms.hpp"
#include "core/dist_tensor.hpp"
#include "solvers/heat.hpp"

namespace slab::test {

// Solves p on comm from the global initial vector u0 and returns the global final state,
// identical on every rank of comm.
inline std::vector<double> solve_global(const mpi::Comm& comm, const heat::Problem& p, const std::vector<double>& u0,
                                        const heat::Observer& observer = {}) {
  const RowPartition part(p.nx, comm.size(), comm.rank());
  std::vector<double> local(u0.begin() + part.first(), u0.begin() + part.end());
  heat::solve(comm, p, local, observer);
  std::vector<double> global(static_cast<std::size_t>(p.nx));
  gather_rows(comm, part, 1, local.data(), global.data(), 0);
  comm.broadcast(global);
  return global;
}

inline std::vector<double> global_initial(const heat::Problem& p, heat::Init init, int mode = 1) {
  return heat::initial(p, RowPartition(p.nx, 1, 0), init, mode);
}

inline double max_error_vs_exact(const heat::Problem& p, const std::vector<double>& u, int mode = 1) {
  double err = 0;
  for (std::int64_t i = 0; i < p.nx; ++i)
    err = std::max(err, std::abs(u[static_cast<std::size_t>(i)] - *heat::exact_sine(p, mode, p.x(i), p.t_end)));
  return err;
}

}  // namespace slab::test
