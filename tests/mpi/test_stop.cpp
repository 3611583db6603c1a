// Stopping early (src/core/stop.hpp): every rank agrees on the same step boundary, whichever rank had a
// reason, and a solve resumed from there gives the bits of one that never stopped. The reason here
// is a time limit already passed on one rank only; signals reach the same agreement through the
// same reduction (tests/python/test_stop.py sends real ones).
#include <gtest/gtest.h>

#include <vector>

#include "comms.hpp"
#include "core/stop.hpp"
#include "heat_helpers.hpp"
#include "solvers/regression.hpp"
#include "solvers/synthetic.hpp"

using namespace slab;
using slab::test::world;

namespace {

// A time limit that has passed, on the last rank only, for the life of this object.
class LimitOnLastRank {
 public:
  LimitOnLastRank() {
    if (world().rank() == world().size() - 1) stop::set_time_limit(1e-9);
  }
  ~LimitOnLastRank() { stop::set_time_limit(0); }
};

}  // namespace

TEST(Stop, EveryRankStopsAtTheSameBoundary) {
  std::int64_t stopped_at = -1;
  {
    const LimitOnLastRank limit;
    stop::Poll poll(world());
    for (std::int64_t boundary = 0; boundary < 10; ++boundary)
      if (const int reason = poll.poll()) {
        EXPECT_EQ(reason, stop::time_limit);
        stopped_at = boundary;
        break;
      }
  }
  // The first boundary always goes on; the reason sent there is agreed at the next one.
  EXPECT_EQ(stopped_at, 1);
  EXPECT_EQ(world().allreduce_max(stopped_at), stopped_at);
  stop::Poll nothing(world());
  for (int boundary = 0; boundary < 5; ++boundary) EXPECT_EQ(nothing.poll(), 0);
}

TEST(Stop, EveryHeatSchemeResumesToTheBitsOfARunThatNeverStopped) {
  for (const auto scheme : {heat::Scheme::explicit_euler, heat::Scheme::implicit_euler, heat::Scheme::crank_nicolson}) {
    heat::Request request;
    request.nx = 301;
    request.steps = 200;
    request.diffusion_number = 0.4;
    request.scheme = scheme;
    const heat::Problem p = heat::resolve(request);
    const std::vector<double> u0 = test::global_initial(p, heat::Init::gaussian);
    const std::vector<double> whole = test::solve_global(world(), p, u0);

    const RowPartition part(p.nx, world().size(), world().rank());
    std::vector<double> u(u0.begin() + part.first(), u0.begin() + part.end());
    heat::Timing timing;
    {
      const LimitOnLastRank limit;
      timing = heat::solve(world(), p, u, {});
    }
    EXPECT_EQ(timing.stopped_by, stop::time_limit) << heat::to_string(scheme);
    EXPECT_GT(timing.stopped_at, 0);
    EXPECT_LT(timing.stopped_at, p.steps);
    EXPECT_EQ(world().allreduce_max(timing.stopped_at), timing.stopped_at);
    const heat::Timing rest = heat::solve(world(), p, u, {}, timing.stopped_at);
    EXPECT_EQ(rest.stopped_by, 0);
    std::vector<double> resumed(static_cast<std::size_t>(p.nx));
    gather_rows(world(), part, 1, u.data(), resumed.data(), 0);
    world().broadcast(resumed);
    EXPECT_EQ(resumed, whole) << heat::to_string(scheme);
  }
}

TEST(Stop, GradientDescentResumesToTheBitsOfARunThatNeverStopped) {
  DistTensor X(world(), {500, 4}), y(world(), {500});
  regression::generate(5, 0.1, regression::true_model(5, 4), X, y);
  regression::GdOptions options;
  options.iters = 60;
  options.tol = 0;
  const auto whole = regression::gradient_descent(world(), X, y, options);
  regression::Fit stopped;
  {
    const LimitOnLastRank limit;
    stopped = regression::gradient_descent(world(), X, y, options);
  }
  EXPECT_EQ(stopped.stopped_by, stop::time_limit);
  EXPECT_EQ(stopped.iterations, 1);
  stopped.stopped_by = 0;
  const auto resumed = regression::gradient_descent(world(), X, y, options, &stopped);
  EXPECT_EQ(resumed.stopped_by, 0);
  EXPECT_EQ(resumed.w, whole.w);
  EXPECT_EQ(resumed.b, whole.b);
  EXPECT_EQ(resumed.loss, whole.loss);
  EXPECT_EQ(resumed.iterations, whole.iterations);
}
