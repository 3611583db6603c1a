#include "core/tree_nodes.hpp"

#include <algorithm>

namespace slab {

namespace {

constexpr std::int64_t span_of(const TreeNode& node) { return std::int64_t{1} << node.level; }

// left and right are the two children of one node of the tree.
bool siblings(const TreeNode& left, const TreeNode& right) {
  return left.level == right.level && left.begin % (2 * span_of(left)) == 0 &&
         right.begin == left.begin + span_of(left);
}

// node is a left child whose right sibling holds no leaf: its parent has node's value.
bool lone_left_child(const TreeNode& node, std::int64_t leaves, int root) {
  return node.level < root && node.begin % (2 * span_of(node)) == 0 && node.begin + span_of(node) >= leaves;
}

}  // namespace

std::vector<TreeNode> aligned_nodes(std::int64_t first, std::int64_t end) {
  std::vector<TreeNode> nodes;
  std::int64_t a = first;
  while (a < end) {
    int level = a == 0 ? 62 : std::countr_zero(static_cast<std::uint64_t>(a));
    while ((std::int64_t{1} << level) > end - a) --level;
    nodes.push_back({a, level});
    a += std::int64_t{1} << level;
  }
  return nodes;
}

int root_level(std::int64_t leaves) {
  int level = 0;
  while ((std::int64_t{1} << level) < leaves) ++level;
  return level;
}

void push_node(PartialTree& tree, TreeNode node, const double* value, std::int64_t leaves, std::size_t width,
               const Merge& merge) {
  const int root = root_level(leaves);
  tree.nodes.push_back(node);
  tree.values.insert(tree.values.end(), value, value + width);
  for (;;) {
    const std::size_t n = tree.nodes.size();
    if (n >= 2 && siblings(tree.nodes[n - 2], tree.nodes[n - 1])) {
      double* left = tree.values.data() + (n - 2) * width;
      merge(left, static_cast<const double*>(left + width));
      tree.values.resize((n - 1) * width);
      tree.nodes.pop_back();
      ++tree.nodes.back().level;
    } else if (lone_left_child(tree.nodes.back(), leaves, root)) {
      ++tree.nodes.back().level;
    } else {
      return;
    }
  }
}

void join_right(PartialTree& left, const PartialTree& right, std::int64_t leaves, std::size_t width,
                const Merge& merge) {
  for (std::size_t k = 0; k < right.nodes.size(); ++k)
    push_node(left, right.nodes[k], right.values.data() + k * width, leaves, width, merge);
}

}  // namespace slab
