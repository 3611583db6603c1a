// slab regress: plan, make or read the data, fit, write the data, the fit and the loss history.
#include "run_regress.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "h5_reader.hpp"
#include "numpy_format.hpp"
#include "run.hpp"
#include "text_format.hpp"

namespace slab::app {
namespace {

using clock = std::chrono::steady_clock;

std::string extension_of(const std::string& path) { return std::filesystem::path(path).extension().string(); }

void check_regress_options(const Config& config) {
  const RegressConfig& cfg = config.regress;
  const bool synthetic = cfg.data.empty();
  if (synthetic && cfg.rows < 1) throw InputError("--rows must be at least 1, got " + std::to_string(cfg.rows));
  if (synthetic && cfg.cols < 1) throw InputError("--cols must be at least 1, got " + std::to_string(cfg.cols));
  if (!(std::isfinite(cfg.noise) && cfg.noise >= 0)) throw InputError("--noise must be a non-negative number");
  if (!(std::isfinite(cfg.gd.lr) && cfg.gd.lr > 0)) throw InputError("--lr must be a positive number");
  if (cfg.gd.iters < 1) throw InputError("--iters must be at least 1");
  if (!(std::isfinite(cfg.gd.tol) && cfg.gd.tol >= 0)) throw InputError("--tol must be a non-negative number");
  if ((config.output.checkpoint_every > 0 || !config.output.restart.empty()) && cfg.method != regression::Method::gd)
    throw InputError("--checkpoint-every and --restart apply to --method gd only");
  const std::string ext = extension_of(cfg.data);
  if (!synthetic && ext != ".h5" && ext != ".hdf5" && ext != ".npz" && ext != ".csv")
    throw InputError("--data must be an .h5, .npz or .csv file, got '" + cfg.data + "'");
}

// X and y of a .npz (members X and y) or a .csv (y the last column), on rank 0.
std::pair<Tensor, Tensor> read_table(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError("no such file '" + path + "' (--data)");
  Tensor X, y;
  if (extension_of(path) == ".npz") {
    auto arrays = io::read_npz(path);
    if (!arrays.contains("X") || !arrays.contains("y"))
      throw InputError("'" + path + "' (--data) must hold arrays named X and y");
    X = std::move(arrays.at("X"));
    y = std::move(arrays.at("y"));
  } else {
    const Tensor table = io::read_csv(path);
    if (table.shape()[1] < 2)
      throw InputError("'" + path + "' (--data) needs at least two columns: features, then y last");
    const std::size_t rows = table.shape()[0], cols = table.shape()[1] - 1;
    X = Tensor({rows, cols});
    y = Tensor({rows});
    for (std::size_t i = 0; i < rows; ++i) {
      std::copy_n(table.data().data() + i * (cols + 1), cols, X.data().data() + i * cols);
      y.data()[i] = table.data()[i * (cols + 1) + cols];
    }
  }
  if (X.rank() != 2) throw InputError("X in '" + path + "' (--data) must be 2-D, got shape " + to_string(X.shape()));
  if (y.rank() != 1) throw InputError("y in '" + path + "' (--data) must be 1-D, got shape " + to_string(y.shape()));
  return {std::move(X), std::move(y)};
}

// .npz and .csv inputs are read whole on rank 0 and scattered by rows; .h5 is read in parallel.
Dataset read_data(const mpi::Comm& comm, const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext == ".npz" || ext == ".csv") {
    Tensor X, y;
    mpi::collectively(comm, [&] {
      if (comm.is_root()) std::tie(X, y) = read_table(path);
    });
    return {DistTensor::scatter_from_root(comm, X), DistTensor::scatter_from_root(comm, y), std::nullopt};
  }
  DistTensor X = io::read_rows(comm, path, "/regression/X", {2, {}, {}}, "--data");
  DistTensor y = io::read_rows(comm, path, "/regression/y", {1, X.global_shape()[0], 1}, "--data");
  return {std::move(X), std::move(y), std::nullopt};
}

void check_finite(const DistTensor& t, const std::string& name, const std::string& path) {
  for (const double v : t.local().data())
    if (!std::isfinite(v)) throw InputError(name + " in '" + path + "' (--data) holds NaN or infinite values");
}

io::Block rows_block(const DistTensor& t) {
  const auto& p = t.partition();
  if (p.count() == 0) return io::Block::none(t.global_shape().size());
  io::Block b;
  b.start.assign(t.global_shape().size(), 0);
  b.count.assign(t.global_shape().begin(), t.global_shape().end());
  b.start[0] = static_cast<std::uint64_t>(p.first());
  b.count[0] = static_cast<std::uint64_t>(p.count());
  b.data = t.local().data().data();
  return b;
}

void write_scalar(const mpi::Comm& comm, io::Sink& sink, const std::string& name, const double& v) {
  sink.create({name, {}});
  sink.write(name, comm.is_root() ? io::Block{{}, {}, &v} : io::Block::none(0));
}

std::size_t rows_of(const Dataset& d) { return d.X.global_shape()[0]; }
std::size_t cols_of(const Dataset& d) { return d.X.global_shape()[1]; }

regression::Fit fit_gd(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, const Dataset& data,
                       Reporter& report, std::int64_t& restarted_from) {
  const RegressConfig& cfg = config.regress;
  const bool checkpointing = config.output.checkpoint_every > 0 || !config.output.restart.empty();
  const Fingerprint fingerprint =
      checkpointing ? gd_parameters(comm, cfg, rows_of(data), cols_of(data)) : Fingerprint{};
  std::optional<regression::Fit> start;
  if (!config.output.restart.empty()) {
    start = resume_gd(comm, config.output.restart, cfg, fingerprint, cols_of(data));
    restarted_from = start->iterations;
    report.line("slab regress: restarted from " + config.output.restart + " at iteration " +
                std::to_string(restarted_from));
  }
  const std::int64_t every = config.output.checkpoint_every;
  auto on_iteration = [&](const regression::Fit& now) {
    report.progress(now.iterations, cfg.gd.iters);
    if (every > 0 && now.iterations % every == 0 && now.iterations < cfg.gd.iters)
      write_gd_checkpoint(comm, *plan.checkpoints, fingerprint, now);
  };
  return regression::gradient_descent(comm, data.X, data.y, cfg.gd, start ? &*start : nullptr, on_iteration);
}

}  // namespace

