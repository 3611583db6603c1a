// Reproducible distributed sums. The sum of N leaf vectors is defined as a perfect binary tree
// over leaf indices [0, 2^K): every inner node is (left + right). Each rank sums the aligned
// subtrees that lie inside its row block; the few subtrees that straddle ranks are finished on
// every rank from an allgather of the partial nodes. The association never depends on the rank
// count, so the result is bitwise identical for 1, 2, 3, ... ranks — and pairwise summation is
// also more accurate than a running sum.
#pragma once

#include <cstdint>
#include <vector>

#include "core/mpi.hpp"
#include "core/partition.hpp"
#include "core/tree_nodes.hpp"

namespace slab {

// Collective. Finishes the tree over [0, global_leaves) from every rank's nodes (values holds
// `width` doubles per node, in the order of `nodes`). Returns the total on every rank.
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
