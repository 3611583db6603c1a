#include "solvers/tsqr.hpp"

#include <petscsys.h>  // before petscblaslapack.h, which needs its declarations

#include <petscblaslapack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <tuple>

#include "core/tree_sum.hpp"

// GCC vector extensions give element-wise IEEE operations in a fixed order: the portable build
// lowers them to SSE2 pairs, the AVX2 build to 256-bit registers, with the same bits. The helpers
// that take or return them are always inlined, so no vector crosses a call boundary (-Wpsabi).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace slab::regression {
namespace {

using clock = std::chrono::steady_clock;
double since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

using v4d = double __attribute__((vector_size(32)));
[[gnu::always_inline]] inline v4d load4(const double* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store4(double* p, const v4d& v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline double hsum(const v4d& v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// The rows of one leaf block of [1 X y]: row i has features x[i * x_stride + c] and y[i * y_stride].
struct LeafRows {
  const double* x;
  std::size_t x_stride;
  const double* y;
  std::size_t y_stride;
  std::size_t rows;
};

// Householder QR of one leaf block in a column-major scratch of ld rows (ld = rows rounded up to a
// multiple of 8, zero padded) and W columns. Reflector j zeroes column j below the diagonal:
// v = [1, a_{j+1..}/(alpha - beta)], tau = (beta - alpha)/beta, beta = -sign(alpha) ||a_{j..}||
// (LAPACK's dlarfg). Vector loops start at the multiple of 4 at or below j + 1 with v zero up to j.
class LeafQr {
 public:
  LeafQr(std::size_t width, std::size_t block_rows)
      : width_(width), a_(((block_rows + 7) / 8 * 8) * width), v_((block_rows + 7) / 8 * 8 + width + 8) {}

  [[gnu::always_inline]] void operator()(const LeafRows& rows, double* r) {
    ld_ = (rows.rows + 7) / 8 * 8;
    load(rows);
    for (std::size_t j = 0; j < width_; ++j) reflect(j);
    std::fill_n(r, width_ * width_, 0.0);
    for (std::size_t i = 0; i < std::min(rows.rows, width_); ++i)
      for (std::size_t c = i; c < width_; ++c) r[i * width_ + c] = a_[c * ld_ + i];
  }

 private:
  [[gnu::always_inline]] void load(const LeafRows& rows) {
    const std::size_t cols = width_ - 2;
    double* one = a_.data();
    double* yy = a_.data() + (width_ - 1) * ld_;
    for (std::size_t i = 0; i < rows.rows; ++i) {
      one[i] = 1.0;
      const double* row = rows.x + i * rows.x_stride;
      for (std::size_t c = 0; c < cols; ++c) a_[(c + 1) * ld_ + i] = row[c];
      yy[i] = rows.y[i * rows.y_stride];
    }
    for (std::size_t c = 0; c < width_; ++c) std::fill(a_.data() + c * ld_ + rows.rows, a_.data() + (c + 1) * ld_, 0.0);
  }

  [[gnu::always_inline]] void reflect(std::size_t j) {
    double* col = a_.data() + j * ld_;
    double* v = v_.data();
    const std::size_t j0 = (j + 1) & ~std::size_t{3};
    for (std::size_t i = j0; i <= j; ++i) v[i] = 0.0;
    for (std::size_t i = j + 1; i < ld_; ++i) v[i] = col[i];
    v4d s = {0, 0, 0, 0};
    for (std::size_t i = j0; i < ld_; i += 4) s += load4(v + i) * load4(v + i);
    const double below = hsum(s);
    if (below == 0.0) return;  // nothing below the diagonal: the reflector is the identity
    const double alpha = col[j];
    const double norm = std::sqrt(alpha * alpha + below);
    const double beta = alpha >= 0 ? -norm : norm;
    const double tau = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (std::size_t i = j0; i < ld_; i += 4) store4(v + i, load4(v + i) * scale);
    col[j] = beta;
    std::size_t k = j + 1;
    for (; k + 4 <= width_; k += 4) apply4(k, j, j0, tau);
    for (; k < width_; ++k) apply1(k, j, j0, tau);
  }

  // Columns k..k+3 -= tau v (v^T column): four independent dot products share each load of v.
  [[gnu::always_inline]] void apply4(std::size_t k, std::size_t j, std::size_t j0, double tau) {
    double* c[4];
    for (std::size_t q = 0; q < 4; ++q) c[q] = a_.data() + (k + q) * ld_;
    const double* v = v_.data();
    v4d s[4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    for (std::size_t i = j0; i < ld_; i += 4) {
      const v4d vv = load4(v + i);
      for (std::size_t q = 0; q < 4; ++q) s[q] += vv * load4(c[q] + i);
    }
    double d[4];
    for (std::size_t q = 0; q < 4; ++q) {
      d[q] = tau * (c[q][j] + hsum(s[q]));
      c[q][j] -= d[q];
    }
    for (std::size_t i = j0; i < ld_; i += 4) {
      const v4d vv = load4(v + i);
      for (std::size_t q = 0; q < 4; ++q) store4(c[q] + i, load4(c[q] + i) - d[q] * vv);
    }
  }

  [[gnu::always_inline]] void apply1(std::size_t k, std::size_t j, std::size_t j0, double tau) {
    double* c = a_.data() + k * ld_;
    const double* v = v_.data();
    v4d s = {0, 0, 0, 0};
    for (std::size_t i = j0; i < ld_; i += 4) s += load4(v + i) * load4(c + i);
    const double d = tau * (c[j] + hsum(s));
    c[j] -= d;
    for (std::size_t i = j0; i < ld_; i += 4) store4(c + i, load4(c + i) - d * load4(v + i));
  }

  std::size_t width_;
  std::size_t ld_ = 0;
  std::vector<double> a_, v_;
};

// top = the R of [top; bottom] for two W x W upper triangles (row-major), by W structured
// reflectors: reflector j acts on row j of top and rows 0..j of bottom. `work` holds W * W + W.
void merge_triangles(double* top, const double* bottom, std::size_t width, double* work) {
  double* s = work;
  double* v = work + width * width;
  std::copy_n(bottom, width * width, s);
  for (std::size_t j = 0; j < width; ++j) {
    double below = 0.0;
    for (std::size_t i = 0; i <= j; ++i) below += s[i * width + j] * s[i * width + j];
    if (below == 0.0) continue;
    const double alpha = top[j * width + j];
    const double norm = std::sqrt(alpha * alpha + below);
    const double beta = alpha >= 0 ? -norm : norm;
    const double tau = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (std::size_t i = 0; i <= j; ++i) {
      v[i] = s[i * width + j] * scale;
      s[i * width + j] = 0.0;
    }
    top[j * width + j] = beta;
    for (std::size_t k = j + 1; k < width; ++k) {
      double dot = top[j * width + k];
      for (std::size_t i = 0; i <= j; ++i) dot += v[i] * s[i * width + k];
      const double d = tau * dot;
      top[j * width + k] -= d;
      for (std::size_t i = 0; i <= j; ++i) s[i * width + k] -= d * v[i];
    }
  }
}

// The rows of this rank's leaves. Leaf k is global rows [k B, min((k + 1) B, N)); this rank owns the
// leaves whose first row it holds. Its last leaf may run into the next rank(s): those rows are
// received into `last` (packed D + 1 doubles a row, y last), together with the rank's own part.
struct LeafPlan {
  const double* x;
  const double* y;
  std::size_t cols;
  std::int64_t first, end, rows, block;  // this rank's rows [first, end) of N = rows
  std::int64_t first_leaf, end_leaf;     // this rank's leaves [first_leaf, end_leaf)
  std::vector<double> last;              // the packed rows of a leaf that straddles ranks

  [[nodiscard]] bool straddles(std::int64_t leaf) const {
    return leaf == end_leaf - 1 && std::min((leaf + 1) * block, rows) > end;
  }
  [[nodiscard]] LeafRows leaf_rows(std::int64_t leaf) const {
    const std::int64_t begin = leaf * block;
    const auto count = static_cast<std::size_t>(std::min(begin + block, rows) - begin);
    if (straddles(leaf)) return {last.data(), cols + 1, last.data() + cols, cols + 1, count};
    const auto local = static_cast<std::size_t>(begin - first);
    return {x + local * cols, cols, y + local, 1, count};
  }
};

void pack_rows(const LeafPlan& plan, std::int64_t begin, std::int64_t end, double* out) {
  for (std::int64_t i = begin; i < end; ++i, out += plan.cols + 1) {
    const auto local = static_cast<std::size_t>(i - plan.first);
    std::copy_n(plan.x + local * plan.cols, plan.cols, out);
    out[plan.cols] = plan.y[local];
  }
}

// Collective (point to point): sends this rank's head rows — those before its first block boundary
// — to the owner of that block, and receives the rest of its own last leaf from the ranks after it.
LeafPlan plan_leaves(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, std::int64_t block) {
  const RowPartition& p = X.partition();
  LeafPlan plan{X.local().data().data(),
                y.local().data().data(),
                X.row_length(),
                p.first(),
                p.end(),
                p.global_rows(),
                block,
                (p.first() + block - 1) / block,
                (p.end() + block - 1) / block,
                {}};
  const std::size_t record = plan.cols + 1;
  std::vector<double> head;
  mpi::RequestSet requests;  // declared after the buffers: completed before they are freed
  const std::int64_t head_end = std::min(plan.end, plan.first_leaf * block);
  if (head_end > plan.first) {
    head.resize(static_cast<std::size_t>(head_end - plan.first) * record);
    pack_rows(plan, plan.first, head_end, head.data());
    requests.add(comm.isend(std::span<const double>(head), p.owner((plan.first / block) * block), mpi::tag::tsqr_rows));
  }
  if (plan.end_leaf > plan.first_leaf && plan.straddles(plan.end_leaf - 1)) {
    const std::int64_t begin = (plan.end_leaf - 1) * block, stop = std::min(plan.end_leaf * block, plan.rows);
    plan.last.resize(static_cast<std::size_t>(stop - begin) * record);
    pack_rows(plan, begin, plan.end, plan.last.data());
    for (int q = p.rank() + 1; q < p.ranks() && p.first_of(q) < stop; ++q) {
      if (p.count_of(q) == 0) continue;
      const std::int64_t count = std::min(p.first_of(q) + p.count_of(q), stop) - p.first_of(q);
      const std::span<double> rows(plan.last.data() + static_cast<std::size_t>(p.first_of(q) - begin) * record,
                                   static_cast<std::size_t>(count) * record);
      requests.add(comm.irecv(rows, q, mpi::tag::tsqr_rows));
    }
  }
  requests.wait_all();
  return plan;
}

// This rank's part of the tree: the aligned nodes over its leaves and their triangles.
[[gnu::always_inline]] inline PartialTree leaf_tree(const LeafPlan& plan) {
  const std::size_t width = plan.cols + 2, size = width * width;
  PartialTree part{aligned_nodes(plan.first_leaf, plan.end_leaf), {}};
  part.values.resize(part.nodes.size() * size);
  LeafQr leaf(width, static_cast<std::size_t>(plan.block));
  std::vector<double> stack, work(size + width);
  for (std::size_t n = 0; n < part.nodes.size(); ++n) {
    const TreeNode node = part.nodes[n];
    stack.resize((static_cast<std::size_t>(node.level) + 1) * size);
    reduce_pairwise(
        std::uint64_t{1} << node.level, size,
        [&](std::uint64_t k, double* dst) { leaf(plan.leaf_rows(node.begin + static_cast<std::int64_t>(k)), dst); },
        [&](double* left, const double* right) { merge_triangles(left, right, width, work.data()); }, stack.data(),
        part.values.data() + n * size);
  }
  return part;
}

// flatten inlines the leaf kernel into each build, so the target attribute reaches its loops.
[[gnu::flatten]] PartialTree leaf_tree_baseline(const LeafPlan& plan) { return leaf_tree(plan); }
#if defined(__x86_64__) && defined(__GNUC__)
#define SLAB_TSQR_AVX2 1
[[gnu::flatten, gnu::target("avx2")]] PartialTree leaf_tree_avx2(const LeafPlan& plan) { return leaf_tree(plan); }
#endif

}  // namespace

std::vector<double> tsqr_factor(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                std::int64_t block_rows, Kernel kernel, double* communication_seconds) {
  check_shapes(X, y);
  if (block_rows < 1) throw RuntimeFailure("TSQR needs at least one row per block");
  const std::size_t width = X.row_length() + 2;
  auto t = clock::now();
  const LeafPlan plan = plan_leaves(comm, X, y, block_rows);
  double communication = since(t);
  if (kernel == Kernel::automatic)
    kernel = kernel_available(Kernel::blocks_avx2) ? Kernel::blocks_avx2 : Kernel::blocks;
  PartialTree part;
  if (kernel == Kernel::blocks_avx2) {
#ifdef SLAB_TSQR_AVX2
    if (!kernel_available(kernel)) throw RuntimeFailure("the AVX2 TSQR kernel is not available on this CPU");
    part = leaf_tree_avx2(plan);
#else
    throw RuntimeFailure("the AVX2 TSQR kernel is not available in this build");
#endif
  } else {
    part = leaf_tree_baseline(plan);
  }
  const std::int64_t leaves = (plan.rows + block_rows - 1) / block_rows;
  std::vector<double> work(width * width + width);
  t = clock::now();
  auto r = combine_tree(comm, leaves, width * width, part.nodes, part.values,
                        [&](double* left, const double* right) { merge_triangles(left, right, width, work.data()); });
  if (communication_seconds != nullptr) *communication_seconds = communication + since(t);
  return r;
}

}  // namespace slab::regression

namespace slab::regression {
namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

double rank_tolerance(const std::vector<double>& r, std::size_t width, std::int64_t rows) {
  const std::size_t m = width - 1;
  double biggest = 0;
  for (std::size_t j = 0; j < m; ++j) biggest = std::max(biggest, std::abs(r[j * width + j]));
  return static_cast<double>(std::max<std::int64_t>(rows, static_cast<std::int64_t>(m))) * eps * biggest;
}

std::string column_names(const std::vector<std::size_t>& columns) {
  std::string text;
  for (const std::size_t j : columns)
    text += (text.empty() ? "" : ", ") + (j == 0 ? std::string("the intercept") : "X column " + std::to_string(j - 1));
  return text;
}

// R_A z = q by back substitution: z = [b, w].
std::vector<double> back_substitute(const std::vector<double>& r, std::size_t width) {
  const std::size_t m = width - 1;
  std::vector<double> z(m);
  for (std::size_t j = m; j-- > 0;) {
    double s = r[j * width + m];
    for (std::size_t k = j + 1; k < m; ++k) s -= r[j * width + k] * z[k];
    z[j] = s / r[j * width + j];
  }
  return z;
}

// R_A copied column-major for LAPACK.
std::vector<double> small_matrix(const std::vector<double>& r, std::size_t width) {
  const std::size_t m = width - 1;
  std::vector<double> a(m * m);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t c = 0; c < m; ++c) a[c * m + i] = r[i * width + c];
  return a;
}

// The minimum-norm solution of R_A z ~ q by LAPACK gelss (SVD), singular values below
// max(N, D + 1) eps s_max treated as zero (numpy.linalg.lstsq's default rcond).
std::vector<double> min_norm_solution(const std::vector<double>& r, std::size_t width, std::int64_t rows) {
  const std::size_t m = width - 1;
  std::vector<double> a = small_matrix(r, width), z(m), s(m);
  for (std::size_t i = 0; i < m; ++i) z[i] = r[i * width + m];
  const auto n = static_cast<PetscBLASInt>(m);
  PetscBLASInt one = 1, rank = 0, info = 0, lwork = -1;
  const PetscReal rcond = static_cast<double>(std::max<std::int64_t>(rows, static_cast<std::int64_t>(m))) * eps;
  double query = 0;
  LAPACKgelss_(&n, &n, &one, a.data(), &n, z.data(), &n, s.data(), &rcond, &rank, &query, &lwork, &info);
  lwork = static_cast<PetscBLASInt>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max<PetscBLASInt>(lwork, 1)));
  LAPACKgelss_(&n, &n, &one, a.data(), &n, z.data(), &n, s.data(), &rcond, &rank, work.data(), &lwork, &info);
  if (info != 0) throw RuntimeFailure("LAPACK gelss (minimum-norm solution) failed with info " + std::to_string(info));
  return z;
}

// The singular values of R_A, largest first (LAPACK gesvd).
std::vector<double> singular_values(const std::vector<double>& r, std::size_t width) {
  const std::size_t m = width - 1;
  std::vector<double> a = small_matrix(r, width), s(m);
  const auto n = static_cast<PetscBLASInt>(m);
  PetscBLASInt one = 1, info = 0, lwork = static_cast<PetscBLASInt>(10 * m + 64);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  double unused = 0;
  LAPACKgesvd_("N", "N", &n, &n, a.data(), &n, s.data(), &unused, &one, &unused, &one, work.data(), &lwork, &info);
  if (info != 0) throw RuntimeFailure("LAPACK gesvd (condition number) failed with info " + std::to_string(info));
  return s;
}

InputError rank_error(const std::vector<double>& r, std::size_t width, std::int64_t rows,
                      const std::vector<std::size_t>& dependent) {
  char tol[32];
  std::snprintf(tol, sizeof tol, "%.3g", rank_tolerance(r, width, rows));
  const bool short_data = rows < static_cast<std::int64_t>(width - 1);
  return InputError("X has linearly dependent columns: " + column_names(dependent) + " (0-based)" +
                    (dependent.size() == 1 ? " is" : " are") +
                    " numerically a linear combination of the intercept and the columns before " +
                    (dependent.size() == 1 ? "it" : "them") + " (|R_jj| <= max(N, D+1) * eps * max|R_ii| = " + tol +
                    (short_data ? "; there are fewer rows than coefficients" : "") +
                    "); remove them or pass --rank-deficient min-norm for the minimum-norm solution");
}

}  // namespace

