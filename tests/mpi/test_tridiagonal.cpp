// The direct tridiagonal solver: its blocks and the whole distributed solve against a dense solve,
// and the implicit heat schemes through it bitwise identical on any number of ranks.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "heat_helpers.hpp"
#include "solvers/heat_direct.hpp"
#include "solvers/reduced_system.hpp"
#include "solvers/tridiagonal.hpp"

using namespace slab;
using slab::test::global_initial;
using slab::test::self;
using slab::test::world;

namespace {

// x = A^{-1} b by Gaussian elimination with partial pivoting on the dense n x n matrix.
std::vector<double> dense_solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t p = j;
    for (std::size_t r = j + 1; r < n; ++r)
      if (std::abs(a[r][j]) > std::abs(a[p][j])) p = r;
    std::swap(a[p], a[j]);
    std::swap(b[p], b[j]);
    for (std::size_t r = j + 1; r < n; ++r) {
      const double f = a[r][j] / a[j][j];
      for (std::size_t c = j; c < n; ++c) a[r][c] -= f * a[j][c];
      b[r] -= f * b[j];
    }
  }
  std::vector<double> x(n);
  for (std::size_t r = n; r-- > 0;) {
    double s = b[r];
    for (std::size_t c = r + 1; c < n; ++c) s -= a[r][c] * x[c];
    x[r] = s / a[r][r];
  }
  return x;
}

// A diagonally dominant operator with a constant interior and different first and last rows.
tridiag::Operator test_operator(std::int64_t n, bool periodic, bool identity_rhs) {
  tridiag::Operator op;
  op.n = n;
  op.periodic = periodic;
  op.identity_rhs = identity_rhs;
  op.interior = {-0.7, 2.9, -1.3, 0.25, identity_rhs ? 1.0 : 0.5, 0.25, 0.0};
  const tridiag::Row first{-0.4, 1.9, -0.9, 0.1, identity_rhs ? 1.0 : 0.6, 0.3, 0.125};
  const tridiag::Row last{-1.1, 3.1, -0.6, 0.2, identity_rhs ? 1.0 : 0.7, 0.1, -2.0};
  const tridiag::Row interior = op.interior;
  op.row = [=](std::int64_t i) { return i == 0 ? first : i == n - 1 ? last : interior; };
  return op;
}

// The operator's matrix A, dense.
std::vector<std::vector<double>> dense_matrix(const tridiag::Operator& op) {
  const auto n = static_cast<std::size_t>(op.n);
  std::vector<std::vector<double>> a(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    const tridiag::Row r = op.row(static_cast<std::int64_t>(i));
    a[i][i] += r.d;
    if (op.periodic || i > 0) a[i][(i + n - 1) % n] += r.a;
    if (op.periodic || i + 1 < n) a[i][(i + 1) % n] += r.c;
  }
  return a;
}

// B u of the operator.
std::vector<double> rhs_of(const tridiag::Operator& op, const std::vector<double>& u) {
  const auto n = static_cast<std::size_t>(op.n);
  std::vector<double> b(n);
  for (std::size_t i = 0; i < n; ++i) {
    const tridiag::Row r = op.row(static_cast<std::int64_t>(i));
    const bool has_before = op.periodic || i > 0, has_after = op.periodic || i + 1 < n;
    b[i] = r.rd * u[i] + r.rc;
    if (!op.identity_rhs)
      b[i] += (has_before ? r.rl * u[(i + n - 1) % n] : 0.0) + (has_after ? r.rr * u[(i + 1) % n] : 0.0);
  }
  return b;
}

// A^{-1} B u of the operator, densely.
std::vector<double> dense_reference(const tridiag::Operator& op, const std::vector<double>& u) {
  return dense_solve(dense_matrix(op), rhs_of(op, u));
}

