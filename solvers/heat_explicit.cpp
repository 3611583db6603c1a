#include "solvers/heat_explicit.hpp"

#include <algorithm>
#include <chrono>
#include <span>

#include "solvers/heat_loop.hpp"

namespace slab::heat {
namespace {

inline double ftcs(double left, double centre, double right, double diffusion_number) {
  return centre + diffusion_number * ((left - 2.0 * centre) + right);
}

// One step of `count` consecutive nodes: out[i] from in[i - 1], in[i], in[i + 1]. Built for the
// baseline and, on x86-64, for AVX2, picked once at load time. Each node is the same IEEE
// operations either way (element-wise, no FMA), so the bits do not depend on the pick.
#if defined(__x86_64__) && defined(__GNUC__)
[[gnu::target_clones("avx2", "default")]]
#endif
void ftcs_run(const double* __restrict in, double* __restrict out, std::int64_t count, double diffusion_number) {
  for (std::int64_t i = 0; i < count; ++i) out[i] = ftcs(in[i - 1], in[i], in[i + 1], diffusion_number);
}

constexpr std::int64_t default_block = 16;
// Nodes per tile: two scratch copies of a tile and its halo stay in a 32 KiB L1 data cache.
constexpr std::int64_t tile_nodes = 1024;

// This rank's nodes and how a tile of them advances k steps.
class Tiles {
 public:
  Tiles(const Problem& p, std::int64_t n, bool left_end, bool right_end, std::int64_t block)
      : p_(p),
        diffusion_number_(p.diffusion_number()),
        n_(n),
        left_end_(left_end && p.bc != Boundary::periodic),
        right_end_(right_end && p.bc != Boundary::periodic),
        scratch_a_(static_cast<std::size_t>(tile_nodes + 2 * block + 2)),
        scratch_b_(scratch_a_.size()) {}

  // Whether tile [t0, t1) reads ghost nodes received from a neighbour when advancing k steps.
  [[nodiscard]] bool needs_ghosts(std::int64_t t0, std::int64_t t1, std::int64_t k) const {
    return (t0 - k < 0 && !left_end_) || (t1 + k > n_ && !right_end_);
  }

  // Advances nodes [t0, t1) by k steps from src to dst. Both are indexed by node (src[-1] is the
  // first ghost); src holds valid values on [t0 - k, t1 + k) clipped to the physical ends.
  void advance(double* src, double* dst, std::int64_t t0, std::int64_t t1, std::int64_t k) {
    std::int64_t lo = t0 - k, hi = t1 + k;  // the nodes the tile's first step reads
    const bool at_left = left_end_ && lo < 0;
    const bool at_right = right_end_ && hi > n_;
    if (at_left) lo = 0;
    if (at_right) hi = n_;
    const std::int64_t offset = lo - 1;  // scratch index of node x is x - offset
    double* in_scratch = scratch_a_.data();
    double* out_scratch = scratch_b_.data();
    for (std::int64_t j = 1; j <= k; ++j) {
      // Step j reads the rank's array at first, then the scratch tile; its last step writes the
      // rank's new array.
      auto in = [&](std::int64_t x) -> double& { return j == 1 ? src[x] : in_scratch[x - offset]; };
      auto out = [&](std::int64_t x) -> double& { return j == k ? dst[x] : out_scratch[x - offset]; };
      // A side next to a neighbour loses one valid node per step; a physical end stays put.
      std::int64_t first = at_left ? 0 : lo + j;
      std::int64_t end = at_right ? n_ : hi - j;
      if (at_left) {
        if (p_.bc == Boundary::neumann) in(-1) = in(1);  // zero flux: mirror the neighbour
        if (p_.bc == Boundary::dirichlet) out(first++) = p_.left;
      }
      if (at_right) {
        if (p_.bc == Boundary::neumann) in(n_) = in(n_ - 2);
        if (p_.bc == Boundary::dirichlet) out(--end) = p_.right;
      }
      if (end > first) ftcs_run(&in(first), &out(first), end - first, diffusion_number_);
      // While this tile computes from L1, bring the next tile's input in from memory: a share of
      // it per step.
      for (std::int64_t x = t1 + k + (j - 1) * tile_nodes / k; x < t1 + k + j * tile_nodes / k && x < n_; x += 8)
        __builtin_prefetch(src + x);
      std::swap(in_scratch, out_scratch);
    }
  }

