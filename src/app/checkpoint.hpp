// Checkpoints: `--checkpoint-every N` writes "<out>.ckpt.h5" atomically (a new file, then a rename)
// with the full state as global arrays plus every parameter that determines the rest of the run;
// `--restart FILE` resumes from it, on any rank count, after checking it completely
// (src/app/checkpoint_record.hpp). The checkpoint is claimed like an output (io/file_owner.hpp): a
// second run on it is refused, and slab removes it only if this run wrote it or resumed from it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "app/checkpoint_record.hpp"
#include "app/config.hpp"
#include "core/mpi.hpp"
#include "io/file_owner.hpp"
#include "io/h5_reader.hpp"
#include "io/output.hpp"
#include "io/sink.hpp"

namespace slab::app {

[[nodiscard]] std::string checkpoint_path(const std::string& out);

class Checkpoints {
 public:
  // Collective. With --checkpoint-every or --restart, claims "<out>.ckpt.h5" and the --restart
  // file. For those and for a `stoppable` run (a stop writes a checkpoint), refuses a checkpoint
  // file already there unless it is the --restart file or --overwrite is given. Call before
  // computing.
  Checkpoints(const mpi::Comm& comm, const OutputConfig& output, bool stoppable);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // Collective. `fill` creates and writes the state datasets (under "checkpoint/").
  void write(const Fingerprint& parameters, std::int64_t step, const std::function<void(io::Sink&)>& fill);

  // Collective: the run has finished; removes the checkpoint if this run wrote it or resumed from it.
  void finish();

 private:
  const mpi::Comm& comm_;
  OutputConfig output_;
  std::string path_;
  io::Claim claim_, restart_claim_;
  bool restart_is_ours_ = false;  // --restart names this run's own checkpoint path
  bool written_ = false;
};

// Collective: reads a checkpoint's parameters, step and dataset shapes, checks them against
// `rules`, then reads the datasets named in `small` whole and checks their values. Every failure is
// an InputError naming the field and both values; nothing is trusted before it is checked.
[[nodiscard]] CheckpointRecord read_checkpoint(const mpi::Comm& comm, const io::H5Input& file,
                                               const CheckpointRules& rules, const std::vector<std::string>& small);

// Collective: a hash of a file's bytes (rank 0 reads it), for the parameters a checkpoint records.
[[nodiscard]] std::string content_hash(const mpi::Comm& comm, const std::string& path, const std::string& option);

// ---- heat ----
// Every parameter that determines the rest of a heat run. Collective: hashes an --init file when
// hash_files is set (only a run that writes or reads a checkpoint needs it).
[[nodiscard]] Fingerprint heat_parameters(const mpi::Comm& comm, const heat::Problem& p, const HeatConfig& cfg,
                                          const std::string& petsc_options, bool hash_files);

// Where a restarted heat run goes on from: its step, its state, the snapshot times so far.
struct HeatResume {
  std::int64_t step = 0;
  std::vector<double> u;  // this rank's nodes
  std::vector<double> times;
};
// Snapshot rows per piece when a checkpoint copies snapshots: about 8 MiB of whole rows (in gather
// mode rank 0 handles every rank's part of a piece at once).
[[nodiscard]] std::uint64_t snapshot_rows_per_piece(std::uint64_t nx);
// Collective: checks the checkpoint `from` completely against this run, then copies its snapshots
// into heat/u of `sink` in pieces (memory does not grow with their number).
[[nodiscard]] HeatResume resume_heat(const mpi::Comm& comm, const std::string& from, const heat::Problem& p,
                                     const Fingerprint& parameters, io::Sink& sink, const io::FileAccess& access = {});
// Collective: a heat checkpoint at `step`: the state `now`, and the snapshots so far copied in
// pieces from heat/u of `output` (the file being written), not held in memory.
void write_heat_checkpoint(const mpi::Comm& comm, Checkpoints& checkpoints, const Fingerprint& parameters,
                           const heat::Problem& p, std::int64_t step, std::span<const double> now,
                           const std::vector<double>& times, io::Sink& output);

// ---- gradient descent ----
[[nodiscard]] Fingerprint gd_parameters(const mpi::Comm& comm, const RegressConfig& cfg, std::size_t rows,
                                        std::size_t cols);
// Collective: the fit a checkpoint holds, after checking it completely against this run.
[[nodiscard]] regression::Fit resume_gd(const mpi::Comm& comm, const std::string& from, const RegressConfig& cfg,
                                        const Fingerprint& parameters, std::size_t cols,
                                        const io::FileAccess& access = {});
void write_gd_checkpoint(const mpi::Comm& comm, Checkpoints& checkpoints, const Fingerprint& parameters,
                         const regression::Fit& now);

// A replicated array written by rank 0 (an empty block elsewhere).
void write_replicated(const mpi::Comm& comm, io::Sink& sink, const std::string& name, const std::vector<double>& v);

}  // namespace slab::app
