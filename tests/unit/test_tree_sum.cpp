#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/tree_nodes.hpp"

using slab::TreeNode;

TEST(TreeSum, AlignedNodesTileTheRangeWithPowerOfTwoBlocks) {
  for (std::int64_t first = 0; first < 40; ++first)
    for (std::int64_t end = first; end < 70; ++end) {
      std::int64_t next = first;
      for (const TreeNode& n : slab::aligned_nodes(first, end)) {
        const std::int64_t size = std::int64_t{1} << n.level;
        EXPECT_EQ(n.begin, next);
        EXPECT_EQ(n.begin % size, 0) << "node must be aligned to its size";
        next += size;
      }
      EXPECT_EQ(next, end);
    }
}

// The node sum is the perfect binary tree, ((a+b)+(c+d)) for four leaves, which the leaves below
// tell apart from other orders: 1e16 + 1 rounds to 1e16, so the tree gives 0 + 26 = 26, a running
// sum 27 and the exact sum 28.
TEST(TreeSum, NodeSumIsThePerfectBinaryTree) {
  const std::vector<double> x = {1e16, 1.0, -1e16, 1.0, 3.0, 5.0, 7.0, 11.0};
  auto leaf = [&](std::int64_t i, double* out) { out[0] = x[static_cast<std::size_t>(i)]; };
  std::vector<double> stack(4);
  double out = 0;
  slab::sum_aligned_node(TreeNode{0, 3}, 1, leaf, stack.data(), &out);
  EXPECT_EQ(out, 26.0);
  slab::sum_aligned_node(TreeNode{0, 2}, 1, leaf, stack.data(), &out);
  EXPECT_EQ(out, 0.0);
  slab::sum_aligned_node(TreeNode{4, 2}, 1, leaf, stack.data(), &out);
  EXPECT_EQ(out, 26.0);
}

TEST(TreeSum, WideLeavesAreSummedComponentwise) {
  auto leaf = [](std::int64_t i, double* out) {
    out[0] = static_cast<double>(i);
    out[1] = 1.0;
  };
  std::vector<double> stack(2 * 6);
  double out[2];
  slab::sum_aligned_node(TreeNode{0, 5}, 2, leaf, stack.data(), out);
  EXPECT_EQ(out[0], 31.0 * 32.0 / 2.0);
  EXPECT_EQ(out[1], 32.0);
}

// reduce_pairwise with another merge keeps the tree's shape and the left/right order: with the
// non-associative, non-commutative merge (l, r) -> 2 l - r the result spells out the tree.
TEST(TreeSum, AnyMergeFollowsThePerfectBinaryTree) {
  auto unit = [](std::uint64_t k, double* out) { out[0] = static_cast<double>(k + 1); };
  auto merge = [](double* left, const double* right) { left[0] = 2 * left[0] - right[0]; };
  auto m = [](double l, double r) { return 2 * l - r; };
  std::vector<double> stack(4);
  double out = 0;
  slab::reduce_pairwise(8, 1, unit, merge, stack.data(), &out);
  EXPECT_EQ(out, m(m(m(1, 2), m(3, 4)), m(m(5, 6), m(7, 8))));
}
