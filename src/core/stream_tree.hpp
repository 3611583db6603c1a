// A tree over leaves of rows, evaluated in one streamed pass: the same nodes, with the same bits, as
// evaluating it over rows held in memory (docs/streaming.md, "Why the bits are the same").
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/row_stream.hpp"
#include "core/tree_nodes.hpp"

namespace slab {

// One pass over this rank's leaves [first_leaf, end_leaf), leaf k being global rows
// [k leaf_rows, min((k + 1) leaf_rows, N)): this rank's part of the tree local_tree would return.
// The leaves are cut into aligned units of the most leaves a piece holds, read in order, and folded
// with `merge`; unit(node, piece, stack, out) writes the `width` values of one unit, whose rows are
// all in `piece`, with `stack` of (node.level + 1) * width doubles to work in. The pieces must hold
// at least one leaf.
template <class Unit>
PartialTree stream_tree(const RowStream& rows, std::int64_t first_leaf, std::int64_t end_leaf, std::int64_t leaf_rows,
                        std::size_t width, const Merge& merge, Unit&& unit, bool with_x = true) {
  const int level = largest_unit_level(rows.piece_rows() / leaf_rows);
  const std::vector<TreeNode> units = stream_units(first_leaf, end_leaf, level);
  std::vector<RowRange> ranges;
  ranges.reserve(units.size());
  for (const TreeNode& u : units)
    ranges.push_back(
        {u.begin * leaf_rows, std::min((u.begin + (std::int64_t{1} << u.level)) * leaf_rows, rows.rows())});
  NodeFolder folder(first_leaf, end_leaf, level, width, merge);
  std::vector<double> stack((static_cast<std::size_t>(level) + 1) * width), value(width);
  std::size_t next = 0;
  rows.pass(
      group_ranges(ranges, rows.piece_rows()),
      [&](const RowPiece& piece) {
        const std::int64_t end = piece.first + static_cast<std::int64_t>(piece.rows);
        for (; next < units.size() && units[next].begin * leaf_rows < end; ++next) {
          unit(units[next], piece, stack.data(), value.data());
          folder.add(value.data());
        }
      },
      with_x);
  return folder.finish();
}

}  // namespace slab
