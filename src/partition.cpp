#include "partition.hpp"

#include <algorithm>
#include <string>

#include "error.hpp"

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
