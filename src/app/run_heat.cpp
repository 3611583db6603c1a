// slab heat: resolve the problem, set the initial condition, stream snapshots into the output.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "checkpoint.hpp"
#include "h5_reader.hpp"
#include "heat.hpp"
#include "output.hpp"
#include "report.hpp"
#include "run.hpp"

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

std::vector<double> initial_condition(const mpi::Comm& comm, const heat::Problem& p, const HeatConfig& cfg,
                                      const RowPartition& part) {
  if (cfg.init == "sine") return heat::initial(p, part, heat::Init::sine, cfg.mode);
  if (cfg.init == "gaussian") return heat::initial(p, part, heat::Init::gaussian, cfg.mode);
  if (cfg.init == "step") return heat::initial(p, part, heat::Init::step, cfg.mode);
  const auto [file, dataset] = split_init_file(cfg.init);
  const DistTensor u0 = io::read_rows(comm, file, dataset, {1, static_cast<std::size_t>(p.nx), 1}, "--init");
  std::vector<double> u = u0.local().to_vec();
  mpi::collectively(comm, [&] {
    for (const double v : u)
      if (!std::isfinite(v)) throw InputError("--init " + cfg.init + " holds NaN or infinite values");
  });
  heat::apply_boundary_values(p, part, u);
  return u;
}

io::Attributes heat_attributes(const heat::Problem& p, const HeatConfig& cfg) {
  return {{"alpha", p.alpha},
          {"length", p.length},
          {"nx", p.nx},
          {"dx", p.dx},
          {"dt", p.dt},
          {"steps", p.steps},
          {"t_end", p.t_end},
          {"cfl", p.r()},
          {"scheme", heat::to_string(p.scheme)},
          {"bc", heat::to_string(p.bc)},
          {"left", p.left},
          {"right", p.right},
          {"init", cfg.init},
          {"mode", std::int64_t{cfg.mode}},
          {"snapshots", p.snapshots},
          {"layout", std::string(cfg.extendible ? "extendible" : "contiguous")},
          {"compress", std::int64_t{cfg.compress}},
          {"units", std::string("consistent units: x and length in [length], t in [time], alpha in [length^2/time]")}};
}

}  // namespace

