// The summation tree of a reproducible sum, without communication: the aligned nodes that tile a
// rank's rows, their values reduced pairwise, the merge that combines two adjacent nodes, and how two
// adjacent ranges' partial trees join into one. The association depends on global indices only, never
// on where the rank boundaries fall; src/core/tree_sum.hpp finishes the tree across ranks.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/partition.hpp"

namespace slab {

// A node of the global summation tree: leaves [begin, begin + 2^level).
struct TreeNode {
  std::int64_t begin;
  int level;
};

// The aligned nodes that tile [first, end): the canonical segment-tree decomposition.
[[nodiscard]] std::vector<TreeNode> aligned_nodes(std::int64_t first, std::int64_t end);

// How two adjacent nodes of the tree combine, in place: left = left (op) right, where left covers the
// lower leaf indices. A sum uses +; other reductions (TSQR: the QR of two stacked triangles) bring
// their own. It must be a pure function of its arguments: the same bits on every rank.
using Merge = std::function<void(double* left, const double* right)>;
// The tree sum's merge: left[j] = left[j] + right[j] for j < width. Inline, for the pairwise loops;
// sum_merge wraps it as a Merge.
struct AddInto {
  std::size_t width;
  void operator()(double* left, const double* right) const {
    for (std::size_t j = 0; j < width; ++j) left[j] = left[j] + right[j];
  }
};
[[nodiscard]] Merge sum_merge(std::size_t width);

// A leaf that can also evaluate a whole aligned node of 2^block_level leaves at once, in
// registers. block(i, out) must write exactly the pairwise sum of leaf(i), ..., leaf(i + 2^block_level
// - 1) — the same operations in the same order, so that the tree's value does not depend on which
// path evaluated it (tests compare the two bit for bit).
template <class Leaf>
concept BlockLeaf = requires(const Leaf& leaf, std::int64_t i, double* out) {
  { Leaf::block_level } -> std::convertible_to<int>;
  leaf.block(i, out);
};

// The perfect binary tree over `count` consecutive units (count a power of two) into out[0..width),
// with merge(left, right) at every inner node; unit(k, dst) writes the width values of unit k.
// `stack` holds (log2(count) + 1) * width doubles.
template <class Unit, class MergeFn>
void reduce_pairwise(std::uint64_t count, std::size_t width, Unit&& unit, MergeFn&& merge, double* stack, double* out) {
  std::size_t depth = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    unit(k, stack + depth * width);
    ++depth;
    // Unit k completes one subtree per trailing one bit of k: merge that many times.
    for (int merges = std::countr_one(k); merges > 0; --merges) {
      double* left = stack + (depth - 2) * width;
      merge(left, static_cast<const double*>(left + width));
      --depth;
    }
  }
  for (std::size_t j = 0; j < width; ++j) out[j] = stack[j];
}

// Pairwise sum of `count` consecutive units (count a power of two) into out[0..width);
// unit(k, dst) writes the width values of unit k. `stack` holds (log2(count) + 1) * width doubles.
template <class Unit>
void sum_pairwise(std::uint64_t count, std::size_t width, Unit&& unit, double* stack, double* out) {
  reduce_pairwise(count, width, unit, AddInto{width}, stack, out);
}

// Sums leaves [begin, begin + 2^level) pairwise, into out[0..width). leaf(i, dst) writes the
// width values of global leaf i to dst. `stack` must hold (level + 1) * width doubles.
template <class Leaf>
void sum_aligned_node(const TreeNode& node, std::size_t width, Leaf& leaf, double* stack, double* out) {
  if constexpr (BlockLeaf<Leaf>) {
    if (node.level >= Leaf::block_level) {
      const std::uint64_t blocks = std::uint64_t{1} << (node.level - Leaf::block_level);
      sum_pairwise(
          blocks, width,
          [&](std::uint64_t k, double* dst) {
            leaf.block(node.begin + static_cast<std::int64_t>(k << Leaf::block_level), dst);
          },
          stack, out);
      return;
    }
  }
  sum_pairwise(
      std::uint64_t{1} << node.level, width,
      [&](std::uint64_t k, double* dst) { leaf(node.begin + static_cast<std::int64_t>(k), dst); }, stack, out);
}

