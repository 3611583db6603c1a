#include "core/tree_sum.hpp"

#include <algorithm>
#include <span>
#include <string>

namespace slab {

namespace {

// A partial tree as one message: per node its begin and level, then its width values. Begin is a
// leaf index below 2^53, so a double holds it exactly.
std::vector<double> pack(const PartialTree& tree, std::size_t width) {
  std::vector<double> message;
  message.reserve(tree.nodes.size() * (width + 2));
  for (std::size_t k = 0; k < tree.nodes.size(); ++k) {
    message.push_back(static_cast<double>(tree.nodes[k].begin));
    message.push_back(tree.nodes[k].level);
    message.insert(message.end(), tree.values.begin() + static_cast<std::ptrdiff_t>(k * width),
                   tree.values.begin() + static_cast<std::ptrdiff_t>((k + 1) * width));
  }
  return message;
}

PartialTree unpack(const std::vector<double>& message, std::size_t width, int source) {
  const std::size_t record = width + 2;
  if (message.size() % record != 0)
    throw RuntimeFailure("tree sum: a partial tree of " + std::to_string(message.size()) + " values from rank " +
                         std::to_string(source) + " is not whole nodes of " + std::to_string(width));
  PartialTree tree;
  for (std::size_t off = 0; off < message.size(); off += record) {
    tree.nodes.push_back({static_cast<std::int64_t>(message[off]), static_cast<int>(message[off + 1])});
    tree.values.insert(tree.values.end(), message.begin() + static_cast<std::ptrdiff_t>(off + 2),
                       message.begin() + static_cast<std::ptrdiff_t>(off + record));
  }
  return tree;
}

// Binomial reduction in rank order: in round s (s = 1, 2, 4, ...) rank r with r mod 2s = s sends its
// partial tree, which covers the rows of ranks [r, r + s), to rank r - s, which joins it on the
// right of its own. Rank 0 ends with the tree of all rows; every other rank has sent once.
PartialTree reduce_to_root(const mpi::Comm& comm, PartialTree mine, std::int64_t leaves, std::size_t width,
                           const Merge& merge) {
  const int rank = comm.rank(), size = comm.size();
  for (int step = 1; step < size; step *= 2) {
    if (rank % (2 * step) != 0) {
      const std::vector<double> message = pack(mine, width);
      comm.send(std::span<const double>(message), rank - step, mpi::tag::partial_tree);
      return {};
    }
    if (rank + step < size)
      join_right(mine, unpack(comm.recv_any_length<double>(rank + step, mpi::tag::partial_tree), width, rank + step),
                 leaves, width, merge);
  }
  return mine;
}

}  // namespace

std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                 const std::vector<TreeNode>& nodes, const std::vector<double>& values) {
  return combine_tree(comm, global_leaves, width, nodes, values, sum_merge(width));
}

std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                 const std::vector<TreeNode>& nodes, const std::vector<double>& values,
                                 const Merge& merge) {
  if (global_leaves == 0) return std::vector<double>(width, 0.0);
  PartialTree mine;
  for (std::size_t k = 0; k < nodes.size(); ++k)
    push_node(mine, nodes[k], values.data() + k * width, global_leaves, width, merge);
  const PartialTree all = reduce_to_root(comm, std::move(mine), global_leaves, width, merge);
  // The root's values and, last, whether rank 0 holds exactly the root: broadcast together, so that
  // a partition the ranks disagree on fails on every rank alike instead of on rank 0 alone.
  std::vector<double> root(width + 1, 0.0);
  if (comm.is_root() && all.nodes.size() == 1 && all.nodes[0].begin == 0 &&
      all.nodes[0].level == root_level(global_leaves)) {
    std::copy_n(all.values.begin(), width, root.begin());
    root[width] = 1.0;
  }
  comm.broadcast(std::span<double>(root), 0);
  if (root[width] != 1.0)
    throw RuntimeFailure("tree sum: the ranks' rows do not tile [0, " + std::to_string(global_leaves) + ")");
  root.pop_back();
  return root;
}

}  // namespace slab
