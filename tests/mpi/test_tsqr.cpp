// TSQR least squares and the regression statistics: the same bits for any rank count, against
// LAPACK on the whole matrix, rank deficiency.
#include <gtest/gtest.h>
#include <petscsys.h>  // before petscblaslapack.h

#include <petscblaslapack.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "comms.hpp"
#include "regression_helpers.hpp"
#include "solvers/synthetic.hpp"
#include "solvers/tsqr.hpp"

using namespace slab;
using slab::test::gathered;
using slab::test::same_bits;
using slab::test::self;
using slab::test::synthetic;
using slab::test::world;
using Data = slab::test::Data;

namespace {

// Bitwise equality of two vectors of doubles (NaN == NaN when the bits agree).

// Every field of the statistics, flattened.
std::vector<double> flat(const regression::Statistics& s) {
  std::vector<double> v = s.w_stderr;
  v.insert(v.end(), s.t_values.begin(), s.t_values.end());
  for (const double x : {s.b_stderr, s.r_squared, s.adj_r_squared, s.residual_std, static_cast<double>(s.dof),
                         s.condition_number, s.rss, s.tss})
    v.push_back(x);
  return v;
}

// numpy.linalg.lstsq's answer: LAPACK's SVD least squares (gelss) on the whole [X 1], z = [w, b].
std::vector<double> lapack_lstsq(const Tensor& X, const Tensor& y) {
  const std::size_t n = X.shape()[0], d = X.shape()[1], m = d + 1;
  std::vector<double> a(n * m), rhs(y.data().begin(), y.data().end()), s(m), work(1);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < d; ++c) a[c * n + i] = X.data()[i * d + c];
    a[d * n + i] = 1.0;
  }
  auto rows = static_cast<PetscBLASInt>(n), cols = static_cast<PetscBLASInt>(m);
  PetscBLASInt one = 1, rank = 0, info = 0, lwork = -1;
  const PetscReal rcond = static_cast<double>(std::max(n, m)) * std::numeric_limits<double>::epsilon();
  LAPACKgelss_(&rows, &cols, &one, a.data(), &rows, rhs.data(), &rows, s.data(), &rcond, &rank, work.data(), &lwork,
               &info);
  lwork = static_cast<PetscBLASInt>(work[0]);
  work.resize(static_cast<std::size_t>(lwork));
  LAPACKgelss_(&rows, &cols, &one, a.data(), &rows, rhs.data(), &rows, s.data(), &rcond, &rank, work.data(), &lwork,
               &info);
  EXPECT_EQ(info, 0);
  return std::vector<double>(rhs.begin(), rhs.begin() + static_cast<std::ptrdiff_t>(m));
}

}  // namespace

// Rows < ranks, rows < columns, rows not a multiple of the block, blocks straddling up to four
// ranks, deep trees from small blocks: R is the same bits as on one process.
TEST(Tsqr, FactorIsBitwiseIdenticalForAnyRankCount) {
  for (const std::size_t rows : {1, 2, 3, 5, 17, 100, 1033})
    for (const std::int64_t block : {1, 3, 8, 256}) {
      const Data mine = synthetic(world(), rows, 4, 11, 0.1);
      const Data alone = synthetic(self(), rows, 4, 11, 0.1);
      const auto a = regression::tsqr_factor(world(), mine.X, mine.y, block);
      const auto b = regression::tsqr_factor(self(), alone.X, alone.y, block);
      EXPECT_TRUE(same_bits(a, b)) << rows << " rows, block " << block;
    }
}

TEST(Tsqr, SolutionAndStatisticsAreBitwiseIdenticalForAnyRankCount) {
  for (const std::size_t rows : {std::size_t{1}, std::size_t{4}, std::size_t{9}, std::size_t{700},
                                 std::size_t{2 * regression::tsqr_block_rows + 3}}) {
    const Data mine = synthetic(world(), rows, 3, 5, 0.2);
    const Data alone = synthetic(self(), rows, 3, 5, 0.2);
    const auto policy = regression::RankDeficient::min_norm;  // 1 row has more coefficients than rows
    const auto a = regression::qr(world(), mine.X, mine.y, policy);
    const auto b = regression::qr(self(), alone.X, alone.y, policy);
    EXPECT_TRUE(same_bits(a.w, b.w)) << rows;
    EXPECT_TRUE(same_bits(a.b, b.b)) << rows;
    EXPECT_TRUE(same_bits(a.r, b.r)) << rows;
    EXPECT_TRUE(same_bits(flat(regression::statistics(world(), mine.X, mine.y, a)),
                          flat(regression::statistics(self(), alone.X, alone.y, b))))
        << rows;
  }
}

