// slab regress: make or read the data, fit, write the data, the fit and the loss history.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "checkpoint.hpp"
#include "h5_reader.hpp"
#include "numpy_format.hpp"
#include "output.hpp"
#include "regression.hpp"
#include "report.hpp"
#include "run.hpp"
#include "synthetic.hpp"
#include "text_format.hpp"

namespace slab::app {
namespace {

using clock = std::chrono::steady_clock;

struct Data {
  DistTensor X;
  DistTensor y;
};

// .npz and .csv inputs are read whole on rank 0 and scattered by rows.
Data read_on_root(const mpi::Comm& comm, const std::string& path) {
  Tensor X, y;
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    const std::string ext = std::filesystem::path(path).extension().string();
    if (!std::filesystem::exists(path)) throw InputError("no such file '" + path + "' (--data)");
    if (ext == ".npz") {
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
  });
  return {DistTensor::scatter_from_root(comm, X), DistTensor::scatter_from_root(comm, y)};
}

Data read_data(const mpi::Comm& comm, const std::string& path) {
  Data data = [&] {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (ext == ".npz" || ext == ".csv") return read_on_root(comm, path);
    DistTensor X = io::read_rows(comm, path, "/regression/X", {2, {}, {}}, "--data");
    DistTensor y = io::read_rows(comm, path, "/regression/y", {1, X.global_shape()[0], 1}, "--data");
    return Data{std::move(X), std::move(y)};
  }();
  mpi::collectively(comm, [&] {
    regression::check_shapes(data.X, data.y);
    for (const double v : data.X.local().data())
      if (!std::isfinite(v)) throw InputError("X in '" + path + "' (--data) holds NaN or infinite values");
    for (const double v : data.y.local().data())
      if (!std::isfinite(v)) throw InputError("y in '" + path + "' (--data) holds NaN or infinite values");
  });
  return data;
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

}  // namespace

void run_regress(const mpi::Comm& comm, const Config& config) {
  const auto started = clock::now();
  const RegressConfig& cfg = config.regress;
  mpi::collectively(comm, [&] {
    const bool synthetic = cfg.data.empty();
    if (synthetic && cfg.rows < 1) throw InputError("--rows must be at least 1, got " + std::to_string(cfg.rows));
    if (synthetic && cfg.cols < 1) throw InputError("--cols must be at least 1, got " + std::to_string(cfg.cols));
    if (!(std::isfinite(cfg.noise) && cfg.noise >= 0)) throw InputError("--noise must be a non-negative number");
    if (!(std::isfinite(cfg.gd.lr) && cfg.gd.lr > 0)) throw InputError("--lr must be a positive number");
    if (cfg.gd.iters < 1) throw InputError("--iters must be at least 1");
    if (!(std::isfinite(cfg.gd.tol) && cfg.gd.tol >= 0)) throw InputError("--tol must be a non-negative number");
    const std::string ext = std::filesystem::path(cfg.data).extension().string();
    if ((config.output.checkpoint_every > 0 || !config.output.restart.empty()) && cfg.method != regression::Method::gd)
      throw InputError("--checkpoint-every and --restart apply to --method gd only");
    if (!synthetic && ext != ".h5" && ext != ".hdf5" && ext != ".npz" && ext != ".csv")
      throw InputError("--data must be an .h5, .npz or .csv file, got '" + cfg.data + "'");
  });
  // The size is known only for synthetic data here; read data is checked at its own size below.
  const auto n_rows = static_cast<std::uint64_t>(cfg.rows), n_cols = static_cast<std::uint64_t>(cfg.cols);
  const io::OutputOptions out{
      config.output.out, config.output.io, config.output.overwrite,
      cfg.data.empty() && cfg.write_data ? io::expected_size({n_rows, n_cols + 1}) + (64 << 10) : 0};
  const io::Claim claim = io::check_output(comm, out);  // held to the end: one run per --out
  Checkpoints checkpoints(comm, config.output);

  Reporter report(comm.is_root() && !config.quiet, "iteration");
  std::optional<regression::Truth> truth;
  Data data = [&] {
    if (!cfg.data.empty()) return read_data(comm, cfg.data);
    truth = regression::true_model(cfg.seed, static_cast<std::size_t>(cfg.cols));
    Data d{DistTensor(comm, {static_cast<std::size_t>(cfg.rows), static_cast<std::size_t>(cfg.cols)}),
           DistTensor(comm, {static_cast<std::size_t>(cfg.rows)})};
    regression::generate(cfg.seed, cfg.noise, *truth, d.X, d.y);
    return d;
  }();
  const std::size_t rows = data.X.global_shape()[0], cols = data.X.global_shape()[1];
  report.line(
      "slab regress: N=" + std::to_string(rows) + " D=" + std::to_string(cols) + " data=" +
      (cfg.data.empty() ? "synthetic (seed " + std::to_string(cfg.seed) + ", noise " + format_number(cfg.noise) + ")"
                        : cfg.data) +
      " method=" + regression::to_string(cfg.method) +
      (cfg.method == regression::Method::gd ? " lr=" + format_number(cfg.gd.lr) + " iters=" +
                                                  std::to_string(cfg.gd.iters) + " tol=" + format_number(cfg.gd.tol)
                                            : "") +
      (cfg.standardize ? " standardize" : "") + " ranks=" + std::to_string(comm.size()) + " -> " +
      io::output_target(out.path));

  auto io_start = clock::now();
  io::Output output(comm, out);
  io::Sink& sink = output.sink();
  if (cfg.write_data) {
    sink.create({"regression/X", data.X.global_shape()});
    sink.write("regression/X", rows_block(data.X));
    sink.create({"regression/y", data.y.global_shape()});
    sink.write("regression/y", rows_block(data.y));
  }
  double io_seconds = seconds_since(io_start);

  const auto fit_start = clock::now();
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "solve"); });
  std::optional<regression::Scaling> scaling;
  if (cfg.standardize) scaling = regression::standardize(comm, data.X);
  regression::Fit fit;
  std::int64_t restarted_from = 0;
  switch (cfg.method) {
    case regression::Method::gd: {
      const bool checkpointing = config.output.checkpoint_every > 0 || !config.output.restart.empty();
      const Fingerprint parameters = checkpointing ? gd_parameters(comm, cfg, rows, cols) : Fingerprint{};
      std::optional<regression::Fit> start;
      if (!config.output.restart.empty()) {
        start = resume_gd(comm, config.output.restart, cfg, parameters, cols);
        restarted_from = start->iterations;
        report.line("slab regress: restarted from " + config.output.restart + " at iteration " +
                    std::to_string(start->iterations));
      }
      const std::int64_t every = config.output.checkpoint_every;
      fit = regression::gradient_descent(
          comm, data.X, data.y, cfg.gd, start ? &*start : nullptr, [&](const regression::Fit& now) {
            report.progress(now.iterations, cfg.gd.iters);
            if (every <= 0 || now.iterations % every != 0 || now.iterations >= cfg.gd.iters) return;
            write_gd_checkpoint(comm, checkpoints, parameters, now);
          });
      break;
    }
    case regression::Method::normal:
      fit = regression::normal_equations(comm, data.X, data.y);
      break;
    case regression::Method::lstsq:
      fit = regression::least_squares(comm, data.X, data.y);
      break;
  }
  report.finish_progress();
  if (scaling) regression::to_original_units(*scaling, fit);
  const double fit_seconds = seconds_since(fit_start);
  if (fit.loss_increases > 0 && comm.is_root())
    std::fprintf(stderr, "slab: warning: the loss increased in %lld of %lld iterations; --lr %g may be too large\n",
                 static_cast<long long>(fit.loss_increases), static_cast<long long>(fit.iterations), cfg.gd.lr);

  io_start = clock::now();
  write_replicated(comm, sink, "regression/w", fit.w);
  write_scalar(comm, sink, "regression/b", fit.b);
  write_replicated(comm, sink, "regression/loss", fit.loss);
  if (truth) {
    write_replicated(comm, sink, "regression/w_true", truth->w);
    write_scalar(comm, sink, "regression/b_true", truth->b);
  }
  io::Attributes attributes{{"method", regression::to_string(cfg.method)},
                            {"rows", static_cast<std::int64_t>(rows)},
                            {"cols", static_cast<std::int64_t>(cols)},
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
  for (auto& a : provenance(comm, config)) attributes.push_back(std::move(a));
  attributes.emplace_back("wall_time_compute", comm.allreduce_max(fit.compute_seconds));
  attributes.emplace_back("wall_time_communication", comm.allreduce_max(fit.communication_seconds));
  attributes.emplace_back("wall_time_io", comm.allreduce_max(io_seconds + seconds_since(io_start)));
  attributes.emplace_back("wall_time_total", comm.allreduce_max(seconds_since(started)));
  sink.annotate("regression", attributes);
  sink.annotate("regression/loss", {{"description", std::string("mean squared error at each iteration")}});
  mpi::collectively(comm, [&] { mpi::inject_fault(comm, "write"); });
  output.commit();
  checkpoints.finish();
  io_seconds += seconds_since(io_start);

  const double work = static_cast<double>(rows) * static_cast<double>(std::max<std::int64_t>(fit.iterations, 1));
  report.line("slab regress: " + regression::to_string(cfg.method) + " " + std::to_string(fit.iterations) +
              " iterations" + (fit.converged ? " (converged)" : "") + ", loss " +
              format_number(fit.loss.empty() ? 0.0 : fit.loss.back()) + ", gradient norm " +
              format_number(fit.gradient_norm) + ", b " + format_number(fit.b) + " on " + std::to_string(comm.size()) +
              " ranks in " + format_number(seconds_since(started)) + " s (fit " + format_number(fit_seconds) +
              " s: compute " + format_number(fit.compute_seconds) + " s, allreduce " +
              format_number(fit.communication_seconds) + " s; I/O " + format_number(io_seconds) + " s), " +
              format_number(work / fit_seconds) + " rows*iterations/s; wrote " + output.target());
}

}  // namespace slab::app
