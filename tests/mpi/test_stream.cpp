// Streamed fits (core/row_stream.hpp) against the in-memory fits of the same rows: the same bits for
// every method, rank count and piece size, including pieces of one row and pieces that do not divide
// a rank's rows. The stream here serves the rows from a whole copy on every rank, so only the
// arithmetic's association is under test (io/row_stream.hpp's reader is tested end to end).
#include <gtest/gtest.h>

#include <cstring>

#include "comms.hpp"
#include "core/tree_nodes.hpp"
#include "regression_helpers.hpp"
#include "solvers/tsqr.hpp"

using namespace slab;
using slab::test::gathered;
using slab::test::same_bits;
using slab::test::synthetic;
using slab::test::world;

namespace {

// Rows from a whole copy, in pieces of at most `piece` rows; counts the passes and checks every
// range it is asked for.
class MemoryStream final : public RowStream {
 public:
  MemoryStream(Tensor X, Tensor y, std::int64_t piece) : X_(std::move(X)), y_(std::move(y)), piece_(piece) {}
  std::int64_t rows() const override { return static_cast<std::int64_t>(X_.shape()[0]); }
  std::size_t cols() const override { return X_.shape()[1]; }
  std::int64_t piece_rows() const override { return piece_; }
  std::int64_t passes() const override { return passes_; }
  void pass(const std::vector<RowRange>& ranges, const std::function<void(const RowPiece&)>& visit,
            bool) const override {
    std::int64_t last = -1;
    for (const RowRange& r : ranges) {
      EXPECT_LE(r.size(), piece_);
      EXPECT_GE(r.begin, last);  // in order
      last = r.end;
      // A copy, so that a visit reading outside its piece reads garbage, not the neighbour's rows.
      std::vector<double> x(X_.data().begin() + r.begin * static_cast<std::ptrdiff_t>(cols()),
                            X_.data().begin() + r.end * static_cast<std::ptrdiff_t>(cols()));
      std::vector<double> y(y_.data().begin() + r.begin, y_.data().begin() + r.end);
      visit({r.begin, static_cast<std::size_t>(r.size()), x.data(), y.data()});
    }
    ++passes_;
  }

 private:
  Tensor X_, y_;
  std::int64_t piece_;
  mutable std::int64_t passes_ = 0;
};

}  // namespace

TEST(NodeFolder, FoldsUnitsIntoLocalTreesNodes) {
  for (const std::int64_t first : {0, 1, 5, 37}) {
    for (const std::int64_t end : {first, first + 1, first + 100, first + 1000}) {
      auto leaf = [](std::int64_t i, double* out) { out[0] = 1.0 / static_cast<double>(i + 3); };
      PartialTree reference{aligned_nodes(first, end), {}};
      std::vector<double> stack(64);
      for (const TreeNode& n : reference.nodes) {
        reference.values.push_back(0);
        sum_aligned_node(n, 1, leaf, stack.data(), &reference.values.back());
      }
      for (const int level : {0, 1, 3, 6}) {
        NodeFolder folder(first, end, level, 1, [](double* l, const double* r) { l[0] = l[0] + r[0]; });
        for (const TreeNode& u : stream_units(first, end, level)) {
          double v = 0;
          sum_aligned_node(u, 1, leaf, stack.data(), &v);
          folder.add(&v);
        }
        const PartialTree part2 = folder.finish();
        ASSERT_EQ(part2.nodes.size(), reference.nodes.size());
        EXPECT_TRUE(same_bits(part2.values, reference.values)) << first << " " << end << " level " << level;
      }
    }
  }
}

TEST(Stream, EveryMethodGivesTheInMemoryBitsForAnyPieceSize) {
  const test::Data d = synthetic(world(), 1700, 5, 11, 0.1);
  const regression::Fit qr = regression::qr(world(), d.X, d.y);
  const regression::Fit normal = regression::normal_equations(world(), d.X, d.y);
  regression::GdOptions gd_options;
  gd_options.iters = 7;
  const regression::Fit gd = regression::gradient_descent(world(), d.X, d.y, gd_options);
  const regression::Statistics stats = regression::statistics(world(), d.X, d.y, normal);
  for (const std::int64_t piece : {256, 300, 513, 1024, 5000}) {
    const MemoryStream rows(gathered(d.X), gathered(d.y), piece);
    const regression::Fit s = regression::qr(world(), rows);
    EXPECT_TRUE(same_bits(s.r, qr.r)) << piece;
    EXPECT_TRUE(same_bits(s.w, qr.w) && same_bits(s.b, qr.b) && same_bits(s.loss, qr.loss)) << piece;
    EXPECT_TRUE(same_bits(s.gradient_norm, qr.gradient_norm)) << piece;
    const regression::Fit n = regression::normal_equations(world(), rows);
    EXPECT_TRUE(same_bits(n.w, normal.w) && same_bits(n.b, normal.b) && same_bits(n.loss, normal.loss)) << piece;
    const regression::Statistics st = regression::statistics(world(), rows, n);
    EXPECT_TRUE(same_bits(st.w_stderr, stats.w_stderr) && same_bits(st.rss, stats.rss) &&
                same_bits(st.tss, stats.tss) && same_bits(st.condition_number, stats.condition_number))
        << piece;
  }
  for (const std::int64_t piece : {1, 2, 7, 64, 999, 5000}) {
    const MemoryStream rows(gathered(d.X), gathered(d.y), piece);
    const regression::Fit g = regression::gradient_descent(world(), rows, gd_options);
    EXPECT_TRUE(same_bits(g.w, gd.w) && same_bits(g.b, gd.b) && same_bits(g.loss, gd.loss)) << piece;
    EXPECT_TRUE(same_bits(g.gradient_norm, gd.gradient_norm)) << piece;
    EXPECT_EQ(rows.passes(), gd_options.iters + 1);
  }
}