// A^{-1} b by the serial Thomas algorithm (elimination without pivoting, in row order); for a
// periodic A with the Sherman-Morrison correction of its two corner entries (gamma = -d_0).
std::vector<double> thomas_solve(const tridiag::Operator& op, const std::vector<double>& b) {
  const auto n = static_cast<std::size_t>(op.n);
  std::vector<double> a(n), d(n), c(n);
  for (std::size_t i = 0; i < n; ++i) {
    const tridiag::Row r = op.row(static_cast<std::int64_t>(i));
    a[i] = r.a, d[i] = r.d, c[i] = r.c;
  }
  auto sweep = [&](const std::vector<double>& diagonal, std::vector<double> x) {
    std::vector<double> upper(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double lower = i == 0 ? 0.0 : a[i];
      const double pivot = diagonal[i] - (i == 0 ? 0.0 : lower * upper[i - 1]);
      upper[i] = c[i] / pivot;
      x[i] = (x[i] - (i == 0 ? 0.0 : lower * x[i - 1])) / pivot;
    }
    for (std::size_t i = n - 1; i-- > 0;) x[i] -= upper[i] * x[i + 1];
    return x;
  };
  if (!op.periodic) return sweep(d, b);
  const double corner_low = c[n - 1], corner_high = a[0], gamma = -d[0];  // A[n-1][0], A[0][n-1]
  std::vector<double> diagonal = d;
  diagonal[0] -= gamma;
  diagonal[n - 1] -= corner_low * corner_high / gamma;
  std::vector<double> x = sweep(diagonal, b), e(n, 0.0);
  e[0] = gamma, e[n - 1] = corner_low;
  const std::vector<double> z = sweep(diagonal, e);
  const double f = (x[0] + corner_high * x[n - 1] / gamma) / (1 + z[0] + corner_high * z[n - 1] / gamma);
  for (std::size_t i = 0; i < n; ++i) x[i] -= f * z[i];
  return x;
}

// kappa_inf(A) <= ||A||_inf / delta for a matrix diagonally dominant by delta = min_i |d_i| - |a_i| - |c_i|
// (||A^{-1}||_inf <= 1/delta).
double condition_bound(const tridiag::Operator& op) {
  double norm = 0, margin = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < op.n; ++i) {
    const tridiag::Row r = op.row(i);
    const double off =
        (op.periodic || i > 0 ? std::abs(r.a) : 0.0) + (op.periodic || i + 1 < op.n ? std::abs(r.c) : 0.0);
    norm = std::max(norm, std::abs(r.d) + off);
    margin = std::min(margin, std::abs(r.d) - off);
  }
  return norm / margin;
}

std::vector<double> random_vector(std::size_t n, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = uniform(gen);
  return v;
}

// `steps` steps of the distributed solver on comm from the global u; returns the global result.
std::vector<double> step_global(const mpi::Comm& comm, const tridiag::Operator& op, const std::vector<double>& u,
                                std::int64_t block_rows, std::int64_t steps = 1) {
  const RowPartition part(op.n, comm.size(), comm.rank());
  std::vector<double> local(u.begin() + part.first(), u.begin() + part.end());
  tridiag::Solver solver(comm, part, op, block_rows);
  solver.load(local);
  solver.advance(steps);
  solver.store(local);
  std::vector<double> global(static_cast<std::size_t>(op.n));
  gather_rows(comm, part, 1, local.data(), global.data(), 0);
  comm.broadcast(global);
  return global;
}

// The bit patterns, so that a comparison tells -0 from 0 and sees NaNs.
std::vector<std::uint64_t> bits_of(const std::vector<double>& v) {
  std::vector<std::uint64_t> bits(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) bits[i] = std::bit_cast<std::uint64_t>(v[i]);
  return bits;
}

// (rows, block rows): one block (nx below two blocks, also not a multiple of the block), two
// blocks, 2^k blocks and 2^k +- 1 (the levels of the cyclic reduction), many blocks per rank, and
// the default 4096-row blocks (at 2-4 ranks some ranks own no block, and blocks straddle ranks).
std::vector<std::pair<std::int64_t, std::int64_t>> solver_cases() {
  std::vector<std::pair<std::int64_t, std::int64_t>> cases;
  for (const std::int64_t block : {2, 3, 5})
    for (const std::int64_t count : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 127})
      cases.emplace_back(std::max<std::int64_t>(3, count * block + count % block), block);
  for (const std::int64_t count : {1, 2, 3, 7, 8, 9})
    cases.emplace_back(count * tridiag::default_block_rows + (count % 2 == 1 ? 1234 : 0), tridiag::default_block_rows);
  return cases;
}

const heat::Boundary all_bcs[] = {heat::Boundary::dirichlet, heat::Boundary::neumann, heat::Boundary::periodic};

}  // namespace

// One block's LU factors and triangular solves against Gaussian elimination.
TEST(Tridiagonal, BlockSolveMatchesADenseSolve) {
  for (const std::int64_t m : {2, 3, 7, 40}) {
    const tridiag::Operator op = test_operator(m, false, true);
    const tridiag::BlockFactor f(op, 0, m);
    const auto b = random_vector(static_cast<std::size_t>(m), 7);
    auto x = b;
    f.solve(x);
    const auto expected = dense_solve(dense_matrix(op), b);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], expected[i], 1e-14) << "m=" << m << " i=" << i;
  }
}

