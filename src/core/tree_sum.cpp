#include "core/tree_sum.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <span>
#include <utility>

namespace slab {

namespace {

class Tree {
 public:
  Tree(std::int64_t leaves, std::size_t width, const Merge& merge) : leaves_(leaves), width_(width), merge_(merge) {}

  void give(std::int64_t begin, int level, const double* value) {
    given_.emplace(std::make_pair(begin, level), std::vector<double>(value, value + width_));
  }

  // The value of node (begin, level), or nothing when the node lies past the last leaf.
  std::optional<std::vector<double>> value(std::int64_t begin, int level) const {
    if (begin >= leaves_) return std::nullopt;
    if (const auto it = given_.find({begin, level}); it != given_.end()) return it->second;
    if (level == 0) throw RuntimeFailure("tree sum: leaf " + std::to_string(begin) + " was given by no rank");
    const std::int64_t half = std::int64_t{1} << (level - 1);
    auto left = value(begin, level - 1);
    auto right = value(begin + half, level - 1);
    if (!right) return left;
    merge_(left->data(), right->data());
    return left;
  }

 private:
  std::int64_t leaves_;
  std::size_t width_;
  const Merge& merge_;
  std::map<std::pair<std::int64_t, int>, std::vector<double>> given_;
};

}  // namespace

std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                 const std::vector<TreeNode>& nodes, const std::vector<double>& values) {
  return combine_tree(comm, global_leaves, width, nodes, values, [width](double* left, const double* right) {
    for (std::size_t j = 0; j < width; ++j) left[j] = left[j] + right[j];
  });
}

std::vector<double> combine_tree(const mpi::Comm& comm, std::int64_t global_leaves, std::size_t width,
                                 const std::vector<TreeNode>& nodes, const std::vector<double>& values,
                                 const Merge& merge) {
  if (global_leaves == 0) return std::vector<double>(width, 0.0);
  // Every rank contributes the same fixed-size record per node: begin, level, then the values.
  const std::size_t record = width + 2;
  std::vector<double> send(nodes.size() * record);
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    send[k * record] = static_cast<double>(nodes[k].begin);
    send[k * record + 1] = nodes[k].level;
    std::copy_n(values.data() + k * width, width, send.data() + k * record + 2);
  }
  const std::vector<double> all = comm.allgatherv(std::span<const double>(send));
  Tree tree(global_leaves, width, merge);
  for (std::size_t off = 0; off < all.size(); off += record)
    tree.give(static_cast<std::int64_t>(all[off]), static_cast<int>(all[off + 1]), all.data() + off + 2);
  int top = 0;
  while ((std::int64_t{1} << top) < global_leaves) ++top;
  return *tree.value(0, top);
}

}  // namespace slab
