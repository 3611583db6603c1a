#include "core/tree_nodes.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"

namespace slab {

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
