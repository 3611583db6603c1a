// Regression against closed forms and against itself on one process.
#include <gtest/gtest.h>

#include <cmath>

#include "comms.hpp"
#include "regression_helpers.hpp"
#include "solvers/regression.hpp"
#include "solvers/synthetic.hpp"

using namespace slab;
using slab::test::gathered;
using slab::test::self;
using slab::test::synthetic;
using slab::test::world;
using Data = slab::test::Data;

namespace {

double relative_difference(const regression::Fit& a, const regression::Fit& b) {
  double diff = std::abs(a.b - b.b), scale = std::abs(b.b);
  for (std::size_t j = 0; j < a.w.size(); ++j) {
    diff = std::max(diff, std::abs(a.w[j] - b.w[j]));
    scale = std::max(scale, std::abs(b.w[j]));
  }
  return diff / scale;
}

}  // namespace

// y = 2x + 1 exactly (matten's example 35): gradient descent finds the line and, with tol 0, stops
// once the loss no longer changes at all, well before the step limit.
TEST(Regression, GradientDescentFitsAnExactLineAndStopsWhenTheLossStopsChanging) {
  const Tensor X({5, 1}, {0, 1, 2, 3, 4});
  const Tensor y({5}, {1, 3, 5, 7, 9});
  const auto Xd = DistTensor::scatter_from_root(world(), X);
  const auto yd = DistTensor::scatter_from_root(world(), y);
  regression::GdOptions options;
  options.lr = 0.05;
  options.iters = 2000;
  options.tol = 0;
  const auto fit = regression::gradient_descent(world(), Xd, yd, options);
  EXPECT_TRUE(fit.converged);
  EXPECT_LT(fit.iterations, options.iters);
  // The loss (mean squared residual) bounds the parameter error: |(w, b) - (2, 1)|^2 <= loss / s,
  // s = 0.298..., the smallest eigenvalue of [X 1]^T [X 1] / 5 = [[6, 2], [2, 1]]. The descent
  // stops at a loss near 1e-30, all rounding.
  constexpr double loss_bound = 1e-24;
  const double s = (7 - std::sqrt(41.0)) / 2;
  EXPECT_LT(fit.loss.back(), loss_bound);
  EXPECT_NEAR(fit.w[0], 2.0, std::sqrt(loss_bound / s));
  EXPECT_NEAR(fit.b, 1.0, std::sqrt(loss_bound / s));
}

// Row i depends only on (seed, i): the data set is the same bits for any rank count.
TEST(Regression, SyntheticDataIsIdenticalForAnyRankCount) {
  for (const std::size_t rows : {1, 3, 1000}) {
    const Data mine = synthetic(world(), rows, 5, 7, 0.1);
    const Data alone = synthetic(self(), rows, 5, 7, 0.1);
    EXPECT_EQ(gathered(mine.X), alone.X.local());
    EXPECT_EQ(gathered(mine.y), alone.y.local());
  }
}

// Reproducible tree sums make the whole descent bitwise identical to one process.
TEST(Regression, GradientDescentIsBitwiseIdenticalForAnyRankCount) {
  const Data mine = synthetic(world(), 777, 6, 3, 0.05);
  const Data alone = synthetic(self(), 777, 6, 3, 0.05);
  regression::GdOptions options;
  options.iters = 150;
  options.tol = 0;
  const auto a = regression::gradient_descent(world(), mine.X, mine.y, options);
  const auto b = regression::gradient_descent(self(), alone.X, alone.y, options);
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.b, b.b);
  EXPECT_EQ(a.loss, b.loss);
  const auto n1 = regression::normal_equations(world(), mine.X, mine.y);
  const auto n2 = regression::normal_equations(self(), alone.X, alone.y);
  EXPECT_EQ(n1.w, n2.w);
  EXPECT_EQ(n1.b, n2.b);
}

