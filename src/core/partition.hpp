// RowPartition: how the rows of a distributed tensor are split over the ranks of a communicator.
// A pure value, computed without MPI. It is the single source of truth for halo neighbours,
// MPI_Gatherv counts, HDF5 hyperslabs and PETSc ownership ranges.
#pragma once

#include <cstdint>
#include <vector>

namespace slab {

class RowPartition {
 public:
  // Balanced block split, the same one PETSc makes with PETSC_DECIDE (PetscSplitOwnership):
  // rank r owns rows/ranks rows, plus one if r < rows % ranks. Ranks may own zero rows.
  RowPartition(std::int64_t global_rows, int ranks, int rank);

  [[nodiscard]] std::int64_t global_rows() const noexcept { return global_rows_; }
  [[nodiscard]] int ranks() const noexcept { return static_cast<int>(counts_.size()); }
  [[nodiscard]] int rank() const noexcept { return rank_; }

  // This rank's block: rows [first(), first() + count()).
  [[nodiscard]] std::int64_t first() const noexcept { return offsets_[rank_]; }
  [[nodiscard]] std::int64_t count() const noexcept { return counts_[rank_]; }
  [[nodiscard]] std::int64_t end() const noexcept { return first() + count(); }

  [[nodiscard]] std::int64_t count_of(int r) const { return counts_.at(r); }
  [[nodiscard]] std::int64_t first_of(int r) const { return offsets_.at(r); }
  [[nodiscard]] const std::vector<std::int64_t>& counts() const noexcept { return counts_; }
  [[nodiscard]] const std::vector<std::int64_t>& offsets() const noexcept { return offsets_; }

  // The rank that owns global row `row` (0 <= row < global_rows).
  [[nodiscard]] int owner(std::int64_t row) const;

  // Nearest rank below / above this one that owns at least one row; -1 when there is none.
  // Ranks that own no rows are skipped, so halo exchange stays correct when rows < ranks.
  [[nodiscard]] int lower_neighbour() const noexcept;
  [[nodiscard]] int upper_neighbour() const noexcept;
  // First and last ranks that own rows (-1 when global_rows == 0): the ends of a periodic ring.
  [[nodiscard]] int first_nonempty_rank() const noexcept;
  [[nodiscard]] int last_nonempty_rank() const noexcept;

  friend bool operator==(const RowPartition&, const RowPartition&) = default;

 private:
  std::int64_t global_rows_;
  int rank_;
  std::vector<std::int64_t> counts_;
  std::vector<std::int64_t> offsets_;
};

}  // namespace slab