// The portable and AVX2 builds of the leaf do the same IEEE operations.
TEST(Tsqr, EveryKernelGivesTheSameBits) {
  const Data d = synthetic(world(), 1000, 7, 2, 0.3);
  const auto reference = regression::tsqr_factor(world(), d.X, d.y, 64, regression::Kernel::blocks);
  if (!regression::kernel_available(regression::Kernel::blocks_avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  EXPECT_TRUE(same_bits(reference, regression::tsqr_factor(world(), d.X, d.y, 64, regression::Kernel::blocks_avx2)));
}

// On well-conditioned data QR and LAPACK's SVD solution agree to a few ulps times cond ~ 10.
TEST(Tsqr, AgreesWithLapackOnTheWholeMatrix) {
  const Data d = synthetic(world(), 1500, 6, 9, 0.5);
  const auto fit = regression::qr(world(), d.X, d.y);
  const auto z = lapack_lstsq(gathered(d.X), gathered(d.y));
  for (std::size_t j = 0; j < 6; ++j) EXPECT_NEAR(fit.w[j], z[j], 1e-13 * std::abs(z[j]) + 1e-14) << j;
  EXPECT_NEAR(fit.b, z[6], 1e-13 * std::abs(z[6]) + 1e-14);
  // |R_{D+1,D+1}| is the minimal residual norm.
  const std::size_t w = 8;
  EXPECT_NEAR(fit.r[w * w - 1] * fit.r[w * w - 1], fit.loss[0] * 1500, 1e-10 * fit.loss[0] * 1500);
}

// Statistics of the normal-equations fit match those of the QR fit on well-conditioned data, and
// the textbook identities hold.
TEST(Tsqr, StatisticsOfEveryDirectMethodAgree) {
  const Data d = synthetic(world(), 800, 4, 3, 0.5);
  const auto q = regression::qr(world(), d.X, d.y);
  const auto sq = regression::statistics(world(), d.X, d.y, q);
  const auto sn = regression::statistics(world(), d.X, d.y, regression::normal_equations(world(), d.X, d.y));
  EXPECT_EQ(sq.dof, 800 - 5);
  EXPECT_NEAR(sq.residual_std, std::sqrt(sq.rss / 795.0), 1e-15 * sq.residual_std);
  EXPECT_NEAR(sq.adj_r_squared, 1 - (1 - sq.r_squared) * 799.0 / 795.0, 1e-15);
  for (std::size_t j = 0; j < 4; ++j) {
    EXPECT_NEAR(sn.w_stderr[j], sq.w_stderr[j], 1e-12 * sq.w_stderr[j]);
    EXPECT_NEAR(sq.t_values[j], q.w[j] / sq.w_stderr[j], 0.0);
  }
  EXPECT_NEAR(sn.r_squared, sq.r_squared, 1e-13);
  EXPECT_GE(sq.condition_number, 1.0);
}

// A duplicated column: an InputError naming it, or the minimum-norm solution LAPACK gives.
TEST(Tsqr, RankDeficiencyIsNamedOrSolvedForMinimumNorm) {
  Data d = synthetic(world(), 300, 4, 8, 0.1);
  double* x = d.X.local().data().data();
  for (std::int64_t i = 0; i < d.X.partition().count(); ++i) x[i * 4 + 2] = x[i * 4 + 0];
  try {
    (void)regression::qr(world(), d.X, d.y);
    ADD_FAILURE() << "no error for a duplicated column";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("X column 2 (0-based) is numerically a linear combination"), std::string::npos)
        << e.what();
  }
  const auto fit = regression::qr(world(), d.X, d.y, regression::RankDeficient::min_norm);
  const auto z = lapack_lstsq(gathered(d.X), gathered(d.y));
  for (std::size_t j = 0; j < 4; ++j) EXPECT_NEAR(fit.w[j], z[j], 1e-12 * (std::abs(z[j]) + 1)) << j;
  EXPECT_NEAR(fit.b, z[4], 1e-12 * (std::abs(z[4]) + 1));
  EXPECT_NEAR(fit.w[0], fit.w[2], 1e-12);  // the minimum norm splits the weight evenly
  const auto st = regression::statistics(world(), d.X, d.y, fit);
  EXPECT_TRUE(std::isnan(st.w_stderr[1])) << "standard errors of an unidentifiable model are undefined";
  EXPECT_GT(st.condition_number, 1e14);
}
