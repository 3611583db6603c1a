#include "app/checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/partition.hpp"

#include "core/stop.hpp"

namespace slab::app {
namespace fs = std::filesystem;

std::string checkpoint_path(const std::string& out) { return io::output_target(out) + ".ckpt.h5"; }

void write_replicated(const mpi::Comm& comm, io::Sink& sink, const std::string& name, const std::vector<double>& v) {
  sink.create({name, {v.size()}});
  sink.write(name, comm.is_root() && !v.empty() ? io::Block{{0}, {v.size()}, v.data()} : io::Block::none(1));
}

Checkpoints::Checkpoints(const mpi::Comm& comm, const OutputConfig& output, bool stoppable)
    : comm_(comm), output_(output), path_(checkpoint_path(output.out)) {
  const bool periodic_or_restart = output.checkpoint_every > 0 || !output.restart.empty();
  if (!stoppable && !periodic_or_restart) return;
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    const std::string option = "the checkpoint of --out " + output.out;
    std::error_code ec;
    restart_is_ours_ = !output.restart.empty() && fs::equivalent(output.restart, path_, ec);
    if (periodic_or_restart) claim_ = io::claim_target(path_, option);
    // A checkpoint in a folder this run cannot write (an archive) cannot be written by another run
    // either: it is read without a lock.
    const fs::path folder =
        fs::path(output.restart).parent_path().empty() ? "." : fs::path(output.restart).parent_path();
    if (!output.restart.empty() && !restart_is_ours_ && ::access(folder.c_str(), W_OK | X_OK) == 0)
      restart_claim_ = io::claim_target(output.restart, "--restart");
    // Also without --checkpoint-every: a stop by a signal or the time limit writes one.
    const io::Existing found = io::existing(path_);
    if (found == io::Existing::nothing || restart_is_ours_) return;
    std::error_code unreadable;
    (void)fs::symlink_status(path_, unreadable);
    if (!periodic_or_restart && unreadable) return;  // a name too long to exist: a stop would say so
    if (found != io::Existing::file)
      io::check_replaceable(path_, io::TargetKind::file, /*overwrite=*/true, option);  // throws: not a file
    if (!output.overwrite)
      throw InputError("a checkpoint '" + path_ + "' of an earlier run exists; resume it with --restart " + path_ +
                       ", or pass --overwrite to start over");
  });
}

void Checkpoints::write(const Fingerprint& parameters, std::int64_t step, const std::function<void(io::Sink&)>& fill) {
  const auto started = std::chrono::steady_clock::now();
  // Replaces only this run's own checkpoint, or one the user allowed it to (--restart of it, --overwrite).
  const bool replace = written_ || restart_is_ours_ || output_.overwrite;
  io::Output out(comm_, {path_, output_.io, replace, 0, "the checkpoint of --out " + output_.out, output_.access});
  fill(out.sink());
  out.sink().annotate("checkpoint/parameters", parameters);
  out.sink().annotate("checkpoint", {{"step", step}, {"format", std::string("slab checkpoint 2")}});
  out.commit();
  written_ = true;
  // The margin a time limit keeps (src/stop.hpp): the cost of this checkpoint.
  stop::note_checkpoint(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void Checkpoints::finish() {
  comm_.barrier();
  if (comm_.is_root() && (written_ || restart_is_ours_)) io::remove_own_file(path_);
}

CheckpointRecord read_checkpoint(const mpi::Comm& comm, const io::H5Input& file, const CheckpointRules& rules,
                                 const std::vector<std::string>& small) {
  CheckpointRecord record;
  record.parameters = file.attributes("/checkpoint/parameters");
  for (const auto& [name, value] : file.attributes("/checkpoint"))
    if (name == "step" && std::holds_alternative<std::int64_t>(value)) record.step = std::get<std::int64_t>(value);
  mpi::collectively(comm, [&] { check_parameters_and_step(record, rules); });
  for (const auto& [name, shape] : rules.shapes(*record.step)) record.shapes[name] = file.shape(name);
  mpi::collectively(comm, [&] { check_shapes(record, rules); });
  for (const auto& name : small) {
    const Shape& shape = *record.shapes.at(name);
    record.values[name] = shape.empty() || shape[0] == 0 ? std::vector<double>(element_count(shape), 0.0)
                                                         : file.whole(name, {shape.size(), shape[0], {}}).to_vec();
  }
  mpi::collectively(comm, [&] { check_values(record, rules); });
  return record;
}

std::string content_hash(const mpi::Comm& comm, const std::string& path, const std::string& option) {
  std::string hash;
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot read '" + path + "' (" + option + ")");
    std::vector<char> buffer(1 << 20);
    std::uint64_t state = fnv1a(nullptr, 0);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      state = fnv1a(buffer.data(), static_cast<std::size_t>(in.gcount()), state);
    }
    if (in.bad()) throw InputError("cannot read '" + path + "' (" + option + ")");
    hash = "fnv1a-64:" + hex64(state);
  });
  comm.broadcast(hash);
  return hash;
}

