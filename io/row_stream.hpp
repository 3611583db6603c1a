// The regression table of an HDF5 file (slab's own /regression/X and /regression/y, a netCDF-4 file
// from xarray, an h5py user's datasets): which datasets and columns are X and y, checked before
// anything is read, then read by rows, whole (in memory) or in pieces (streamed, double-buffered).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dist_tensor.hpp"
#include "core/mpi.hpp"
#include "core/row_stream.hpp"
#include "io/h5_reader.hpp"
#include "io/input_file.hpp"

namespace slab::io {

// --x, --y, --y-column, --columns.
struct TableSelection {
  std::string x = "/regression/X";
  std::string y = "/regression/y";
  std::optional<std::int64_t> y_column;  // y is this column of --x's table (then --y is not read)
  std::vector<std::int64_t> columns;     // the features: these columns of --x; empty: all (but y's)
};

// What the selection is in a file: checked shapes, types and dimension names.
struct TableInfo {
  std::int64_t rows = 0;
  std::size_t table_cols = 0;         // columns of --x's dataset
  std::vector<std::size_t> features;  // the columns of --x that are X, in order
  std::string x_type, y_type;         // float64, float32, int64, ...
  std::vector<std::string> x_dims, y_dims;
  [[nodiscard]] std::size_t cols() const noexcept { return features.size(); }
  // X is --x as stored (all its columns, in order) and y is --y.
  [[nodiscard]] bool whole_table() const noexcept;
  [[nodiscard]] bool converted() const noexcept { return x_type != "float64" || y_type != "float64"; }
  // Bytes of the reader's buffers per row of one piece (x, y, and the table row when selecting).
  [[nodiscard]] std::uint64_t buffer_bytes_per_row() const noexcept;
};

// Collective: opens `file` (InputError naming `option` for anything wrong) and checks the selection:
// every refusal one line (a missing dataset, another number of dimensions, a type that is not a
// number, rows that disagree, a column out of range or named twice).
[[nodiscard]] TableInfo inspect_table(const mpi::Comm& comm, const H5Input& input, const TableSelection& selection);

// The rows of X and y read in pieces by hyperslab reads (every rank takes part in each read; the
// values move by independent MPI-IO, each rank's rows being one contiguous range). Through two
// buffers: one reader thread reads the next piece while the current one is visited (when MPI allows
// calls from it: see docs/streaming.md; core/double_buffer.hpp); HDF5 is only ever called from one
// thread at a time.
class H5RowStream final : public RowStream {
 public:
  // Collective. `buffer_bytes`: what the two piece buffers may take together.
  H5RowStream(const mpi::Comm& comm, const std::string& file, const TableSelection& selection,
              std::uint64_t buffer_bytes, const std::string& option, const FileAccess& access = {});
  [[nodiscard]] const TableInfo& info() const noexcept { return info_; }
  [[nodiscard]] std::int64_t rows() const override { return info_.rows; }
  [[nodiscard]] std::size_t cols() const override { return info_.cols(); }
  [[nodiscard]] std::int64_t piece_rows() const override { return piece_rows_; }
  void pass(const std::vector<RowRange>& ranges, const std::function<void(const RowPiece&)>& visit,
            bool with_x = true) const override;
  [[nodiscard]] std::int64_t passes() const override { return passes_; }
  [[nodiscard]] bool overlapped() const noexcept { return overlap_; }
  // Seconds the visits waited for a read (0 when every read finished under the arithmetic).
  [[nodiscard]] double wait_seconds() const noexcept { return wait_seconds_; }

  // Collective: X and y whole, this rank's rows (the in-memory path, read through the same pieces).
  [[nodiscard]] std::pair<DistTensor, DistTensor> read_all() const;

 private:
  struct Slot {
    std::vector<double> x, y, table;
  };
  void read_piece(const RowRange& range, Slot& slot, bool with_x) const;
  // Collective: refuses (InputError) a file that another process wrote to since it was opened.
  void require_unchanged() const;

  const mpi::Comm& comm_;
  H5Input input_;
  TableSelection selection_;
  TableInfo info_;
  std::string where_;
  std::string file_;
  std::optional<FileStamp> stamp_;  // rank 0's look at the file when it was opened
  std::int64_t piece_rows_ = 0;
  bool overlap_ = false;
  mutable Slot slots_[2];
  mutable std::int64_t passes_ = 0;
  mutable double wait_seconds_ = 0;
};

}  // namespace slab::io
