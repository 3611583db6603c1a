#include "core/tree_nodes.hpp"

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

}  // namespace slab
