#include "core/partition.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace slab {

RowPartition::RowPartition(std::int64_t global_rows, int ranks, int rank) : global_rows_(global_rows), rank_(rank) {
  if (global_rows < 0) throw InputError("row count must be non-negative, got " + std::to_string(global_rows));
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw InputError("rank " + std::to_string(rank) + " is not in a communicator of size " + std::to_string(ranks));
  counts_.resize(ranks);
  offsets_.resize(ranks);
  const std::int64_t base = global_rows / ranks;
  const std::int64_t extra = global_rows % ranks;
  std::int64_t offset = 0;
  for (int r = 0; r < ranks; ++r) {
    counts_[r] = base + (r < extra ? 1 : 0);
    offsets_[r] = offset;
    offset += counts_[r];
  }
}

int RowPartition::owner(std::int64_t row) const {
  if (row < 0 || row >= global_rows_)
    throw InputError("row " + std::to_string(row) + " is outside 0.." + std::to_string(global_rows_ - 1));
  // offsets_ is non-decreasing; the owner is the last rank whose block starts at or before row and
  // is not empty.
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), row);
  int r = static_cast<int>(it - offsets_.begin()) - 1;
  while (counts_[r] == 0) --r;
  return r;
}

int RowPartition::lower_neighbour() const noexcept {
  for (int r = rank_ - 1; r >= 0; --r)
    if (counts_[r] > 0) return r;
  return -1;
}

int RowPartition::upper_neighbour() const noexcept {
  for (int r = rank_ + 1; r < ranks(); ++r)
    if (counts_[r] > 0) return r;
  return -1;
}

int RowPartition::first_nonempty_rank() const noexcept {
  for (int r = 0; r < ranks(); ++r)
    if (counts_[r] > 0) return r;
  return -1;
}

int RowPartition::last_nonempty_rank() const noexcept {
  for (int r = ranks() - 1; r >= 0; --r)
    if (counts_[r] > 0) return r;
  return -1;
}

}  // namespace slab
