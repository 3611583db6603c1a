// The 1D heat equation u_t = alpha u_xx on [0, L], on a grid of nx nodes split over the ranks by
// RowPartition. Three schemes: explicit FTCS with a one-node halo exchanged each step, and
// backward Euler and Crank-Nicolson by slab's direct tridiagonal solver (heat_direct.hpp) or
// PETSc (heat_implicit.hpp). Solvers know nothing of files:
// they hand each snapshot to an observer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/mpi.hpp"
#include "core/names.hpp"
#include "core/partition.hpp"

namespace slab::heat {

enum class Scheme { explicit_euler, implicit_euler, crank_nicolson };
enum class Boundary { dirichlet, neumann, periodic };
// How the implicit schemes solve their tridiagonal systems: slab's own direct solver (the same bits
// on any number of ranks) or PETSc's KSP (any --petsc option).
enum class Solver { direct, petsc };

inline constexpr NameTable<Scheme, 3> scheme_names{{{Scheme::explicit_euler, "explicit"},
                                                    {Scheme::implicit_euler, "implicit"},
                                                    {Scheme::crank_nicolson, "crank-nicolson"}}};
inline constexpr NameTable<Boundary, 3> boundary_names{
    {{Boundary::dirichlet, "dirichlet"}, {Boundary::neumann, "neumann"}, {Boundary::periodic, "periodic"}}};

[[nodiscard]] inline std::string to_string(Scheme s) { return name_of(scheme_names, s); }
[[nodiscard]] inline std::string to_string(Boundary b) { return name_of(boundary_names, b); }

inline constexpr NameTable<Solver, 2> solver_names{{{Solver::direct, "direct"}, {Solver::petsc, "petsc"}}};
[[nodiscard]] inline std::string to_string(Solver s) { return name_of(solver_names, s); }

// What the user asked for. Time stepping is resolved from it by resolve().
struct Request {
  std::int64_t nx = 1001;
  double length = 1.0;
  double alpha = 1.0;
  std::optional<double> t_end;  // default 0.01 when steps is not given
  std::optional<std::int64_t> steps;
  std::optional<double> dt;
  // The diffusion number R = alpha dt / dx^2 (the stability number of the explicit scheme, which
  // the user gives as --cfl and files record as the attribute "cfl"): with t_end, an upper bound
  // for R; default 0.4. slab's code calls it diffusion_number everywhere.
  std::optional<double> diffusion_number;
  Scheme scheme = Scheme::explicit_euler;
  Boundary bc = Boundary::dirichlet;
  double left = 0.0;
  double right = 0.0;
  std::int64_t snapshots = 11;
  Solver solver = Solver::direct;
};

// Implicit schemes need R below 2^52: beyond it 1 + 2R rounds to 2R, and the system a solver would
// factor is no longer I - theta R L (a Neumann grid's becomes singular).
inline constexpr double max_implicit_diffusion_number = 4503599627370496.0;

// A fully resolved problem: every number a run needs.
struct Problem {
  std::int64_t nx;
  double length, alpha;
  double dx, dt, t_end;
  std::int64_t steps;
  Scheme scheme;
  Boundary bc;
  double left, right;
  std::int64_t snapshots;
  Solver solver = Solver::direct;

  // R = alpha dt / dx^2, see Request::diffusion_number.
  [[nodiscard]] double diffusion_number() const noexcept { return alpha * dt / (dx * dx); }
  // x_i = i dx; dx = L/(nx-1) with both ends on the grid, or L/nx for periodic (x = L is x = 0).
  [[nodiscard]] double x(std::int64_t i) const noexcept { return static_cast<double>(i) * dx; }
  // The step after which snapshot k (0 <= k < snapshots) is taken: round(k S / (K - 1)); the
  // only snapshot of K = 1 is the final state.
  [[nodiscard]] std::int64_t snapshot_step(std::int64_t k) const noexcept;
  // The simulated time after `step` steps; exactly t_end after the last.
  [[nodiscard]] double time_at(std::int64_t step) const noexcept;
};

// Validates and resolves. With t_end, dt = t_end / steps with steps the smallest count that keeps
// R within --cfl (or dt within --dt); with --steps, dt comes from --dt or --cfl. Snapshots are
// clamped to steps + 1 (every step once): more would repeat times. Throws InputError
// naming the option for anything invalid, including an unstable explicit R > 1/2.
[[nodiscard]] Problem resolve(const Request& request);

enum class Init { sine, gaussian, step };
inline constexpr NameTable<Init, 3> init_names{
    {{Init::sine, "sine"}, {Init::gaussian, "gaussian"}, {Init::step, "step"}}};
[[nodiscard]] inline std::string to_string(Init i) { return name_of(init_names, i); }
// The initial condition at this rank's nodes: sine = sin(mode pi x / L) (periodic: sin(2 mode pi
// x / L)), gaussian = exp(-((x - L/2) / (L/20))^2), step = 1 on the middle half.
[[nodiscard]] std::vector<double> initial(const Problem& p, const RowPartition& part, Init init, int mode);
// Dirichlet values override the boundary nodes of any initial condition.
void apply_boundary_values(const Problem& p, const RowPartition& part, std::span<double> u);
// The exact solution for the sine initial condition, where one exists (Dirichlet 0/0 or periodic).
[[nodiscard]] std::optional<double> exact_sine(const Problem& p, int mode, double x, double t);

struct Observer {
  // Called on every rank at each snapshot with this rank's nodes.
  std::function<void(std::int64_t k, std::int64_t step, double t, std::span<const double> u)> snapshot;
  // Called on every rank every few steps (about 1 % of the run).
  std::function<void(std::int64_t step, double t)> progress;
  // Called on every rank after every `checkpoint_every` steps (not after the last) with this
  // rank's nodes; 0 disables it.
  std::int64_t checkpoint_every = 0;
  std::function<void(std::int64_t step, std::span<const double> u)> checkpoint;
};

struct Timing {
  double compute = 0;           // seconds in the update or the solve
  double communication = 0;     // seconds waiting for halos (explicit)
  double observe = 0;           // seconds in the observer (output)
  int stopped_by = 0;           // 0: ran to the end; else why it stopped early (stop::describe)
  std::int64_t stopped_at = 0;  // the step u holds when stopped_by != 0
};

// Advances u (this rank's nodes, in and out) from step `first_step` to p.steps, calling the
// observer at every snapshot after first_step (and at step 0 when starting there). Collective. Throws RuntimeFailure on
// every rank if a value becomes NaN or infinite (checked at each snapshot). Stops early, with u at
// a step boundary, when every rank agrees to (a signal or a time limit, src/core/stop.hpp).
Timing solve(const mpi::Comm& comm, const Problem& p, std::vector<double>& u, const Observer& observer,
             std::int64_t first_step = 0);

}  // namespace slab::heat