RegressPlan plan_regress(const mpi::Comm& comm, const Config& config) {
  const RegressConfig& cfg = config.regress;
  mpi::collectively(comm, [&] { check_regress_options(config); });
  // The size is known only for synthetic data here; read data is checked at its own size as it is written.
  const auto rows = static_cast<std::uint64_t>(cfg.rows), cols = static_cast<std::uint64_t>(cfg.cols);
  const std::uint64_t bytes = cfg.data.empty() && cfg.write_data ? io::expected_size({rows, cols + 1}) + (64 << 10) : 0;
  RegressPlan plan{{config.output.out, config.output.io, config.output.overwrite, bytes}, {}, {}, {}};
  plan.claim = io::check_output(comm, plan.output);  // held to the end: one run per --out
  plan.checkpoints = std::make_shared<Checkpoints>(comm, config.output);
  plan.checkpoint = plan.checkpoints->path();
  return plan;
}

Dataset load_data(const mpi::Comm& comm, const RegressConfig& cfg) {
  if (cfg.data.empty()) {
    const auto rows = static_cast<std::size_t>(cfg.rows), cols = static_cast<std::size_t>(cfg.cols);
    Dataset d{DistTensor(comm, {rows, cols}), DistTensor(comm, {rows}), regression::true_model(cfg.seed, cols)};
    regression::generate(cfg.seed, cfg.noise, *d.truth, d.X, d.y);
    return d;
  }
  Dataset d = read_data(comm, cfg.data);
  mpi::collectively(comm, [&] {
    regression::check_shapes(d.X, d.y);
    check_finite(d.X, "X", cfg.data);
    check_finite(d.y, "y", cfg.data);
  });
  return d;
}

std::string describe(const Dataset& data, const RegressConfig& cfg, int ranks, const std::string& out) {
  const std::string source =
      cfg.data.empty() ? "synthetic (seed " + std::to_string(cfg.seed) + ", noise " + format_number(cfg.noise) + ")"
                       : cfg.data;
  const std::string gd = cfg.method == regression::Method::gd
                             ? " lr=" + format_number(cfg.gd.lr) + " iters=" + std::to_string(cfg.gd.iters) +
                                   " tol=" + format_number(cfg.gd.tol)
                             : "";
  return "slab regress: N=" + std::to_string(rows_of(data)) + " D=" + std::to_string(cols_of(data)) +
         " data=" + source + " method=" + regression::to_string(cfg.method) + gd +
         (cfg.standardize ? " standardize" : "") + " ranks=" + std::to_string(ranks) + " -> " + io::output_target(out);
}

void write_data(io::Sink& sink, const Dataset& data) {
  sink.create({"regression/X", data.X.global_shape()});
  sink.write("regression/X", rows_block(data.X));
  sink.create({"regression/y", data.y.global_shape()});
  sink.write("regression/y", rows_block(data.y));
}

regression::Fit fit(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, Dataset& data,
                    Reporter& report, std::int64_t& restarted_from) {
  const RegressConfig& cfg = config.regress;
  std::optional<regression::Scaling> scaling;
  if (cfg.standardize) scaling = regression::standardize(comm, data.X);
  regression::Fit result;
  switch (cfg.method) {
    case regression::Method::gd:
      result = fit_gd(comm, config, plan, data, report, restarted_from);
      break;
    case regression::Method::normal:
      result = regression::normal_equations(comm, data.X, data.y);
      break;
    case regression::Method::lstsq:
      result = regression::least_squares(comm, data.X, data.y);
      break;
  }
  report.finish_progress();
  if (scaling) regression::to_original_units(*scaling, result);
  return result;
}

