#include "app/checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include "core/partition.hpp"
#include "core/text.hpp"

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

namespace {

// A sink that passes everything on to `target` and adds every block written to a digest.
class DigestingSink : public io::Sink {
 public:
  explicit DigestingSink(io::Sink& target) : target_(target) {}
  void create(const io::DatasetSpec& spec) override {
    shapes_[spec.path] = spec.shape;
    target_.create(spec);
  }
  void write(const std::string& path, const io::Block& block) override {
    digest_.add(path, shapes_.at(path), block.start, block.count, block.data);
    target_.write(path, block);
  }
  void annotate(const std::string& object, const io::Attributes& attributes) override {
    target_.annotate(object, attributes);
  }
  void read(const std::string& path, const io::Block& box, double* out) override { target_.read(path, box, out); }
  void commit() override { target_.commit(); }
  [[nodiscard]] const ArrayDigest& digest() const noexcept { return digest_; }

 private:
  io::Sink& target_;
  std::map<std::string, Shape> shapes_;
  ArrayDigest digest_;
};

// Collective: the digest of a checkpoint whose arrays this rank wrote or read the part `mine` of.
std::string agreed_digest(const mpi::Comm& comm, const Fingerprint& parameters, std::int64_t step,
                          const ArrayDigest& mine) {
  const std::uint64_t local = mine.sum();
  const std::vector<std::uint64_t> sums = comm.gather(std::span<const std::uint64_t>(&local, 1), 0);
  std::uint64_t total = 0;
  for (const auto s : sums) total += s;  // modulo 2^64, in any order
  std::string digest = comm.is_root() ? checkpoint_digest(parameters, step, total) : std::string();
  comm.broadcast(digest);
  return digest;
}

// Collective: refuses a checkpoint whose digest is not that of what this rank and the others read.
void verify_digest(const mpi::Comm& comm, const CheckpointRecord& record, const CheckpointRules& rules,
                   const ArrayDigest& read) {
  const std::string computed = agreed_digest(comm, record.parameters, *record.step, read);
  mpi::collectively(comm, [&] { check_digest(record, rules, computed); });
}

}  // namespace

