// slab's entry point: start MPI and PETSc, parse, run, and turn any failure into one line on
// rank 0 and the same exit code on every rank.
#include <cstdio>

#include "app/cli.hpp"
#include "app/run.hpp"
#include "core/mpi.hpp"
#include "core/petsc.hpp"
#include "core/stop.hpp"
#include "io/output.hpp"

namespace {

int run_main(const slab::mpi::Comm& world, int argc, char** argv) {
  slab::app::Parsed parsed;
  try {
    parsed = slab::app::parse_command_line(argc, argv);
  } catch (const slab::Error& e) {
    // Parsing is deterministic: every rank reaches the same verdict, so no agreement is needed.
    if (world.is_root()) std::fprintf(stderr, "slab: error: %s (see slab --help)\n", e.what());
    return static_cast<int>(e.code());
  }
  if (const auto* print = std::get_if<slab::app::PrintAndExit>(&parsed)) {
    if (world.is_root()) std::fputs(print->text.c_str(), stdout);
    return 0;
  }
  try {
    slab::app::run(world, std::get<slab::app::Config>(parsed));
    return 0;
  } catch (const slab::stop::Stopped& e) {
    // Every rank agreed to stop and the checkpoint is written.
    if (world.is_root()) std::fprintf(stderr, "slab: %s\n", e.what());
    return slab::stop::exit_code;
  } catch (const slab::mpi::CollectiveError& e) {
    if (world.is_root()) std::fprintf(stderr, "slab: error: %s\n", e.what());
    if (world.any(slab::io::hdf5_unusable())) {
      // HDF5 cannot shut down after a failed write (see io/output.hpp): end without MPI_Finalize.
      std::fflush(stderr);
      slab::mpi::abort_all(static_cast<int>(e.code()));
    }
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    // A failure on this rank that the others do not know about: they may be waiting in a
    // collective call, so the only way not to hang the job is to abort it.
    const int code =
        dynamic_cast<const slab::Error*>(&e) ? static_cast<int>(static_cast<const slab::Error&>(e).code()) : 1;
    std::fprintf(stderr, "slab: error: %s (rank %d; aborting all ranks)\n", e.what(), world.rank());
    std::fflush(stderr);
    slab::mpi::abort_all(code);
  }
}

}  // namespace

int main(int argc, char** argv) {
  slab::stop::install_handlers();  // a stop signal during start-up is recorded, not fatal
  try {
    slab::mpi::Environment environment(argc, argv);
    const auto world = slab::mpi::Comm::world().duplicate();
    slab::stop::install_handlers();  // again, over any handler MPI_Init installed
    int code = 0;
    {
      // Declared before any PETSc object the run creates, so those are destroyed first.
      slab::petsc::Session petsc(world);
      code = run_main(world, argc, argv);
    }
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "slab: error: %s\n", e.what());
    return 1;
  }
}
