// Least squares by communication-avoiding tall-skinny QR (TSQR; Demmel, Grigori, Hoemmen and
// Langou), and the regression statistics of any fit.
//
// The rows of A = [1 X y] (the intercept column first, y last; W = D + 2 columns) are cut into fixed
// leaf blocks of global rows [k B, (k + 1) B) — B depends on nothing but the constant below, never on
// the rank count. Each leaf is reduced by Householder QR to its W x W upper triangle; triangles are
// merged (the QR of two stacked triangles) up the fixed binary tree over leaf indices of
// src/core/tree_sum.hpp. A block that straddles a rank boundary is completed on the rank owning its first
// row by one small exchange with the next rank(s). So every node is computed from the same rows in
// the same order for any split: R, the solution and the statistics are bitwise identical for 1, 2,
// 3, ... ranks, including ranks that own no rows.
//
// The last column of R carries Q^T y: with R_A = R[0..D][0..D], q = R[0..D][D+1] the least-squares
// solution solves R_A z = q (z = [b, w]), and R[D+1][D+1]^2 is the minimal residual sum of squares.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dist_tensor.hpp"
#include "core/names.hpp"
#include "solvers/regression.hpp"

namespace slab::regression {

// Rows per leaf block: the block of [1 X y] (256 x 18 doubles for D = 16) stays in L1/L2 while it
// is reduced.
inline constexpr std::int64_t tsqr_block_rows = 256;

// Collective: the R factor of [1 X y], row-major (D + 2) x (D + 2), upper triangular, the same bits
// on every rank. `block_rows` is exposed for tests (small blocks make deep trees from small data);
// `kernel` chooses the leaf build (Kernel::blocks_avx2 or the portable one; the same bits).
// `communication_seconds`, when given, receives the time of the row exchange and the tree merge.
[[nodiscard]] std::vector<double> tsqr_factor(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                              std::int64_t block_rows = tsqr_block_rows,
                                              Kernel kernel = Kernel::automatic,
                                              double* communication_seconds = nullptr);

// The same R from rows read in pieces (core/row_stream.hpp): each rank reads the rows of its own
// leaves (none straddles: the file is there for every rank), folds them into the same tree.
[[nodiscard]] std::vector<double> tsqr_factor(const mpi::Comm& comm, const RowStream& rows,
                                              std::int64_t block_rows = tsqr_block_rows,
                                              double* communication_seconds = nullptr);

// What --method qr does with a rank-deficient [1 X]: stop with an InputError (exit 2) that names
// the dependent columns, or return the minimum-norm least-squares solution.
enum class RankDeficient { error, min_norm };
inline constexpr NameTable<RankDeficient, 2> rank_deficient_names{
    {{RankDeficient::error, "error"}, {RankDeficient::min_norm, "min-norm"}}};
// Inline, so that the command line compiles without the solvers (tests/fuzz/run_fuzz.sh).
[[nodiscard]] inline std::string to_string(RankDeficient policy) { return name_of(rank_deficient_names, policy); }

// Column j of [1 X] is numerically dependent on columns 0..j-1 when
//   |R_jj| <= max(N, D + 1) * eps * max_i |R_ii|
// (the intercept is column 0, feature c is column c + 1). Returns those j.
[[nodiscard]] std::vector<std::size_t> dependent_columns(const std::vector<double>& r, std::size_t width,
                                                         std::int64_t rows);

// --method qr: TSQR, then back substitution R_A z = Q^T y (or the minimum-norm solution of the
// small system by LAPACK's SVD-based gelss, which is the minimum-norm solution of the full problem
// because Q has orthonormal columns). Fit::r keeps R for the statistics.
[[nodiscard]] Fit qr(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                     RankDeficient policy = RankDeficient::error);

// --method qr over rows read in pieces: one pass for R, one for the loss and gradient norm.
[[nodiscard]] Fit qr(const mpi::Comm& comm, const RowStream& rows, RankDeficient policy = RankDeficient::error);

// Regression statistics at a fit's (w, b), whichever method produced it.
//   rss = sum (y - X w - b)^2, tss = sum (y - mean y)^2 (reproducible tree sums), dof = N - (D + 1),
//   residual_std = sqrt(rss / dof), Cov = residual_std^2 (A^T A)^-1 = residual_std^2 R^-1 R^-T,
//   w_stderr, b_stderr = sqrt(diag Cov), t_values = [w, b] / stderr (D + 1 values, b last),
//   r_squared = 1 - rss / tss, adj_r_squared = 1 - (1 - r_squared) (N - 1) / dof,
//   condition_number = the 2-norm condition number of [1 X] (= of R_A, from its singular values).
// dof <= 0 (no more rows than parameters) or a rank-deficient R_A make the standard errors,
// t values, residual_std and adj_r_squared NaN (undefined), as does tss == 0 for r_squared.
struct Statistics {
  std::vector<double> w_stderr;
  double b_stderr = 0;
  std::vector<double> t_values;
  double r_squared = 0;
  double adj_r_squared = 0;
  double residual_std = 0;
  std::int64_t dof = 0;
  double condition_number = 0;
  double rss = 0;
  double tss = 0;
};

// Collective. Uses fit.r when it is set (qr), otherwise makes one TSQR pass over [1 X y]. X must be
// in the units of the fit (not standardised).
[[nodiscard]] Statistics statistics(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const Fit& fit);
// The same from rows read in pieces, the same bits as in memory: a TSQR pass unless the fit has R,
// a pass for rss unless the fit has it, then two passes over y alone (its mean; tss).
[[nodiscard]] Statistics statistics(const mpi::Comm& comm, const RowStream& rows, const Fit& fit);

}  // namespace slab::regression