void Checkpoints::write(const Fingerprint& parameters, std::int64_t step, const std::function<void(io::Sink&)>& fill) {
  const auto started = std::chrono::steady_clock::now();
  // Replaces only this run's own checkpoint, or one the user allowed it to (--restart of it, --overwrite).
  const bool replace = written_ || restart_is_ours_ || output_.overwrite;
  io::Output out(comm_, {path_, output_.io, replace, 0, "the checkpoint of --out " + output_.out, output_.access});
  DigestingSink sink(out.sink());
  fill(sink);
  const std::string digest = agreed_digest(comm_, parameters, step, sink.digest());
  out.sink().annotate("checkpoint/parameters", parameters);
  // The digest ties the step and the parameters to the state; commit() then marks the file complete.
  out.sink().annotate("checkpoint", {{"step", step}, {"format", std::string(checkpoint_format)}, {"digest", digest}});
  out.commit();
  written_ = true;
  // The margin a time limit keeps (src/core/stop.hpp): the cost of this checkpoint.
  stop::note_checkpoint(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void Checkpoints::finish() {
  comm_.barrier();
  if (comm_.is_root() && (written_ || restart_is_ours_)) io::remove_own_file(path_);
}

CheckpointRecord read_checkpoint(const mpi::Comm& comm, const io::H5Input& file, const CheckpointRules& rules,
                                 const std::vector<std::string>& small, ArrayDigest& digest) {
  CheckpointRecord record;
  for (const auto& [name, value] : file.attributes("/"))
    if (name == "complete" && std::holds_alternative<std::int64_t>(value))
      record.complete = std::get<std::int64_t>(value);
  record.parameters = file.attributes("/checkpoint/parameters");
  for (const auto& [name, value] : file.attributes("/checkpoint")) {
    if (name == "step" && std::holds_alternative<std::int64_t>(value)) record.step = std::get<std::int64_t>(value);
    if (name == "format" && std::holds_alternative<std::string>(value)) record.format = std::get<std::string>(value);
    if (name == "digest" && std::holds_alternative<std::string>(value)) record.digest = std::get<std::string>(value);
  }
  mpi::collectively(comm, [&] { check_parameters_and_step(record, rules); });
  for (const auto& [name, shape] : rules.shapes(*record.step)) record.shapes[name] = file.shape(name);
  mpi::collectively(comm, [&] { check_shapes(record, rules); });
  for (const auto& name : small) {
    const Shape& shape = *record.shapes.at(name);
    record.values[name] = shape.empty() || shape[0] == 0 ? std::vector<double>(element_count(shape), 0.0)
                                                         : file.whole(name, {shape.size(), shape[0], {}}).to_vec();
    // Read whole on every rank: counted once.
    if (comm.is_root())
      digest.add(name, shape, std::vector<std::uint64_t>(shape.size(), 0), shape, record.values[name].data());
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

namespace {
// A fingerprint as a file records it: text in well-formed UTF-8 (io/h5_writer.cpp), so that a
// restart compares like with like.
Fingerprint as_recorded(Fingerprint f) {
  for (auto& [name, value] : f)
    if (auto* text = std::get_if<std::string>(&value)) *text = as_utf8(*text);
  return f;
}
}  // namespace

// ---- heat ----

std::uint64_t snapshot_rows_per_piece(std::uint64_t nx) {
  return std::max<std::uint64_t>(1, (std::uint64_t{1} << 20) / std::max<std::uint64_t>(nx, 1));
}

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
  if (cfg.init.built_in) {
    f.emplace_back("init", heat::to_string(*cfg.init.built_in));
    if (cfg.init.is(heat::Init::sine)) f.emplace_back("mode", std::int64_t{cfg.mode});
  } else {
    // A file is named by its bytes, not its path: a moved copy is the same input, an edited file is not.
    f.emplace_back("init", "a file, dataset " + cfg.init.dataset);
    if (hash_files) f.emplace_back("init_file_content", content_hash(comm, cfg.init.file, "--init"));
  }
  if (p.scheme != heat::Scheme::explicit_euler) {
    // The two solvers agree to about 1e-12, not to the bit: a resumed run keeps its solver.
    f.emplace_back("solver", heat::to_string(p.solver));
    f.emplace_back("petsc", petsc_options);
  }
  return as_recorded(std::move(f));
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
  const CheckpointRules rules = heat_rules("--restart " + from, parameters, nx, p.steps, snapshots_by, snapshot_time);
  ArrayDigest digest;
  const CheckpointRecord record = read_checkpoint(comm, file, rules, {"/checkpoint/t"}, digest);
  HeatResume resume{*record.step, file.rows("/checkpoint/u", {1, nx, 1}).local().to_vec(),
                    record.values.at("/checkpoint/t")};
  const RowPartition part(p.nx, comm.size(), comm.rank());
  const auto first = static_cast<std::uint64_t>(part.first()), count = static_cast<std::uint64_t>(part.count());
  digest.add("/checkpoint/u", {nx}, {first}, {count}, resume.u.data());
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
    digest.add("/checkpoint/snapshots", {taken, nx}, {s0, first}, {n, count}, buffer.data());
    sink.write("heat/u", count > 0 ? io::Block{{s0, first}, {n, count}, buffer.data()} : io::Block::none(2));
  }
  verify_digest(comm, record, rules, digest);
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
  return as_recorded(std::move(f));
}

regression::Fit resume_gd(const mpi::Comm& comm, const std::string& from, const RegressConfig& cfg,
                          const Fingerprint& parameters, std::size_t cols, const io::FileAccess& access) {
  const io::H5Input file(comm, from, "--restart", access);
  const CheckpointRules rules = gd_rules("--restart " + from, parameters, cols, cfg.gd.iters);
  ArrayDigest digest;
  const CheckpointRecord record =
      read_checkpoint(comm, file, rules, {"/checkpoint/w", "/checkpoint/loss", "/checkpoint/state"}, digest);
  verify_digest(comm, record, rules, digest);
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
