// slab regress, step by step: plan -> data (synthetic or read) -> write the inputs -> fit (gd with
// checkpoints, or a direct method) -> write the fit -> report. run_regress() in run_regress.cpp
// reads as that list; each step is a function here that a test can call on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/checkpoint.hpp"
#include "app/config.hpp"
#include "app/report.hpp"
#include "core/dist_tensor.hpp"
#include "core/mpi.hpp"
#include "io/output.hpp"
#include "io/sink.hpp"
#include "solvers/regression.hpp"
#include "solvers/synthetic.hpp"
#include "solvers/tsqr.hpp"

namespace slab::app {

// What a regression run is decided to be before it allocates or computes anything.
struct RegressPlan {
  io::OutputOptions output;  // --out, with the bytes the file will take where they are known
  std::string checkpoint;    // where --checkpoint-every writes
  // Rank 0: the lock on --out, and the checkpoint's (claimed with the plan, so that a second run
  // on either is refused before anything is computed); held while the plan lives.
  io::Claim claim;
  std::shared_ptr<Checkpoints> checkpoints;
};

// Collective: validates every regression parameter (agreed on all ranks) and checks --out.
[[nodiscard]] RegressPlan plan_regress(const mpi::Comm& comm, const Config& config);

// X (N, D) and y (N,) split by rows; the true model when the data is synthetic.
struct Dataset {
  DistTensor X;
  DistTensor y;
  std::optional<regression::Truth> truth;
};

// Collective: generates the synthetic data or reads --data (.h5 in parallel; .npz and .csv on
// rank 0, then scattered), checked for shape and finiteness.
// `access`: how an .h5 file is opened.
[[nodiscard]] Dataset load_data(const mpi::Comm& comm, const RegressConfig& cfg, const io::FileAccess& access = {});

// The parameter line rank 0 prints first.
[[nodiscard]] std::string describe(const Dataset& data, const RegressConfig& cfg, int ranks, const std::string& out);

// Collective: /regression/X (sample, feature) and /regression/y (sample), each rank its rows, in
// the layout of --layout/--compress.
void write_data(io::Sink& sink, const Dataset& data, const RegressConfig& cfg);

// Fits by cfg.method. gd resumes from --restart and checkpoints every --checkpoint-every
// iterations; `restarted_from` receives the iteration it resumed at (0: a fresh start).
// --standardize fits a scaled copy of X: data.X keeps its units (the statistics need them).
[[nodiscard]] regression::Fit fit(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, Dataset& data,
                                  Reporter& report, std::int64_t& restarted_from);

// Collective: the fit's regression statistics (standard errors, t values, R², condition number;
// solvers/tsqr.hpp), from one TSQR pass over data.X, or from the fit's own R for qr.
[[nodiscard]] regression::Statistics fit_statistics(const mpi::Comm& comm, const Dataset& data,
                                                    const regression::Fit& fit);

// Collective: /regression/w_stderr (feature), b_stderr () and /regression/statistics/t_values
// (coefficient: D+1, w's then b's), each with its long_name and units.
void write_statistics(const mpi::Comm& comm, io::Sink& sink, const regression::Statistics& stats);

// r_squared, adj_r_squared, residual_std, dof and condition_number, as attributes of /regression.
[[nodiscard]] io::Attributes statistics_attributes(const regression::Statistics& stats);

// Collective: w and b, the loss history (/regression/history: loss and its iteration coordinate),
// for synthetic data the true model, and every dataset's long_name and units.
void write_fit(const mpi::Comm& comm, io::Sink& sink, const regression::Fit& fit,
               const std::optional<regression::Truth>& truth, const RegressConfig& cfg);

// Every parameter and the fit's figures, as the /regression group's attributes.
[[nodiscard]] io::Attributes regress_attributes(const RegressConfig& cfg, const Dataset& data,
                                                const regression::Fit& fit);

// The summary line rank 0 prints last.
[[nodiscard]] std::string regress_summary(const RegressConfig& cfg, const Dataset& data, const regression::Fit& fit,
                                          const regression::Statistics& stats, int ranks, const PhaseTimes& times,
                                          const std::string& target);

void run_regress(const mpi::Comm& comm, const Config& config);

}  // namespace slab::app
