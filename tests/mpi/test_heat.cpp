// The heat solvers against closed forms, conservation laws and themselves on one process.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "heat_helpers.hpp"
#include "solvers/heat_explicit.hpp"

using namespace slab;
using slab::test::global_initial;
using slab::test::max_error_vs_exact;
using slab::test::self;
using slab::test::solve_global;
using slab::test::world;

namespace {

// A problem with exactly `steps` steps to t_end.
heat::Problem problem(std::int64_t nx, heat::Scheme scheme, heat::Boundary bc, double t_end, std::int64_t steps) {
  heat::Request q;
  q.nx = nx;
  q.scheme = scheme;
  q.bc = bc;
  q.t_end = t_end;
  q.dt = t_end / static_cast<double>(steps);
  const heat::Problem p = heat::resolve(q);
  EXPECT_EQ(p.steps, steps);
  return p;
}

const heat::Scheme all_schemes[] = {heat::Scheme::explicit_euler, heat::Scheme::implicit_euler,
                                    heat::Scheme::crank_nicolson};
const heat::Boundary all_bcs[] = {heat::Boundary::dirichlet, heat::Boundary::neumann, heat::Boundary::periodic};

}  // namespace

// 5 nodes, R = 0.25, Dirichlet 0 and 100, interior 0 (matten's example 36): one step moves a quarter
// of the jump into the last interior node; 300 steps reach the linear steady state 0, 25, 50, 75, 100.
TEST(Heat, ExplicitStepsToTheLinearSteadyStateBetweenDirichletEnds) {
  heat::Request q;
  q.nx = 5;
  q.length = 4.0;  // dx = 1
  q.diffusion_number = 0.25;
  q.left = 0;
  q.right = 100;
  q.steps = 1;
  heat::Problem p = heat::resolve(q);
  EXPECT_DOUBLE_EQ(p.diffusion_number(), 0.25);
  std::vector<double> u0(5, 0.0);
  u0[4] = 100;
  EXPECT_EQ(solve_global(world(), p, u0), (std::vector<double>{0, 0, 0, 25, 100}));
  q.steps = 300;
  p = heat::resolve(q);
  const auto u = solve_global(world(), p, u0);
  const double expected[] = {0, 25, 50, 75, 100};
  // The error is the slowest mode, decaying by lambda = 1 - 4 R sin^2(pi / 8) per step from an
  // amplitude below 100 (~1e-19 after 300 steps), plus rounding: a few ulp of 100 per step, damped by
  // the same lambda, so at most 4 eps 100 / (1 - lambda) in all.
  const double lambda = 1 - 4 * 0.25 * std::pow(std::sin(std::numbers::pi / 8), 2);
  const double tolerance =
      100 * std::pow(lambda, 300) + 4 * std::numeric_limits<double>::epsilon() * 100 / (1 - lambda);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(u[i], expected[i], tolerance) << "node " << i;
}

// The stencil is local, so the explicit scheme gives the same bits on any number of ranks —
// including ranks with no nodes (nx < ranks) and ranks with one node.
TEST(Heat, ExplicitIsBitwiseIdenticalToOneProcess) {
  for (const auto bc : all_bcs)
    for (const std::int64_t nx : {2, 3, 4, 5, 17, 100}) {
      SCOPED_TRACE(heat::to_string(bc) + " nx=" + std::to_string(nx));
      heat::Request q;
      q.nx = nx;
      q.bc = bc;
      q.steps = 50;
      q.left = 1.5;
      q.right = -0.5;
      const heat::Problem p = heat::resolve(q);
      const auto u0 = global_initial(p, heat::Init::gaussian);
      const auto distributed = solve_global(world(), p, u0);
      const auto alone = solve_global(self(), p, u0);
      EXPECT_EQ(distributed, alone);
    }
}

// Temporal blocking reorders the work, not the arithmetic: any number of steps per halo exchange
// gives the bits of one step at a time, at every snapshot — across tiles (nx = 3000 spans several),
// partial last blocks (37 steps), ranks with fewer nodes than the block, and every boundary.
TEST(Heat, TemporalBlockingIsBitwiseIdenticalToOneStepAtATime) {
  for (const auto bc : all_bcs)
    for (const std::int64_t nx : {2, 5, 17, 3000}) {
      heat::Request q;
      q.nx = nx;
      q.bc = bc;
      q.steps = 37;
      q.snapshots = 4;
      q.left = 1.5;
      q.right = -0.5;
      const heat::Problem p = heat::resolve(q);
      const RowPartition part(p.nx, world().size(), world().rank());
      const auto u0 = global_initial(p, heat::Init::gaussian);
      auto run = [&](std::int64_t block) {
        std::vector<double> u(u0.begin() + part.first(), u0.begin() + part.end()), seen;
        heat::Observer observer;
        observer.snapshot = [&](std::int64_t, std::int64_t, double, std::span<const double> v) {
          seen.insert(seen.end(), v.begin(), v.end());
        };
        (void)heat::solve_explicit(world(), p, u, observer, 0, block);
        seen.insert(seen.end(), u.begin(), u.end());
        return seen;
      };
      const auto one_step = run(1);
      for (const std::int64_t block : {0, 2, 3, 16, 5000}) {
        SCOPED_TRACE(heat::to_string(bc) + " nx=" + std::to_string(nx) + " block=" + std::to_string(block));
        EXPECT_EQ(run(block), one_step);
      }
    }
}

