#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
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

namespace {

// The partial tree of leaves [first, end) of `leaves`, with the spelling merge (l, r) -> 2 l - r
// and leaf i = i + 1, in its smallest form.
slab::PartialTree spelled_range(std::int64_t first, std::int64_t end, std::int64_t leaves) {
  const slab::Merge merge = [](double* left, const double* right) { left[0] = 2 * left[0] - right[0]; };
  slab::PartialTree tree;
  for (std::int64_t i = first; i < end; ++i) {
    const double value = static_cast<double>(i + 1);
    slab::push_node(tree, TreeNode{i, 0}, &value, leaves, 1, merge);
  }
  return tree;
}

// The global tree's value by its definition: a node past the last leaf is absent, a node whose right
// half is absent is its left half.
double spelled_node(std::int64_t begin, int level, std::int64_t leaves) {
  if (level == 0) return static_cast<double>(begin + 1);
  const std::int64_t half = std::int64_t{1} << (level - 1);
  const double left = spelled_node(begin, level - 1, leaves);
  if (begin + half >= leaves) return left;
  return 2 * left - spelled_node(begin + half, level - 1, leaves);
}

}  // namespace

// Partial trees of adjacent ranges join, in any grouping, into the global tree's root with the same
// bits (the merge spells out the association), and each range keeps at most 2 log2(n) + 2 nodes.
TEST(TreeSum, JoinedRangesGiveTheRootInAnyGrouping) {
  const slab::Merge merge = [](double* left, const double* right) { left[0] = 2 * left[0] - right[0]; };
  for (std::int64_t leaves = 1; leaves <= 70; ++leaves) {
    const int root = slab::root_level(leaves);
    const double expected = spelled_node(0, root, leaves);
    for (std::int64_t cut1 = 0; cut1 <= leaves; ++cut1)
      for (std::int64_t cut2 = cut1; cut2 <= leaves; cut2 += 3) {
        SCOPED_TRACE(::testing::Message() << leaves << " leaves cut at " << cut1 << ", " << cut2);
        // ((a b) c) and (a (b c)): both groupings of three adjacent ranges.
        slab::PartialTree a = spelled_range(0, cut1, leaves), b = spelled_range(cut1, cut2, leaves);
        const slab::PartialTree c = spelled_range(cut2, leaves, leaves);
        for (const slab::PartialTree* t : {&std::as_const(a), &std::as_const(b), &c})
          EXPECT_LE(static_cast<double>(t->nodes.size()), 2 * std::log2(static_cast<double>(leaves)) + 2);
        slab::PartialTree left_first = a;
        slab::join_right(left_first, b, leaves, 1, merge);
        slab::join_right(left_first, c, leaves, 1, merge);
        slab::join_right(b, c, leaves, 1, merge);
        slab::join_right(a, b, leaves, 1, merge);
        for (const slab::PartialTree* t : {&left_first, &a}) {
          ASSERT_EQ(t->nodes.size(), 1u);
          EXPECT_EQ(t->nodes[0].begin, 0);
          EXPECT_EQ(t->nodes[0].level, root);
          EXPECT_EQ(t->values[0], expected);
        }
      }
  }
}
