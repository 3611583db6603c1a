// Reproducible distributed sums. The sum of N leaf vectors is defined as a perfect binary tree
// over leaf indices [0, 2^K): every inner node is (left + right). Each rank sums the aligned
// subtrees that lie inside its row block; the few subtrees that straddle ranks are finished on
// every rank from an allgather of the partial nodes. The association never depends on the rank
// count, so the result is bitwise identical for 1, 2, 3, ... ranks — and pairwise summation is
// also more accurate than a running sum.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <functional>
#include <vector>

#include "mpi.hpp"
#include "partition.hpp"

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

// Collective. Finishes the tree over [0, global_leaves) from every rank's nodes (values holds
// `width` doubles per node, in the order of `nodes`). Returns the total on every rank.
[[nodiscard]] std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                               const std::vector<TreeNode>& nodes, const std::vector<double>& values);
// The same tree with `merge` in place of +. A node whose right half lies past the last leaf is its
// left half unchanged, as in the sum.
[[nodiscard]] std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                               const std::vector<TreeNode>& nodes, const std::vector<double>& values,
                                               const Merge& merge);

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
  reduce_pairwise(
      count, width, unit,
      [width](double* left, const double* right) {
        for (std::size_t j = 0; j < width; ++j) left[j] = left[j] + right[j];
      },
      stack, out);
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

// Collective: the reproducible sum of leaf(i) over all global rows i of the partition; each rank
// evaluates only its own rows.
template <class Leaf>
[[nodiscard]] std::vector<double> tree_sum(const mpi::Comm& comm, const RowPartition& partition, std::size_t width,
                                           Leaf&& leaf) {
  const PartialTree part = local_tree(partition, width, leaf);
  return combine_tree(comm, partition.global_rows(), width, part.nodes, part.values);
}

}  // namespace slab