// The row-at-a-time tree, the 8-row blocks and their AVX2 build are one sum: the same bits, node
// by node, including the partial nodes at rank boundaries that are not multiples of 8, and widths
// that leave remainders in every loop.
namespace {
void expect_the_bits_of_the_row_kernel(regression::Kernel kernel) {
  for (const std::size_t cols : {1, 3, 4, 16, 19}) {
    for (const std::size_t rows : {1, 7, 8, 9, 203, 1000}) {
      const Data d = synthetic(world(), rows, cols, cols + rows, 0.1);
      std::vector<double> w(cols);
      for (std::size_t j = 0; j < cols; ++j) w[j] = 0.3 - 0.07 * static_cast<double>(j);
      const auto reference = regression::gradient_pass(d.X, d.y, w, 0.25, regression::Kernel::rows);
      const auto part = regression::gradient_pass(d.X, d.y, w, 0.25, kernel);
      ASSERT_EQ(part.nodes.size(), reference.nodes.size());
      EXPECT_EQ(part.values, reference.values) << rows << " x " << cols;
    }
  }
}
}  // namespace

TEST(Regression, TheBlockKernelGivesTheBitsOfTheRowKernel) {
  expect_the_bits_of_the_row_kernel(regression::Kernel::blocks);
}

TEST(Regression, TheAvx2KernelGivesTheBitsOfTheRowKernel) {
  if (!regression::kernel_available(regression::Kernel::blocks_avx2))
    GTEST_SKIP() << "this build or CPU has no AVX2 kernel";
  expect_the_bits_of_the_row_kernel(regression::Kernel::blocks_avx2);
}

TEST(Regression, TheAutomaticKernelGivesTheBitsOfTheRowKernel) {
  expect_the_bits_of_the_row_kernel(regression::Kernel::automatic);
}

TEST(Regression, MethodsAgreeAtConvergence) {
  const Data d = synthetic(world(), 2000, 4, 11, 0.1);
  regression::GdOptions options;
  options.lr = 0.1;
  options.iters = 5000;
  options.tol = 0;
  const auto gd = regression::gradient_descent(world(), d.X, d.y, options);
  const auto normal = regression::normal_equations(world(), d.X, d.y);
  const auto lstsq = regression::least_squares(world(), d.X, d.y);
  EXPECT_LT(relative_difference(gd, normal), 1e-8);
  EXPECT_LT(relative_difference(lstsq, normal), 1e-8);
  // The noise is small: the fit recovers the true model.
  const auto truth = regression::true_model(11, 4);
  for (std::size_t j = 0; j < 4; ++j) EXPECT_NEAR(normal.w[j], truth.w[j], 0.02);
  EXPECT_NEAR(normal.b, truth.b, 0.02);
  EXPECT_LT(normal.gradient_norm, 1e-10);
}

// Below 1/L (L the largest eigenvalue of the Hessian, ~2(1 + sqrt(D/N))^2 for these features),
// gradient descent never increases the loss.
TEST(Regression, LossIsNonIncreasingBelowTheStepLimit) {
  const Data d = synthetic(world(), 500, 3, 5, 0.5);
  regression::GdOptions options;
  options.lr = 0.2;
  options.iters = 300;
  options.tol = 0;
  const auto fit = regression::gradient_descent(world(), d.X, d.y, options);
  // Non-increasing up to rounding of the loss itself (a few ulps once at the minimum).
  for (std::size_t i = 1; i < fit.loss.size(); ++i)
    EXPECT_LE(fit.loss[i], fit.loss[i - 1] * (1 + 1e-14)) << "iteration " << i;
  EXPECT_EQ(fit.loss_increases, 0);
}

TEST(Regression, TooLargeARateIsReportedNotHidden) {
  const Data d = synthetic(world(), 500, 3, 5, 0.5);
  regression::GdOptions options;
  options.lr = 2.0;
  options.iters = 20;
  options.tol = 0;
  const auto fit = regression::gradient_descent(world(), d.X, d.y, options);
  EXPECT_GT(fit.loss_increases, 0);
  options.iters = 5000;
  EXPECT_THROW((void)regression::gradient_descent(world(), d.X, d.y, options),
               mpi::CollectiveError);  // agreed: the same on every rank
}

