// Parallel reads: a dataset split by rows over the ranks, each rank reading its own row
// hyperslab collectively through MPI-IO. The file's dims are checked against what the caller
// expects, with an error that names the file, the dataset and both shapes.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "core/dist_tensor.hpp"
#include "io/h5.hpp"
#include "io/sink.hpp"

namespace slab::io {

struct ExpectedShape {
  std::size_t ndim;                       // number of dimensions
  std::optional<std::size_t> rows;        // the first dimension, when it is known
  std::optional<std::size_t> row_length;  // product of the other dimensions, when known
  bool integers = false;                  // integer datasets too (read converted to double)
};

// An HDF5 file opened once, collectively, for several reads: every dataset comes from the same
// file even if another process renames a new file over the path meanwhile (a checkpoint being
// replaced). Every call is collective and agreed; `option` names the flag the file came from, for
// error messages.
class H5Input {
 public:
  // `access`: the MPI-IO hints the file is opened with.
  H5Input(const mpi::Comm& comm, const std::string& file, const std::string& option, const FileAccess& access = {});
  // The shape of a dataset, checked against `expected`, without reading it (to plan memory first).
  [[nodiscard]] Shape shape(const std::string& dataset, const ExpectedShape& expected) const;
  // A dataset split by rows over the ranks.
  [[nodiscard]] DistTensor rows(const std::string& dataset, const ExpectedShape& expected) const;
  // The whole dataset on every rank (small replicated data such as a checkpoint's parameters).
  [[nodiscard]] Tensor whole(const std::string& dataset, const ExpectedShape& expected) const;
  // The shape of a dataset of float64 numbers (little-endian IEEE, as slab writes them); nullopt if
  // there is no such dataset (absent, a group, a broken link, any other type, float32 included).
  // Collective, never throws for a damaged object.
  [[nodiscard]] std::optional<Shape> shape(const std::string& dataset) const;
  // The scalar attributes of a group or dataset of the types slab writes (64-bit little-endian
  // integers and floats, variable-length strings); others (int32, float32, ...) are skipped, and a
  // missing object has none.
  [[nodiscard]] Attributes attributes(const std::string& object) const;
  // Collective: this rank reads the box [start, start + count) of a floating-point dataset whose
  // shape was checked (an empty count reads nothing but takes part).
  void read_box(const std::string& dataset, const std::vector<std::uint64_t>& start,
                const std::vector<std::uint64_t>& count, double* out) const;
  // The same for a dataset of any numbers (floating point or integer), converted to double by HDF5,
  // each rank reading its box independently (the rows of a table: one contiguous range per rank,
  // which a collective transfer would only route through aggregating ranks).
  void read_numbers(const std::string& dataset, const std::vector<std::uint64_t>& start,
                    const std::vector<std::uint64_t>& count, double* out) const;
  // Collective: the type of a numeric dataset as NumPy names it (float64, float32, int64, uint8, ...).
  [[nodiscard]] std::string type_name(const std::string& dataset) const;
  // Collective: the names of a dataset's dimensions (netCDF-4 / HDF5 dimension scales, as xarray
  // writes them), one per axis, "" where an axis has none.
  [[nodiscard]] std::vector<std::string> dimension_names(const std::string& dataset) const;

 private:
  // Collective, once per dataset (read_box reads a checkpoint in many pieces): refuses a non-empty
  // dataset whose elements are not all stored in this file.
  void require_stored(const std::string& dataset, const h5::Dataset& data, const Shape& shape) const;

  const mpi::Comm& comm_;
  std::string where_;
  h5::File file_;
  mutable std::set<std::string> stored_;  // datasets require_stored has passed
};

// One dataset from a file, opened for this read only.
[[nodiscard]] DistTensor read_rows(const mpi::Comm& comm, const std::string& file, const std::string& dataset,
                                   const ExpectedShape& expected, const std::string& option,
                                   const FileAccess& access = {});

// True when `path` names an HDF5 file (by its signature, not its extension).
[[nodiscard]] bool is_hdf5(const std::string& path);

}  // namespace slab::io
