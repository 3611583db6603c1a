// slab heat, step by step: plan -> initial state -> output layout (and restart) -> solve with
// observers -> finish the file -> report. run_heat() in run_heat.cpp reads as that list; each step
// is a function or type here that a test can call on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "app/checkpoint.hpp"
#include "app/config.hpp"
#include "app/report.hpp"
#include "core/mpi.hpp"
#include "core/partition.hpp"
#include "io/output.hpp"
#include "io/sink.hpp"
#include "solvers/heat.hpp"

namespace slab::app {

// What a heat run is decided to be before it allocates or computes anything.
struct HeatPlan {
  heat::Problem problem;
  io::OutputOptions output;  // --out, with the bytes the file will take
  std::string checkpoint;    // where --checkpoint-every writes
  Fingerprint fingerprint;   // what a checkpoint must agree with to be resumed
  // Rank 0: the lock on --out, and the checkpoint's (claimed with the plan, so that a second run
  // on either is refused before anything is computed); held while the plan lives.
  io::Claim claim;
  std::shared_ptr<Checkpoints> checkpoints;
};

// Collective: validates every heat parameter (agreed on all ranks) and sizes the output, then
// checks --out (directory, clobbering, free space). Throws InputError naming the option.
[[nodiscard]] HeatPlan plan_heat(const mpi::Comm& comm, const Config& config);

// The parameter line rank 0 prints first.
[[nodiscard]] std::string describe(const HeatPlan& plan, const HeatConfig& cfg, int ranks);

// Collective: this rank's nodes at t = 0, built in (sine, gaussian, step) or read from
// FILE.h5:/dataset (opened with `access`), with the Dirichlet values applied.
[[nodiscard]] std::vector<double> initial_condition(const mpi::Comm& comm, const heat::Problem& p,
                                                    const HeatConfig& cfg, const RowPartition& part,
                                                    const io::FileAccess& access = {});

// The /heat group of an open output: x when created, u one snapshot at a time, t and the
// attributes at the end. It keeps only the snapshot times: a checkpoint copies the snapshots so far
// from the output, in pieces, so memory does not grow with --snapshots.
class HeatRecord {
 public:
  HeatRecord(const mpi::Comm& comm, io::Sink& sink, const HeatPlan& plan, const HeatConfig& cfg);

  // Observer step: snapshot `index` at time t, this rank's nodes.
  void snapshot(std::int64_t index, double t, std::span<const double> local);
  // The largest |u - exact| at the final snapshot, or -1 when there is no exact solution.
  [[nodiscard]] double max_error() const noexcept { return max_error_; }

  // Collective: writes the state after `step` and the snapshots so far (read back from the output)
  // to plan.checkpoint.
  // `parameters` replaces the plan's fingerprint (a stop records the hash of --init files).
  void checkpoint(std::int64_t step, std::span<const double> u, const Fingerprint* parameters = nullptr) const;
  // Collective: checks a checkpoint completely, copies its snapshots into the output and returns the
  // step it was taken after; u receives this rank's nodes.
  [[nodiscard]] std::int64_t restore(const std::string& from, std::vector<double>& u);

  // Collective: writes t, the parameters as /heat's attributes, each dataset's long_name and units,
  // and the run's provenance as the attributes of /provenance.
  void finish(const io::Attributes& parameters, const io::Attributes& run_record);
  [[nodiscard]] double io_seconds() const noexcept { return io_seconds_; }

 private:
  void write_row(std::uint64_t index, const double* local);

  const mpi::Comm& comm_;
  io::Sink& sink_;
  const HeatPlan& plan_;
  const HeatConfig& cfg_;
  RowPartition part_;
  std::vector<double> x_;      // this rank's node positions
  std::vector<double> times_;  // snapshot times so far
  double max_error_ = -1;
  double io_seconds_ = 0;
};

// The observer that connects the solver to the record, the checkpoints and the progress line.
[[nodiscard]] heat::Observer observe(HeatRecord& record, Reporter& report, const HeatPlan& plan,
                                     std::int64_t checkpoint_every);

// Every parameter of the run, as the /heat group's attributes.
[[nodiscard]] io::Attributes heat_attributes(const heat::Problem& p, const HeatConfig& cfg);

// The summary line rank 0 prints last.
[[nodiscard]] std::string heat_summary(const heat::Problem& p, int ranks, const PhaseTimes& times,
                                       const heat::Timing& timing, double max_error, const std::string& target);

void run_heat(const mpi::Comm& comm, const Config& config);

}  // namespace slab::app
