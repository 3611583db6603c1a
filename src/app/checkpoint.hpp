// Checkpoints: `--checkpoint-every N` writes "<out>.ckpt.h5" atomically (a new file, then a rename)
// with the full state as global arrays plus a fingerprint of the parameters; `--restart FILE`
// resumes from it, on any rank count. A restart whose parameters contradict the checkpoint's is
// refused with the first parameter that differs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "h5_reader.hpp"
#include "mpi.hpp"
#include "output.hpp"
#include "sink.hpp"

namespace slab::app {

// The parameters a checkpoint must agree with, by name; compared exactly.
using Fingerprint = std::vector<std::pair<std::string, double>>;

[[nodiscard]] std::string checkpoint_path(const std::string& out);

// Collective. `fill` creates and writes the state datasets (under "checkpoint/").
void write_checkpoint(const mpi::Comm& comm, const std::string& path, io::IoMode mode, const Fingerprint& fingerprint,
                      std::int64_t step, const std::function<void(io::Sink&)>& fill);

// Collective. Checks the fingerprint of a checkpoint (opened once for all its reads) against
// `expected`; returns its step.
[[nodiscard]] std::int64_t check_checkpoint(const mpi::Comm& comm, const io::H5Input& checkpoint,
                                            const std::string& path, const Fingerprint& expected);

// Collective: removes a checkpoint once the run it protects has finished.
void remove_checkpoint(const mpi::Comm& comm, const std::string& path);

// A replicated array written by rank 0 (an empty block elsewhere).
void write_replicated(const mpi::Comm& comm, io::Sink& sink, const std::string& name, const std::vector<double>& v);

}  // namespace slab::app
