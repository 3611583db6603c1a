// What a checkpoint holds, and the complete check a restart makes before using any of it. Pure
// (no MPI, no HDF5), so that tests/fuzz can feed it any content a damaged file could hold.
//
// A checkpoint records every parameter that determines the rest of the run (typed: integers stay
// integers, names stay text, input files are named by a hash of their bytes), the step it was
// taken at, its state datasets (float64), its format, and a digest of all of these. A restart is
// refused, with the field and both values in words, when the file is not marked complete or is of
// another format, any parameter differs, the step is outside the run, a dataset is missing, not
// float64, of another shape or holds NaN or infinity, a recorded value contradicts the
// parameters, or the digest does not match what was read (a step, a parameter or a value edited
// after slab wrote it: the digest ties the step to the state).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "io/sink.hpp"

namespace slab::app {

// The parameters a checkpoint must agree with, by name, compared exactly (type and value).
using Fingerprint = io::Attributes;

// The attribute "format" of /checkpoint. Checkpoints of other formats are refused.
inline constexpr const char* checkpoint_format = "slab checkpoint 3";

struct CheckpointRecord {
  std::optional<std::int64_t> complete;                // attribute "complete" of the file (1, written last)
  std::optional<std::string> format;                   // attribute "format" of /checkpoint
  std::optional<std::string> digest;                   // attribute "digest" of /checkpoint
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

// Completion flag, format, parameters and step: throws InputError naming the first field that
// differs, and both values.
void check_parameters_and_step(const CheckpointRecord& record, const CheckpointRules& rules);
// Shapes of every dataset rules.shapes(step) names (after check_parameters_and_step).
void check_shapes(const CheckpointRecord& record, const CheckpointRules& rules);
// Finiteness and rules.check_values over record.values (after check_shapes).
void check_values(const CheckpointRecord& record, const CheckpointRules& rules);

// The digest of a checkpoint's arrays, independent of how they are split over ranks: the sum
// (mod 2^64) over every element of a hash of the array's name, the element's row-major index and
// its bits. Each rank adds what it writes or reads; the sums of all ranks add up to the same value
// for any rank count.
class ArrayDigest {
 public:
  // Adds the box [start, start + count) of the array `name` ("checkpoint/u"; a leading '/' is
  // ignored) of global shape `shape`; `values` holds the box row-major.
  void add(std::string_view name, const Shape& shape, const std::vector<std::uint64_t>& start,
           const std::vector<std::uint64_t>& count, const double* values);
  [[nodiscard]] std::uint64_t sum() const noexcept { return sum_; }

 private:
  std::uint64_t sum_ = 0;
};

// "fnv1a-64:<16 hex digits>" of the format, the step, every parameter (name, type, exact value;
// in the order of their names) and the arrays' digest summed over the ranks.
[[nodiscard]] std::string checkpoint_digest(const Fingerprint& parameters, std::int64_t step, std::uint64_t arrays);
// Throws InputError unless the recorded digest is `computed` (after every array was read).
void check_digest(const CheckpointRecord& record, const CheckpointRules& rules, const std::string& computed);

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
