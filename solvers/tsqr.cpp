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

#include "core/partition.hpp"
#include "core/stream_tree.hpp"
#include "core/text.hpp"
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
// Four doubles at any address of a double: GCC gives a vector type the alias set of its element, so
// (unlike memcpy, which may alias anything) a store does not make the compiler reload every other
// value from memory.
using v4d_unaligned = double __attribute__((vector_size(32), aligned(alignof(double))));
[[gnu::always_inline]] inline v4d load4(const double* p) { return *reinterpret_cast<const v4d_unaligned*>(p); }
[[gnu::always_inline]] inline void store4(double* p, const v4d& v) { *reinterpret_cast<v4d_unaligned*>(p) = v; }
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
// H = I - tau v v^T, v = [0.., 1, a_{j+1..}/(alpha - beta)], tau = (beta - alpha)/beta,
// beta = -sign(alpha) ||a_{j..}|| (LAPACK's dlarfg). Reflectors come in pairs (j, j + 1) applied in
// one sweep over each trailing column c (compact WY for two): s1 = v1.c, s2 = v2.c, d1 = tau1 s1,
// d2 = tau2 (s2 - d1 (v2.v1)), c <- (c - d1 v1) - d2 v2, so each column is read twice and written
// once per two reflectors. Dot products accumulate in four lanes (rows i mod 4, from the multiple of
// 4 at or below j) summed as (l0 + l1) + (l2 + l3): the same operations in the same order for the
// portable (SSE2 pairs) and the AVX2 build, and for a column in a group of 4, 2 or 1.
class LeafQr {
 public:
  LeafQr(std::size_t width, std::size_t block_rows)
      : width_(width),
        a_(padded(block_rows) * width),
        v1_(padded(block_rows) + width + 8),
        v2_(padded(block_rows) + width + 8) {}

  [[gnu::always_inline]] void operator()(const LeafRows& rows, double* r) {
    ld_ = padded(rows.rows);
    load(rows);
    plan_prefetch(rows);
    // Reflectors from row ld on act on zeros only: they are the identity.
    std::size_t j = 0;
    for (; j + 1 < width_ && j < ld_; j += 2) reflect_pair(j);
    if (j + 1 == width_ && j < ld_) (void)make_reflector(j, j & ~std::size_t{3}, v1_.data());  // the last alone
    std::fill_n(r, width_ * width_, 0.0);
    for (std::size_t i = 0; i < std::min(rows.rows, width_); ++i)
      for (std::size_t c = i; c < width_; ++c) r[i * width_ + c] = a_[c * ld_ + i];
  }

 private:
  static std::size_t padded(std::size_t rows) { return (rows + 7) / 8 * 8; }

