// The driver: wires the solvers to the outputs. run() is what main calls inside its try/catch;
// run_heat.hpp and run_regress.hpp hold the steps of each command.
#pragma once

#include "app/config.hpp"
#include "app/report.hpp"
#include "core/mpi.hpp"
#include "io/output.hpp"
#include "io/sink.hpp"

namespace slab::app {

// Collective. Throws slab::Error (agreed on every rank) on failure.
void run(const mpi::Comm& comm, const Config& config);

// Rank 0 warns of PETSc options nothing read. Called after a successful run.
void report_unused_petsc_options(const mpi::Comm& comm);

// Attributes every output carries: version, commit, command line, ranks and hosts, start time, I/O
// mode and settings (alignment, the MPI-IO hints asked for and those `output` reports).
[[nodiscard]] io::Attributes provenance(const mpi::Comm& comm, const Config& config, const io::Output& output);
// Collective: wall_time_compute, _communication, _io and _total, each the maximum over the ranks.
[[nodiscard]] io::Attributes timing_attributes(const mpi::Comm& comm, const PhaseTimes& times);
// Appends `more` to `attributes`.
void append(io::Attributes& attributes, io::Attributes more);

}  // namespace slab::app
