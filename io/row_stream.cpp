#include "io/row_stream.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/checked.hpp"
#include "core/double_buffer.hpp"
#include "core/error.hpp"
#include "core/watchdog.hpp"

namespace slab::io {
namespace {

std::string dims_text(const Shape& shape) { return to_string(shape); }

std::vector<std::size_t> feature_columns(const TableSelection& sel, std::size_t table_cols, const std::string& what) {
  auto check = [&](std::int64_t c, const std::string& flag) {
    if (c < 0 || static_cast<std::size_t>(c) >= table_cols)
      throw InputError(flag + " " + std::to_string(c) + " is out of range: " + what + " has columns 0 to " +
                       std::to_string(table_cols - 1));
  };
  if (sel.y_column) check(*sel.y_column, "--y-column");
  std::vector<std::size_t> features;
  if (sel.columns.empty()) {
    for (std::size_t c = 0; c < table_cols; ++c)
      if (!sel.y_column || static_cast<std::int64_t>(c) != *sel.y_column) features.push_back(c);
  } else {
    std::set<std::int64_t> seen;
    for (const std::int64_t c : sel.columns) {
      check(c, "--columns");
      if (!seen.insert(c).second) throw InputError("--columns names column " + std::to_string(c) + " twice");
      if (sel.y_column && c == *sel.y_column)
        throw InputError("--columns names column " + std::to_string(c) + ", which --y-column takes as y");
      features.push_back(static_cast<std::size_t>(c));
    }
  }
  if (features.empty()) throw InputError(what + " leaves no feature column beside --y-column");
  return features;
}

}  // namespace

bool TableInfo::whole_table() const noexcept {
  if (features.size() != table_cols) return false;
  for (std::size_t c = 0; c < features.size(); ++c)
    if (features[c] != c) return false;
  return true;
}

std::uint64_t TableInfo::buffer_bytes_per_row() const noexcept {
  const std::uint64_t direct = (cols() + 1) * sizeof(double);
  return whole_table() ? direct : direct + table_cols * sizeof(double);
}

TableInfo inspect_table(const mpi::Comm& comm, const H5Input& input, const TableSelection& sel) {
  TableInfo info;
  const Shape x = input.shape(sel.x, {2, {}, {}, true});
  mpi::collectively(comm, [&] {
    if (x[0] < 1 || x[1] < 1)
      throw InputError("--x '" + sel.x + "' has shape " + dims_text(x) + "; it needs at least one row and column");
  });
  info.rows = static_cast<std::int64_t>(x[0]);
  info.table_cols = x[1];
  mpi::collectively(comm, [&] { info.features = feature_columns(sel, x[1], "--x '" + sel.x + "' " + dims_text(x)); });
  info.x_type = input.type_name(sel.x);
  info.x_dims = input.dimension_names(sel.x);
  if (sel.y_column) {
    info.y_type = info.x_type;
    info.y_dims = info.x_dims;
  } else {
    (void)input.shape(sel.y, {1, x[0], 1, true});  // "has shape (30,), expected a 1-D dataset of 40 values"
    info.y_type = input.type_name(sel.y);
    info.y_dims = input.dimension_names(sel.y);
  }
  return info;
}

H5RowStream::H5RowStream(const mpi::Comm& comm, const std::string& file, const TableSelection& selection,
                         std::uint64_t buffer_bytes, const std::string& option, const FileAccess& access)
    : comm_(comm),
      input_(comm, file, option, access),
      selection_(selection),
      where_("'" + file + "' (" + option + ")"),
      file_(file) {
  if (comm.is_root()) stamp_ = file_stamp(file);
  info_ = inspect_table(comm, input_, selection_);
  const std::uint64_t per_row = info_.buffer_bytes_per_row() * 2;  // two slots
  piece_rows_ = static_cast<std::int64_t>(std::min<std::uint64_t>(buffer_bytes / per_row, std::uint64_t{1} << 40));
  if (piece_rows_ < 1)
    throw InputError("the memory for reading --data in pieces (" + format_bytes(Checked(buffer_bytes)) +
                     ") holds less than two rows of " + std::to_string(info_.table_cols) + " values; raise --memory");
  overlap_ = mpi::threads_serialized();
  // The two piece buffers (up to 1 GiB), allocated here and agreed on: a rank that cannot have them
  // fails every rank before any collective read.
  const auto rows = static_cast<std::size_t>(piece_rows_);
  mpi::collectively(comm_, [&] {
    for (Slot& slot : slots_) {
      slot.x.resize(rows * info_.cols());
      slot.y.resize(rows);
      if (!info_.whole_table()) slot.table.resize(rows * info_.table_cols);
    }
  });
}

void H5RowStream::read_piece(const RowRange& range, Slot& slot, bool with_x) const {
  const auto first = static_cast<std::uint64_t>(range.begin), rows = static_cast<std::uint64_t>(range.size());
  const std::size_t cols = info_.cols(), table = info_.table_cols;
  const bool whole = info_.whole_table();
  // y alone when it is a dataset of its own: a pass over y reads 1 / (D + 1) of the bytes.
  with_x = with_x || selection_.y_column.has_value();
  double* target = whole ? slot.x.data() : slot.table.data();
  if (with_x) input_.read_numbers(selection_.x, {first, 0}, {rows, table}, target);
  if (!selection_.y_column) input_.read_numbers(selection_.y, {first}, {rows}, slot.y.data());
  if (with_x && !whole)
    for (std::size_t i = 0; i < rows; ++i) {
      const double* row = slot.table.data() + i * table;
      for (std::size_t j = 0; j < cols; ++j) slot.x[i * cols + j] = row[info_.features[j]];
      if (selection_.y_column) slot.y[i] = row[static_cast<std::size_t>(*selection_.y_column)];
    }
  // A NaN or an infinity fails every rank alike at the same piece.
  mpi::collectively(comm_, [&] {
    if (with_x && !all_finite(std::span<const double>(slot.x.data(), rows * cols)))
      throw InputError("X in " + where_ + " holds NaN or infinite values");
    if (!all_finite(std::span<const double>(slot.y.data(), rows)))
      throw InputError("y in " + where_ + " holds NaN or infinite values");
  });
}

void H5RowStream::pass(const std::vector<RowRange>& ranges, const std::function<void(const RowPiece&)>& visit,
                       bool with_x) const {
  for (const RowRange& r : ranges)
    if (r.begin < 0 || r.end > info_.rows || r.size() < 0 || r.size() > piece_rows_)
      throw RuntimeFailure("a streamed pass asked for rows [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
                           ") of " + std::to_string(info_.rows) + " in pieces of " + std::to_string(piece_rows_));
  // Every rank makes the same number of collective reads: those with fewer pieces read nothing.
  const std::int64_t count = comm_.allreduce_max(static_cast<std::int64_t>(ranges.size()));
  const auto mine = static_cast<std::int64_t>(ranges.size());
  auto read = [&](std::int64_t k) {
    read_piece(k < mine ? ranges[static_cast<std::size_t>(k)] : RowRange{}, slots_[k % 2], with_x);
  };
  auto visit_piece = [&](std::int64_t k) {
    if (k < mine) {
      const RowRange& r = ranges[static_cast<std::size_t>(k)];
      const Slot& s = slots_[k % 2];
      visit({r.begin, static_cast<std::size_t>(r.size()), s.x.data(), s.y.data()});
    }
    watchdog::tick();  // a pass over a large file is a long step of a fit: each piece is progress
  };
  wait_seconds_ += overlap_ ? double_buffered(count, read, visit_piece) : single_buffered(count, read, visit_piece);
  require_unchanged();
  ++passes_;
}

void H5RowStream::require_unchanged() const {
  mpi::collectively(comm_, [&] {
    // Values read past a new end of the file come back as zeros: a fit of them would be wrong.
    if (stamp_ && written_since(*stamp_, file_stamp(file_)))
      throw InputError(where_ + " changed while slab read it (another process wrote to it); run again on a file " +
                       "nothing writes to");
  });
}

std::pair<DistTensor, DistTensor> H5RowStream::read_all() const {
  // Allocated and agreed on before the pass's collectives (a rank out of memory fails them all).
  std::optional<DistTensor> loaded_x, loaded_y;
  mpi::collectively(comm_, [&] {
    loaded_x.emplace(comm_, Shape{static_cast<std::size_t>(info_.rows), info_.cols()});
    loaded_y.emplace(comm_, Shape{static_cast<std::size_t>(info_.rows)});
  });
  DistTensor& X = *loaded_x;
  DistTensor& y = *loaded_y;
  const RowPartition& p = X.partition();
  std::vector<RowRange> ranges;
  for (std::int64_t a = p.first(); a < p.end(); a += piece_rows_)
    ranges.push_back({a, std::min(a + piece_rows_, p.end())});
  double* x = X.local().data().data();
  double* yy = y.local().data().data();
  const std::size_t cols = info_.cols();
  pass(ranges, [&](const RowPiece& piece) {
    const auto local = static_cast<std::size_t>(piece.first - p.first());
    std::copy_n(piece.x, piece.rows * cols, x + local * cols);
    std::copy_n(piece.y, piece.rows, yy + local);
  });
  return {std::move(X), std::move(y)};
}

}  // namespace slab::io