  // [1 X y] into the columns: X by 4 x 4 blocks transposed in registers (moves only), then the rest.
  [[gnu::always_inline]] void load(const LeafRows& rows) {
    const std::size_t cols = width_ - 2, n = rows.rows;
    double* one = a_.data();
    double* yy = a_.data() + (width_ - 1) * ld_;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const double* r0 = rows.x + i * rows.x_stride;
      const double* r1 = r0 + rows.x_stride;
      const double* r2 = r1 + rows.x_stride;
      const double* r3 = r2 + rows.x_stride;
      std::size_t c = 0;
      for (; c + 4 <= cols; c += 4) {
        const v4d a = load4(r0 + c), b = load4(r1 + c), e = load4(r2 + c), f = load4(r3 + c);
        const v4d ab0 = __builtin_shufflevector(a, b, 0, 4, 2, 6), ab1 = __builtin_shufflevector(a, b, 1, 5, 3, 7);
        const v4d ef0 = __builtin_shufflevector(e, f, 0, 4, 2, 6), ef1 = __builtin_shufflevector(e, f, 1, 5, 3, 7);
        double* to = a_.data() + (c + 1) * ld_ + i;
        store4(to, __builtin_shufflevector(ab0, ef0, 0, 1, 4, 5));
        store4(to + ld_, __builtin_shufflevector(ab1, ef1, 0, 1, 4, 5));
        store4(to + 2 * ld_, __builtin_shufflevector(ab0, ef0, 2, 3, 6, 7));
        store4(to + 3 * ld_, __builtin_shufflevector(ab1, ef1, 2, 3, 6, 7));
      }
      for (; c < cols; ++c) {
        double* to = a_.data() + (c + 1) * ld_ + i;
        to[0] = r0[c];
        to[1] = r1[c];
        to[2] = r2[c];
        to[3] = r3[c];
      }
    }
    for (; i < n; ++i) {
      const double* row = rows.x + i * rows.x_stride;
      for (std::size_t c = 0; c < cols; ++c) a_[(c + 1) * ld_ + i] = row[c];
    }
    for (i = 0; i < n; ++i) {
      one[i] = 1.0;
      yy[i] = rows.y[i * rows.y_stride];
    }
    for (std::size_t c = 0; c < width_; ++c) std::fill(a_.data() + c * ld_ + n, a_.data() + (c + 1) * ld_, 0.0);
  }

  // The next leaf's rows (those after this leaf's, in the same buffer) are brought towards the
  // cache a line at a time from within the arithmetic on this one, so that memory and arithmetic
  // overlap. A hint only: a prefetch never faults, and nothing computed depends on it.
  [[gnu::always_inline]] void plan_prefetch(const LeafRows& rows) {
    const std::uintptr_t bytes = rows.rows * rows.x_stride * sizeof(double);
    prefetch_ = reinterpret_cast<std::uintptr_t>(rows.x) + bytes;
    prefetch_end_ = prefetch_ + bytes;
  }
  [[gnu::always_inline]] void prefetch_line() {
    if (prefetch_ >= prefetch_end_) return;
    __builtin_prefetch(reinterpret_cast<const void*>(prefetch_), 0, 2);
    prefetch_ += 64;
  }

  // Reflector j from column j into v[j0..ld) (zero up to j, 1 at j; j0 a multiple of 4 at or below
  // j); column j's diagonal becomes beta. Returns tau (0: nothing below the diagonal, H = I).
  [[gnu::always_inline]] double make_reflector(std::size_t j, std::size_t j0, double* v) {
    double* col = a_.data() + j * ld_;
    const std::size_t ld = ld_;
    v4d first = load4(col + j0);
    for (std::size_t q = 0; j0 + q <= j; ++q) first[q] = 0.0;  // rows j0..j are not below
    store4(v + j0, first);
    v4d s = v4d{0, 0, 0, 0} + first * first;
    for (std::size_t i = j0 + 4; i < ld; i += 4) {
      const v4d x = load4(col + i);
      store4(v + i, x);
      s += x * x;
    }
    const double below = hsum(s);
    if (below == 0.0) {
      v[j] = 1.0;
      for (std::size_t i = j + 1; i < ld; ++i) v[i] = 0.0;
      return 0.0;
    }
    const double alpha = col[j];
    const double norm = std::sqrt(alpha * alpha + below);
    const double beta = alpha >= 0 ? -norm : norm;
    const double scale = 1.0 / (alpha - beta);
    for (std::size_t i = j0; i < ld; i += 4) store4(v + i, load4(v + i) * scale);
    v[j] = 1.0;
    col[j] = beta;
    return (beta - alpha) / beta;
  }

  [[gnu::always_inline]] double dot(const double* a, const double* b, std::size_t j0) const {
    const std::size_t ld = ld_;
    v4d s = {0, 0, 0, 0};
    for (std::size_t i = j0; i < ld; i += 4) s += load4(a + i) * load4(b + i);
    return hsum(s);
  }

  // Reflectors j and j + 1, applied to the columns after them.
  [[gnu::always_inline]] void reflect_pair(std::size_t j) {
    const std::size_t j0 = j & ~std::size_t{3};
    double* v1 = v1_.data();
    double* v2 = v2_.data();
    const double tau1 = make_reflector(j, j0, v1);
    double* next = a_.data() + (j + 1) * ld_;
    if (tau1 != 0.0) {
      const double d = tau1 * dot(v1, next, j0);
      for (std::size_t i = j0; i < ld_; i += 4) store4(next + i, load4(next + i) - d * load4(v1 + i));
    }
    const double tau2 = make_reflector(j + 1, j0, v2);
    if (tau1 == 0.0 && tau2 == 0.0) return;
    const double w = dot(v2, v1, j0);
    std::size_t k = j + 2;
    for (; k + 4 <= width_; k += 4) apply_pair<4>(k, j0, tau1, tau2, w);
    for (; k + 2 <= width_; k += 2) apply_pair<2>(k, j0, tau1, tau2, w);
    for (; k < width_; ++k) apply_pair<1>(k, j0, tau1, tau2, w);
  }

  // Columns k..k+Q-1 <- (I - tau2 v2 v2^T)(I - tau1 v1 v1^T) c: two dot products per column share
  // each load of v1 and v2.
  template <std::size_t Q>
  [[gnu::always_inline]] void apply_pair(std::size_t k, std::size_t j0, double tau1, double tau2, double w) {
    const std::size_t ld = ld_;
    double* c[Q];
    for (std::size_t q = 0; q < Q; ++q) c[q] = a_.data() + (k + q) * ld;
    const double* v1 = v1_.data();
    const double* v2 = v2_.data();
    v4d s1[Q], s2[Q];
    for (std::size_t q = 0; q < Q; ++q) s1[q] = s2[q] = v4d{0, 0, 0, 0};
    for (std::size_t i = j0; i < ld; i += 4) {
      if (i % 8 == 0) prefetch_line();
      const v4d a = load4(v1 + i), b = load4(v2 + i);
      for (std::size_t q = 0; q < Q; ++q) {
        const v4d x = load4(c[q] + i);
        s1[q] += a * x;
        s2[q] += b * x;
      }
    }
    // A reflector with tau = 0 is the identity: its d is 0 whatever the dot product (which may not be
    // finite), so the columns it must leave alone are left alone.
    double d1[Q], d2[Q];
    for (std::size_t q = 0; q < Q; ++q) {
      d1[q] = tau1 == 0.0 ? 0.0 : tau1 * hsum(s1[q]);
      d2[q] = tau2 == 0.0 ? 0.0 : tau2 * (hsum(s2[q]) - d1[q] * w);
    }
    for (std::size_t i = j0; i < ld; i += 4) {
      if (i % 8 == 0) prefetch_line();
      const v4d a = load4(v1 + i), b = load4(v2 + i);
      for (std::size_t q = 0; q < Q; ++q) store4(c[q] + i, (load4(c[q] + i) - d1[q] * a) - d2[q] * b);
    }
  }

  std::size_t width_;
  std::size_t ld_ = 0;
  std::uintptr_t prefetch_ = 0, prefetch_end_ = 0;
  std::vector<double> a_, v1_, v2_;
};