void run_heat(const mpi::Comm& comm, const Config& config) {
  const auto started = clock::now();
  const HeatConfig& cfg = config.heat;
  heat::Problem p{};
  mpi::collectively(comm, [&] {
    p = heat::resolve(cfg.request);
    if (cfg.compress > 0 && !cfg.extendible) throw InputError("--compress needs --layout extendible");
    if (cfg.init == "sine" && cfg.mode < 1) throw InputError("--mode must be at least 1");
    if (cfg.init != "sine" && cfg.init != "gaussian" && cfg.init != "step") (void)split_init_file(cfg.init);
  });
  const auto nx_k = static_cast<std::uint64_t>(p.nx), k_k = static_cast<std::uint64_t>(p.snapshots);
  const io::OutputOptions out{config.output.out, config.output.io, config.output.overwrite,
                              io::expected_size({k_k + 1, nx_k}) + io::expected_size({k_k}) + (64 << 10)};
  const io::Claim claim = io::check_output(comm, out);  // held to the end: one run per --out
  Checkpoints checkpoints(comm, config.output);
  const bool checkpointing = config.output.checkpoint_every > 0 || !config.output.restart.empty();
  const Fingerprint parameters = checkpointing ? heat_parameters(comm, p, cfg, config.petsc_options) : Fingerprint{};

  Reporter report(comm.is_root() && !config.quiet, "step");
  report.line("slab heat: nx=" + std::to_string(p.nx) + " L=" + format_number(p.length) +
              " alpha=" + format_number(p.alpha) + " dx=" + format_number(p.dx) + " dt=" + format_number(p.dt) +
              " steps=" + std::to_string(p.steps) + " t_end=" + format_number(p.t_end) + " R=" + format_number(p.r()) +
              " scheme=" + heat::to_string(p.scheme) + " bc=" + heat::to_string(p.bc) + " init=" + cfg.init +
              " snapshots=" + std::to_string(p.snapshots) + " ranks=" + std::to_string(comm.size()) + " -> " +
              io::output_target(out.path));

  const RowPartition part(p.nx, comm.size(), comm.rank());
  std::vector<double> u = initial_condition(comm, p, cfg, part);
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "init"); });

  const auto io_start = clock::now();
  io::Output output(comm, out);
  io::Sink& sink = output.sink();
  const auto nx = static_cast<std::uint64_t>(p.nx);
  const auto k = static_cast<std::uint64_t>(p.snapshots);
  const auto first = static_cast<std::uint64_t>(part.first());
  const auto count = static_cast<std::uint64_t>(part.count());
  sink.create({"heat/x", {nx}});
  sink.create({"heat/t", {k}});
  sink.create({"heat/u", {cfg.extendible ? 0 : k, nx}, cfg.extendible, cfg.compress});
  std::vector<double> x(count);
  for (std::size_t i = 0; i < count; ++i) x[i] = p.x(part.first() + static_cast<std::int64_t>(i));
  sink.write("heat/x", count > 0 ? io::Block{{first}, {count}, x.data()} : io::Block::none(1));
  double io_seconds = seconds_since(io_start);

  std::vector<double> times;  // of the snapshots taken so far (the snapshots themselves are in the output)
  std::int64_t first_step = 0;
  if (!config.output.restart.empty()) {
    HeatResume resume = resume_heat(comm, config.output.restart, p, parameters, sink);
    first_step = resume.step;
    u = std::move(resume.u);
    times = std::move(resume.times);
    report.line("slab heat: restarted from " + config.output.restart + " at step " + std::to_string(first_step));
  }

  double max_error = -1;
  heat::Observer observer;
  observer.snapshot = [&](std::int64_t index, std::int64_t /*step*/, double t, std::span<const double> local) {
    const auto written = clock::now();
    const io::Block block = count > 0 ? io::Block{{static_cast<std::uint64_t>(index), first}, {1, count}, local.data()}
                                      : io::Block::none(2);
    sink.write("heat/u", block);
    times.push_back(t);
    io_seconds += seconds_since(written);
    if (cfg.init == "sine" && index == p.snapshots - 1 && heat::exact_sine(p, cfg.mode, 0.0, t)) {
      double local_max = 0;
      for (std::size_t i = 0; i < local.size(); ++i)
        local_max = std::max(local_max, std::abs(local[i] - *heat::exact_sine(p, cfg.mode, x[i], t)));
      max_error = comm.allreduce_max(local_max);
    }
  };
  observer.checkpoint_every = config.output.checkpoint_every;
  observer.checkpoint = [&](std::int64_t step, std::span<const double> now) {
    const auto written = clock::now();
    write_heat_checkpoint(comm, checkpoints, parameters, p, step, now, times, sink);
    io_seconds += seconds_since(written);
  };
  observer.progress = [&](std::int64_t step, double t) { report.progress(step, p.steps, t); };
  const auto solve_start = clock::now();
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "solve"); });
  const heat::Timing timing = heat::solve(comm, p, u, observer, first_step);
  const double solve_seconds = seconds_since(solve_start);
  report.finish_progress();

  const auto finish_start = clock::now();
  sink.write("heat/t", comm.is_root() ? io::Block{{0}, {k}, times.data()} : io::Block::none(1));
  io::Attributes attributes = heat_attributes(p, cfg);
  if (max_error >= 0) attributes.emplace_back("max_error_vs_exact", max_error);
  attributes.emplace_back("restarted_from_step", first_step);
  const double wall = seconds_since(started);
  for (auto& a : provenance(comm, config)) attributes.push_back(std::move(a));
  attributes.emplace_back("wall_time_compute", comm.allreduce_max(timing.compute));
  attributes.emplace_back("wall_time_communication", comm.allreduce_max(timing.communication));
  attributes.emplace_back("wall_time_io", comm.allreduce_max(io_seconds + seconds_since(finish_start)));
  attributes.emplace_back("wall_time_total", comm.allreduce_max(wall));
  sink.annotate("heat", attributes);
  sink.annotate("heat/x", {{"units", std::string("length")}, {"description", std::string("node positions x_i")}});
  sink.annotate("heat/t", {{"units", std::string("time")}, {"description", std::string("snapshot times t_k")}});
  sink.annotate("heat/u", {{"description", std::string("u[k, i] = u(x_i, t_k)")}});
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  checkpoints.finish();

  const double total = seconds_since(started);
  const double updates = static_cast<double>(p.nx) * static_cast<double>(p.steps);
  report.line(
      "slab heat: " + std::to_string(p.steps) + " steps of " + std::to_string(p.nx) + " nodes on " +
      std::to_string(comm.size()) + " ranks in " + format_number(total) + " s (solve " + format_number(solve_seconds) +
      " s: compute " + format_number(timing.compute) + " s, halo exchange " + format_number(timing.communication) +
      " s; I/O " + format_number(io_seconds + seconds_since(finish_start)) + " s), " +
      format_number(updates / solve_seconds) + " cell updates/s" +
      (max_error >= 0 ? ", max error vs exact " + format_number(max_error) : "") + "; wrote " + output.target());
}

}  // namespace slab::app
