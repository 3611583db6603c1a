// Everything a run of slab is told: parsed from the command line (src/app/cli.cpp), validated by
// the solvers' own resolve/check functions, recorded in full in the output's attributes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heat.hpp"
#include "output.hpp"
#include "regression.hpp"
#include "tsqr.hpp"

namespace slab::app {

struct OutputConfig {
  std::string out;
  io::IoMode io = io::IoMode::parallel;
  bool overwrite = false;
  std::int64_t checkpoint_every = 0;  // steps (heat) or iterations (gd); 0: never
  std::string restart;                // a checkpoint to resume from
  double time_limit = 0;              // seconds of wall time; stop (resumable) before it; 0: none
};

struct HeatConfig {
  heat::Request request;
  std::string init = "sine";  // sine | gaussian | step | FILE.h5:/dataset
  int mode = 1;
  bool extendible = false;  // --layout extendible
  int compress = 0;         // gzip level for --layout extendible
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
  bool write_data = true;  // --no-data skips /regression/X and /regression/y
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
};

}  // namespace slab::app
