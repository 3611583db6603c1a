#include "core/tree_nodes.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "core/error.hpp"

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

Merge sum_merge(std::size_t width) { return AddInto{width}; }

int largest_unit_level(std::int64_t leaves) {
  return 63 - std::countl_zero(static_cast<std::uint64_t>(std::max<std::int64_t>(leaves, 1)));
}

std::vector<TreeNode> stream_units(std::int64_t first, std::int64_t end, int unit_level) {
  std::vector<TreeNode> units;
  for (const TreeNode& node : aligned_nodes(first, end)) {
    if (node.level <= unit_level) {
      units.push_back(node);
      continue;
    }
    const std::int64_t size = std::int64_t{1} << unit_level;
    const std::int64_t stop = std::min(node.begin + (std::int64_t{1} << node.level), end);
    for (std::int64_t b = node.begin; b < stop; b += size) units.push_back({b, unit_level});
  }
  return units;
}

NodeFolder::NodeFolder(std::int64_t first, std::int64_t end, int unit_level, std::size_t width, Merge merge)
    : unit_level_(unit_level), width_(width), merge_(std::move(merge)) {
  part_.nodes = aligned_nodes(first, end);
  part_.values.reserve(part_.nodes.size() * width);
  start_node();
}

void NodeFolder::start_node() {
  given_ = 0;
  depth_ = 0;
  if (node_ >= part_.nodes.size()) return;
  const int level = part_.nodes[node_].level;
  const int above = level > unit_level_ ? level - unit_level_ : 0;
  count_ = std::uint64_t{1} << above;
  stack_.resize((static_cast<std::size_t>(above) + 1) * width_);
}

void NodeFolder::add(const double* unit) {
  if (node_ >= part_.nodes.size()) throw RuntimeFailure("NodeFolder: more units than nodes");
  std::copy_n(unit, width_, stack_.data() + depth_ * width_);
  ++depth_;
  // As reduce_pairwise: unit k completes one subtree per trailing one bit of k.
  for (int merges = std::countr_one(given_); merges > 0; --merges) {
    double* left = stack_.data() + (depth_ - 2) * width_;
    merge_(left, left + width_);
    --depth_;
  }
  if (++given_ < count_) return;
  part_.values.insert(part_.values.end(), stack_.begin(), stack_.begin() + static_cast<std::ptrdiff_t>(width_));
  ++node_;
  start_node();
}

PartialTree NodeFolder::finish() {
  if (node_ != part_.nodes.size()) throw RuntimeFailure("NodeFolder: a node was not completed");
  return std::move(part_);
}

}  // namespace slab
