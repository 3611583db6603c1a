// slab heat: plan, set the initial condition, stream snapshots into the output, report.
#include "app/run_heat.hpp"

#include <chrono>
#include <cmath>

#include "app/plan.hpp"
#include "app/run.hpp"
#include "app/stopping.hpp"
#include "core/stop.hpp"
#include "io/h5_reader.hpp"

namespace slab::app {
namespace {

using clock = std::chrono::steady_clock;

// "--init FILE.h5:/dataset" splits at the last ':' that starts a dataset path.
std::pair<std::string, std::string> split_init_file(const std::string& init) {
  const auto colon = init.rfind(":/");
  if (colon == std::string::npos)
    throw InputError("--init must be sine, gaussian, step or FILE.h5:/dataset, got '" + init + "'");
  return {init.substr(0, colon), init.substr(colon + 1)};
}

bool built_in_init(const std::string& init) { return init == "sine" || init == "gaussian" || init == "step"; }

io::Block row_block(std::uint64_t index, const RowPartition& part, const double* local) {
  const auto count = static_cast<std::uint64_t>(part.count());
  if (count == 0) return io::Block::none(2);
  return io::Block{{index, static_cast<std::uint64_t>(part.first())}, {1, count}, local};
}

// The units of length and time a run's numbers are in, as UDUNITS and pint spell them.
struct HeatUnits {
  std::string length, time, diffusivity;
};
HeatUnits heat_units(UnitSystem system) {
  if (system == UnitSystem::si) return {"m", "s", "m^2/s"};
  return {"1", "1", "1"};  // a non-dimensional problem
}

io::Block node_block(const RowPartition& part, const double* local) {
  const auto count = static_cast<std::uint64_t>(part.count());
  if (count == 0) return io::Block::none(1);
  return io::Block{{static_cast<std::uint64_t>(part.first())}, {count}, local};
}

}  // namespace

HeatPlan plan_heat(const mpi::Comm& comm, const Config& config) {
  const HeatConfig& cfg = config.heat;
  HeatPlan plan{};
  mpi::collectively(comm, [&] {
    plan.problem = heat::resolve(cfg.request);
    if (cfg.compress > 0 && !cfg.extendible) throw InputError("--compress needs --layout extendible");
    const heat::Problem& p = plan.problem;
    if (!config.petsc_options.empty() && p.scheme != heat::Scheme::explicit_euler && p.solver == heat::Solver::direct)
      throw InputError("--petsc options apply to --solver petsc; the direct solver takes none");
    if (cfg.init == "sine" && cfg.mode < 1) throw InputError("--mode must be at least 1");
    if (!built_in_init(cfg.init)) (void)split_init_file(cfg.init);
  });
  // Before anything is allocated: the memory per rank and the bytes of every file (src/app/plan.hpp).
  (void)apply_plan(comm, config, resource_plan_heat(config, plan.problem, comm.size()));
  const auto nx = static_cast<std::uint64_t>(plan.problem.nx);
  const auto k = static_cast<std::uint64_t>(plan.problem.snapshots);
  const std::uint64_t bytes = io::expected_size({k + 1, nx}) + io::expected_size({k}) + (64 << 10);
  plan.output = {config.output.out, config.output.io, config.output.overwrite, bytes, {}, config.output.access};
  plan.claim = io::check_output(comm, plan.output);  // held to the end: one run per --out
  // The margin a time limit keeps (src/stop.hpp) until a checkpoint is measured: the state and every
  // snapshot at a conservative 100 MB/s.
  stop::note_checkpoint(static_cast<double>(io::expected_size({k + 1, nx})) / 100e6);
  plan.checkpoints = std::make_shared<Checkpoints>(comm, config.output, /*stoppable=*/true);
  plan.checkpoint = plan.checkpoints->path();
  // An --init file is hashed only when a checkpoint will be written or read; a stop by a signal
  // hashes it then (see run_heat), after the file has been read as input.
  const bool checkpointing = config.output.checkpoint_every > 0 || !config.output.restart.empty();
  plan.fingerprint = heat_parameters(comm, plan.problem, cfg, config.petsc_options, checkpointing);
  return plan;
}

std::string describe(const HeatPlan& plan, const HeatConfig& cfg, int ranks) {
  const heat::Problem& p = plan.problem;
  return "slab heat: nx=" + std::to_string(p.nx) + " L=" + format_number(p.length) +
         " alpha=" + format_number(p.alpha) + " dx=" + format_number(p.dx) + " dt=" + format_number(p.dt) +
         " steps=" + std::to_string(p.steps) + " t_end=" + format_number(p.t_end) +
         " R=" + format_number(p.diffusion_number()) + " scheme=" + heat::to_string(p.scheme) +
         " bc=" + heat::to_string(p.bc) + " init=" + cfg.init + " snapshots=" + std::to_string(p.snapshots) +
         " ranks=" + std::to_string(ranks) + " -> " + io::output_target(plan.output.path);
}

std::vector<double> initial_condition(const mpi::Comm& comm, const heat::Problem& p, const HeatConfig& cfg,
                                      const RowPartition& part, const io::FileAccess& access) {
  if (cfg.init == "sine") return heat::initial(p, part, heat::Init::sine, cfg.mode);
  if (cfg.init == "gaussian") return heat::initial(p, part, heat::Init::gaussian, cfg.mode);
  if (cfg.init == "step") return heat::initial(p, part, heat::Init::step, cfg.mode);
  const auto [file, dataset] = split_init_file(cfg.init);
  const DistTensor u0 = io::read_rows(comm, file, dataset, {1, static_cast<std::size_t>(p.nx), 1}, "--init", access);
  std::vector<double> u = u0.local().to_vec();
  mpi::collectively(comm, [&] {
    for (const double v : u)
      if (!std::isfinite(v)) throw InputError("--init " + cfg.init + " holds NaN or infinite values");
  });
  heat::apply_boundary_values(p, part, u);
  return u;
}

HeatRecord::HeatRecord(const mpi::Comm& comm, io::Sink& sink, const HeatPlan& plan, const HeatConfig& cfg)
    : comm_(comm), sink_(sink), plan_(plan), cfg_(cfg), part_(plan.problem.nx, comm.size(), comm.rank()) {
  const auto started = clock::now();
  const auto nx = static_cast<std::uint64_t>(plan.problem.nx);
  const auto k = static_cast<std::uint64_t>(plan.problem.snapshots);
  // netCDF dimensions t and x, with x and t their coordinate variables; t grows with u.
  sink_.create({"heat/x", {nx}, false, 0, {"x"}});
  sink_.create({"heat/t", {cfg.extendible ? 0 : k}, cfg.extendible, 0, {"t"}, k});
  sink_.create({"heat/u", {cfg.extendible ? 0 : k, nx}, cfg.extendible, cfg.compress, {"t", "x"}, k});
  x_.resize(static_cast<std::size_t>(part_.count()));
  for (std::size_t i = 0; i < x_.size(); ++i) x_[i] = plan.problem.x(part_.first() + static_cast<std::int64_t>(i));
  sink_.write("heat/x", node_block(part_, x_.data()));
  io_seconds_ += seconds_since(started);
}

void HeatRecord::write_row(std::uint64_t index, const double* local) {
  sink_.write("heat/u", row_block(index, part_, local));
}

void HeatRecord::snapshot(std::int64_t index, double t, std::span<const double> local) {
  const auto started = clock::now();
  write_row(static_cast<std::uint64_t>(index), local.data());
  times_.push_back(t);
  io_seconds_ += seconds_since(started);
  const heat::Problem& p = plan_.problem;
  if (cfg_.init != "sine" || index != p.snapshots - 1 || !heat::exact_sine(p, cfg_.mode, 0.0, t)) return;
  double local_max = 0;
  for (std::size_t i = 0; i < local.size(); ++i)
    local_max = std::max(local_max, std::abs(local[i] - *heat::exact_sine(p, cfg_.mode, x_[i], t)));
  max_error_ = comm_.allreduce_max(local_max);
}

void HeatRecord::checkpoint(std::int64_t step, std::span<const double> u, const Fingerprint* parameters) const {
  write_heat_checkpoint(comm_, *plan_.checkpoints, parameters ? *parameters : plan_.fingerprint, plan_.problem, step, u,
                        times_, sink_);
}

std::int64_t HeatRecord::restore(const std::string& from, std::vector<double>& u) {
  HeatResume resume = resume_heat(comm_, from, plan_.problem, plan_.fingerprint, sink_, plan_.output.access);
  u = std::move(resume.u);
  times_ = std::move(resume.times);
  return resume.step;
}

void HeatRecord::finish(const io::Attributes& parameters, const io::Attributes& run_record) {
  const auto started = clock::now();
  const auto k = static_cast<std::uint64_t>(plan_.problem.snapshots);
  sink_.write("heat/t", comm_.is_root() ? io::Block{{0}, {k}, times_.data()} : io::Block::none(1));
  sink_.annotate("heat", parameters);
  // Names and units of the variables (netCDF/CF attributes long_name and units).
  const HeatUnits units = heat_units(cfg_.units);
  sink_.annotate("heat/x", {{"long_name", std::string("position")},
                            {"units", units.length},
                            {"description", std::string("node positions x_i")}});
  sink_.annotate(
      "heat/t",
      {{"long_name", std::string("time")}, {"units", units.time}, {"description", std::string("snapshot times t_k")}});
  sink_.annotate("heat/u", {{"long_name", std::string("solution u of u_t = alpha u_xx")},
                            {"units", cfg_.u_units},
                            {"description", std::string("u[k, i] = u(x_i, t_k)")}});
  // Provenance apart from the parameters: two runs of the same problem differ only there.
  sink_.annotate("provenance", run_record);
  io_seconds_ += seconds_since(started);
}

heat::Observer observe(HeatRecord& record, Reporter& report, const HeatPlan& plan, std::int64_t checkpoint_every) {
  heat::Observer observer;
  observer.snapshot = [&record](std::int64_t index, std::int64_t, double t, std::span<const double> local) {
    record.snapshot(index, t, local);
  };
  observer.checkpoint_every = checkpoint_every;
  observer.checkpoint = [&record](std::int64_t step, std::span<const double> u) { record.checkpoint(step, u); };
  observer.progress = [&report, steps = plan.problem.steps](std::int64_t step, double t) {
    report.progress(step, steps, t);
  };
  return observer;
}

io::Attributes heat_attributes(const heat::Problem& p, const HeatConfig& cfg) {
  const HeatUnits units = heat_units(cfg.units);
  return {{"alpha", p.alpha},
          {"length", p.length},
          {"nx", p.nx},
          {"dx", p.dx},
          {"dt", p.dt},
          {"steps", p.steps},
          {"t_end", p.t_end},
          {"cfl", p.diffusion_number()},
          {"scheme", heat::to_string(p.scheme)},
          {"bc", heat::to_string(p.bc)},
          {"solver", heat::to_string(p.solver)},
          {"left", p.left},
          {"right", p.right},
          {"init", cfg.init},
          {"mode", std::int64_t{cfg.mode}},
          {"snapshots", p.snapshots},
          {"layout", io::to_string(cfg.extendible ? io::Layout::extendible : io::Layout::contiguous)},
          {"compress", std::int64_t{cfg.compress}},
          {"unit_system", name_of(unit_system_names, cfg.units)},
          {"length_units", units.length},  // of length, dx and x
          {"time_units", units.time},      // of dt, t_end and t
          {"alpha_units", units.diffusivity}};
}

std::string heat_summary(const heat::Problem& p, int ranks, const PhaseTimes& times, const heat::Timing& timing,
                         double max_error, const std::string& target) {
  const double updates = static_cast<double>(p.nx) * static_cast<double>(p.steps);
  return "slab heat: " + std::to_string(p.steps) + " steps of " + std::to_string(p.nx) + " nodes on " +
         std::to_string(ranks) + " ranks in " + format_number(times.total) + " s (solve " + format_number(times.solve) +
         " s: compute " + format_number(timing.compute) + " s, halo exchange " + format_number(timing.communication) +
         " s; I/O " + format_number(times.io) + " s), " + format_number(updates / times.solve) + " cell updates/s" +
         (max_error >= 0 ? ", max error vs exact " + format_number(max_error) : "") + "; wrote " + target;
}

void run_heat(const mpi::Comm& comm, const Config& config) {
  const auto started = clock::now();
  const HeatConfig& cfg = config.heat;
  const HeatPlan plan = plan_heat(comm, config);
  if (config.print_plan) return;  // --plan: plan_heat printed the plan
  Reporter report(comm.is_root() && !config.quiet, "step");
  report.line(describe(plan, cfg, comm.size()));

  const RowPartition part(plan.problem.nx, comm.size(), comm.rank());
  std::vector<double> u;
  // A failure on one rank (an allocation) becomes the same error on every rank.
  mpi::collectively(comm, [&] { u = initial_condition(comm, plan.problem, cfg, part, config.output.access); });
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "init"); });

  io::Output output(comm, plan.output);
  HeatRecord record(comm, output.sink(), plan, cfg);
  std::int64_t first_step = 0;
  if (!config.output.restart.empty()) {
    first_step = record.restore(config.output.restart, u);
    report.line("slab heat: restarted from " + config.output.restart + " at step " + std::to_string(first_step));
  }

  const auto solve_start = clock::now();
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "solve"); });
  const heat::Timing timing =
      heat::solve(comm, plan.problem, u, observe(record, report, plan, config.output.checkpoint_every), first_step);
  PhaseTimes times{.compute = timing.compute, .communication = timing.communication};
  times.solve = seconds_since(solve_start);
  report.finish_progress();
  if (timing.stopped_by != 0) {
    stop_with_checkpoint([&] {
      const Fingerprint parameters = heat_parameters(comm, plan.problem, cfg, config.petsc_options, true);
      record.checkpoint(timing.stopped_at, u, &parameters);
    });
    throw stop::Stopped(timing.stopped_by, "step", timing.stopped_at, plan.problem.steps, plan.checkpoint);
  }

  const auto finish_start = clock::now();
  io::Attributes attributes = heat_attributes(plan.problem, cfg);
  if (record.max_error() >= 0) attributes.emplace_back("max_error_vs_exact", record.max_error());
  times.total = seconds_since(started);
  times.io = record.io_seconds() + seconds_since(finish_start);
  io::Attributes run_record = provenance(comm, config, output);
  run_record.emplace_back("restarted_from_step", first_step);
  append(run_record, timing_attributes(comm, times));
  record.finish(attributes, run_record);
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  plan.checkpoints->finish();

  times.total = seconds_since(started);
  report.line(heat_summary(plan.problem, comm.size(), times, timing, record.max_error(), output.target()));
}

}  // namespace slab::app
