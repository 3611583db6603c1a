#include "solvers/heat.hpp"

#include <cmath>
#include <numbers>

#include "core/text.hpp"
#include "solvers/heat_direct.hpp"
#include "solvers/heat_explicit.hpp"
#include "solvers/heat_implicit.hpp"

namespace slab::heat {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

bool positive(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

std::int64_t Problem::snapshot_step(std::int64_t k) const noexcept {
  if (snapshots <= 1) return steps;
  // round(k * steps / (K - 1)), halves up, in integers.
  const std::int64_t den = snapshots - 1;
  __extension__ using wide = __int128;  // 2 k steps overflows 64 bits for long runs
  return static_cast<std::int64_t>((2 * static_cast<wide>(k) * steps + den) / (2 * static_cast<wide>(den)));
}

double Problem::time_at(std::int64_t step) const noexcept {
  return step == steps ? t_end : static_cast<double>(step) * dt;
}

namespace {

// Every value of the request alone, before anything is derived from it.
void check_request(const Request& q) {
  require(q.nx >= 2, "--nx must be at least 2, got " + std::to_string(q.nx));
  require(positive(q.length), "--length must be a positive number");
  require(positive(q.alpha), "--alpha must be a positive number");
  require(q.snapshots >= 1, "--snapshots must be at least 1, got " + std::to_string(q.snapshots));
  require(!q.dt || positive(*q.dt), "--dt must be a positive number");
  require(!q.diffusion_number || positive(*q.diffusion_number), "--cfl must be a positive number");
  require(!(q.dt && q.diffusion_number), "give --dt or --cfl, not both");
  require(!(q.t_end && q.steps), "give --t-end or --steps, not both");
  require(!q.t_end || positive(*q.t_end), "--t-end must be a positive number");
  require(!q.steps || *q.steps >= 1, "--steps must be at least 1");
  require(!q.steps || *q.steps < 9'000'000'000'000'000, "--steps must be below 9e15 (2^53: exact times)");
  require(std::isfinite(q.left) && std::isfinite(q.right), "--left and --right must be finite");
}

// dt, the step count and t_end from --dt or --cfl and --t-end or --steps, on the grid of p.
void resolve_time_steps(const Request& q, Problem& p) {
  const double diffusion_number = q.diffusion_number.value_or(0.4);
  const double dt_limit = q.dt ? *q.dt : diffusion_number * p.dx * p.dx / q.alpha;
  // dt from --cfl: R dx^2 / alpha must be a positive double too.
  require(q.dt || (std::isnormal(dt_limit) && dt_limit > 0),
          "the time step R dx^2 / alpha = " + format_number(diffusion_number) + " * " + format_number(p.dx) + "^2 / " +
              format_number(q.alpha) + " from --cfl, --length/--nx and --alpha is " + format_number(dt_limit) +
              ", not a positive normal double (1e-308 to 1e308); choose an --alpha nearer 1 (or give --dt)");
  if (q.steps) {
    p.steps = *q.steps;
    p.dt = dt_limit;
    p.t_end = static_cast<double>(p.steps) * p.dt;
  } else {
    p.t_end = q.t_end.value_or(0.01);
    const double count = std::ceil(p.t_end / dt_limit * (1 - 1e-12));
    require(count < 9.0e15, "--t-end " + format_number(p.t_end) + " with dt <= " + format_number(dt_limit) + " needs " +
                                format_number(count, 3) + " steps, more than 9e15");
    p.steps = std::max<std::int64_t>(1, static_cast<std::int64_t>(count));
    p.dt = p.t_end / static_cast<double>(p.steps);
  }
  require(std::isfinite(p.dt) && p.dt > 0, "the time step dt = " + format_number(p.dt) +
                                               (q.steps ? " (with --steps)" : " (--t-end over the steps)") +
                                               " is not a positive double");
}

// The scheme's limit on R = alpha dt / dx^2.
void check_stability(const Problem& p) {
  if (p.scheme == Scheme::explicit_euler && p.diffusion_number() > 0.5)
    throw InputError("explicit scheme is unstable: R = alpha*dt/dx^2 = " + format_number(p.diffusion_number()) +
                     " > 1/2; use --scheme crank-nicolson or a smaller --dt/--cfl");
  if (p.scheme != Scheme::explicit_euler && !(p.diffusion_number() < max_implicit_diffusion_number)) {
    throw InputError("R = alpha*dt/dx^2 = " + format_number(p.diffusion_number()) +
                     " is beyond double precision for an implicit scheme: it must stay below 2^52 = 4.5e15, where "
                     "1 + 2R still differs from 2R; use a smaller --dt/--cfl");
  }
}

}  // namespace

Problem resolve(const Request& q) {
  check_request(q);
  Problem p{};
  p.nx = q.nx;
  p.length = q.length;
  p.alpha = q.alpha;
  p.scheme = q.scheme;
  p.bc = q.bc;
  p.left = q.left;
  p.right = q.right;
  p.snapshots = q.snapshots;
  p.solver = q.solver;
  p.dx = q.bc == Boundary::periodic ? q.length / static_cast<double>(q.nx) : q.length / static_cast<double>(q.nx - 1);
  // R = alpha dt / dx^2 needs dx^2 as a normal double.
  require(std::isnormal(p.dx * p.dx),
          "--length " + format_number(q.length) + " on --nx " + std::to_string(q.nx) +
              " nodes gives dx = " + format_number(p.dx) + ", whose square (in R = alpha dt / dx^2) is " +
              (std::isinf(p.dx * p.dx) ? "beyond" : "below") +
              " the range of double precision (1e-308 to 1e308); choose a --length for which dx = length / (nx - 1) "
              "lies between 1e-150 and 1e150");
  resolve_time_steps(q, p);
  // There are steps + 1 distinct times: more snapshots would repeat times, so they are clamped.
  p.snapshots = std::min(p.snapshots, p.steps + 1);
  check_stability(p);
  return p;
}

std::vector<double> initial(const Problem& p, const RowPartition& part, Init init, int mode) {
  std::vector<double> u(static_cast<std::size_t>(part.count()));
  const double pi = std::numbers::pi;
  const double wave = (p.bc == Boundary::periodic ? 2.0 : 1.0) * mode * pi / p.length;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double x = p.x(part.first() + static_cast<std::int64_t>(i));
    switch (init) {
      case Init::sine:
        u[i] = std::sin(wave * x);
        break;
      case Init::gaussian: {
        const double z = (x - p.length / 2) / (p.length / 20);
        u[i] = std::exp(-z * z);
        break;
      }
      case Init::step:
        u[i] = (x >= p.length / 4 && x <= 3 * p.length / 4) ? 1.0 : 0.0;
        break;
    }
  }
  apply_boundary_values(p, part, u);
  return u;
}

void apply_boundary_values(const Problem& p, const RowPartition& part, std::span<double> u) {
  if (p.bc != Boundary::dirichlet || u.empty()) return;
  if (part.first() == 0) u.front() = p.left;
  if (part.end() == p.nx) u.back() = p.right;
}

std::optional<double> exact_sine(const Problem& p, int mode, double x, double t) {
  const double pi = std::numbers::pi;
  if (p.bc == Boundary::dirichlet && p.left == 0 && p.right == 0) {
    const double k = mode * pi / p.length;
    return std::exp(-p.alpha * k * k * t) * std::sin(k * x);
  }
  if (p.bc == Boundary::periodic) {
    const double k = 2 * mode * pi / p.length;
    return std::exp(-p.alpha * k * k * t) * std::sin(k * x);
  }
  return std::nullopt;
}

Timing solve(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
             std::int64_t first_step) {
  if (p.scheme == Scheme::explicit_euler) return solve_explicit(comm, p, u, observer, first_step);
  if (p.solver == Solver::direct) return solve_direct(comm, p, u, observer, first_step);
  // PETSc fails a collective call (KSPSetUp with a factorisation it lacks, KSPSolve with a
  // preconditioner that does not fit) on every rank alike: agree on it instead of aborting.
  Timing timing;
  mpi::collectively(comm, [&] { timing = solve_implicit(comm, p, u, observer, first_step); });
  return timing;
}

}  // namespace slab::heat