// The whole distributed solve (blocks, spikes, reduced system, cyclic corners, blocks straddling
// rank boundaries) against a dense solve. The matrices are diagonally dominant with a condition
// number below 10, so 1e-13 is a few hundred rounding errors.
TEST(Tridiagonal, DistributedSolveMatchesADenseSolve) {
  for (const bool periodic : {false, true})
    for (const bool identity : {false, true})
      for (const std::int64_t n : {3, 4, 5, 7, 9, 16, 33})
        for (const std::int64_t block : {2, 3, 4, 5, 4096}) {
          SCOPED_TRACE("periodic=" + std::to_string(periodic) + " identity=" + std::to_string(identity) +
                       " n=" + std::to_string(n) + " block=" + std::to_string(block));
          const tridiag::Operator op = test_operator(n, periodic, identity);
          const auto u = random_vector(static_cast<std::size_t>(n), 11);
          const auto x = step_global(world(), op, u, block);
          const auto expected = dense_reference(op, u);
          for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], expected[i], 1e-13) << i;
        }
}

// Every floating-point operation is fixed by global indices: the same bits on any number of ranks,
// for nx below the rank count, blocks of 2-5 rows straddling rank boundaries, and the default blocks.
TEST(Tridiagonal, DirectImplicitHeatIsBitwiseIdenticalToOneProcess) {
  for (const auto scheme : {heat::Scheme::implicit_euler, heat::Scheme::crank_nicolson})
    for (const auto bc : all_bcs)
      for (const std::int64_t nx : {2, 3, 5, 8, 9, 17, 64})
        for (const std::int64_t block :
             {std::int64_t{2}, std::int64_t{3}, std::int64_t{5}, tridiag::default_block_rows}) {
          SCOPED_TRACE(heat::to_string(scheme) + " " + heat::to_string(bc) + " nx=" + std::to_string(nx) +
                       " block=" + std::to_string(block));
          heat::Request q;
          q.nx = nx, q.scheme = scheme, q.bc = bc, q.steps = 7, q.diffusion_number = 10, q.left = 1.5, q.right = -0.5;
          const heat::Problem p = heat::resolve(q);
          const auto u0 = global_initial(p, heat::Init::gaussian);
          auto run = [&](const mpi::Comm& comm) {
            const RowPartition part(p.nx, comm.size(), comm.rank());
            std::vector<double> local(u0.begin() + part.first(), u0.begin() + part.end());
            (void)heat::solve_direct(comm, p, local, {}, 0, block);
            std::vector<double> global(static_cast<std::size_t>(p.nx));
            gather_rows(comm, part, 1, local.data(), global.data(), 0);
            comm.broadcast(global);
            return global;
          };
          EXPECT_EQ(run(world()), run(self()));
        }
}

// The direct solver and PETSc's KSP solve the same systems: agreement to 1e-12 of the solution's
// size (both are backward stable on a matrix of condition number below 1 + 4 R = 41).
TEST(Tridiagonal, DirectAndPetscAgreeTo1e12) {
  for (const auto scheme : {heat::Scheme::implicit_euler, heat::Scheme::crank_nicolson})
    for (const auto bc : all_bcs)
      for (const std::int64_t nx : {2, 3, 5, 64, 10000}) {
        SCOPED_TRACE(heat::to_string(scheme) + " " + heat::to_string(bc) + " nx=" + std::to_string(nx));
        heat::Request q;
        q.nx = nx, q.scheme = scheme, q.bc = bc, q.steps = 10, q.diffusion_number = 10, q.left = 1.5, q.right = -0.5;
        heat::Problem p = heat::resolve(q);
        const auto u0 = global_initial(p, heat::Init::gaussian);
        const auto direct = slab::test::solve_global(world(), p, u0);
        p.solver = heat::Solver::petsc;
        const auto petsc = slab::test::solve_global(world(), p, u0);
        double scale = 0;
        for (const double v : petsc) scale = std::max(scale, std::abs(v));
        for (std::size_t i = 0; i < petsc.size(); ++i) ASSERT_NEAR(direct[i], petsc[i], 1e-12 * scale) << i;
      }
}