 private:
  const Problem& p_;
  double diffusion_number_;
  std::int64_t n_;
  bool left_end_, right_end_;  // this rank holds a physical (non-periodic) end
  std::vector<double> scratch_a_, scratch_b_;
};

// Steps per halo exchange. A neighbour sends `block` of its own nodes, so no rank that owns nodes
// may own fewer; every rank computes the same value from the partition.
std::int64_t steps_per_exchange(const RowPartition& part, std::int64_t block) {
  if (block <= 0) block = default_block;
  block = std::min(block, tile_nodes);
  for (const std::int64_t count : part.counts())
    if (count > 0) block = std::min(block, count);
  return block;
}

}  // namespace

Timing solve_explicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step, std::int64_t block) {
  const RowPartition part(p.nx, comm.size(), comm.rank());
  const std::int64_t n = part.count();
  int lower = part.lower_neighbour();
  int upper = part.upper_neighbour();
  const bool owns_left_end = n > 0 && part.first() == 0;
  const bool owns_right_end = n > 0 && part.end() == p.nx;
  if (p.bc == Boundary::periodic) {
    // The ring closes between the last and the first rank that own nodes (possibly this one).
    if (owns_left_end) lower = part.last_nonempty_rank();
    if (owns_right_end) upper = part.first_nonempty_rank();
  }
  block = steps_per_exchange(part, block);

  // Node x of this rank lives at index block + x; `block` ghosts on each side.
  std::vector<double> a(static_cast<std::size_t>(n + 2 * block)), b(a.size());
  std::copy(u.begin(), u.end(), a.begin() + block);
  Tiles tiles(p, n, owns_left_end, owns_right_end, block);
  Timing timing;

  auto advance = [&](std::int64_t k) {
    if (n == 0) return;
    const auto started = std::chrono::steady_clock::now();
    double* src = a.data() + block;
    double* dst = b.data() + block;
    const auto width = static_cast<std::size_t>(k);
    mpi::RequestSet requests;  // cancelled if anything below throws before they complete
    if (lower >= 0) {
      requests.add(comm.irecv(std::span<double>(src - k, width), lower, mpi::tag::halo_up));
      requests.add(comm.isend(std::span<const double>(src, width), lower, mpi::tag::halo_down));
    }
    if (upper >= 0) {
      requests.add(comm.irecv(std::span<double>(src + n, width), upper, mpi::tag::halo_down));
      requests.add(comm.isend(std::span<const double>(src + n - k, width), upper, mpi::tag::halo_up));
    }
    // Tiles that read no ghost run while the messages fly; the rest after they arrive.
    for (std::int64_t t0 = 0; t0 < n; t0 += tile_nodes) {
      const std::int64_t t1 = std::min(n, t0 + tile_nodes);
      if (!tiles.needs_ghosts(t0, t1, k)) tiles.advance(src, dst, t0, t1, k);
    }
    const auto computed = std::chrono::steady_clock::now();
    requests.wait_all();
    const auto exchanged = std::chrono::steady_clock::now();
    for (std::int64_t t0 = 0; t0 < n; t0 += tile_nodes) {
      const std::int64_t t1 = std::min(n, t0 + tile_nodes);
      if (tiles.needs_ghosts(t0, t1, k)) tiles.advance(src, dst, t0, t1, k);
    }
    std::swap(a, b);
    timing.communication += std::chrono::duration<double>(exchanged - computed).count();
    timing.compute += std::chrono::duration<double>(computed - started).count() + detail::seconds_since(exchanged);
  };
  auto current = [&] { return std::span<const double>(a.data() + block, static_cast<std::size_t>(n)); };

  detail::run_steps(comm, p, first_step, observer, timing, block, advance, current);
  std::copy_n(a.begin() + block, n, u.begin());
  return timing;
}

}  // namespace slab::heat