// The direct solver (the default) gives the bits of one process on any number of ranks; PETSc's
// KSP (GMRES + block Jacobi/ILU on several ranks, LU on one) agrees to 1e-12.
TEST(Heat, ImplicitSchemesMatchOneProcess) {
  for (const auto solver : {heat::Solver::direct, heat::Solver::petsc})
    for (const auto scheme : {heat::Scheme::implicit_euler, heat::Scheme::crank_nicolson})
      for (const auto bc : all_bcs)
        for (const std::int64_t nx : {2, 3, 5, 64}) {
          SCOPED_TRACE(heat::to_string(solver) + " " + heat::to_string(scheme) + " " + heat::to_string(bc) +
                       " nx=" + std::to_string(nx));
          heat::Problem p = problem(nx, scheme, bc, 0.01, 20);
          p.solver = solver;
          const auto u0 = global_initial(p, heat::Init::gaussian);
          const auto distributed = solve_global(world(), p, u0);
          const auto alone = solve_global(self(), p, u0);
          if (solver == heat::Solver::direct) {
            EXPECT_EQ(distributed, alone);
            continue;
          }
          const double scale = std::abs(*std::max_element(
              alone.begin(), alone.end(), [](double a, double b) { return std::abs(a) < std::abs(b); }));
          for (std::size_t i = 0; i < alone.size(); ++i) EXPECT_NEAR(distributed[i], alone[i], 1e-12 * scale) << i;
        }
}

// Error ratios between two resolutions give the observed order of each scheme.
TEST(Heat, ExplicitIsSecondOrderInSpace) {
  // R fixed at 1/4, so dt shrinks with dx^2 and the whole error is O(dx^2).
  double errors[2];
  for (int level = 0; level < 2; ++level) {
    heat::Request q;
    q.nx = level == 0 ? 21 : 41;
    q.t_end = 0.05;
    q.diffusion_number = 0.25;
    const heat::Problem p = heat::resolve(q);
    errors[level] = max_error_vs_exact(p, solve_global(world(), p, global_initial(p, heat::Init::sine)));
  }
  const double order = std::log2(errors[0] / errors[1]);
  EXPECT_NEAR(order, 2.0, 0.1) << errors[0] << " " << errors[1];
}

TEST(Heat, BackwardEulerIsFirstOrderInTime) {
  double errors[2];
  for (int level = 0; level < 2; ++level) {
    const heat::Problem p = problem(401, heat::Scheme::implicit_euler, heat::Boundary::dirichlet, 0.1, 10 << level);
    errors[level] = max_error_vs_exact(p, solve_global(world(), p, global_initial(p, heat::Init::sine)));
  }
  EXPECT_NEAR(std::log2(errors[0] / errors[1]), 1.0, 0.1) << errors[0] << " " << errors[1];
}

TEST(Heat, CrankNicolsonIsSecondOrderInTime) {
  double errors[2];
  for (int level = 0; level < 2; ++level) {
    const heat::Problem p = problem(401, heat::Scheme::crank_nicolson, heat::Boundary::dirichlet, 0.1, 10 << level);
    errors[level] = max_error_vs_exact(p, solve_global(world(), p, global_initial(p, heat::Init::sine)));
  }
  EXPECT_NEAR(std::log2(errors[0] / errors[1]), 2.0, 0.1) << errors[0] << " " << errors[1];
}

TEST(Heat, CrankNicolsonIsSecondOrderInSpace) {
  double errors[2];
  for (int level = 0; level < 2; ++level) {
    const heat::Problem p =
        problem(level == 0 ? 11 : 21, heat::Scheme::crank_nicolson, heat::Boundary::dirichlet, 0.1, 400);
    errors[level] = max_error_vs_exact(p, solve_global(world(), p, global_initial(p, heat::Init::sine)));
  }
  EXPECT_NEAR(std::log2(errors[0] / errors[1]), 2.0, 0.1) << errors[0] << " " << errors[1];
}

// With mirror ghosts, the trapezoid sum of u is exactly conserved by every scheme.
TEST(Heat, NeumannConservesTheIntegral) {
  for (const auto scheme : all_schemes) {
    SCOPED_TRACE(heat::to_string(scheme));
    heat::Problem p = problem(101, scheme, heat::Boundary::neumann, 0.02, 1000);
    const auto u0 = global_initial(p, heat::Init::step);
    const auto u = solve_global(world(), p, u0);
    auto trapezoid = [](const std::vector<double>& v) {
      return std::accumulate(v.begin(), v.end(), 0.0) - 0.5 * (v.front() + v.back());
    };
    EXPECT_NEAR(trapezoid(u), trapezoid(u0), 1e-12 * trapezoid(u0));
    EXPECT_LT(*std::max_element(u.begin(), u.end()), 0.99) << "the step must have diffused";
  }
}

