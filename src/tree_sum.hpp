// Reproducible distributed sums. The sum of N leaf vectors is defined as a perfect binary tree
// over leaf indices [0, 2^K): every inner node is (left + right). Each rank sums the aligned
// subtrees that lie inside its row block; the few subtrees that straddle ranks are finished on
// every rank from an allgather of the partial nodes. The association never depends on the rank
// count, so the result is bitwise identical for 1, 2, 3, ... ranks — and pairwise summation is
// also more accurate than a running sum.
#pragma once

#include <bit>
#include <cstdint>
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

// Collective. Finishes the tree over [0, global_leaves) from every rank's nodes (values holds
// `width` doubles per node, in the order of `nodes`). Returns the total on every rank.
[[nodiscard]] std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                               const std::vector<TreeNode>& nodes, const std::vector<double>& values);

// Sums leaves [begin, begin + 2^level) pairwise, into out[0..width). leaf(i, dst) writes the
// width values of global leaf i to dst. `stack` must hold (level + 1) * width doubles.
template <class Leaf>
void sum_aligned_node(const TreeNode& node, std::size_t width, Leaf& leaf, double* stack, double* out) {
  const std::uint64_t n = std::uint64_t{1} << node.level;
  std::size_t depth = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    leaf(node.begin + static_cast<std::int64_t>(i), stack + depth * width);
    ++depth;
    // Leaf i completes one subtree per trailing one bit of i: merge that many times.
    for (int merges = std::countr_one(i); merges > 0; --merges) {
      double* left = stack + (depth - 2) * width;
      const double* right = left + width;
      for (std::size_t j = 0; j < width; ++j) left[j] = left[j] + right[j];
      --depth;
    }
  }
  for (std::size_t j = 0; j < width; ++j) out[j] = stack[j];
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
