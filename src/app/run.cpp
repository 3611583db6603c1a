#include "app/run.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <ctime>

#include "app/report.hpp"
#include "app/run_heat.hpp"
#include "app/run_regress.hpp"
#include "app/stopping.hpp"
#include "core/petsc.hpp"
#include "core/stop.hpp"
#include "core/version.hpp"
#include "core/watchdog.hpp"
#include "io/file_format.hpp"

namespace slab::app {

io::Attributes provenance(const mpi::Comm& comm, const Config& config, const io::Output& output) {
  // The start time is rank 0's, so every rank writes the same attribute value.
  std::string started;
  if (comm.is_root()) {
    char text[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    started = text;
  }
  comm.broadcast(started);
  const io::FileAccess& access = config.output.access;
  return {{"slab_version", std::string(version)},
          {"git_commit", std::string(git_commit)},
          {"command_line", config.command_line},
          {"nranks", std::int64_t{comm.size()}},
          {"nnodes", config.hosts.nodes},
          {"hosts", config.hosts.hosts},
          {"start_time", started},
          {"io_mode", io::to_string(config.output.io)},
          {"io_alignment", static_cast<std::int64_t>(access.aligned() ? access.alignment : 0)},
          {"io_alignment_threshold", static_cast<std::int64_t>(access.aligned() ? access.threshold() : 0)},
          {"io_hints", io::hint_text(access.hints)},
          {"mpi_io_info", output.reported_hints()}};
}

io::Attributes timing_attributes(const mpi::Comm& comm, const PhaseTimes& times) {
  return {{"wall_time_compute", comm.allreduce_max(times.compute)},
          {"wall_time_communication", comm.allreduce_max(times.communication)},
          {"wall_time_io", comm.allreduce_max(times.io)},
          {"wall_time_total", comm.allreduce_max(times.total)},
          {"peak_rss_bytes", comm.allreduce_max(peak_rss_bytes())}};
}

std::int64_t peak_rss_bytes() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return -1;
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux: KiB
}

void append(io::Attributes& attributes, io::Attributes more) {
  for (auto& a : more) attributes.push_back(std::move(a));
}

namespace {
void check_time_limit(double seconds) {
  if (!(seconds >= 0 && seconds <= stop::max_time_limit))
    throw InputError("--time-limit must be a number of seconds from 0 (none) to 1e9, got " + format_number(seconds));
}

// --layout and --compress shape HDF5 datasets; other formats store every array whole.
void check_storage_options(const Config& config) {
  const bool heat = config.command == Command::heat;
  const bool extendible = heat ? config.heat.extendible : config.regress.extendible;
  const int compress = heat ? config.heat.compress : config.regress.compress;
  const auto format = io::format_of(config.output.out);
  if (!format || *format == io::FileFormat::hdf5 || (!extendible && compress == 0)) return;
  throw InputError(std::string(extendible ? "--layout extendible" : "--compress") +
                   " applies to HDF5 output (.h5) only; --out " + config.output.out +
                   " stores every array whole and uncompressed: drop it, or write .h5");
}
}  // namespace

void run(const mpi::Comm& comm, const Config& given) {
  Config config = given;
  config.hosts = host_map(comm);
  // The options are the same on every rank, so PETSc refuses them everywhere alike.
  mpi::collectively(comm, [&] {
    const auto first = config.petsc_options.find_first_not_of(" \t\n");
    if (first != std::string::npos && config.petsc_options[first] != '-')
      throw InputError(
          "--petsc \"" + config.petsc_options +
          "\": PETSc options start with '-' (e.g. \"-ksp_type cg\"); PETSc would ignore the leading words");
    try {
      petsc::Session::insert_options(config.petsc_options);
    } catch (const RuntimeFailure& e) {
      throw InputError("PETSc did not accept --petsc \"" + config.petsc_options + "\": " + e.what());
    }
  });
  mpi::collectively(comm, [&] {
    check_time_limit(config.output.time_limit);
    check_storage_options(config);
    // Read again by the step loops' watchdog, where a refusal could not be agreed on.
    (void)watchdog::configured_limit();
  });
  stop::set_time_limit(config.output.time_limit);
  switch (config.command) {
    case Command::heat:
      run_heat(comm, config);
      break;
    case Command::regress:
      // The margin of a gd run: its checkpoints are small (heat's is estimated in its plan).
      if (!config.print_plan) warn_if_time_limit_within_margin(comm, config.output.time_limit);
      run_regress(comm, config);
      break;
  }
  report_unused_petsc_options(comm);
}

void report_unused_petsc_options(const mpi::Comm& comm) {
  // A warning, not an error: the run has succeeded and its output is complete.
  std::string words;
  for (const auto& option : petsc::unused_options()) words += (words.empty() ? "" : ", ") + option;
  if (comm.is_root() && !words.empty())
    std::fprintf(stderr,
                 "slab: warning: PETSc never read %s (from --petsc or PETSC_OPTIONS): misspelt, or for a solver "
                 "this run does not use\n",
                 words.c_str());
}

}  // namespace slab::app
