#include "solvers/regression.hpp"

#include <petscsys.h>  // before petscblaslapack.h, which needs its declarations

#include <petscblaslapack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/partition.hpp"
#include "core/petsc.hpp"
#include "core/stop.hpp"
#include "core/stopwatch.hpp"
#include "core/stream_tree.hpp"
#include "core/text.hpp"
#include "core/tree_sum.hpp"
#include "core/watchdog.hpp"

namespace slab::regression {
namespace {

using clock = std::chrono::steady_clock;

// The fused leaf of gradient descent for row i: residual r = x.w + b - y, then
// [r x_0, ..., r x_{D-1}, r, r^2]. One read of the row gives gradient, bias gradient and loss.
// block() evaluates eight aligned rows at once with the tree's own association, keeping the
// partial sums in registers instead of the tree's stack.
struct GradientLeaf {
  static constexpr int block_level = 3;
  const double* x;
  const double* y;
  std::int64_t first;
  std::size_t rows;  // local rows
  std::size_t cols;
  const double* w;
  double b;
  std::size_t ahead = std::max<std::size_t>(8, (512 / cols + 7) / 8 * 8);  // rows, a multiple of 8

  double residual(std::size_t local) const {
    const double* row = x + local * cols;
    // Four independent partial sums, combined pairwise: a short dependency chain, and the same
    // order for a row whichever rank holds it.
    double part[4] = {0.0, 0.0, 0.0, 0.0};
    std::size_t j = 0;
    for (; j + 4 <= cols; j += 4)
      for (std::size_t k = 0; k < 4; ++k) part[k] += row[j + k] * w[j + k];
    for (; j < cols; ++j) part[j % 4] += row[j] * w[j];
    const double dot = (part[0] + part[1]) + (part[2] + part[3]);
    return (dot + b) - y[local];
  }

  void operator()(std::int64_t i, double* out) const {
    const auto local = static_cast<std::size_t>(i - first);
    const double* row = x + local * cols;
    const double r = residual(local);
    for (std::size_t c = 0; c < cols; ++c) out[c] = r * row[c];
    out[cols] = r;
    out[cols + 1] = r * r;
  }