// The distributed solve against the serial Thomas algorithm, over every case of solver_cases(), one
// step and three. Both eliminate without pivoting on a matrix diagonally dominant by delta = 0.6, so
// both are backward stable with a growth factor of at most 2: a backward error below a small
// multiple of n eps (Higham, Accuracy and Stability of Numerical Algorithms, 9.5), plus a few eps
// from forming B u. The forward error is then below kappa n eps |x|, kappa <= ||A|| / delta = 8.2
// (condition_bound). Three steps add three such errors, each damped by ||A^{-1} B|| < 1.
TEST(Tridiagonal, DistributedSolveMatchesTheSerialThomasAlgorithm) {
  constexpr double eps = std::numeric_limits<double>::epsilon();
  for (const bool periodic : {false, true})
    for (const bool identity : {false, true})
      for (const auto& [n, block] : solver_cases())
        for (const std::int64_t steps : {1, 3}) {
          SCOPED_TRACE("periodic=" + std::to_string(periodic) + " identity=" + std::to_string(identity) + " n=" +
                       std::to_string(n) + " block=" + std::to_string(block) + " steps=" + std::to_string(steps));
          const tridiag::Operator op = test_operator(n, periodic, identity);
          const auto u = random_vector(static_cast<std::size_t>(n), 23);
          const auto x = step_global(world(), op, u, block, steps);
          auto expected = u;
          for (std::int64_t s = 0; s < steps; ++s) expected = thomas_solve(op, rhs_of(op, expected));
          double scale = 0;
          for (const double v : expected) scale = std::max(scale, std::abs(v));
          const double tolerance =
              static_cast<double>(steps) * condition_bound(op) * static_cast<double>(n) * eps * scale;
          double error = 0;
          for (std::size_t i = 0; i < x.size(); ++i) error = std::max(error, std::abs(x[i] - expected[i]));
          EXPECT_LE(error, tolerance);
        }
}

// The same bits on any number of ranks: the distributed solve on all ranks of the world (1-4) against
// the same solve on each rank alone, over every case of solver_cases(), periodic and not, three
// steps (so the block ends that a step's sweep reads come from the previous step's reduced solve).
TEST(Tridiagonal, SolveIsBitwiseIdenticalOnAnyRankCount) {
  bool rank_without_blocks = false, straddling_block = false;
  for (const bool periodic : {false, true})
    for (const bool identity : {false, true})
      for (const auto& [n, block] : solver_cases()) {
        SCOPED_TRACE("periodic=" + std::to_string(periodic) + " identity=" + std::to_string(identity) +
                     " n=" + std::to_string(n) + " block=" + std::to_string(block));
        const tridiag::Operator op = test_operator(n, periodic, identity);
        const auto u = random_vector(static_cast<std::size_t>(n), 29);
        EXPECT_EQ(bits_of(step_global(world(), op, u, block, 3)), bits_of(step_global(self(), op, u, block, 3)));
        const tridiag::Blocks blocks(n, block);
        for (int q = 0; q < world().size(); ++q) {
          const RowPartition part(n, world().size(), q);
          const auto [lo, hi] = blocks.starting_in(part.first(), part.end());
          rank_without_blocks = rank_without_blocks || lo == hi;
          straddling_block = straddling_block || (hi > lo && blocks.end(hi - 1) > part.end());
        }
      }
  if (world().size() > 1) {
    EXPECT_TRUE(rank_without_blocks);
    EXPECT_TRUE(straddling_block);
  }
}

// The reduced solve and the neighbour exchange after it send at most two values per level and
// direction from each rank (those of its first and last index at that level) and two neighbour
// ends: 4 ceil(log2 N) + 2 doubles per step, whatever the number of blocks per rank.
TEST(Tridiagonal, ReducedSolveSendsAtMostFourValuesPerLevel) {
  const int ranks = world().size(), me = world().rank();
  for (const bool periodic : {false, true})
    for (const std::int64_t count : {1, 2, 3, 4, 5, 8, 9, 1000, 1025}) {
      SCOPED_TRACE("periodic=" + std::to_string(periodic) + " count=" + std::to_string(count));
      auto first = [&](int q) { return count * q / ranks; };
      const tridiag::ReducedSystem reduced(
          world(), count, periodic, first(me), first(me + 1),
          [&](std::int64_t k) {
            int q = 0;
            while (k >= first(q + 1)) ++q;
            return q;
          },
          [](std::int64_t) {
            return tridiag::Spikes{0.25, 0.125, -0.25, 0.375};
          });
      const int levels = static_cast<int>(std::ceil(std::log2(static_cast<double>(count))));
      EXPECT_EQ(reduced.levels(), levels);
      EXPECT_LE(reduced.values_sent_per_step(), static_cast<std::size_t>(4 * levels + 2));
      if (ranks == 1) {
        EXPECT_EQ(reduced.values_sent_per_step(), 0U);
      }
    }
}
