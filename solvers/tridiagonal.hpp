// A distributed direct solver for tridiagonal systems A x = B u whose bits do not depend on the
// number of ranks: the partition (SPIKE) method over fixed global blocks, its reduced system solved
// by block cyclic reduction over global block indices (reduced_system.hpp).
//
// The n rows are cut into blocks of `block_rows` rows (the last takes the remainder, so it has
// block_rows..2 block_rows - 1 rows); the cut depends on n alone. Each block is factored (LU, no
// pivoting: A must be diagonally dominant), and its two spikes v = A_b^{-1} a_s e_0 and
// w = A_b^{-1} c_e e_{m-1} (its coupling to the rows outside it) are computed once. Interior
// blocks share one factorisation, so the factors take O(block_rows) memory. A step is
//   1. per block, in cache: the right-hand side B u fused into the forward sweep, then the backward
//      sweep, giving the block-local solution y;
//   2. the reduced system of 2 unknowns per block (its first and last value, F_k and L_k),
//        F_k + vF_k L_{k-1} + wF_k F_{k+1} = yF_k,   L_k + vL_k L_{k-1} + wL_k F_{k+1} = yL_k,
//      cyclic when periodic: block tridiagonal with 2x2 blocks in z_k = (F_k, L_k), solved by cyclic
//      reduction in ceil(log2 N) levels (N blocks). Level j eliminates the odd multiples of 2^j from
//      the equations of the multiples of 2^j (each coupled to the previous and next multiple,
//      cyclically when periodic); back-substitution runs the levels down. An operation belongs to
//      global block indices and runs on the rank that owns its result;
//   3. the neighbour ends: the last value of the block before my first, the first of the block after
//      my last, from the ranks that own them;
//   4. per block, the correction x = y - v L_{k-1} - w F_{k+1}, skipped where a spike entry is
//      below 1e-30 (the spikes of a diagonally dominant matrix decay geometrically, so this touches
//      the rows near the block ends only; the error it makes is below 1e-30 max|x|).
// A block belongs to the rank that owns its first row, which holds the whole block between load()
// and store(); the neighbour values of a block's right-hand side are the ends of the neighbouring
// blocks, which step 3 brought. So every floating-point operation is fixed by global indices alone,
// on any number of ranks (ranks with no rows or no blocks included).
//
// What a step sends, per rank: at each level of the reduction at most one double to each of the
// (at most two) ranks that own the neighbours of its first and last index at that level, on the
// way down and again on the way up, and the two neighbour ends: at most 4 ceil(log2 N) + 2 doubles,
// in 2 ceil(log2 N) + 1 rounds of point-to-point messages, no collective. Low levels talk to the
// adjacent ranks; at level j > log2(blocks per rank) only the ranks that still own an index of
// that level send, to ranks 2^j blocks away, so the mean over ranks stays nearly constant in
// weak scaling (measured: 76 B per step at 4 ranks, 106 B at 32, 109 B at 64, with 65,536 nodes
// per rank; the allgather of every block's ends it replaced sent 768 B and 7,936 B). Work per rank
// and step: its rows (the sweep and the correction, as before) plus O(blocks per rank + log N)
// 2x2 operations; memory O(rows per rank + block_rows + log N). Set-up runs the same levels once
// (two doubles per message) to form the level matrices; no O(P) exchange anywhere.
//
// Why cyclic reduction rather than the same fixed-block method applied recursively to the reduced
// system: cyclic reduction is the recursion with blocks of two, so its every operation is indexed
// by global indices with no second block size to choose, each level needs one double per rank
// boundary (the recursive method moves whole spikes of its upper blocks and gathers each upper
// block on one rank), and the top of the recursion is one 2x2 system on block 0's owner, so
// nothing is solved redundantly or serially on every rank.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/mpi.hpp"
#include "core/partition.hpp"
#include "solvers/reduced_system.hpp"

