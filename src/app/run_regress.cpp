// slab regress: plan, make or read the data, fit, write the data, the fit and the loss history.
#include "app/run_regress.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include <sched.h>

#include "app/plan.hpp"
#include "app/run.hpp"
#include "app/stopping.hpp"
#include "core/stop.hpp"
#include "io/data_input.hpp"
#include "io/file_format.hpp"
#include "io/h5_reader.hpp"
#include "io/row_stream.hpp"
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
  const bool selects =
      cfg.x_path != "/regression/X" || cfg.y_path != "/regression/y" || cfg.y_column || !cfg.columns.empty();
  if (selects && (synthetic || format != io::FileFormat::hdf5))
    throw InputError("--x, --y, --y-column and --columns select datasets of --data FILE.h5 (HDF5 or netCDF-4)");
  if (cfg.y_column && cfg.y_path != "/regression/y")
    throw InputError("--y and --y-column both name y; give one of them");
}

// A streamed fit overlaps its reads with its arithmetic only when each rank's reader thread has a
// core of its own (docs/streaming.md); Open MPI binds each rank to one core by default (1-2 ranks).
void warn_if_a_rank_has_one_core(const mpi::Comm& comm) {
  cpu_set_t cores;
  CPU_ZERO(&cores);
  const int mine = sched_getaffinity(0, sizeof cores, &cores) == 0 ? CPU_COUNT(&cores) : 2;
  if (comm.allreduce_min(mine) < 2 && comm.is_root())
    std::fprintf(stderr,
                 "slab: warning: a rank has one core, so its reads of --data take turns with its arithmetic; give "
                 "each rank two (mpirun --bind-to none or --map-by slot:PE=2, srun --cpus-per-task=2)\n");
}

void check_finite(const DistTensor& t, const std::string& name, const std::string& path) {
  if (!all_finite(t.local().data()))
    throw InputError(name + " in '" + path + "' (--data) holds NaN or infinite values");
}

// .npz and .csv inputs are read whole on rank 0 and scattered by rows; .h5 is read in parallel.
io::TableSelection selection(const RegressConfig& cfg) { return {cfg.x_path, cfg.y_path, cfg.y_column, cfg.columns}; }

