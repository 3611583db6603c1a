// The driver: wires the solvers to the outputs. run() is what main calls inside its try/catch.
#pragma once

#include "config.hpp"
#include "mpi.hpp"
#include "sink.hpp"

namespace slab::app {

// Collective. Throws slab::Error (agreed on every rank) on failure.
void run(const mpi::Comm& comm, const Config& config);

// Rank 0 warns of PETSc options nothing read. Called after a successful run.
void report_unused_petsc_options(const mpi::Comm& comm);

void run_heat(const mpi::Comm& comm, const Config& config);
void run_regress(const mpi::Comm& comm, const Config& config);

// Attributes every output carries: version, commit, command line, ranks, start time.
[[nodiscard]] io::Attributes provenance(const mpi::Comm& comm, const Config& config);

}  // namespace slab::app
