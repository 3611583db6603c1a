#include "heat_explicit.hpp"

#include <chrono>

#include "heat_loop.hpp"

namespace slab::heat {
namespace {

inline double ftcs(double left, double centre, double right, double r) {
  return centre + r * ((left - 2.0 * centre) + right);
}

constexpr int tag_up = 1;    // a rank's last node, sent to the rank above
constexpr int tag_down = 2;  // a rank's first node, sent to the rank below

}  // namespace

void ftcs_sweep(const double* __restrict in, double* __restrict out, std::size_t begin, std::size_t end, double r) {
  for (std::size_t i = begin; i < end; ++i) out[i] = ftcs(in[i - 1], in[i], in[i + 1], r);
}

Timing solve_explicit(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
                      std::int64_t first_step) {
  const RowPartition part(p.nx, comm.size(), comm.rank());
  const auto n = static_cast<std::size_t>(part.count());
  int lower = part.lower_neighbour();
  int upper = part.upper_neighbour();
  const bool owns_left_end = n > 0 && part.first() == 0;
  const bool owns_right_end = n > 0 && part.end() == p.nx;
  if (p.bc == Boundary::periodic) {
    // The ring closes between the last and the first rank that own nodes (possibly this one).
    if (owns_left_end) lower = part.last_nonempty_rank();
    if (owns_right_end) upper = part.first_nonempty_rank();
  }
  const double r = p.r();
  std::vector<double> a(n + 2), b(n + 2);
  std::copy(u.begin(), u.end(), a.begin() + 1);
  Timing timing;

  auto advance = [&] {
    if (n == 0) return;
    const auto started = std::chrono::steady_clock::now();
    MPI_Request requests[4];
    int count = 0;
    if (lower >= 0) {
      SLAB_MPI(MPI_Irecv(&a[0], 1, MPI_DOUBLE, lower, tag_up, comm.get(), &requests[count++]));
      SLAB_MPI(MPI_Isend(&a[1], 1, MPI_DOUBLE, lower, tag_down, comm.get(), &requests[count++]));
    }
    if (upper >= 0) {
      SLAB_MPI(MPI_Irecv(&a[n + 1], 1, MPI_DOUBLE, upper, tag_down, comm.get(), &requests[count++]));
      SLAB_MPI(MPI_Isend(&a[n], 1, MPI_DOUBLE, upper, tag_up, comm.get(), &requests[count++]));
    }
    // Interior nodes need no ghost: update them while the messages fly.
    if (n > 2) ftcs_sweep(a.data(), b.data(), 2, n, r);
    const auto computed = std::chrono::steady_clock::now();
    SLAB_MPI(MPI_Waitall(count, requests, MPI_STATUSES_IGNORE));
    const auto exchanged = std::chrono::steady_clock::now();
    // Physical boundaries: Neumann mirrors the neighbour (zero flux); Dirichlet holds the value.
    if (p.bc == Boundary::neumann) {
      if (owns_left_end) a[0] = a[2];
      if (owns_right_end) a[n + 1] = a[n - 1];
    }
    b[1] = ftcs(a[0], a[1], a[2], r);
    if (n > 1) b[n] = ftcs(a[n - 1], a[n], a[n + 1], r);
    if (p.bc == Boundary::dirichlet) {
      if (owns_left_end) b[1] = p.left;
      if (owns_right_end) b[n] = p.right;
    }
    std::swap(a, b);
    timing.communication += std::chrono::duration<double>(exchanged - computed).count();
    timing.compute += std::chrono::duration<double>(computed - started).count() + detail::seconds_since(exchanged);
  };
  auto current = [&] { return std::span<const double>(a.data() + 1, n); };

  detail::run_steps(comm, p, first_step, observer, timing, advance, current);
  std::copy(a.begin() + 1, a.begin() + 1 + static_cast<std::ptrdiff_t>(n), u.begin());
  return timing;
}

}  // namespace slab::heat
