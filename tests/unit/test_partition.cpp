#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/partition.hpp"

using slab::RowPartition;

TEST(RowPartition, EveryRowsRanksPairIsBalancedContiguousAndOrdered) {
  for (std::int64_t rows = 0; rows <= 50; ++rows) {
    for (int ranks = 1; ranks <= 8; ++ranks) {
      std::int64_t expected_first = 0;
      std::int64_t total = 0;
      for (int rank = 0; rank < ranks; ++rank) {
        const RowPartition p(rows, ranks, rank);
        SCOPED_TRACE(testing::Message() << "rows " << rows << " ranks " << ranks << " rank " << rank);
        EXPECT_EQ(p.first(), expected_first);
        EXPECT_EQ(p.end(), p.first() + p.count());
        EXPECT_EQ(p.first_of(rank), p.first());
        EXPECT_EQ(p.count_of(rank), p.count());
        const auto [lo, hi] = std::minmax_element(p.counts().begin(), p.counts().end());
        EXPECT_LE(*hi - *lo, 1);
        // The split PETSc makes for PETSC_DECIDE: n/size, plus one on the first n%size ranks.
        EXPECT_EQ(p.count(), rows / ranks + ((rows % ranks) > rank ? 1 : 0));
        // Every rank computes the same table.
        EXPECT_EQ(p.counts(), RowPartition(rows, ranks, 0).counts());
        expected_first += p.count();
        total += p.count();
      }
      EXPECT_EQ(total, rows);
    }
  }
}

TEST(RowPartition, OwnerFindsTheRankHoldingEachRow) {
  for (std::int64_t rows = 1; rows <= 20; ++rows)
    for (int ranks = 1; ranks <= 8; ++ranks) {
      const RowPartition p(rows, ranks, 0);
      for (std::int64_t row = 0; row < rows; ++row) {
        const int r = p.owner(row);
        EXPECT_GE(row, p.first_of(r));
        EXPECT_LT(row, p.first_of(r) + p.count_of(r));
      }
    }
}

TEST(RowPartition, ZeroRowRanksAreLegalAndSkippedByNeighbours) {
  // 3 rows on 5 ranks: ranks 3 and 4 own nothing.
  const RowPartition last_full(3, 5, 2);
  EXPECT_EQ(last_full.count(), 1);
  EXPECT_EQ(last_full.lower_neighbour(), 1);
  EXPECT_EQ(last_full.upper_neighbour(), -1);
  EXPECT_EQ(last_full.last_nonempty_rank(), 2);
  EXPECT_EQ(last_full.first_nonempty_rank(), 0);
  const RowPartition empty(3, 5, 4);
  EXPECT_EQ(empty.count(), 0);
  EXPECT_EQ(empty.first(), 3);
  const RowPartition none(0, 3, 1);
  EXPECT_EQ(none.first_nonempty_rank(), -1);
  EXPECT_EQ(none.count(), 0);
}

TEST(RowPartition, RejectsImpossibleArguments) {
  EXPECT_THROW(RowPartition(-1, 2, 0), slab::InputError);
  EXPECT_THROW(RowPartition(10, 0, 0), slab::InputError);
  EXPECT_THROW(RowPartition(10, 2, 2), slab::InputError);
  EXPECT_THROW((void)RowPartition(10, 2, 0).owner(10), slab::InputError);
}

TEST(RowPartition, LargeRowCountsUse64BitIndices) {
  const std::int64_t rows = (std::int64_t{1} << 33) + 5;
  const RowPartition p(rows, 3, 2);
  EXPECT_EQ(p.first() + p.count(), rows);
  EXPECT_GT(p.first(), std::int64_t{1} << 32);
}