// top = the R of [top; bottom] for two W x W upper triangles (row-major), by W structured
// reflectors: reflector j acts on row j of top and rows 0..j of bottom. `work` holds W * W + W.
// The columns k > j are updated four at a time, each lane the same operations in the same order as
// one column alone.
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
    std::size_t k = j + 1;
    for (; k + 4 <= width; k += 4) {
      v4d dot = load4(top + j * width + k);
      for (std::size_t i = 0; i <= j; ++i) dot += v[i] * load4(s + i * width + k);
      const v4d d = tau * dot;
      store4(top + j * width + k, load4(top + j * width + k) - d);
      for (std::size_t i = 0; i <= j; ++i) store4(s + i * width + k, load4(s + i * width + k) - d * v[i]);
    }
    for (; k < width; ++k) {
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

// One streamed unit: the reduce_pairwise of leaf_tree over the 2^level leaves of `node`, whose rows
// are all in `piece`.
[[gnu::always_inline]] inline void stream_unit(LeafQr& leaf, const TreeNode& node, const RowPiece& piece,
                                               std::size_t cols, std::int64_t block, std::int64_t rows, double* work,
                                               double* stack, double* out) {
  const std::size_t width = cols + 2;
  reduce_pairwise(
      std::uint64_t{1} << node.level, width * width,
      [&](std::uint64_t k, double* dst) {
        const std::int64_t begin = (node.begin + static_cast<std::int64_t>(k)) * block;
        const auto local = static_cast<std::size_t>(begin - piece.first);
        const auto count = static_cast<std::size_t>(std::min(begin + block, rows) - begin);
        leaf({piece.x + local * cols, cols, piece.y + local, 1, count}, dst);
      },
      [&](double* left, const double* right) { merge_triangles(left, right, width, work); }, stack, out);
}
[[gnu::flatten]] void stream_unit_baseline(LeafQr& leaf, const TreeNode& node, const RowPiece& piece, std::size_t cols,
                                           std::int64_t block, std::int64_t rows, double* work, double* stack,
                                           double* out) {
  stream_unit(leaf, node, piece, cols, block, rows, work, stack, out);
}
#ifdef SLAB_TSQR_AVX2
[[gnu::flatten, gnu::target("avx2")]] void stream_unit_avx2(LeafQr& leaf, const TreeNode& node, const RowPiece& piece,
                                                            std::size_t cols, std::int64_t block, std::int64_t rows,
                                                            double* work, double* stack, double* out) {
  stream_unit(leaf, node, piece, cols, block, rows, work, stack, out);
}
#endif

}  // namespace