Dataset read_data(const mpi::Comm& comm, const RegressConfig& cfg, const io::FileAccess& access) {
  const std::string& path = cfg.data;
  const auto format = io::format_of(path);
  if (format == io::FileFormat::npz || format == io::FileFormat::csv) {
    Tensor X, y;
    mpi::collectively(comm, [&] {
      if (comm.is_root()) std::tie(X, y) = io::read_xy(path, "'" + path + "' (--data)");
    });
    Dataset d{DistTensor::scatter_from_root(comm, X), DistTensor::scatter_from_root(comm, y), std::nullopt,
              std::nullopt, nullptr};
    // HDF5 data is checked by its reader, piece by piece, as it is read.
    mpi::collectively(comm, [&] {
      check_finite(d.X, "X", path);
      check_finite(d.y, "y", path);
    });
    return d;
  }
  const io::H5RowStream reader(comm, path, selection(cfg), in_memory_read_buffers, "--data", access);
  auto [X, y] = reader.read_all();
  Dataset d{std::move(X), std::move(y), std::nullopt, std::nullopt, nullptr};
  d.table = reader.info();
  return d;
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

std::size_t rows_of(const Dataset& d) {
  return d.stream ? static_cast<std::size_t>(d.stream->rows()) : d.X.global_shape()[0];
}
std::size_t cols_of(const Dataset& d) { return d.stream ? d.stream->cols() : d.X.global_shape()[1]; }

regression::Fit fit_gd(const mpi::Comm& comm, const Config& config, const RegressPlan& plan, const Dataset& data,
                       const DistTensor* X, Reporter& report, std::int64_t& restarted_from) {
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
      data.stream ? regression::gradient_descent(comm, *data.stream, cfg.gd, start ? &*start : nullptr, on_iteration)
                  : regression::gradient_descent(comm, *X, data.y, cfg.gd, start ? &*start : nullptr, on_iteration);
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
  // from the synthetic size, an .h5 file's declared shape or an .npz/.csv file's size; an .h5 file
  // larger than the budget (--memory, or what the node has) is streamed.
  const RegressSize size = regress_size(comm, cfg, config.output.access);
  Available available = measure_available(comm, config.output.out);
  if (cfg.memory > 0 && Checked(cfg.memory) < available.memory_per_rank) {
    available.memory_per_rank = Checked(cfg.memory);
    available.memory_basis = "--memory";
  }
  RegressDecision decision;
  mpi::collectively(comm, [&] {
    decision = decide_regress(config, size, comm.size(), available.memory_per_rank, available.memory_basis);
  });
  RegressPlan plan{};
  plan.stream_buffers = decision.stream_buffers;
  plan.memory_budget = available.memory_per_rank.overflowed() ? 0 : available.memory_per_rank.value();
  const std::string note =
      plan.stream_buffers > 0
          ? "streamed: X and y do not fit the memory budget (" + format_bytes(available.memory_per_rank) + ", " +
                available.memory_basis + "); --data is read in pieces, once per pass" +
                (cfg.method == regression::Method::gd
                     ? " (gd: a pass per iteration, up to " + std::to_string(cfg.gd.iters + 1) + " passes)"
                     : "") +
                "; X and y are not written (--no-data)\n"
          : "";
  plan.print_only = apply_plan(comm, config, decision.plan, available, note);
  if (plan.print_only) return plan;  // --plan: printed; nothing is claimed, written or computed
  // The size is known only for synthetic data here; read data is checked at its own size as it is written.
  const auto rows = static_cast<std::uint64_t>(cfg.rows), cols = static_cast<std::uint64_t>(cfg.cols);
  const std::uint64_t bytes = cfg.data.empty() && cfg.write_data ? io::expected_size({rows, cols + 1}) + (64 << 10) : 0;
  plan.output = {config.output.out, config.output.io, config.output.overwrite, bytes, {}, config.output.access};
  plan.claim = io::check_output(comm, plan.output);  // held to the end: one run per --out
  plan.checkpoints = std::make_shared<Checkpoints>(comm, config.output, cfg.method == regression::Method::gd);
  plan.checkpoint = plan.checkpoints->path();
  return plan;
}

Dataset load_data(const mpi::Comm& comm, const RegressConfig& cfg, std::uint64_t stream_buffers,
                  const io::FileAccess& access) {
  if (cfg.data.empty()) {
    const auto rows = static_cast<std::size_t>(cfg.rows), cols = static_cast<std::size_t>(cfg.cols);
    Dataset d{DistTensor(comm, {rows, cols}), DistTensor(comm, {rows}), regression::true_model(cfg.seed, cols),
              std::nullopt, nullptr};
    regression::generate(cfg.seed, cfg.noise, *d.truth, d.X, d.y);
    return d;
  }
  if (stream_buffers > 0) {
    auto stream = std::make_shared<io::H5RowStream>(comm, cfg.data, selection(cfg), stream_buffers, "--data", access);
    Dataset d{DistTensor(comm, {0, stream->cols()}), DistTensor(comm, {0}), std::nullopt, std::nullopt, nullptr};
    d.table = stream->info();
    d.stream = std::move(stream);
    return d;
  }
  Dataset d = read_data(comm, cfg, access);
  mpi::collectively(comm, [&] { regression::check_shapes(d.X, d.y); });
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
  std::string read;
  if (data.table && data.table->converted())
    read += " (X " + data.table->x_type + ", y " + data.table->y_type + ", read as float64)";
  if (data.stream) read += " streamed in pieces of " + std::to_string(data.stream->piece_rows()) + " rows";
  return "slab regress: N=" + std::to_string(rows_of(data)) + " D=" + std::to_string(cols_of(data)) +
         " data=" + source + read + " method=" + regression::to_string(cfg.method) + gd +
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
  if (cfg.standardize && !data.stream) scaling = regression::standardize(comm, scaled.emplace(data.X));
  const DistTensor& X = scaled ? *scaled : data.X;
  const RowStream* stream = data.stream.get();
  regression::Fit result;
  switch (cfg.method) {
    case regression::Method::gd:
      result = fit_gd(comm, config, plan, data, &X, report, restarted_from);
      break;
    case regression::Method::normal:
      // A singular Gram matrix fails the Cholesky on every rank alike (the same bits everywhere).
      mpi::collectively(comm, [&] {
        result = stream ? regression::normal_equations(comm, *stream) : regression::normal_equations(comm, X, data.y);
      });
      break;
    case regression::Method::lstsq:
      result = regression::least_squares(comm, X, data.y);
      break;
    case regression::Method::qr:
      // Every rank makes every collective call of qr, and its rank check reads the same bits of R on
      // every rank: all ranks fail together or none does.
      mpi::collectively(comm, [&] {
        result = stream ? regression::qr(comm, *stream, cfg.rank_deficient)
                        : regression::qr(comm, X, data.y, cfg.rank_deficient);
      });
      break;
  }
  report.finish_progress();
  if (stream)
    regression::require_finite(comm, *stream, result);
  else
    regression::require_finite(comm, X, data.y, result);
  if (scaling) {
    regression::to_original_units(*scaling, result);
    result.r.clear();  // the R of the scaled X: the statistics make their own
    result.rss = std::numeric_limits<double>::quiet_NaN();
  }
  return result;
}

regression::Statistics statistics(const mpi::Comm& comm, const Dataset& data, const regression::Fit& fit) {
  return data.stream ? regression::statistics(comm, *data.stream, fit)
                     : regression::statistics(comm, data.X, data.y, fit);
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
               const std::optional<regression::Truth>& truth, const RegressConfig& cfg, bool data_written) {
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
  annotate_regression_datasets(sink, data_written, truth.has_value());
}

namespace {
std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ",") + n;
  return text;
}
std::string join_numbers(const std::vector<std::size_t>& columns) {
  std::string text;
  for (const auto c : columns) text += (text.empty() ? "" : ",") + std::to_string(c);
  return text;
}
}  // namespace

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
          {"data_written", std::int64_t{cfg.write_data && !data.stream}},
          {"data_x", data.table ? cfg.x_path : std::string()},
          {"data_y", data.table ? (cfg.y_column ? cfg.x_path + " column " + std::to_string(*cfg.y_column) : cfg.y_path)
                                : std::string()},
          {"data_x_type", data.table ? data.table->x_type : std::string("float64")},
          {"data_y_type", data.table ? data.table->y_type : std::string("float64")},
          {"data_x_dimensions", data.table ? join(data.table->x_dims) : std::string()},
          {"data_y_dimensions", data.table ? join(data.table->y_dims) : std::string()},
          {"data_columns", data.table ? join_numbers(data.table->features) : std::string()},
          {"streamed", std::int64_t{data.stream != nullptr}},
          {"stream_passes", data.stream ? data.stream->passes() : std::int64_t{0}},
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
         " s: compute " + format_number(fit.compute_seconds) + " s, reductions " +
         format_number(fit.communication_seconds) + " s; I/O " + format_number(times.io) + " s), " +
         format_number(work / times.solve) + " rows*iterations/s" +
         (data.stream ? "; read --data " + std::to_string(data.stream->passes()) + " times (streamed)" : "") +
         "; wrote " + target;
}