std::vector<std::size_t> dependent_columns(const std::vector<double>& r, std::size_t width, std::int64_t rows) {
  const double tol = rank_tolerance(r, width, rows);
  std::vector<std::size_t> dependent;
  for (std::size_t j = 0; j + 1 < width; ++j)
    if (!(std::abs(r[j * width + j]) > tol)) dependent.push_back(j);
  return dependent;
}

Fit qr(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, RankDeficient policy) {
  const auto t = clock::now();
  Fit fit;
  fit.r = tsqr_factor(comm, X, y, tsqr_block_rows, Kernel::automatic, &fit.communication_seconds);
  fit.compute_seconds = since(t) - fit.communication_seconds;
  const std::size_t width = X.row_length() + 2;
  const std::int64_t rows = X.partition().global_rows();
  // R is the same bits on every rank: all fail together or none does.
  if (!std::all_of(fit.r.begin(), fit.r.end(), [](double v) { return std::isfinite(v); }))
    fail_not_finite(comm, X, y, "the QR factor of [1 X y] is not finite");
  const std::vector<std::size_t> dependent = dependent_columns(fit.r, width, rows);
  if (!dependent.empty() && policy == RankDeficient::error) throw rank_error(fit.r, width, rows, dependent);
  const std::vector<double> z =
      dependent.empty() ? back_substitute(fit.r, width) : min_norm_solution(fit.r, width, rows);
  fit.b = z[0];
  fit.w.assign(z.begin() + 1, z.end());
  fit.iterations = 1;
  fit.converged = true;
  const auto [loss, gradient] = loss_and_gradient_norm(comm, X, y, fit.w, fit.b);
  fit.loss = {loss};
  fit.gradient_norm = gradient;
  return fit;
}

}  // namespace slab::regression