std::vector<double> tsqr_factor(const mpi::Comm& comm, const RowStream& rows, std::int64_t block_rows,
                                double* communication_seconds) {
  // Each rank reads the rows of its own leaves (from the file: no exchange of straddling rows).
  const RowPartition p(rows.rows(), comm.size(), comm.rank());
  const std::int64_t block = block_rows, n = rows.rows();
  const std::int64_t first_leaf = (p.first() + block - 1) / block, end_leaf = (p.end() + block - 1) / block;
  if (rows.piece_rows() < block)
    throw RuntimeFailure("a streamed TSQR needs pieces of at least " + std::to_string(block) + " rows");
  const std::size_t cols = rows.cols(), width = cols + 2, size = width * width;
  std::vector<double> work(size + width);
  const Merge merge = [&](double* left, const double* right) { merge_triangles(left, right, width, work.data()); };
  LeafQr leaf(width, static_cast<std::size_t>(block));
  const bool avx2 = kernel_available(Kernel::blocks_avx2);
  const PartialTree part = stream_tree(
      rows, first_leaf, end_leaf, block, size, merge,
      [&](const TreeNode& node, const RowPiece& piece, double* stack, double* out) {
#ifdef SLAB_TSQR_AVX2
        if (avx2) return stream_unit_avx2(leaf, node, piece, cols, block, n, work.data(), stack, out);
#endif
        (void)avx2;
        stream_unit_baseline(leaf, node, piece, cols, block, n, work.data(), stack, out);
      });
  const auto t = clock::now();
  auto r = combine_tree(comm, (n + block - 1) / block, size, part.nodes, part.values, merge);
  if (communication_seconds != nullptr) *communication_seconds = since(t);
  return r;
}

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
  const std::string tol = format_number(rank_tolerance(r, width, rows), 3);
  // A column whose every entry of R (its whole length) is below the tolerance is not a combination
  // of others: its scale is too small next to the largest column (X scaled by 1e-300 beside the
  // intercept's 1). Zero columns are dependent.
  std::vector<std::size_t> small;
  double largest = 0;
  for (const std::size_t j : dependent) {
    double length = 0;
    for (std::size_t i = 0; i <= j; ++i) length = std::max(length, std::abs(r[i * width + j]));
    if (length > 0 && length <= rank_tolerance(r, width, rows)) {
      small.push_back(j);
      largest = std::max(largest, length);
    }
  }
  if (!small.empty())
    return InputError(column_names(small) + " (0-based) " + (small.size() == 1 ? "is" : "are") +
                      " too small next to the largest column of [1 X] for double precision: " +
                      (small.size() == 1 ? "its" : "their") + " entries of R reach " + format_number(largest, 3) +
                      ", below max(N, D+1) * eps * max|R_ii| = " + tol +
                      "; rescale X (columns of about 1) or pass "
                      "--standardize");
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

