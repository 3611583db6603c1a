#include "run.hpp"

#include <ctime>

#include "petsc.hpp"
#include "run_heat.hpp"
#include "run_regress.hpp"
#include "slab/version.hpp"

namespace slab::app {

io::Attributes provenance(const mpi::Comm& comm, const Config& config) {
  // The start time is rank 0's, so every rank writes the same attribute value.
  std::string started;
  if (comm.is_root()) {
    char text[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    started = text;
  }
  comm.broadcast(started);
  return {{"slab_version", std::string(version)},
          {"git_commit", std::string(git_commit)},
          {"command_line", config.command_line},
          {"nranks", std::int64_t{comm.size()}},
          {"start_time", started},
          {"io_mode", std::string(config.output.io == io::IoMode::parallel ? "parallel" : "gather")}};
}

io::Attributes timing_attributes(const mpi::Comm& comm, const PhaseTimes& times) {
  return {{"wall_time_compute", comm.allreduce_max(times.compute)},
          {"wall_time_communication", comm.allreduce_max(times.communication)},
          {"wall_time_io", comm.allreduce_max(times.io)},
          {"wall_time_total", comm.allreduce_max(times.total)}};
}

void append(io::Attributes& attributes, io::Attributes more) {
  for (auto& a : more) attributes.push_back(std::move(a));
}

void run(const mpi::Comm& comm, const Config& config) {
  petsc::Session::insert_options(config.petsc_options);
  switch (config.command) {
    case Command::heat:
      run_heat(comm, config);
      break;
    case Command::regress:
      run_regress(comm, config);
      break;
  }
}

}  // namespace slab::app
