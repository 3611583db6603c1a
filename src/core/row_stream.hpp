// Rows of a regression table [X y] read in pieces, for data larger than memory. The solvers
// (solvers/streamed.hpp) decide which global rows each rank visits and in which ranges; the reader
// (io/row_stream.hpp: HDF5, collective, double-buffered) fills the pieces. No HDF5 here.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace slab {

// Consecutive global rows [first, first + rows) in memory: x row-major (rows x cols), y (rows).
struct RowPiece {
  std::int64_t first = 0;
  std::size_t rows = 0;
  const double* x = nullptr;
  const double* y = nullptr;
};

// Global rows [begin, end).
struct RowRange {
  std::int64_t begin = 0, end = 0;
  [[nodiscard]] std::int64_t size() const noexcept { return end - begin; }
};

class RowStream {
 public:
  virtual ~RowStream() = default;
  [[nodiscard]] virtual std::int64_t rows() const = 0;        // N
  [[nodiscard]] virtual std::size_t cols() const = 0;         // D, the features
  [[nodiscard]] virtual std::int64_t piece_rows() const = 0;  // the most rows one piece holds
  // Collective: calls visit(piece) on this rank for each of `ranges` (each at most piece_rows() rows,
  // in order); the ranks may visit different numbers of ranges. `visit` must make no MPI or HDF5
  // call: the next piece may be read while it runs. A failure to read is agreed on every rank.
  // `with_x` false: only y is needed (piece.x may be unset), which a reader may read alone.
  virtual void pass(const std::vector<RowRange>& ranges, const std::function<void(const RowPiece&)>& visit,
                    bool with_x = true) const = 0;
  // Passes made so far (each reads this rank's rows once).
  [[nodiscard]] virtual std::int64_t passes() const = 0;
};

// `units` (consecutive row ranges, in order) grouped into ranges of at most `limit` rows each; a unit
// is never split.
[[nodiscard]] inline std::vector<RowRange> group_ranges(const std::vector<RowRange>& units, std::int64_t limit) {
  std::vector<RowRange> out;
  for (const RowRange& u : units) {
    if (u.size() <= 0) continue;
    if (!out.empty() && out.back().end == u.begin && u.end - out.back().begin <= limit)
      out.back().end = u.end;
    else
      out.push_back(u);
  }
  return out;
}

}  // namespace slab