namespace slab::tridiag {

// Row i of A (a: coupling to row i-1, d: diagonal, c: coupling to row i+1) and of the right-hand
// side operator: b_i = ((rl u_{i-1} + rd u_i) + rr u_{i+1}) + rc. With periodic, row 0 couples to
// row n-1 through a and row n-1 to row 0 through c; otherwise a of row 0 and c of row n-1 are unused.
struct Row {
  double a = 0, d = 1, c = 0;
  double rl = 0, rd = 1, rr = 0, rc = 0;
  friend bool operator==(const Row&, const Row&) = default;
};

// The global operator. Every row of every block other than the first and the last must equal
// `interior` (a constant-coefficient stencil). `identity_rhs`: B u = rd u + rc (no neighbours).
struct Operator {
  std::int64_t n = 0;
  bool periodic = false;
  bool identity_rhs = false;
  Row interior;
  std::function<Row(std::int64_t)> row;
};

// The LU factors of one block (m >= 2 rows) with its spikes: O(m) memory.
class BlockFactor {
 public:
  BlockFactor(const Operator& op, std::int64_t first, std::int64_t rows);

  [[nodiscard]] std::int64_t rows() const noexcept { return static_cast<std::int64_t>(l_.size()); }
  // Solves A_b x = b in place (the block alone, no coupling).
  void solve(std::span<double> b) const;
  // One step of the block's sweep, in place: x holds u on entry (m rows), um/up are u of the rows
  // before and after the block; on return x is A_b^{-1} (B u)_b.
  void sweep(double* x, double um, double up, bool identity_rhs) const;
  // x -= v lower + w upper (truncated spikes), then x_0 = first, x_{m-1} = last.
  void correct(double* x, double lower, double upper, double first, double last) const;

  [[nodiscard]] double v_first() const noexcept { return v_.front(); }
  [[nodiscard]] double v_last() const noexcept { return v_.back(); }
  [[nodiscard]] double w_first() const noexcept { return w_.front(); }
  [[nodiscard]] double w_last() const noexcept { return w_.back(); }

  // The interior kernel: G blocks of the uniform operator at once (independent dependency chains);
  // per block the operations of sweep() for a row with rc = 0 (and rd = 1 when identity_rhs), which
  // it leaves out: it is given no other row.
  template <int G>
  void sweep_uniform(const Row& r, double* const* x, const double* um, const double* up, bool identity_rhs) const;

 private:
  std::vector<double> l_, inv_u_;              // multipliers and reciprocal pivots
  std::vector<double> c_, rl_, rd_, rr_, rc_;  // the rows' coefficients
  std::vector<double> v_, w_;                  // spikes
  std::int64_t v_end_ = 0, w_begin_ = 0;       // v is zero (truncated) from v_end_, w before w_begin_
};

// The fixed global blocks of an operator of n rows.
struct Blocks {
  std::int64_t n = 0, size = 0, count = 0;
  Blocks(std::int64_t rows, std::int64_t block_rows);
  [[nodiscard]] std::int64_t first(std::int64_t k) const noexcept { return k * size; }
  [[nodiscard]] std::int64_t end(std::int64_t k) const noexcept { return k + 1 == count ? n : (k + 1) * size; }
  // The blocks whose first row lies in [first, end): [lo, hi).
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> starting_in(std::int64_t first, std::int64_t end) const;
};

// The rows of the default block: a few thousand, so a block's sweep stays in L2.
inline constexpr std::int64_t default_block_rows = 4096;

class Solver {
 public:
  // Collective over comm; part must be the RowPartition of op.n rows on comm. Every failure is
  // thrown alike on every rank: SingularSystem when A (a block of it, or the reduced system) is
  // singular in double precision, mpi::CollectiveError for the others (memory).
  Solver(const mpi::Comm& comm, const RowPartition& part, Operator op, std::int64_t block_rows = default_block_rows);
  ~Solver();
  Solver(const Solver&) = delete;
  Solver& operator=(const Solver&) = delete;

  // The solver holds the state in its own layout (whole blocks per rank). Collective, each of them.
  void load(std::span<const double> u);  // from this rank's rows
  void advance(std::int64_t steps);      // u <- A^{-1} B u, `steps` times
  void store(std::span<double> u);       // to this rank's rows
  // load, one step, store.
  void step(std::span<double> u);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slab::tridiag