TEST(Regression, StandardizedFitInOriginalUnitsEqualsThePlainFit) {
  Data d = synthetic(world(), 300, 3, 9, 0.1);
  // Shift and scale the features far from unit variance.
  for (std::size_t i = 0; i < d.X.local().size(); ++i) d.X.local().data()[i] = 1000 + 50 * d.X.local().data()[i];
  const auto plain = regression::normal_equations(world(), d.X, d.y);
  const auto scaling = regression::standardize(world(), d.X);
  EXPECT_NEAR(scaling.mean[0], 1000, 10);
  EXPECT_NEAR(scaling.scale[0], 50, 5);
  auto fit = regression::normal_equations(world(), d.X, d.y);
  regression::to_original_units(scaling, fit);
  EXPECT_LT(relative_difference(fit, plain), 1e-8);
}

TEST(Regression, ShapesAreChecked) {
  const DistTensor X(world(), {5, 2});
  const DistTensor y(world(), {4});
  EXPECT_THROW(regression::check_shapes(X, y), InputError);
}

// The normal equations time their local sums and the Cholesky solve as compute, the tree combine as
// communication.
TEST(Regression, NormalEquationsRecordComputeTime) {
  const Data d = synthetic(world(), 203, 3, 5, 0.1);
  const auto fit = regression::normal_equations(world(), d.X, d.y);
  EXPECT_GT(fit.compute_seconds, 0.0);
  EXPECT_GT(fit.communication_seconds, 0.0);
}

namespace {

// Runs fn, which must fail alike on every rank; returns the message, checking that the error is
// the agreed kind (no rank may be left in a collective).
template <class F>
std::string agreed_failure(F&& fn) {
  try {
    fn();
  } catch (const mpi::CollectiveError& e) {
    EXPECT_EQ(e.code(), ExitCode::runtime);
    std::string message = e.what();
    std::string root = message;
    world().broadcast(root);
    EXPECT_EQ(message, root) << "ranks disagree on the message";
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an agreed error on rank " << world().rank() << ": " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no failure";
  return {};
}

}  // namespace

TEST(RegressionFailures, DivergenceIsAgreedAndBlamesTheStepSize) {
  const auto d = synthetic(world(), 1000, 4, 7, 0.01);
  regression::GdOptions options;
  options.lr = 10;
  const std::string message = agreed_failure([&] { (void)regression::gradient_descent(world(), d.X, d.y, options); });
  EXPECT_NE(message.find("--lr 10 is too large"), std::string::npos) << message;
}

TEST(RegressionFailures, DataBeyondDoubleRangeBlamesTheScaleNotTheStepSize) {
  auto d = synthetic(world(), 200, 3, 7, 0.01);
  for (double& v : d.X.local().data()) v *= 1e200;
  for (const auto method : {regression::Method::gd, regression::Method::normal, regression::Method::lstsq}) {
    const std::string message = agreed_failure([&] {
      if (method == regression::Method::gd) (void)regression::gradient_descent(world(), d.X, d.y, {});
      if (method == regression::Method::normal) (void)regression::normal_equations(world(), d.X, d.y);
      if (method == regression::Method::lstsq) (void)regression::least_squares(world(), d.X, d.y);
    });
    EXPECT_NE(message.find("the data's scale overflows"), std::string::npos) << message;
    EXPECT_EQ(message.find("--lr"), std::string::npos) << message;
  }
}

TEST(RegressionFailures, SingularNormalEquationsAreAgreed) {
  // The second column repeats the first.
  Tensor X({6, 2}), y({6});
  for (std::size_t i = 0; i < 6; ++i) {
    X.data()[2 * i] = X.data()[2 * i + 1] = static_cast<double>(i);
    y.data()[i] = static_cast<double>(i);
  }
  const auto Xd = DistTensor::scatter_from_root(world(), X);
  const auto yd = DistTensor::scatter_from_root(world(), y);
  const std::string message = agreed_failure([&] { (void)regression::normal_equations(world(), Xd, yd); });
  EXPECT_NE(message.find("singular"), std::string::npos) << message;
}