  void block(std::int64_t i, double* out) const {
    const auto local = static_cast<std::size_t>(i - first);
    double r[8];
    // Ask for the block about 4 KiB ahead: the hardware prefetcher alone leaves this pass
    // waiting on memory (measured: 1.3-1.6x slower without).
    if (local + ahead + 8 <= rows)
      for (std::size_t e = 0; e < 8 * cols; e += 8) __builtin_prefetch(x + (local + ahead) * cols + e);
    for (std::size_t k = 0; k < 8; ++k) r[k] = residual(local + k);
    const double* x0 = x + local * cols;
    const double *x1 = x0 + cols, *x2 = x1 + cols, *x3 = x2 + cols, *x4 = x3 + cols, *x5 = x4 + cols, *x6 = x5 + cols,
                 *x7 = x6 + cols;
    for (std::size_t c = 0; c < cols; ++c)
      out[c] = ((r[0] * x0[c] + r[1] * x1[c]) + (r[2] * x2[c] + r[3] * x3[c])) +
               ((r[4] * x4[c] + r[5] * x5[c]) + (r[6] * x6[c] + r[7] * x7[c]));
    out[cols] = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    out[cols + 1] = ((r[0] * r[0] + r[1] * r[1]) + (r[2] * r[2] + r[3] * r[3])) +
                    ((r[4] * r[4] + r[5] * r[5]) + (r[6] * r[6] + r[7] * r[7]));
  }
};

// The scale of the data, replicated: the largest |X| and |y|, and the mean squared norm of a row of
// [X 1] (half the trace of the loss's curvature, so gd is stable for lr < 1 / row_norm2).
struct DataScale {
  double max_x = 0, max_y = 0, row_norm2 = 0;
};

// |row|^2 of one row of X (in column order), and the largest |value| seen so far in `largest`.
double row_square(const double* row, std::size_t cols, double& largest) {
  double sum = 0;
  for (std::size_t c = 0; c < cols; ++c) {
    largest = std::max(largest, std::abs(row[c]));
    sum += row[c] * row[c];
  }
  return sum;
}

// The replicated scale from this rank's largest |X| and |y| and the tree sum of |row|^2 (so the
// figures quoted in a message are the same for any rank count).
DataScale agree_scale(const mpi::Comm& comm, double max_x, double max_y, double row_squares, std::int64_t rows) {
  return {comm.allreduce_max(max_x), comm.allreduce_max(max_y), row_squares / static_cast<double>(rows) + 1.0};
}

DataScale data_scale(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y) {
  const RowPartition& part = X.partition();
  const std::size_t cols = X.row_length();
  const double* x = X.local().data().data();
  double max_x = 0, max_y = 0;
  for (const double v : y.local().data()) max_y = std::max(max_y, std::abs(v));
  const std::vector<double> squares = tree_sum(comm, part, 1, [&](std::int64_t i, double* out) {
    out[0] = row_square(x + static_cast<std::size_t>(i - part.first()) * cols, cols, max_x);
  });
  return agree_scale(comm, max_x, max_y, squares[0], part.global_rows());
}

// When the data's own magnitude overflows the sums a fit needs (X^T X, the squared loss), that is
// the cause to name, whatever the method or step size. Empty when the scale is representable.
std::string overflow_cause(const DataScale& s, double n, std::size_t cols) {
  const double limit = std::sqrt(std::numeric_limits<double>::max() / (n * static_cast<double>(cols + 1)));
  if (std::isfinite(s.row_norm2) && s.max_x < limit && s.max_y < limit) return {};
  return "the data's scale overflows double precision: |X| reaches " + format_number(s.max_x, 3) + " and |y| " +
         format_number(s.max_y, 3) + ", so X^T X and the squared loss exceed " +
         format_number(std::numeric_limits<double>::max(), 3) + "; rescale X and y (to about 1)";
}

// Collective: the largest |X| of column p, over every rank's rows.
double column_max(const mpi::Comm& comm, const DistTensor& X, std::size_t p) {
  double largest = 0;
  const std::size_t cols = X.row_length();
  const auto local = X.local().data();
  for (std::size_t i = p; i < local.size(); i += cols) largest = std::max(largest, std::abs(local[i]));
  return comm.allreduce_max(largest);
}

// Alike on every rank (replicated arguments): when X's column p, not all zeros (its largest |X| is
// `largest`), is so small next to the largest column of [X 1] that its sum of squares vanishes
// beside theirs (X scaled by 1e-300 beside the intercept's 1), that is the cause of a singular Gram
// matrix, not a linear dependency.
void fail_if_too_small(double largest, const std::vector<double>& squares, std::size_t p) {
  const double biggest = *std::max_element(squares.begin(), squares.end());
  if (largest == 0 || squares[p] > biggest * std::numeric_limits<double>::epsilon()) return;
  mpi::fail_alike(ExitCode::usage, "X column " + std::to_string(p) +
                                       " (0-based) is too small next to the largest "
                                       "column of [X 1] for the normal equations: its values reach " +
                                       format_number(largest, 3) + ", and its sum of squares " +
                                       format_number(squares[p], 3) + " vanishes beside " + format_number(biggest, 3) +
                                       "; rescale X (to columns of about 1)");
}

std::string overflow_cause(const DataScale& s, const DistTensor& X) {
  return overflow_cause(s, static_cast<double>(X.partition().global_rows()), X.row_length());
}

// The same scale from one streamed pass over this rank's rows (defined with the streamed passes).
DataScale data_scale(const mpi::Comm& comm, const RowStream& rows);

// Collective: the largest |X| of column p, in one pass over the stream.
double column_max(const mpi::Comm& comm, const RowStream& rows, std::size_t p) {
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  const std::size_t cols = rows.cols();
  std::vector<RowRange> ranges;
  for (std::int64_t a = part.first(); a < part.end(); a += rows.piece_rows())
    ranges.push_back({a, std::min(a + rows.piece_rows(), part.end())});
  double largest = 0;
  rows.pass(ranges, [&](const RowPiece& piece) {
    for (std::size_t k = p; k < piece.rows * cols; k += cols) largest = std::max(largest, std::abs(piece.x[k]));
  });
  return comm.allreduce_max(largest);
}

}  // namespace

void fail_not_finite(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const std::string& what) {
  const std::string cause = overflow_cause(data_scale(comm, X, y), X);
  mpi::fail_alike(ExitCode::runtime, what + ": " + (cause.empty() ? std::string("a value overflowed") : cause));
}

void fail_not_finite(const mpi::Comm& comm, const RowStream& rows, const std::string& what) {
  const std::string cause = overflow_cause(data_scale(comm, rows), static_cast<double>(rows.rows()), rows.cols());
  mpi::fail_alike(ExitCode::runtime, what + ": " + (cause.empty() ? std::string("a value overflowed") : cause));
}

namespace {
bool fit_finite(const Fit& fit) {
  const double loss = fit.loss.empty() ? 0.0 : fit.loss.back();
  const auto finite = [](double v) { return std::isfinite(v); };
  return finite(loss) && finite(fit.gradient_norm) && finite(fit.b) && std::all_of(fit.w.begin(), fit.w.end(), finite);
}
std::string not_finite(const Fit& fit) {
  return "the fit is not finite (loss " + format_number(fit.loss.empty() ? 0.0 : fit.loss.back(), 3) +
         ", gradient norm " + format_number(fit.gradient_norm, 3) + ")";
}
}  // namespace

void require_finite(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const Fit& fit) {
  // The same values on every rank (replicated coefficients, reduced loss): every rank decides alike.
  if (!fit_finite(fit)) fail_not_finite(comm, X, y, not_finite(fit));
}

void require_finite(const mpi::Comm& comm, const RowStream& rows, const Fit& fit) {
  if (!fit_finite(fit)) fail_not_finite(comm, rows, not_finite(fit));
}

namespace {

[[noreturn]] void diverged(const DataScale& s, double n, std::size_t cols, const GdOptions& options, const Fit& fit,
                           double loss) {
  const std::string at = "gradient descent failed at iteration " + std::to_string(fit.iterations) + " (loss " +
                         format_number(loss, 3) + ")";
  std::string cause = overflow_cause(s, n, cols);
  if (cause.empty()) {
    cause = "--lr " + format_number(options.lr, 3) + " is too large for this data: steps below about " +
            format_number(1.0 / s.row_norm2, 3) + " (1 / mean |row of [X 1]|^2) are stable";
    if (s.max_x > 1e3 || s.max_x < 1e-3)
      cause += "; or --standardize the features (|X| reaches " + format_number(s.max_x, 3) + ")";
  }
  mpi::fail_alike(ExitCode::runtime, at + ": " + cause);
}

GradientLeaf gradient_leaf(const DistTensor& X, const DistTensor& y, const std::vector<double>& w, double b) {
  return {X.local().data().data(),
          y.local().data().data(),
          X.partition().first(),
          static_cast<std::size_t>(X.partition().count()),
          X.row_length(),
          w.data(),
          b};
}

// The same leaf without block(): the tree evaluated one row at a time.
struct RowLeaf {
  GradientLeaf leaf;
  void operator()(std::int64_t i, double* out) const { leaf(i, out); }
};

// flatten inlines the whole tree walk into each variant, so the target attribute reaches the
// leaf's loops.
[[gnu::flatten]] PartialTree blocks_baseline(const RowPartition& partition, const GradientLeaf& leaf) {
  return local_tree(partition, leaf.cols + 2, leaf);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SLAB_AVX2_KERNEL 1
[[gnu::flatten, gnu::target("avx2")]] PartialTree blocks_avx2(const RowPartition& partition, const GradientLeaf& leaf) {
  return local_tree(partition, leaf.cols + 2, leaf);
}
#endif

}  // namespace

bool kernel_available(Kernel kernel) {
  if (kernel != Kernel::blocks_avx2) return true;
#ifdef SLAB_AVX2_KERNEL
  return __builtin_cpu_supports("avx2") != 0;
#else
  return false;
#endif
}

PartialTree gradient_pass(const DistTensor& X, const DistTensor& y, const std::vector<double>& w, double b,
                          Kernel kernel) {
  const GradientLeaf leaf = gradient_leaf(X, y, w, b);
  if (kernel == Kernel::automatic)
    kernel = kernel_available(Kernel::blocks_avx2) ? Kernel::blocks_avx2 : Kernel::blocks;
  switch (kernel) {
    case Kernel::rows:
      return local_tree(X.partition(), leaf.cols + 2, RowLeaf{leaf});
    case Kernel::blocks_avx2:
#ifdef SLAB_AVX2_KERNEL
      if (kernel_available(kernel)) return blocks_avx2(X.partition(), leaf);
#endif
      throw RuntimeFailure("the AVX2 gradient kernel is not available on this CPU or build");
    default:
      return blocks_baseline(X.partition(), leaf);
  }
}

void check_shapes(const DistTensor& X, const DistTensor& y) {
  const Shape& xs = X.global_shape();
  const Shape& ys = y.global_shape();
  if (xs.size() != 2) throw InputError("X must be two-dimensional (N, D), got shape " + slab::to_string(xs));
  if (ys.size() != 1) throw InputError("y must be one-dimensional (N,), got shape " + slab::to_string(ys));
  if (xs[0] != ys[0]) throw InputError("X has " + std::to_string(xs[0]) + " rows but y has " + std::to_string(ys[0]));
  if (xs[0] < 1 || xs[1] < 1)
    throw InputError("X must have at least one row and one column, got " + slab::to_string(xs));
}

std::pair<double, double> loss_and_gradient_norm(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                                 const std::vector<double>& w, double b) {
  const std::size_t cols = X.row_length();
  const PartialTree part = gradient_pass(X, y, w, b);
  const auto sums = combine_tree(comm, X.partition().global_rows(), cols + 2, part.nodes, part.values);
  const auto n = static_cast<double>(X.partition().global_rows());
  double norm2 = 0;
  for (std::size_t j = 0; j <= cols; ++j) norm2 += (2.0 / n * sums[j]) * (2.0 / n * sums[j]);
  return {sums[cols + 1] / n, std::sqrt(norm2)};
}

namespace {

// Gradient descent over any pass of the rows: `pass(w, b)` returns this rank's tree nodes of
// [X^T r, sum r, sum r^2]; `scale()` the data's scale, for the message of a divergence.
template <class Pass, class Scale>
Fit descend(const mpi::Comm& comm, std::int64_t rows, std::size_t cols, const GdOptions& options, const Fit* start,
            const std::function<void(const Fit&)>& on_iteration, Pass&& pass, Scale&& scale) {
  const std::size_t width = cols + 2;
  const auto n = static_cast<double>(rows);
  Fit fit;
  fit.w.assign(cols, 0.0);
  if (start != nullptr) fit = *start;
  fit.converged = false;
  std::vector<double> grad(cols + 1);
  stop::Poll stop_poll(comm);
  watchdog::Guard watchdog(comm.rank(), "iteration");
  while (fit.iterations < options.iters) {
    if ((fit.stopped_by = stop_poll.poll()) != 0) break;
    watchdog.progress(fit.iterations);
    auto t = clock::now();
    const PartialTree part = pass(fit.w, fit.b);
    fit.compute_seconds += seconds_since(t);
    t = clock::now();
    const auto sums = combine_tree(comm, rows, width, part.nodes, part.values);
    fit.communication_seconds += seconds_since(t);

    // sums is the same on every rank, so every rank takes the same branch below.
    const double loss = sums[cols + 1] / n;
    double norm2 = 0;
    for (std::size_t j = 0; j <= cols; ++j) {
      grad[j] = 2.0 / n * sums[j];
      norm2 += grad[j] * grad[j];
    }
    if (!std::isfinite(loss) || !std::isfinite(norm2)) diverged(scale(), n, cols, options, fit, loss);
    fit.gradient_norm = std::sqrt(norm2);
    const bool have_previous = !fit.loss.empty();
    const double previous = have_previous ? fit.loss.back() : 0.0;
    fit.loss.push_back(loss);
    // An increase beyond rounding: the step is too long for the curvature.
    if (have_previous && loss > previous * (1 + 1e-12)) ++fit.loss_increases;
    if (have_previous && std::abs(previous - loss) <= options.tol * previous) {
      fit.converged = true;
      break;
    }
    for (std::size_t j = 0; j < cols; ++j) fit.w[j] -= options.lr * grad[j];
    fit.b -= options.lr * grad[cols];
    ++fit.iterations;
    if (on_iteration) on_iteration(fit);
  }
  // The gradient norm reported is the one at the returned parameters.
  const PartialTree part = pass(fit.w, fit.b);
  const auto sums = combine_tree(comm, rows, width, part.nodes, part.values);
  double norm2 = 0;
  for (std::size_t j = 0; j <= cols; ++j) norm2 += (2.0 / n * sums[j]) * (2.0 / n * sums[j]);
  fit.gradient_norm = std::sqrt(norm2);
  fit.rss = sums[cols + 1];
  return fit;
}

}  // namespace

Fit gradient_descent(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const GdOptions& options,
                     const Fit* start, const std::function<void(const Fit&)>& on_iteration) {
  check_shapes(X, y);
  return descend(
      comm, X.partition().global_rows(), X.row_length(), options, start, on_iteration,
      [&](const std::vector<double>& w, double b) { return gradient_pass(X, y, w, b); },
      [&] { return data_scale(comm, X, y); });
}

Fit gradient_descent(const mpi::Comm& comm, const RowStream& rows, const GdOptions& options, const Fit* start,
                     const std::function<void(const Fit&)>& on_iteration) {
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  return descend(
      comm, rows.rows(), rows.cols(), options, start, on_iteration,
      [&](const std::vector<double>& w, double b) { return gradient_pass(rows, part, w, b); },
      [&] { return data_scale(comm, rows); });
}

namespace {

// The leaf of the normal equations for row i: the products of [x 1] with itself and with y.
struct NormalLeaf {
  const double* x;
  const double* y;
  std::int64_t first;
  std::size_t cols;
  void operator()(std::int64_t i, double* out) const {
    const std::size_t m = cols + 1;
    const auto local = static_cast<std::size_t>(i - first);
    const double* row = x + local * cols;
    auto a = [&](std::size_t p) { return p < cols ? row[p] : 1.0; };
    for (std::size_t p = 0; p < m; ++p) {
      for (std::size_t q = 0; q < m; ++q) out[p * m + q] = a(p) * a(q);
      out[m * m + p] = a(p) * y[local];
    }
  }
};

// Solves the summed normal equations (the same on every rank) by Cholesky; `cause()` names the
// data's scale when the sums overflowed; `column_max(p)` (collective) is the largest |X| of column p.
template <class Cause, class ColumnMax>
Fit solve_normal(std::vector<double> sums, std::size_t cols, Fit fit, Cause&& cause_of_overflow,
                 ColumnMax&& column_max) {
  const std::size_t m = cols + 1;
  const auto t = clock::now();
  // sums is the same on every rank: every decision below is taken alike everywhere.
  if (!std::all_of(sums.begin(), sums.end(), [](double v) { return std::isfinite(v); })) {
    const std::string cause = cause_of_overflow();
    mpi::fail_alike(ExitCode::runtime, "the normal equations cannot be formed: " +
                                           (cause.empty() ? std::string("X^T X or X^T y is not finite") : cause));
  }
  // Cholesky of the symmetric positive definite Gram matrix, on every rank (same input, same bits).
  PetscBLASInt order = static_cast<PetscBLASInt>(m), one = 1, info = 0;
  std::vector<double> squares(m);  // the diagonal of [X 1]^T [X 1]: each column's sum of squares
  for (std::size_t p = 0; p < m; ++p) squares[p] = sums[p * m + p];
  LAPACKpotrf_("U", &order, sums.data(), &order, &info);
  if (info != 0 && static_cast<std::size_t>(info) <= cols)
    fail_if_too_small(column_max(static_cast<std::size_t>(info - 1)), squares, static_cast<std::size_t>(info - 1));
  if (info != 0)
    mpi::fail_alike(ExitCode::runtime, "the normal equations are singular (Cholesky failed at column " +
                                           std::to_string(info) +
                                           " of [X 1]): X has linearly dependent or constant "
                                           "columns, or fewer rows than columns; try --method lstsq or gd");
  LAPACKpotrs_("U", &order, &one, sums.data(), &order, sums.data() + m * m, &order, &info);
  if (info != 0) mpi::fail_alike(ExitCode::runtime, "LAPACK potrs failed with info " + std::to_string(info));
  fit.w.assign(sums.begin() + static_cast<std::ptrdiff_t>(m * m),
               sums.begin() + static_cast<std::ptrdiff_t>(m * m + cols));
  fit.b = sums[m * m + cols];
  fit.iterations = 1;
  fit.converged = true;
  fit.compute_seconds += seconds_since(t);
  return fit;
}

}  // namespace

Fit normal_equations(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y) {
  check_shapes(X, y);
  const std::size_t cols = X.row_length();
  const std::size_t m = cols + 1;  // the features and the intercept column of ones
  const std::size_t width = m * m + m;
  const NormalLeaf leaf{X.local().data().data(), y.local().data().data(), X.partition().first(), cols};
  auto t = clock::now();
  const PartialTree part = local_tree(X.partition(), width, leaf);
  Fit fit;
  fit.compute_seconds = seconds_since(t);
  t = clock::now();
  std::vector<double> sums = combine_tree(comm, X.partition().global_rows(), width, part.nodes, part.values);
  fit.communication_seconds = seconds_since(t);
  fit = solve_normal(
      std::move(sums), cols, std::move(fit), [&] { return overflow_cause(data_scale(comm, X, y), X); },
      [&](std::size_t p) { return column_max(comm, X, p); });
  const auto [loss, gradient] = loss_and_gradient_norm(comm, X, y, fit.w, fit.b);
  fit.loss = {loss};
  fit.gradient_norm = gradient;
  return fit;
}

namespace {

// One streamed pass of a row leaf over this rank's rows: the nodes local_tree would return. `unit`
// evaluates one aligned unit of the piece: unit(node, piece, stack, out).
template <class Unit>
PartialTree stream_tree(const RowStream& rows, const RowPartition& part, std::size_t width, Unit&& unit,
                        bool with_x = true) {
  return stream_tree(rows, part.first(), part.end(), 1, width, sum_merge(width), unit, with_x);
}

[[gnu::flatten]] void gradient_unit(const TreeNode& node, GradientLeaf& leaf, double* stack, double* out) {
  sum_aligned_node(node, leaf.cols + 2, leaf, stack, out);
}
#ifdef SLAB_AVX2_KERNEL
[[gnu::flatten, gnu::target("avx2")]] void gradient_unit_avx2(const TreeNode& node, GradientLeaf& leaf, double* stack,
                                                              double* out) {
  sum_aligned_node(node, leaf.cols + 2, leaf, stack, out);
}
#endif

DataScale data_scale(const mpi::Comm& comm, const RowStream& rows) {
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  const std::size_t cols = rows.cols();
  double max_x = 0, max_y = 0;
  const PartialTree tree =
      stream_tree(rows, part, 1, [&](const TreeNode& node, const RowPiece& piece, double* stack, double* out) {
        auto leaf = [&](std::int64_t i, double* dst) {
          const auto local = static_cast<std::size_t>(i - piece.first);
          max_y = std::max(max_y, std::abs(piece.y[local]));
          dst[0] = row_square(piece.x + local * cols, cols, max_x);
        };
        sum_aligned_node(node, 1, leaf, stack, out);
      });
  const std::vector<double> squares = combine_tree(comm, rows.rows(), 1, tree.nodes, tree.values);
  return agree_scale(comm, max_x, max_y, squares[0], rows.rows());
}

}  // namespace

PartialTree gradient_pass(const RowStream& rows, const RowPartition& part, const std::vector<double>& w, double b) {
  const std::size_t cols = rows.cols();
  const bool avx2 = kernel_available(Kernel::blocks_avx2);
  return stream_tree(rows, part, cols + 2,
                     [&](const TreeNode& node, const RowPiece& piece, double* stack, double* out) {
                       GradientLeaf leaf{piece.x, piece.y, piece.first, piece.rows, cols, w.data(), b};
#ifdef SLAB_AVX2_KERNEL
                       if (avx2) return gradient_unit_avx2(node, leaf, stack, out);
#endif
                       (void)avx2;
                       gradient_unit(node, leaf, stack, out);
                     });
}

PartialTree y_pass(const RowStream& rows, const RowPartition& part, const std::function<double(double)>& f) {
  return stream_tree(
      rows, part, 1,
      [&](const TreeNode& node, const RowPiece& piece, double* stack, double* out) {
        auto leaf = [&](std::int64_t i, double* dst) { dst[0] = f(piece.y[i - piece.first]); };
        sum_aligned_node(node, 1, leaf, stack, out);
      },
      /*with_x=*/false);
}

std::pair<double, double> loss_and_gradient_norm(const mpi::Comm& comm, const RowStream& rows,
                                                 const std::vector<double>& w, double b, double* rss) {
  const std::size_t cols = rows.cols();
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  const PartialTree tree = gradient_pass(rows, part, w, b);
  const auto sums = combine_tree(comm, rows.rows(), cols + 2, tree.nodes, tree.values);
  const auto n = static_cast<double>(rows.rows());
  double norm2 = 0;
  for (std::size_t j = 0; j <= cols; ++j) norm2 += (2.0 / n * sums[j]) * (2.0 / n * sums[j]);
  if (rss != nullptr) *rss = sums[cols + 1];
  return {sums[cols + 1] / n, std::sqrt(norm2)};
}

Fit normal_equations(const mpi::Comm& comm, const RowStream& rows) {
  const std::size_t cols = rows.cols(), m = cols + 1, width = m * m + m;
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  auto t = clock::now();
  const PartialTree tree =
      stream_tree(rows, part, width, [&](const TreeNode& node, const RowPiece& piece, double* stack, double* out) {
        const NormalLeaf leaf{piece.x, piece.y, piece.first, cols};
        sum_aligned_node(node, width, leaf, stack, out);
      });
  Fit fit;
  fit.compute_seconds = seconds_since(t);
  t = clock::now();
  std::vector<double> sums = combine_tree(comm, rows.rows(), width, tree.nodes, tree.values);
  fit.communication_seconds = seconds_since(t);
  fit = solve_normal(
      std::move(sums), cols, std::move(fit),
      [&] { return overflow_cause(data_scale(comm, rows), static_cast<double>(rows.rows()), cols); },
      [&](std::size_t p) { return column_max(comm, rows, p); });
  const auto [loss, gradient] = loss_and_gradient_norm(comm, rows, fit.w, fit.b, &fit.rss);
  fit.loss = {loss};
  fit.gradient_norm = gradient;
  return fit;
}

// A = [X 1] as a distributed dense matrix with slab's row ownership (PETSc stores local rows
// column-major).
static petsc::OwnedMat design_matrix(const mpi::Comm& comm, const DistTensor& X) {
  const std::size_t cols = X.row_length();
  const auto rows = static_cast<PetscInt>(X.partition().global_rows());
  const auto local_rows = static_cast<PetscInt>(X.partition().count());
  const auto m = static_cast<PetscInt>(cols + 1);
  petsc::OwnedMat a;
  SLAB_PETSC(MatCreateDense(comm.get(), local_rows, PETSC_DECIDE, rows, m, nullptr, a.out()));
  {
    PetscScalar* values = nullptr;
    PetscInt lda = 0;
    SLAB_PETSC(MatDenseGetLDA(a.get(), &lda));
    SLAB_PETSC(MatDenseGetArrayWrite(a.get(), &values));
    const double* x = X.local().data().data();
    for (PetscInt i = 0; i < local_rows; ++i) {
      for (PetscInt j = 0; j < m - 1; ++j) values[j * lda + i] = x[static_cast<std::size_t>(i) * cols + j];
      values[(m - 1) * lda + i] = 1.0;
    }
    SLAB_PETSC(MatDenseRestoreArrayWrite(a.get(), &values));
  }
  SLAB_PETSC(MatAssemblyBegin(a.get(), MAT_FINAL_ASSEMBLY));
  SLAB_PETSC(MatAssemblyEnd(a.get(), MAT_FINAL_ASSEMBLY));

  return a;
}

static Fit least_squares_unagreed(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y) {
  check_shapes(X, y);
  const std::size_t cols = X.row_length();
  const auto rows = static_cast<PetscInt>(X.partition().global_rows());
  if (static_cast<std::int64_t>(rows) != X.partition().global_rows())
    throw InputError("--method lstsq is limited to 2^31-1 rows by PETSc's 32-bit indices; use --method gd");
  const auto local_rows = static_cast<PetscInt>(X.partition().count());
  const auto t = clock::now();

  const petsc::OwnedMat a = design_matrix(comm, X);

  petsc::OwnedVec solution, rhs;
  SLAB_PETSC(MatCreateVecs(a.get(), solution.out(), rhs.out()));
  {
    const petsc::VecArray b(rhs.get());
    std::copy_n(y.local().data().data(), local_rows, b.data());
  }
  petsc::OwnedKSP ksp;
  SLAB_PETSC(KSPCreate(comm.get(), ksp.out()));
  SLAB_PETSC(KSPSetType(ksp.get(), KSPLSQR));
  SLAB_PETSC(KSPSetOperators(ksp.get(), a.get(), a.get()));
  PC pc = nullptr;
  SLAB_PETSC(KSPGetPC(ksp.get(), &pc));
  SLAB_PETSC(PCSetType(pc, PCNONE));
  SLAB_PETSC(KSPSetTolerances(ksp.get(), 1e-14, 1e-300, PETSC_DEFAULT, 100000));
  petsc::set_from_options(comm, ksp.get());
  SLAB_PETSC(KSPSolve(ksp.get(), rhs.get(), solution.get()));
  if (const auto failure = petsc::not_converged(ksp.get(), "least squares (LSQR)")) {
    // The converged reason is the same on every rank, so every rank is here.
    const std::string cause = overflow_cause(data_scale(comm, X, y), X);
    mpi::fail_alike(ExitCode::runtime, cause.empty() ? *failure : "least squares (LSQR) failed: " + cause);
  }
  PetscInt iterations = 0;
  SLAB_PETSC(KSPGetIterationNumber(ksp.get(), &iterations));

  // The solution is distributed by columns; every rank needs all of it.
  petsc::OwnedScatter scatter;
  petsc::OwnedVec everything;
  SLAB_PETSC(VecScatterCreateToAll(solution.get(), scatter.out(), everything.out()));
  SLAB_PETSC(VecScatterBegin(scatter.get(), solution.get(), everything.get(), INSERT_VALUES, SCATTER_FORWARD));
  SLAB_PETSC(VecScatterEnd(scatter.get(), solution.get(), everything.get(), INSERT_VALUES, SCATTER_FORWARD));
  Fit fit;
  {
    const petsc::VecArray z(everything.get());
    fit.w.assign(z.data(), z.data() + cols);
    fit.b = z.data()[cols];
  }
  fit.compute_seconds = seconds_since(t);
  fit.iterations = iterations;
  fit.converged = true;
  const auto [loss, gradient] = loss_and_gradient_norm(comm, X, y, fit.w, fit.b);
  fit.loss = {loss};
  fit.gradient_norm = gradient;
  return fit;
}

Fit least_squares(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y) {
  // PETSc fails a collective call (a preconditioner that does not fit LSQR's rectangular operator)
  // on every rank alike: agree on it instead of aborting.
  Fit fit;
  mpi::collectively(comm, [&] { fit = least_squares_unagreed(comm, X, y); });
  return fit;
}

Scaling standardize(const mpi::Comm& comm, DistTensor& X) {
  const std::size_t cols = X.row_length();
  double* x = X.local().data().data();
  const std::int64_t first = X.partition().first();
  const auto n = static_cast<double>(X.partition().global_rows());
  Scaling s;
  s.mean = tree_sum(comm, X.partition(), cols, [&](std::int64_t i, double* out) {
    std::copy_n(x + static_cast<std::size_t>(i - first) * cols, cols, out);
  });
  for (double& m : s.mean) m /= n;
  s.scale = tree_sum(comm, X.partition(), cols, [&](std::int64_t i, double* out) {
    const double* row = x + static_cast<std::size_t>(i - first) * cols;
    for (std::size_t j = 0; j < cols; ++j) out[j] = (row[j] - s.mean[j]) * (row[j] - s.mean[j]);
  });
  for (double& v : s.scale) {
    v = std::sqrt(v / n);
    if (!(v > 0)) v = 1.0;
  }
  const auto rows = static_cast<std::size_t>(X.partition().count());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) x[i * cols + j] = (x[i * cols + j] - s.mean[j]) / s.scale[j];
  return s;
}

void to_original_units(const Scaling& s, Fit& fit) {
  // y = sum_j w'_j (x_j - m_j) / s_j + b' = sum_j (w'_j / s_j) x_j + (b' - sum_j w'_j m_j / s_j)
  for (std::size_t j = 0; j < fit.w.size(); ++j) {
    fit.w[j] /= s.scale[j];
    fit.b -= fit.w[j] * s.mean[j];
  }
}

}  // namespace slab::regression
