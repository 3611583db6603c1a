#include <gtest/gtest.h>

#include <cmath>

#include "comms.hpp"
#include "core/tree_sum.hpp"

using slab::test::world;

namespace {

// Values of wildly different magnitudes, so any change of association changes the bits.
void leaf(std::int64_t i, double* out) {
  const auto x = static_cast<double>(i);
  out[0] = std::sin(x) * std::pow(10.0, static_cast<double>(i % 17) - 8.0);
  out[1] = 1.0 / (x + 1.0);
  out[2] = x * x;
}
}  // namespace

// The distributed sum equals, bit for bit, the sum one process computes alone.
TEST(TreeSumMpi, BitwiseIdenticalToTheSingleProcessSum) {
  const auto self = slab::mpi::Comm::view(MPI_COMM_SELF);
  for (const std::int64_t rows : {0, 1, 2, 3, 5, 17, 64, 1000, 4099}) {
    SCOPED_TRACE(rows);
    const slab::RowPartition mine(rows, world().size(), world().rank());
    const slab::RowPartition alone(rows, 1, 0);
    const auto distributed = slab::tree_sum(world(), mine, 3, leaf);
    const auto serial = slab::tree_sum(self, alone, 3, leaf);
    ASSERT_EQ(distributed.size(), 3u);
    for (int j = 0; j < 3; ++j) EXPECT_EQ(distributed[j], serial[j]) << "component " << j;
    // And it is the right sum: exact for the integer component.
    if (rows > 0) {
      const auto n = static_cast<double>(rows);
      EXPECT_EQ(distributed[2], (n - 1) * n * (2 * n - 1) / 6);
    }
  }
}