// ---- heat ----

std::uint64_t snapshot_rows_per_piece(std::uint64_t nx) {
  return std::max<std::uint64_t>(1, (std::uint64_t{1} << 20) / std::max<std::uint64_t>(nx, 1));
}

namespace {

bool is_builtin_init(const std::string& init) { return init == "sine" || init == "gaussian" || init == "step"; }
}  // namespace

Fingerprint heat_parameters(const mpi::Comm& comm, const heat::Problem& p, const HeatConfig& cfg,
                            const std::string& petsc_options, bool hash_files) {
  // The user's own choices first (a contradiction names them, not the dt they imply).
  Fingerprint f{{"kind", std::string("heat")},
                {"nx", p.nx},
                {"length", p.length},
                {"alpha", p.alpha},
                {"scheme", heat::to_string(p.scheme)},
                {"bc", heat::to_string(p.bc)},
                {"left", p.left},
                {"right", p.right},
                {"snapshots", p.snapshots},
                {"steps", p.steps},
                {"dt", p.dt}};
  if (is_builtin_init(cfg.init)) {
    f.emplace_back("init", cfg.init);
    if (cfg.init == "sine") f.emplace_back("mode", std::int64_t{cfg.mode});
  } else {
    // A file is named by its bytes, not its path: a moved copy is the same input, an edited file is not.
    const auto colon = cfg.init.rfind(":/");
    f.emplace_back("init", "a file, dataset " + cfg.init.substr(colon + 1));
    if (hash_files) f.emplace_back("init_file_content", content_hash(comm, cfg.init.substr(0, colon), "--init"));
  }
  if (p.scheme != heat::Scheme::explicit_euler) {
    // The two solvers agree to about 1e-12, not to the bit: a resumed run keeps its solver.
    f.emplace_back("solver", heat::to_string(p.solver));
    f.emplace_back("petsc", petsc_options);
  }
  return f;
}

HeatResume resume_heat(const mpi::Comm& comm, const std::string& from, const heat::Problem& p,
                       const Fingerprint& parameters, io::Sink& sink, const io::FileAccess& access) {
  const io::H5Input file(comm, from, "--restart", access);
  const auto nx = static_cast<std::uint64_t>(p.nx);
  auto snapshots_by = [&p](std::int64_t step) {
    std::int64_t taken = 0;
    while (taken < p.snapshots && p.snapshot_step(taken) <= step) ++taken;
    return taken;
  };
  auto snapshot_time = [&p](std::int64_t k) { return p.time_at(p.snapshot_step(k)); };
  const CheckpointRecord record =
      read_checkpoint(comm, file, heat_rules("--restart " + from, parameters, nx, p.steps, snapshots_by, snapshot_time),
                      {"/checkpoint/t"});
  HeatResume resume{*record.step, file.rows("/checkpoint/u", {1, nx, 1}).local().to_vec(),
                    record.values.at("/checkpoint/t")};
  const RowPartition part(p.nx, comm.size(), comm.rank());
  const auto first = static_cast<std::uint64_t>(part.first()), count = static_cast<std::uint64_t>(part.count());
  auto check_finite = [&](const std::vector<double>& values, std::size_t n, const std::string& what) {
    mpi::collectively(comm, [&] {
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i]))
          throw InputError("--restart " + from + ": the checkpoint's '" + what + "' holds NaN or infinity");
    });
  };
  check_finite(resume.u, resume.u.size(), "/checkpoint/u");
  const std::uint64_t taken = resume.times.size(), piece = snapshot_rows_per_piece(nx);
  std::vector<double> buffer(std::min(piece, taken) * count);
  for (std::uint64_t s0 = 0; s0 < taken; s0 += piece) {
    const std::uint64_t n = std::min(piece, taken - s0);
    file.read_box("/checkpoint/snapshots", {s0, count > 0 ? first : 0}, {n, count}, buffer.data());
    check_finite(buffer, n * count, "/checkpoint/snapshots");
    sink.write("heat/u", count > 0 ? io::Block{{s0, first}, {n, count}, buffer.data()} : io::Block::none(2));
  }
  return resume;
}

