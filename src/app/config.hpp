// Everything a run of slab is told: parsed from the command line (src/app/cli.cpp), validated by
// the solvers' own resolve/check functions, recorded in full in the output's attributes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/hosts.hpp"
#include "core/names.hpp"
#include "io/output.hpp"
#include "solvers/heat.hpp"
#include "solvers/regression.hpp"
#include "solvers/tsqr.hpp"

namespace slab::app {

struct OutputConfig {
  std::string out;
  io::IoMode io = io::IoMode::parallel;
  bool overwrite = false;
  std::int64_t checkpoint_every = 0;  // steps (heat) or iterations (gd); 0: never
  std::string restart;                // a checkpoint to resume from
  double time_limit = 0;              // seconds of wall time; stop (resumable) before it; 0: none
  io::FileAccess access;              // --align, --io-hint and SLAB_IO_HINTS: every HDF5 file's settings
  std::vector<std::string> io_hints;  // --io-hint as typed (checked and merged into access.hints)
};

// The units a run's numbers are in: none stated (the problem is non-dimensional, units "1"), or SI
// (x and length in m, t in s, alpha in m^2/s).
enum class UnitSystem { nondimensional, si };
inline constexpr NameTable<UnitSystem, 2> unit_system_names{
    {{UnitSystem::nondimensional, "nondimensional"}, {UnitSystem::si, "si"}}};

struct HeatConfig {
  heat::Request request;
  std::string init = "sine";  // sine | gaussian | step | FILE.h5:/dataset
  int mode = 1;
  bool extendible = false;                        // --layout extendible
  int compress = 0;                               // gzip level for --layout extendible
  UnitSystem units = UnitSystem::nondimensional;  // --units
  std::string u_units = "1";                      // --u-units: the units of u, as UDUNITS writes them
};

struct RegressConfig {
  std::int64_t rows = 100000;
  std::int64_t cols = 8;
  std::uint64_t seed = 42;
  double noise = 0.01;
  std::string data;  // empty: synthetic
  regression::Method method = regression::Method::gd;
  regression::RankDeficient rank_deficient = regression::RankDeficient::error;  // --method qr
  regression::GdOptions gd;
  bool standardize = false;
  bool write_data = true;   // --no-data skips /regression/X and /regression/y
  bool extendible = false;  // --layout extendible: X, y and loss chunked
  int compress = 0;         // gzip level for --layout extendible
};

enum class Command { heat, regress };

struct Config {
  Command command = Command::heat;
  OutputConfig output;
  HeatConfig heat;
  RegressConfig regress;
  std::string petsc_options;
  bool quiet = false;
  bool print_plan = false;   // --plan: print the resource plan, check it, compute nothing
  std::string command_line;  // as typed, for provenance
  HostMap hosts;             // where the ranks run: gathered once at start-up (app::run), for provenance
};

}  // namespace slab::app