RegressRecord::RegressRecord(const mpi::Comm& comm, io::Sink& sink, const RegressConfig& cfg)
    : comm_(comm), sink_(sink), cfg_(cfg) {}

void RegressRecord::data(const Dataset& data) {
  const auto started = clock::now();
  data_written_ = cfg_.write_data && !data.stream;  // a streamed table is never copied
  if (data_written_) write_data(sink_, data, cfg_);
  io_seconds_ += seconds_since(started);
}

void RegressRecord::fit(const regression::Fit& fit, const std::optional<regression::Truth>& truth,
                        const regression::Statistics& stats) {
  const auto started = clock::now();
  write_fit(comm_, sink_, fit, truth, cfg_, data_written_);
  write_statistics(comm_, sink_, stats);
  io_seconds_ += seconds_since(started);
}

void RegressRecord::finish(const io::Attributes& parameters, const io::Attributes& run_record) {
  const auto started = clock::now();
  sink_.annotate("regression", parameters);
  // Provenance apart from the parameters: two runs of the same problem differ only there.
  sink_.annotate("provenance", run_record);
  io_seconds_ += seconds_since(started);
}

void run_regress(const mpi::Comm& comm, const Config& config) {
  const auto started = clock::now();
  const RegressConfig& cfg = config.regress;
  const RegressPlan plan = plan_regress(comm, config);
  if (plan.print_only) return;  // --plan: plan_regress printed the plan
  Reporter report(comm.is_root() && !config.quiet, "iteration");
  // A failure on one rank (an allocation) becomes the same error on every rank.
  std::optional<Dataset> loaded;
  mpi::collectively(comm, [&] { loaded.emplace(load_data(comm, cfg, plan.stream_buffers, config.output.access)); });
  Dataset& data = *loaded;
  report.line(describe(data, cfg, comm.size(), plan.output.path));
  if (data.stream) warn_if_a_rank_has_one_core(comm);

  io::Output output(comm, plan.output);
  RegressRecord record(comm, output.sink(), cfg);
  record.data(data);

  const auto fit_start = clock::now();
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "solve"); });
  std::int64_t restarted_from = 0;
  const regression::Fit result = fit(comm, config, plan, data, report, restarted_from);
  PhaseTimes times{.compute = result.compute_seconds, .communication = result.communication_seconds};
  times.solve = seconds_since(fit_start);
  if (result.loss_increases > 0 && comm.is_root())
    std::fprintf(stderr, "slab: warning: the loss increased in %lld of %lld iterations; --lr %g may be too large\n",
                 static_cast<long long>(result.loss_increases), static_cast<long long>(result.iterations), cfg.gd.lr);
  const auto stats_start = clock::now();
  const regression::Statistics stats = statistics(comm, data, result);
  const double stats_seconds = seconds_since(stats_start);

  record.fit(result, data.truth, stats);
  io::Attributes attributes = regress_attributes(cfg, data, result);
  append(attributes, statistics_attributes(stats));
  // Provenance apart from the parameters: two runs of the same problem differ only there.
  io::Attributes run_record = provenance(comm, config, output);
  run_record.emplace_back("restarted_from_step", restarted_from);
  run_record.emplace_back("wall_time_statistics", comm.allreduce_max(stats_seconds));
  run_record.emplace_back("memory_budget_bytes", static_cast<std::int64_t>(plan.memory_budget));
  run_record.emplace_back("stream_buffer_bytes", static_cast<std::int64_t>(plan.stream_buffers));
  times.io = record.io_seconds();
  times.total = seconds_since(started);
  append(run_record, timing_attributes(comm, times));
  record.finish(attributes, run_record);
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  plan.checkpoints->finish();
  times.io = record.io_seconds();
  times.total = seconds_since(started);
  report.line(regress_summary(cfg, data, result, stats, comm.size(), times, output.target()));
}

}  // namespace slab::app
