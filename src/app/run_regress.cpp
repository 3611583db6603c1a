// slab regress: plan, make or read the data, fit, write the data, the fit and the loss history.
#include "app/run_regress.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/plan.hpp"
#include "app/run.hpp"
#include "app/stopping.hpp"
#include "core/stop.hpp"
#include "io/data_input.hpp"
#include "io/file_format.hpp"
#include "io/h5_reader.hpp"
#include "io/text_format.hpp"

namespace slab::app {
namespace {

using clock = std::chrono::steady_clock;

void check_regress_options(const Config& config) {
  const RegressConfig& cfg = config.regress;
  const bool synthetic = cfg.data.empty();
  if (synthetic && cfg.rows < 1) throw InputError("--rows must be at least 1, got " + std::to_string(cfg.rows));
  if (synthetic && cfg.cols < 1) throw InputError("--cols must be at least 1, got " + std::to_string(cfg.cols));
  if (!(std::isfinite(cfg.noise) && cfg.noise >= 0)) throw InputError("--noise must be a non-negative number");
  if (!(std::isfinite(cfg.gd.lr) && cfg.gd.lr > 0)) throw InputError("--lr must be a positive number");
  if (cfg.gd.iters < 1) throw InputError("--iters must be at least 1");
  if (cfg.compress > 0 && !cfg.extendible) throw InputError("--compress needs --layout extendible");
  if (!(std::isfinite(cfg.gd.tol) && cfg.gd.tol >= 0)) throw InputError("--tol must be a non-negative number");
  if ((config.output.checkpoint_every > 0 || !config.output.restart.empty()) && cfg.method != regression::Method::gd)
    throw InputError("--checkpoint-every and --restart apply to --method gd only");
  const auto format = io::format_of(cfg.data);
  if (!synthetic && (!format || *format == io::FileFormat::json))
    throw InputError("--data must be an .h5, .npz or .csv file, got '" + cfg.data + "'");
}

// .npz and .csv inputs are read whole on rank 0 and scattered by rows; .h5 is read in parallel.
Dataset read_data(const mpi::Comm& comm, const std::string& path, const io::FileAccess& access) {
  const auto format = io::format_of(path);
  if (format == io::FileFormat::npz || format == io::FileFormat::csv) {
    Tensor X, y;
    mpi::collectively(comm, [&] {
      if (comm.is_root()) std::tie(X, y) = io::read_xy(path, "'" + path + "' (--data)");
    });
    return {DistTensor::scatter_from_root(comm, X), DistTensor::scatter_from_root(comm, y), std::nullopt};
  }
  DistTensor X = io::read_rows(comm, path, "/regression/X", {2, {}, {}}, "--data", access);
  DistTensor y = io::read_rows(comm, path, "/regression/y", {1, X.global_shape()[0], 1}, "--data", access);
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

// A vector every rank holds; rank 0 writes it.
void write_vector(const mpi::Comm& comm, io::Sink& sink, const io::DatasetSpec& spec, const std::vector<double>& v) {
  sink.create(spec);
  sink.write(spec.path, comm.is_root() && !v.empty() ? io::Block{{0}, {v.size()}, v.data()} : io::Block::none(1));
}

io::Attributes named(const std::string& long_name) {
  // The data's units are not known to slab: "1" says so honestly.
  return {{"long_name", long_name}, {"units", std::string("1")}};
}

void annotate_regression_datasets(io::Sink& sink, bool data, bool truth) {
  if (data) {
    sink.annotate("regression/X", named("features X[sample, feature]"));
    sink.annotate("regression/y", named("target y[sample]"));
  }
  sink.annotate("regression/w", named("fitted weights w"));
  sink.annotate("regression/b", named("fitted intercept b"));
  sink.annotate("regression/history/iteration", named("updates of w and b before the loss was taken"));
  sink.annotate("regression/history/loss", named("mean squared error at each iteration"));
  if (truth) {
    sink.annotate("regression/w_true", named("weights of the synthetic data's model"));
    sink.annotate("regression/b_true", named("intercept of the synthetic data's model"));
  }
}

std::size_t rows_of(const Dataset& d) { return d.X.global_shape()[0]; }
std::size_t cols_of(const Dataset& d) { return d.X.global_shape()[1]; }

regression::Fit fit_gd(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, const Dataset& data,
                       const DistTensor& X, Reporter& report, std::int64_t& restarted_from) {
  const RegressConfig& cfg = config.regress;
  const bool checkpointing = config.output.checkpoint_every > 0 || !config.output.restart.empty();
  const Fingerprint fingerprint =
      checkpointing ? gd_parameters(comm, cfg, rows_of(data), cols_of(data)) : Fingerprint{};
  std::optional<regression::Fit> start;
  if (!config.output.restart.empty()) {
    start = resume_gd(comm, config.output.restart, cfg, fingerprint, cols_of(data), config.output.access);
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
  regression::Fit result =
      regression::gradient_descent(comm, X, data.y, cfg.gd, start ? &*start : nullptr, on_iteration);
  if (result.stopped_by != 0) {
    report.finish_progress();
    // A stop checkpoints even when none was asked for: its parameters then hash --data only now.
    stop_with_checkpoint([&] {
      const Fingerprint parameters =
          checkpointing ? fingerprint : gd_parameters(comm, cfg, rows_of(data), cols_of(data));
      write_gd_checkpoint(comm, *plan.checkpoints, parameters, result);
    });
    throw stop::Stopped(result.stopped_by, "iteration", result.iterations, cfg.gd.iters, plan.checkpoint);
  }
  return result;
}

}  // namespace

RegressPlan plan_regress(const mpi::Comm& comm, const Config& config) {
  const RegressConfig& cfg = config.regress;
  mpi::collectively(comm, [&] { check_regress_options(config); });
  // Before anything is allocated: the memory per rank and the bytes of every file (src/app/plan.hpp),
  // from the synthetic size, an .h5 file's declared shape or an .npz/.csv file's size.
  (void)apply_plan(comm, config,
                   resource_plan_regress(config, regress_size(comm, cfg, config.output.access), comm.size()));
  // The size is known only for synthetic data here; read data is checked at its own size as it is written.
  const auto rows = static_cast<std::uint64_t>(cfg.rows), cols = static_cast<std::uint64_t>(cfg.cols);
  const std::uint64_t bytes = cfg.data.empty() && cfg.write_data ? io::expected_size({rows, cols + 1}) + (64 << 10) : 0;
  RegressPlan plan{
      {config.output.out, config.output.io, config.output.overwrite, bytes, {}, config.output.access}, {}, {}, {}};
  plan.claim = io::check_output(comm, plan.output);  // held to the end: one run per --out
  plan.checkpoints = std::make_shared<Checkpoints>(comm, config.output, cfg.method == regression::Method::gd);
  plan.checkpoint = plan.checkpoints->path();
  return plan;
}

Dataset load_data(const mpi::Comm& comm, const RegressConfig& cfg, const io::FileAccess& access) {
  if (cfg.data.empty()) {
    const auto rows = static_cast<std::size_t>(cfg.rows), cols = static_cast<std::size_t>(cfg.cols);
    Dataset d{DistTensor(comm, {rows, cols}), DistTensor(comm, {rows}), regression::true_model(cfg.seed, cols)};
    regression::generate(cfg.seed, cfg.noise, *d.truth, d.X, d.y);
    return d;
  }
  Dataset d = read_data(comm, cfg.data, access);
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

void write_data(io::Sink& sink, const Dataset& data, const RegressConfig& cfg) {
  // Extendible datasets start empty and grow with the writes.
  Shape x_shape = data.X.global_shape(), y_shape = data.y.global_shape();
  if (cfg.extendible) x_shape[0] = y_shape[0] = 0;
  const std::uint64_t rows = rows_of(data);
  sink.create({"regression/X", x_shape, cfg.extendible, cfg.compress, {"sample", "feature"}, rows});
  sink.write("regression/X", rows_block(data.X));
  sink.create({"regression/y", y_shape, cfg.extendible, cfg.compress, {"sample"}, rows});
  sink.write("regression/y", rows_block(data.y));
}

regression::Fit fit(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, Dataset& data,
                    Reporter& report, std::int64_t& restarted_from) {
  const RegressConfig& cfg = config.regress;
  std::optional<DistTensor> scaled;
  std::optional<regression::Scaling> scaling;
  if (cfg.standardize) scaling = regression::standardize(comm, scaled.emplace(data.X));
  const DistTensor& X = scaled ? *scaled : data.X;
  regression::Fit result;
  switch (cfg.method) {
    case regression::Method::gd:
      result = fit_gd(comm, config, plan, data, X, report, restarted_from);
      break;
    case regression::Method::normal:
      // A singular Gram matrix fails the Cholesky on every rank alike (the same bits everywhere).
      mpi::collectively(comm, [&] { result = regression::normal_equations(comm, X, data.y); });
      break;
    case regression::Method::lstsq:
      result = regression::least_squares(comm, X, data.y);
      break;
    case regression::Method::qr:
      // Every rank makes every collective call of qr, and its rank check reads the same bits of R on
      // every rank: all ranks fail together or none does.
      mpi::collectively(comm, [&] { result = regression::qr(comm, X, data.y, cfg.rank_deficient); });
      break;
  }
  report.finish_progress();
  regression::require_finite(comm, X, data.y, result);
  if (scaling) {
    regression::to_original_units(*scaling, result);
    result.r.clear();  // the R of the scaled X: the statistics make their own
  }
  return result;
}

regression::Statistics fit_statistics(const mpi::Comm& comm, const Dataset& data, const regression::Fit& fit) {
  return regression::statistics(comm, data.X, data.y, fit);
}

void write_statistics(const mpi::Comm& comm, io::Sink& sink, const regression::Statistics& stats) {
  write_vector(comm, sink, {"regression/w_stderr", {stats.w_stderr.size()}, false, 0, {"feature"}}, stats.w_stderr);
  write_scalar(comm, sink, "regression/b_stderr", stats.b_stderr);
  // D+1 values on their own dimension, in their own group: xarray's view of /regression stays the
  // data and the fit (to_dataframe() spans samples and features only).
  write_vector(comm, sink, {"regression/statistics/t_values", {stats.t_values.size()}, false, 0, {"coefficient"}},
               stats.t_values);
  sink.annotate("regression/w_stderr", named("standard error of w"));
  sink.annotate("regression/b_stderr", named("standard error of b"));
  io::Attributes t_values = named("t values of the coefficients");
  t_values.emplace_back("description", std::string("w / w_stderr, then b / b_stderr"));
  sink.annotate("regression/statistics/t_values", t_values);
}

io::Attributes statistics_attributes(const regression::Statistics& stats) {
  return {{"r_squared", stats.r_squared},
          {"adj_r_squared", stats.adj_r_squared},
          {"residual_std", stats.residual_std},
          {"dof", stats.dof},
          {"condition_number", stats.condition_number}};
}

void write_fit(const mpi::Comm& comm, io::Sink& sink, const regression::Fit& fit,
               const std::optional<regression::Truth>& truth, const RegressConfig& cfg) {
  write_vector(comm, sink, {"regression/w", {fit.w.size()}, false, 0, {"feature"}}, fit.w);
  write_scalar(comm, sink, "regression/b", fit.b);
  // The loss history has its own group (and dimension), so that xarray's view of /regression is
  // the data and the fit alone: to_dataframe() there spans samples and features only.
  std::vector<double> updates(fit.loss.size());
  for (std::size_t i = 0; i < updates.size(); ++i) updates[i] = static_cast<double>(i);
  const Shape history{cfg.extendible ? 0 : fit.loss.size()};
  write_vector(comm, sink, {"regression/history/iteration", history, cfg.extendible, 0, {"iteration"}, fit.loss.size()},
               updates);
  write_vector(comm, sink,
               {"regression/history/loss", history, cfg.extendible, cfg.compress, {"iteration"}, fit.loss.size()},
               fit.loss);
  if (truth) {
    write_vector(comm, sink, {"regression/w_true", {truth->w.size()}, false, 0, {"feature"}}, truth->w);
    write_scalar(comm, sink, "regression/b_true", truth->b);
  }
  annotate_regression_datasets(sink, cfg.write_data, truth.has_value());
}

io::Attributes regress_attributes(const RegressConfig& cfg, const Dataset& data, const regression::Fit& fit) {
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
          {"layout", io::to_string(cfg.extendible ? io::Layout::extendible : io::Layout::contiguous)},
          {"compress", std::int64_t{cfg.compress}},
          {"rank_deficient", regression::to_string(cfg.rank_deficient)}};
}

std::string regress_summary(const RegressConfig& cfg, const Dataset& data, const regression::Fit& fit,
                            const regression::Statistics& stats, int ranks, const PhaseTimes& times,
                            const std::string& target) {
  const double work =
      static_cast<double>(rows_of(data)) * static_cast<double>(std::max<std::int64_t>(fit.iterations, 1));
  return "slab regress: " + regression::to_string(cfg.method) + " " + std::to_string(fit.iterations) + " iterations" +
         (fit.converged ? " (converged)" : "") + ", loss " + format_number(fit.loss.empty() ? 0.0 : fit.loss.back()) +
         ", gradient norm " + format_number(fit.gradient_norm) + ", b " + format_number(fit.b) + ", R^2 " +
         format_number(stats.r_squared) + ", condition number " + format_number(stats.condition_number) + " on " +
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
  // A failure on one rank (an allocation) becomes the same error on every rank.
  std::optional<Dataset> loaded;
  mpi::collectively(comm, [&] { loaded.emplace(load_data(comm, cfg, config.output.access)); });
  Dataset& data = *loaded;
  report.line(describe(data, cfg, comm.size(), plan.output.path));

  auto io_start = clock::now();
  io::Output output(comm, plan.output);
  if (cfg.write_data) write_data(output.sink(), data, cfg);
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
  const auto stats_start = clock::now();
  const regression::Statistics stats = fit_statistics(comm, data, result);
  const double stats_seconds = seconds_since(stats_start);

  io_start = clock::now();
  const double io_before = times.io;
  write_fit(comm, output.sink(), result, data.truth, cfg);
  write_statistics(comm, output.sink(), stats);
  io::Attributes attributes = regress_attributes(cfg, data, result);
  append(attributes, statistics_attributes(stats));
  output.sink().annotate("regression", attributes);
  // Provenance apart from the parameters: two runs of the same problem differ only there.
  io::Attributes run_record = provenance(comm, config, output);
  run_record.emplace_back("restarted_from_step", restarted_from);
  run_record.emplace_back("wall_time_statistics", comm.allreduce_max(stats_seconds));
  times.io = io_before + seconds_since(io_start);
  times.total = seconds_since(started);
  append(run_record, timing_attributes(comm, times));
  output.sink().annotate("provenance", run_record);
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  plan.checkpoints->finish();
  times.io = io_before + seconds_since(io_start);
  times.total = seconds_since(started);
  report.line(regress_summary(cfg, data, result, stats, comm.size(), times, output.target()));
}

}  // namespace slab::app