namespace slab::regression {
namespace {

// rss at (w, b) and tss about the mean, as reproducible tree sums.
std::pair<double, double> sums_of_squares(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                          const Fit& fit) {
  const std::size_t cols = X.row_length();
  const PartialTree part = gradient_pass(X, y, fit.w, fit.b);
  const double rss = combine_tree(comm, X.partition().global_rows(), cols + 2, part.nodes, part.values)[cols + 1];
  const double* yy = y.local().data().data();
  const std::int64_t first = y.partition().first();
  const double mean =
      tree_sum(comm, y.partition(), 1, [&](std::int64_t i, double* out) { out[0] = yy[i - first]; })[0] /
      static_cast<double>(y.partition().global_rows());
  const double tss = tree_sum(comm, y.partition(), 1, [&](std::int64_t i, double* out) {
    out[0] = (yy[i - first] - mean) * (yy[i - first] - mean);
  })[0];
  return {rss, tss};
}

// sqrt(diag (R_A^T R_A)^-1) = the 2-norms of the rows of R_A^-1, in the order of [1 X].
std::vector<double> unscaled_stderr(const std::vector<double>& r, std::size_t width) {
  const std::size_t m = width - 1;
  std::vector<double> inverse(m * m, 0.0);  // row-major, upper triangular
  for (std::size_t c = 0; c < m; ++c)
    for (std::size_t j = c + 1; j-- > 0;) {
      double s = j == c ? 1.0 : 0.0;
      for (std::size_t k = j + 1; k <= c; ++k) s -= r[j * width + k] * inverse[k * m + c];
      inverse[j * m + c] = s / r[j * width + j];
    }
  std::vector<double> norms(m);
  for (std::size_t j = 0; j < m; ++j) {
    double s = 0;
    for (std::size_t c = j; c < m; ++c) s += inverse[j * m + c] * inverse[j * m + c];
    norms[j] = std::sqrt(s);
  }
  return norms;
}

}  // namespace

Statistics statistics(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const Fit& fit) {
  const std::size_t cols = X.row_length(), width = cols + 2;
  const std::vector<double> r = fit.r.empty() ? tsqr_factor(comm, X, y) : fit.r;
  const std::int64_t rows = X.partition().global_rows();
  Statistics st;
  std::tie(st.rss, st.tss) = sums_of_squares(comm, X, y, fit);
  st.dof = rows - static_cast<std::int64_t>(cols + 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool defined = st.dof > 0 && dependent_columns(r, width, rows).empty();
  st.residual_std = st.dof > 0 ? std::sqrt(st.rss / static_cast<double>(st.dof)) : nan;
  st.r_squared = st.tss > 0 ? 1.0 - st.rss / st.tss : nan;
  st.adj_r_squared =
      st.dof > 0 ? 1.0 - (1.0 - st.r_squared) * static_cast<double>(rows - 1) / static_cast<double>(st.dof) : nan;
  std::vector<double> se(cols + 1, nan);
  if (defined) {
    se = unscaled_stderr(r, width);
    for (double& s : se) s *= st.residual_std;
  }
  st.b_stderr = se[0];
  st.w_stderr.assign(se.begin() + 1, se.end());
  for (std::size_t j = 0; j < cols; ++j) st.t_values.push_back(fit.w[j] / st.w_stderr[j]);
  st.t_values.push_back(fit.b / st.b_stderr);
  const std::vector<double> s = singular_values(r, width);
  st.condition_number = s.back() > 0 ? s.front() / s.back() : std::numeric_limits<double>::infinity();
  return st;
}

}  // namespace slab::regression
