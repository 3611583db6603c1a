// What a checkpoint holds, and the complete check a restart makes before using any of it. Pure
// (no MPI, no HDF5), so that tests/fuzz can feed it any content a damaged file could hold.
//
// A checkpoint records every parameter that determines the rest of the run (typed: integers stay
// integers, names stay text, input files are named by a hash of their bytes), the step it was
// taken at, and its state datasets. A restart is refused, with the field and both values in words,
// when any parameter differs, the step is outside the run, a dataset is missing, of another shape
// or holds NaN or infinity, or a recorded value contradicts the parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "io/sink.hpp"

namespace slab::app {

// The parameters a checkpoint must agree with, by name, compared exactly (type and value).
using Fingerprint = io::Attributes;

struct CheckpointRecord {
  io::Attributes parameters;                           // attributes of /checkpoint/parameters
  std::optional<std::int64_t> step;                    // attribute "step" of /checkpoint
  std::map<std::string, std::optional<Shape>> shapes;  // each dataset asked for; nullopt: missing or not numbers
  std::map<std::string, std::vector<double>> values;   // the small datasets, read whole once their shape is right
};

// What this run expects of a checkpoint.
struct CheckpointRules {
  std::string where;           // "--restart FILE", for messages
  Fingerprint parameters;      // this run's
  std::int64_t last_step = 0;  // a checkpoint is taken at a step in [1, last_step)
  std::string step_name;       // "step" or "iteration"
  // The datasets a checkpoint taken at `step` holds, and their shapes.
  std::function<std::map<std::string, Shape>(std::int64_t step)> shapes;
  // Checks the small datasets' values (already known finite, of the right shapes); throws InputError.
  std::function<void(std::int64_t step, const std::map<std::string, std::vector<double>>&)> check_values;
};

// In words: "nx = 3001", "init = 'gaussian'".
[[nodiscard]] std::string describe(const io::AttributeValue& value);

// Parameters and step: throws InputError naming the first field that differs, and both values.
void check_parameters_and_step(const CheckpointRecord& record, const CheckpointRules& rules);
// Shapes of every dataset rules.shapes(step) names (after check_parameters_and_step).
void check_shapes(const CheckpointRecord& record, const CheckpointRules& rules);
// Finiteness and rules.check_values over record.values (after check_shapes).
void check_values(const CheckpointRecord& record, const CheckpointRules& rules);

// A heat checkpoint at step s: "u" (nx), "t" (taken) and "snapshots" (taken, nx) under
// /checkpoint, with taken = snapshots_by(s) and t[k] == snapshot_time(k) exactly.
[[nodiscard]] CheckpointRules heat_rules(std::string where, Fingerprint parameters, std::uint64_t nx,
                                         std::int64_t steps, std::function<std::int64_t(std::int64_t)> snapshots_by,
                                         std::function<double(std::int64_t)> snapshot_time);
// A gradient-descent checkpoint at iteration s: "w" (cols), "loss" (s values, none negative) and
// "state" (b, loss increases: a whole number in [0, s]) under /checkpoint.
[[nodiscard]] CheckpointRules gd_rules(std::string where, Fingerprint parameters, std::uint64_t cols,
                                       std::int64_t iters);

// A 64-bit FNV-1a hash of bytes, as 16 hex digits; `state` continues an earlier call's hash.
[[nodiscard]] std::uint64_t fnv1a(const char* data, std::size_t size, std::uint64_t state = 14695981039346656037ull);
[[nodiscard]] std::string hex64(std::uint64_t value);

}  // namespace slab::app