TEST(Heat, PeriodicConservesTheSumAndDecaysLikeTheExactMode) {
  for (const auto scheme : all_schemes) {
    SCOPED_TRACE(heat::to_string(scheme));
    heat::Problem p = problem(64, scheme, heat::Boundary::periodic, 0.01, 400);
    const auto u0 = global_initial(p, heat::Init::gaussian);
    const auto u = solve_global(world(), p, u0);
    const double before = std::accumulate(u0.begin(), u0.end(), 0.0);
    EXPECT_NEAR(std::accumulate(u.begin(), u.end(), 0.0), before, 1e-12 * before);
    const auto s0 = global_initial(p, heat::Init::sine);
    // sin(2 pi x / L): error O(dx^2) ~ (2 pi / 64)^2 / 12 relative.
    EXPECT_LT(max_error_vs_exact(p, solve_global(world(), p, s0)), 1e-3);
  }
}

// Periodic problems are translation invariant: shifting the start shifts the result, exactly for
// the explicit scheme.
TEST(Heat, PeriodicSolutionOfAShiftedStartIsTheShiftedSolution) {
  heat::Problem p = problem(40, heat::Scheme::explicit_euler, heat::Boundary::periodic, 0.001, 100);
  const auto u0 = global_initial(p, heat::Init::gaussian);
  const std::size_t shift = 7;
  std::vector<double> shifted(u0.size());
  for (std::size_t i = 0; i < u0.size(); ++i) shifted[(i + shift) % u0.size()] = u0[i];
  const auto u = solve_global(world(), p, u0);
  const auto v = solve_global(world(), p, shifted);
  for (std::size_t i = 0; i < u.size(); ++i) EXPECT_EQ(v[(i + shift) % u.size()], u[i]) << i;
}

TEST(Heat, SnapshotsAreTakenAtTheScheduledStepsAndTimes) {
  heat::Request q;
  q.nx = 11;  // dx = 0.1: R = 0.4 gives dt = 0.004, so 26 steps to t = 0.104
  q.t_end = 0.104;
  q.snapshots = 5;
  const heat::Problem p = heat::resolve(q);
  ASSERT_EQ(p.steps, 26);
  EXPECT_DOUBLE_EQ(p.time_at(p.steps), 0.104);
  std::vector<std::int64_t> steps;
  std::vector<double> times;
  heat::Observer observer;
  observer.snapshot = [&](std::int64_t k, std::int64_t step, double t, std::span<const double>) {
    EXPECT_EQ(k, static_cast<std::int64_t>(steps.size()));
    steps.push_back(step);
    times.push_back(t);
  };
  (void)solve_global(world(), p, global_initial(p, heat::Init::sine), observer);
  // k * 26 / 4 rounded, halves up: 0, 6.5, 13, 19.5, 26.
  EXPECT_EQ(steps, (std::vector<std::int64_t>{0, 7, 13, 20, 26}));
  EXPECT_EQ(times.back(), 0.104);
}

TEST(Heat, ResolveRefusesUnstableOrInvalidParameters) {
  heat::Request q;
  q.diffusion_number = 0.6;
  q.steps = 10;
  try {
    (void)heat::resolve(q);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("R = alpha*dt/dx^2 = 0.6"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("crank-nicolson"), std::string::npos) << e.what();
  }
  q.scheme = heat::Scheme::crank_nicolson;
  EXPECT_NO_THROW((void)heat::resolve(q));
  heat::Request bad;
  bad.nx = 1;
  EXPECT_THROW((void)heat::resolve(bad), InputError);
  bad = {};
  bad.alpha = -1;
  EXPECT_THROW((void)heat::resolve(bad), InputError);
  bad = {};
  bad.dt = std::nan("");
  EXPECT_THROW((void)heat::resolve(bad), InputError);
  bad = {};
  bad.snapshots = 0;
  EXPECT_THROW((void)heat::resolve(bad), InputError);
}

TEST(Heat, TEndIsReachedExactlyWithTheFewestStableSteps) {
  heat::Request q;
  q.nx = 101;
  q.t_end = 0.0123;
  const heat::Problem p = heat::resolve(q);
  EXPECT_LE(p.diffusion_number(), 0.4 * (1 + 1e-12));
  EXPECT_GT(p.alpha * (p.t_end / static_cast<double>(p.steps - 1)) / (p.dx * p.dx), 0.4);
  EXPECT_DOUBLE_EQ(static_cast<double>(p.steps) * p.dt, 0.0123);
}