// This rank's part of a tree sum: the aligned nodes of its rows and their values. No communication.
struct PartialTree {
  std::vector<TreeNode> nodes;
  std::vector<double> values;  // width values per node
};

// The partial tree of a contiguous range of leaves in its smallest form: the nodes of the global tree
// (over `leaves` leaves, with `merge`) that the range completes and no larger node of it contains, in
// leaf order. Two siblings both present become their parent, merge(left, right); a left child whose
// right sibling lies wholly past the last leaf becomes its parent unchanged (the tree's rule for a
// missing right half). Every value is that of the same node of the one global tree, so joining
// ranges in any grouping gives its root with the same bits. A range of n leaves keeps at most
// 2 log2(n) + 2 nodes.
//
// push_node appends one node that follows the range's last leaf and restores that form.
void push_node(PartialTree& tree, TreeNode node, const double* value, std::int64_t leaves, std::size_t width,
               const Merge& merge);
// Appends `right`, the partial tree of the leaves that follow `left`'s, to `left`.
void join_right(PartialTree& left, const PartialTree& right, std::int64_t leaves, std::size_t width,
                const Merge& merge);
// The level of the root of the tree over `leaves` leaves: the smallest L with 2^L >= leaves.
[[nodiscard]] int root_level(std::int64_t leaves);

template <class Leaf>
[[nodiscard]] PartialTree local_tree(const RowPartition& partition, std::size_t width, Leaf&& leaf) {
  PartialTree part{aligned_nodes(partition.first(), partition.end()), {}};
  part.values.resize(part.nodes.size() * width);
  std::vector<double> stack;
  for (std::size_t k = 0; k < part.nodes.size(); ++k) {
    stack.resize((static_cast<std::size_t>(part.nodes[k].level) + 1) * width);
    sum_aligned_node(part.nodes[k], width, leaf, stack.data(), part.values.data() + k * width);
  }
  return part;
}

// A streamed pass visits a rank's part of the tree in units of at most 2^unit_level leaves: the
// aligned nodes of [first, end), each node above unit_level split into its aligned sub-nodes of
// that level, in order. A node's perfect binary tree is the pairwise tree of its sub-nodes' trees, so
// folding the units' values with reduce_pairwise's association (NodeFolder) gives local_tree's bits.
[[nodiscard]] std::vector<TreeNode> stream_units(std::int64_t first, std::int64_t end, int unit_level);
// The level of the largest aligned unit that fits `leaves` leaves (a piece's): floor(log2(leaves)),
// 0 for fewer than two.
[[nodiscard]] int largest_unit_level(std::int64_t leaves);

// Folds the values of stream_units(first, end, unit_level), given in order, into the aligned nodes of
// [first, end): a stack of at most (62 - unit_level + 1) partial values, merged as each sub-tree
// completes. No communication.
class NodeFolder {
 public:
  NodeFolder(std::int64_t first, std::int64_t end, int unit_level, std::size_t width, Merge merge);
  // The next unit's `width` values.
  void add(const double* unit);
  // After every unit was given: this rank's nodes and their values, as local_tree returns them.
  [[nodiscard]] PartialTree finish();

 private:
  void start_node();

  int unit_level_;
  std::size_t width_;
  Merge merge_;
  PartialTree part_;
  std::size_t node_ = 0;       // the node being folded
  std::uint64_t count_ = 0;    // its units
  std::uint64_t given_ = 0;    // units of it given so far
  std::size_t depth_ = 0;      // partial values on the stack
  std::vector<double> stack_;  // (level - unit_level + 1) * width
};

}  // namespace slab