void write_fit(const mpi::Comm& comm, io::Sink& sink, const regression::Fit& fit,
               const std::optional<regression::Truth>& truth) {
  write_replicated(comm, sink, "regression/w", fit.w);
  write_scalar(comm, sink, "regression/b", fit.b);
  write_replicated(comm, sink, "regression/loss", fit.loss);
  if (truth) {
    write_replicated(comm, sink, "regression/w_true", truth->w);
    write_scalar(comm, sink, "regression/b_true", truth->b);
  }
}

io::Attributes regress_attributes(const RegressConfig& cfg, const Dataset& data, const regression::Fit& fit,
                                  std::int64_t restarted_from) {
  return {{"method", regression::to_string(cfg.method)},
          {"rows", static_cast<std::int64_t>(rows_of(data))},
          {"cols", static_cast<std::int64_t>(cols_of(data))},
          {"data", cfg.data.empty() ? std::string("synthetic") : cfg.data},
          {"seed", static_cast<std::int64_t>(cfg.seed)},
          {"noise", cfg.noise},
          {"lr", cfg.gd.lr},
          {"iters", cfg.gd.iters},
          {"tol", cfg.gd.tol},
          {"standardize", std::int64_t{cfg.standardize}},
          {"converged", std::int64_t{fit.converged}},
          {"iterations", fit.iterations},
          {"final_loss", fit.loss.empty() ? 0.0 : fit.loss.back()},
          {"gradient_norm", fit.gradient_norm},
          {"data_written", std::int64_t{cfg.write_data}},
          {"restarted_from_step", restarted_from}};
}

std::string regress_summary(const RegressConfig& cfg, const Dataset& data, const regression::Fit& fit, int ranks,
                            const PhaseTimes& times, const std::string& target) {
  const double work =
      static_cast<double>(rows_of(data)) * static_cast<double>(std::max<std::int64_t>(fit.iterations, 1));
  return "slab regress: " + regression::to_string(cfg.method) + " " + std::to_string(fit.iterations) + " iterations" +
         (fit.converged ? " (converged)" : "") + ", loss " + format_number(fit.loss.empty() ? 0.0 : fit.loss.back()) +
         ", gradient norm " + format_number(fit.gradient_norm) + ", b " + format_number(fit.b) + " on " +
         std::to_string(ranks) + " ranks in " + format_number(times.total) + " s (fit " + format_number(times.solve) +
         " s: compute " + format_number(fit.compute_seconds) + " s, allreduce " +
         format_number(fit.communication_seconds) + " s; I/O " + format_number(times.io) + " s), " +
         format_number(work / times.solve) + " rows*iterations/s; wrote " + target;
}

void run_regress(const mpi::Comm& comm, const Config& config) {
  const auto started = clock::now();
  const RegressConfig& cfg = config.regress;
  const RegressPlan plan = plan_regress(comm, config);
  Reporter report(comm.is_root() && !config.quiet, "iteration");
  Dataset data = load_data(comm, cfg);
  report.line(describe(data, cfg, comm.size(), plan.output.path));

  auto io_start = clock::now();
  io::Output output(comm, plan.output);
  if (cfg.write_data) write_data(output.sink(), data);
  PhaseTimes times{.io = seconds_since(io_start)};

  const auto fit_start = clock::now();
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "solve"); });
  std::int64_t restarted_from = 0;
  const regression::Fit result = fit(comm, config, plan, data, report, restarted_from);
  times.solve = seconds_since(fit_start);
  times.compute = result.compute_seconds;
  times.communication = result.communication_seconds;
  if (result.loss_increases > 0 && comm.is_root())
    std::fprintf(stderr, "slab: warning: the loss increased in %lld of %lld iterations; --lr %g may be too large\n",
                 static_cast<long long>(result.loss_increases), static_cast<long long>(result.iterations), cfg.gd.lr);

  io_start = clock::now();
  const double io_before = times.io;
  write_fit(comm, output.sink(), result, data.truth);
  io::Attributes attributes = regress_attributes(cfg, data, result, restarted_from);
  append(attributes, provenance(comm, config));
  times.io = io_before + seconds_since(io_start);
  times.total = seconds_since(started);
  append(attributes, timing_attributes(comm, times));
  output.sink().annotate("regression", attributes);
  output.sink().annotate("regression/loss", {{"description", std::string("mean squared error at each iteration")}});
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  plan.checkpoints->finish();
  times.io = io_before + seconds_since(io_start);
  times.total = seconds_since(started);
  report.line(regress_summary(cfg, data, result, comm.size(), times, output.target()));
}

}  // namespace slab::app