namespace {

// z = [b, w] from R (the same on every rank), by the policy for a rank-deficient [1 X].
void solve_from_r(Fit& fit, std::size_t width, std::int64_t rows, RankDeficient policy) {
  const std::vector<std::size_t> dependent = dependent_columns(fit.r, width, rows);
  if (!dependent.empty() && policy == RankDeficient::error) throw rank_error(fit.r, width, rows, dependent);
  const std::vector<double> z =
      dependent.empty() ? back_substitute(fit.r, width) : min_norm_solution(fit.r, width, rows);
  fit.b = z[0];
  fit.w.assign(z.begin() + 1, z.end());
  fit.iterations = 1;
  fit.converged = true;
}

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

}  // namespace

Fit qr(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, RankDeficient policy) {
  const auto t = clock::now();
  Fit fit;
  fit.r = tsqr_factor(comm, X, y, tsqr_block_rows, Kernel::automatic, &fit.communication_seconds);
  fit.compute_seconds = since(t) - fit.communication_seconds;
  // R is the same bits on every rank: all fail together or none does.
  if (!all_finite(fit.r)) fail_not_finite(comm, X, y, "the QR factor of [1 X y] is not finite");
  solve_from_r(fit, X.row_length() + 2, X.partition().global_rows(), policy);
  const auto [loss, gradient] = loss_and_gradient_norm(comm, X, y, fit.w, fit.b);
  fit.loss = {loss};
  fit.gradient_norm = gradient;
  return fit;
}

Fit qr(const mpi::Comm& comm, const RowStream& rows, RankDeficient policy) {
  const auto t = clock::now();
  Fit fit;
  fit.r = tsqr_factor(comm, rows, tsqr_block_rows, &fit.communication_seconds);
  fit.compute_seconds = since(t) - fit.communication_seconds;
  if (!all_finite(fit.r)) fail_not_finite(comm, rows, "the QR factor of [1 X y] is not finite");
  solve_from_r(fit, rows.cols() + 2, rows.rows(), policy);
  const auto [loss, gradient] = loss_and_gradient_norm(comm, rows, fit.w, fit.b, &fit.rss);
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

namespace {

// The statistics from R, rss and tss (the same on every rank).
Statistics statistics_from(const std::vector<double>& r, std::size_t cols, std::int64_t rows, const Fit& fit,
                           double rss, double tss) {
  const std::size_t width = cols + 2;
  Statistics st;
  st.rss = rss;
  st.tss = tss;
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

}  // namespace

Statistics statistics(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const Fit& fit) {
  const std::vector<double> r = fit.r.empty() ? tsqr_factor(comm, X, y) : fit.r;
  const auto [rss, tss] = sums_of_squares(comm, X, y, fit);
  return statistics_from(r, X.row_length(), X.partition().global_rows(), fit, rss, tss);
}

Statistics statistics(const mpi::Comm& comm, const RowStream& rows, const Fit& fit) {
  const std::vector<double> r = fit.r.empty() ? tsqr_factor(comm, rows) : fit.r;
  const std::size_t cols = rows.cols();
  const RowPartition part(rows.rows(), comm.size(), comm.rank());
  // rss as sums_of_squares takes it (the fit's last pass computed it at the same w and b: the same
  // bits); the mean and tss of y by the same tree over rows, reading y alone.
  double rss = fit.rss;
  if (std::isnan(rss)) {
    const PartialTree g = gradient_pass(rows, part, fit.w, fit.b);
    rss = combine_tree(comm, rows.rows(), cols + 2, g.nodes, g.values)[cols + 1];
  }
  auto y_tree = [&](const std::function<double(double)>& leaf_of) {
    const PartialTree t = y_pass(rows, part, leaf_of);
    return combine_tree(comm, rows.rows(), 1, t.nodes, t.values)[0];
  };
  const double mean = y_tree([](double y) { return y; }) / static_cast<double>(rows.rows());
  const double tss = y_tree([mean](double y) { return (y - mean) * (y - mean); });
  return statistics_from(r, cols, rows.rows(), fit, rss, tss);
}

}  // namespace slab::regression
