// The communicators MPI tests run on: a duplicate of WORLD (errors returned, not fatal) and SELF.
#pragma once

#include "core/mpi.hpp"

namespace slab::test {

inline const mpi::Comm& world() {
  static const auto comm = mpi::Comm::duplicate(MPI_COMM_WORLD);
  return comm;
}

inline const mpi::Comm& self() {
  static const auto comm = mpi::Comm::duplicate(MPI_COMM_SELF);
  return comm;
}

}  // namespace slab::test