void write_heat_checkpoint(const mpi::Comm& comm, Checkpoints& checkpoints, const Fingerprint& parameters,
                           const heat::Problem& p, std::int64_t step, std::span<const double> now,
                           const std::vector<double>& times, io::Sink& output) {
  const auto nx = static_cast<std::uint64_t>(p.nx);
  const RowPartition part(p.nx, comm.size(), comm.rank());
  const auto first = static_cast<std::uint64_t>(part.first()), count = static_cast<std::uint64_t>(part.count());
  checkpoints.write(parameters, step, [&](io::Sink& s) {
    s.create({"checkpoint/u", {nx}});
    s.write("checkpoint/u", count > 0 ? io::Block{{first}, {count}, now.data()} : io::Block::none(1));
    const std::uint64_t taken = times.size(), piece = snapshot_rows_per_piece(nx);
    s.create({"checkpoint/snapshots", {taken, nx}});
    std::vector<double> buffer(std::min(piece, taken) * count);
    for (std::uint64_t s0 = 0; s0 < taken; s0 += piece) {
      const std::uint64_t n = std::min(piece, taken - s0);
      const io::Block box = count > 0 ? io::Block{{s0, first}, {n, count}, buffer.data()} : io::Block::none(2);
      output.read("heat/u", box, count > 0 ? buffer.data() : nullptr);
      s.write("checkpoint/snapshots", box);
    }
    write_replicated(comm, s, "checkpoint/t", times);
  });
}

// ---- gradient descent ----

Fingerprint gd_parameters(const mpi::Comm& comm, const RegressConfig& cfg, std::size_t rows, std::size_t cols) {
  Fingerprint f{{"kind", std::string("regress")},
                {"method", regression::to_string(cfg.method)},
                {"rows", static_cast<std::int64_t>(rows)},
                {"cols", static_cast<std::int64_t>(cols)}};
  if (cfg.data.empty()) {
    f.emplace_back("data", std::string("synthetic"));
    f.emplace_back("seed", static_cast<std::int64_t>(cfg.seed));  // an integer, all 64 bits
    f.emplace_back("noise", cfg.noise);
  } else {
    f.emplace_back("data", content_hash(comm, cfg.data, "--data"));
  }
  f.emplace_back("lr", cfg.gd.lr);
  f.emplace_back("tol", cfg.gd.tol);
  f.emplace_back("iters", cfg.gd.iters);
  f.emplace_back("standardize", std::int64_t{cfg.standardize});
  return f;
}

regression::Fit resume_gd(const mpi::Comm& comm, const std::string& from, const RegressConfig& cfg,
                          const Fingerprint& parameters, std::size_t cols, const io::FileAccess& access) {
  const io::H5Input file(comm, from, "--restart", access);
  const CheckpointRecord record =
      read_checkpoint(comm, file, gd_rules("--restart " + from, parameters, cols, cfg.gd.iters),
                      {"/checkpoint/w", "/checkpoint/loss", "/checkpoint/state"});
  regression::Fit fit;
  fit.iterations = *record.step;
  fit.w = record.values.at("/checkpoint/w");
  fit.loss = record.values.at("/checkpoint/loss");
  fit.b = record.values.at("/checkpoint/state")[0];
  fit.loss_increases = static_cast<std::int64_t>(record.values.at("/checkpoint/state")[1]);
  return fit;
}

void write_gd_checkpoint(const mpi::Comm& comm, Checkpoints& checkpoints, const Fingerprint& parameters,
                         const regression::Fit& now) {
  checkpoints.write(parameters, now.iterations, [&](io::Sink& s) {
    write_replicated(comm, s, "checkpoint/w", now.w);
    write_replicated(comm, s, "checkpoint/loss", now.loss);
    write_replicated(comm, s, "checkpoint/state", {now.b, static_cast<double>(now.loss_increases)});
  });
}

}  // namespace slab::app
