// Reproducible distributed sums. The sum of N leaf vectors is defined as a perfect binary tree
// over leaf indices [0, 2^K): every inner node is (left + right). Each rank sums the aligned
// subtrees that lie inside its row block (core/tree_nodes.hpp); the ranks then finish the tree by a
// binomial reduction in rank order, each round joining the partial trees of two adjacent ranges of
// ranks, and rank 0 broadcasts the root. The association never depends on the rank count, so the
// result is bitwise identical for 1, 2, 3, ... ranks — and pairwise summation is also more accurate
// than a running sum.
//
// Cost per reduction: ceil(log2 P) rounds of one message of at most 2 log2(N) + 2 nodes of
// (width + 2) doubles (one node when the ranks' row counts are equal powers of two), then a
// broadcast of width + 1 doubles. Every rank but 0 sends one partial tree; none gathers the others.
#pragma once

#include <cstdint>
#include <vector>

#include "core/mpi.hpp"
#include "core/partition.hpp"
#include "core/tree_nodes.hpp"

namespace slab {

// Collective. Finishes the tree over [0, global_leaves) from every rank's nodes (values holds
// `width` doubles per node, in the order of `nodes`; the ranks' nodes tile the leaves in rank
// order). Returns the total on every rank.
[[nodiscard]] std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                               const std::vector<TreeNode>& nodes, const std::vector<double>& values);
// The same tree with `merge` in place of +. A node whose right half lies past the last leaf is its
// left half unchanged, as in the sum.
[[nodiscard]] std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                               const std::vector<TreeNode>& nodes, const std::vector<double>& values,
                                               const Merge& merge);

// Collective: the reproducible sum of leaf(i) over all global rows i of the partition; each rank
// evaluates only its own rows.
template <class Leaf>
[[nodiscard]] std::vector<double> tree_sum(const mpi::Comm& comm, const RowPartition& partition, std::size_t width,
                                           Leaf&& leaf) {
  const PartialTree part = local_tree(partition, width, leaf);
  return combine_tree(comm, partition.global_rows(), width, part.nodes, part.values);
}

}  // namespace slab
