// The reduced system of tridiag::Solver (tridiagonal.hpp), distributed, by block cyclic reduction
// over global indices.
//
// Block k of the solver has two reduced unknowns z_k = (F_k, L_k), its first and last value; its
// equations are
//   z_k + a_k L_{k-1} + c_k F_{k+1} = y_k,   a_k = (vF_k, vL_k), c_k = (wF_k, wL_k) (its spikes),
// a block tridiagonal system with 2x2 blocks whose coupling to the previous unknown has only an L
// column and to the next only an F column (cyclic when periodic: block 0 couples to block N-1).
//
// Level j (h = 2^j) holds the equations of the multiples of h, each coupled to the previous and
// next multiple of h (cyclically when periodic; past the ends there is no neighbour otherwise).
// The odd multiples are eliminated: their owner forms g_l = D_l^{-1} y_l and sends one value to
// each kept neighbour (the L row to the next, the F row to the previous), which updates its
// right-hand side y_k -= a_k gL_{k-h} + c_k gF_{k+h}. The couplings keep their one-column form
// (a_k' = -a_k alphaL_{k-h}, c_k' = -c_k gammaF_{k+h}), so every message is one double. After
// ceil(log2 N) levels block 0 alone is left and solved; back-substitution runs the levels down,
// each eliminated unknown getting L of its previous and F of its next neighbour:
//   x_l = g_l - alpha_l xL_{l-h} - gamma_l xF_{l+h}   (alpha = D^{-1} a, gamma = D^{-1} c).
// The matrices (D, alpha, gamma and the couplings per level) do not change from step to step: the
// constructor computes them once by the same levels (two doubles per message).
//
// Every operation is indexed by global block indices and done by the owner of its result, so the
// bits do not depend on where the rank boundaries fall. A rank owning the blocks [lo, hi) sends
// and receives at most two values per level and direction (those of its first and last index at
// that level), so a solve sends O(log N) doubles in 2 ceil(log2 N) rounds of point-to-point
// messages, and works O(hi - lo + log N).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "core/mpi.hpp"

namespace slab::tridiag {

// A block's spikes: the values at its first and last row of A_b^{-1} times its coupling to the row
// before it (v) and after it (w).
struct Spikes {
  double v_first = 0, v_last = 0, w_first = 0, w_last = 0;
};

class ReducedSystem {
 public:
  // Collective over comm: N = `count` blocks, this rank owning [lo, hi) (possibly empty; the
  // owners are in rank order), owner(k) the rank of block k, spikes(k) for k in [lo, hi).
  // Throws RuntimeFailure, after every message of the set-up, on the rank that finds a singular
  // pivot: call it inside mpi::collectively.
  ReducedSystem(const mpi::Comm& comm, std::int64_t count, bool periodic, std::int64_t lo, std::int64_t hi,
                const std::function<int(std::int64_t)>& owner, const std::function<Spikes(std::int64_t)>& spikes);
  ~ReducedSystem();
  ReducedSystem(const ReducedSystem&) = delete;
  ReducedSystem& operator=(const ReducedSystem&) = delete;

  // Collective: ends holds (F_k, L_k) for k in [lo, hi); the right-hand side y on entry, the
  // solution on return.
  void solve(std::span<double> ends);
  // Collective: (L_{lo-1}, F_hi) from the ranks that own them (0 where there is no such block, or
  // this rank owns no blocks).
  [[nodiscard]] std::array<double, 2> neighbour_ends(std::span<const double> ends);
  // The number of levels, ceil(log2 N).
  [[nodiscard]] int levels() const noexcept;
  // The doubles this rank sends to other ranks in one solve and neighbour_ends.
  [[nodiscard]] std::size_t values_sent_per_step() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slab::tridiag
