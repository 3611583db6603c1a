// slab_bench CASE [options]: times one benchmark case and prints one JSON line per
// implementation on rank 0: {"case", "impl", "ranks", sizes..., "seconds": [every repetition]}.
// bench/run.sh runs the cases side by side and bench/report.py turns the lines into tables.
//
// Cases: stream, heat-explicit, heat-cn, gd, lstsq, h5write. Each runs slab's own code and, where one
// exists in C/C++, the idiomatic PETSc peer (DMDA explicit loop; DMDA matrix + KSP per step).
#include <fcntl.h>
#include <unistd.h>

#include <petscdmda.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/dist_tensor.hpp"
#include "core/petsc.hpp"
#include "io/output.hpp"
#include "io/row_stream.hpp"
#include "solvers/heat.hpp"
#include "solvers/regression.hpp"
#include "solvers/synthetic.hpp"
#include "solvers/tsqr.hpp"

namespace {

using slab::mpi::Comm;

struct Args {
  std::string name;
  long n = 1000000;  // nx, rows, or elements
  long steps = 200;  // time steps or iterations
  long cols = 16;
  int reps = 3;
  std::string dir = ".";  // for file output
  long peers = 1;         // 0: slab alone, without its PETSc peers
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw slab::InputError("usage: slab_bench CASE [--n N] [--steps S] [--cols D] [--reps R] [--dir D]");
  a.name = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* v = argv[i + 1];
    if (key == "--n")
      a.n = std::atol(v);
    else if (key == "--steps")
      a.steps = std::atol(v);
    else if (key == "--cols")
      a.cols = std::atol(v);
    else if (key == "--reps")
      a.reps = std::atoi(v);
    else if (key == "--dir")
      a.dir = v;
    else if (key == "--peers")
      a.peers = std::atol(v);
    else
      throw slab::InputError("unknown option " + key);
  }
  return a;
}

// Runs body reps times between barriers; returns the slowest rank's time of each repetition.
// `before` runs untimed before each repetition.
std::vector<double> time_it(const Comm& comm, int reps, const std::function<void()>& body,
                            const std::function<void()>& before = {}) {
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    if (before) before();
    comm.barrier();
    const double start = slab::mpi::wall_time();
    body();
    seconds.push_back(comm.allreduce_max(slab::mpi::wall_time() - start));
  }
  return seconds;
}

void report(const Comm& comm, const Args& a, const std::string& impl, const std::vector<double>& seconds,
            const std::string& extra = "") {
  if (!comm.is_root()) return;
  std::printf(
      "{\"case\": \"%s\", \"impl\": \"%s\", \"ranks\": %d, \"n\": %ld, \"steps\": %ld, \"cols\": %ld%s, "
      "\"seconds\": [",
      a.name.c_str(), impl.c_str(), comm.size(), a.n, a.steps, a.cols, extra.c_str());
  for (std::size_t i = 0; i < seconds.size(); ++i) std::printf("%s%.9g", i ? ", " : "", seconds[i]);
  std::printf("]}\n");
  std::fflush(stdout);
}

// STREAM copy and triad, and a read-only sum, every rank on its own arrays at once: the machine's
// bandwidth bounds.
void stream(const Comm& comm, const Args& a) {
  const auto n = static_cast<std::size_t>(a.n);
  std::vector<double> x(n, 1.0), y(n, 2.0), z(n, 3.0);
  double* __restrict px = x.data();
  double* __restrict py = y.data();
  const double* __restrict pz = z.data();
  report(comm, a, "copy",
         time_it(comm, a.reps,
                 [&] {
                   for (std::size_t i = 0; i < n; ++i) px[i] = py[i];
                 }),
         ", \"bytes_per_element\": 16");
  report(comm, a, "triad",
         time_it(comm, a.reps,
                 [&] {
                   for (std::size_t i = 0; i < n; ++i) px[i] = py[i] + 3.0 * pz[i];
                 }),
         ", \"bytes_per_element\": 24");
  // Read only, the access pattern of a gd iteration: four independent sums, no dependency chain.
  double sums[4] = {0, 0, 0, 0};
  report(comm, a, "read",
         time_it(comm, a.reps,
                 [&] {
                   for (std::size_t i = 0; i + 4 <= n; i += 4)
                     for (std::size_t k = 0; k < 4; ++k) sums[k] += py[i + k];
                 }),
         ", \"bytes_per_element\": 8");
  if (x[n / 2] < 0 || sums[0] < 0) std::printf("#\n");  // keep the loops
}

slab::heat::Problem heat_problem(const Args& a, slab::heat::Scheme scheme, double r) {
  slab::heat::Request q;
  q.nx = a.n;
  q.steps = a.steps;
  q.diffusion_number = r;
  q.scheme = scheme;
  q.snapshots = 1;
  return slab::heat::resolve(q);
}

// The same FTCS update with PETSc's DMDA, as its tutorials write it.
void petsc_dmda_explicit(const Comm& comm, const Args& a, double r) {
  slab::petsc::OwnedDM owned_da;
  SLAB_PETSC(DMDACreate1d(comm.get(), DM_BOUNDARY_NONE, static_cast<PetscInt>(a.n), 1, 1, nullptr, owned_da.out()));
  DM da = owned_da.get();
  SLAB_PETSC(DMSetUp(da));
  slab::petsc::OwnedVec owned_u, owned_local;
  SLAB_PETSC(DMCreateGlobalVector(da, owned_u.out()));
  SLAB_PETSC(DMCreateLocalVector(da, owned_local.out()));
  Vec u = owned_u.get(), local = owned_local.get();
  const auto seconds = time_it(comm, a.reps, [&] {
    SLAB_PETSC(VecSet(u, 1.0));
    PetscInt xs, xm;
    SLAB_PETSC(DMDAGetCorners(da, &xs, nullptr, nullptr, &xm, nullptr, nullptr));
    for (long s = 0; s < a.steps; ++s) {
      SLAB_PETSC(DMGlobalToLocalBegin(da, u, INSERT_VALUES, local));
      SLAB_PETSC(DMGlobalToLocalEnd(da, u, INSERT_VALUES, local));
      const PetscScalar* in;
      PetscScalar* out;
      SLAB_PETSC(DMDAVecGetArrayRead(da, local, &in));
      SLAB_PETSC(DMDAVecGetArray(da, u, &out));
      for (PetscInt i = xs; i < xs + xm; ++i)
        if (i > 0 && i < a.n - 1) out[i] = in[i] + r * ((in[i - 1] - 2.0 * in[i]) + in[i + 1]);
      SLAB_PETSC(DMDAVecRestoreArray(da, u, &out));
      SLAB_PETSC(DMDAVecRestoreArrayRead(da, local, &in));
    }
  });
  report(comm, a, "petsc-dmda", seconds);
}

// Crank-Nicolson the PETSc way: DMDA matrices, MatMult for the right side, KSPSolve per step.
void petsc_dmda_cn(const Comm& comm, const Args& a, double r) {
  slab::petsc::OwnedDM owned_da;
  SLAB_PETSC(DMDACreate1d(comm.get(), DM_BOUNDARY_NONE, static_cast<PetscInt>(a.n), 1, 1, nullptr, owned_da.out()));
  DM da = owned_da.get();
  SLAB_PETSC(DMSetUp(da));
  slab::petsc::OwnedMat owned_lhs, owned_rhs_op;
  SLAB_PETSC(DMCreateMatrix(da, owned_lhs.out()));
  SLAB_PETSC(DMCreateMatrix(da, owned_rhs_op.out()));
  Mat lhs = owned_lhs.get(), rhs_op = owned_rhs_op.get();
  PetscInt xs, xm;
  SLAB_PETSC(DMDAGetCorners(da, &xs, nullptr, nullptr, &xm, nullptr, nullptr));
  for (PetscInt i = xs; i < xs + xm; ++i) {
    MatStencil row{}, cols[3]{};
    row.i = i;
    if (i == 0 || i == a.n - 1) {
      const PetscScalar one = 1.0;
      SLAB_PETSC(MatSetValuesStencil(lhs, 1, &row, 1, &row, &one, INSERT_VALUES));
      SLAB_PETSC(MatSetValuesStencil(rhs_op, 1, &row, 1, &row, &one, INSERT_VALUES));
      continue;
    }
    cols[0].i = i - 1;
    cols[1].i = i;
    cols[2].i = i + 1;
    const PetscScalar l[3] = {-r / 2, 1 + r, -r / 2}, b[3] = {r / 2, 1 - r, r / 2};
    SLAB_PETSC(MatSetValuesStencil(lhs, 1, &row, 3, cols, l, INSERT_VALUES));
    SLAB_PETSC(MatSetValuesStencil(rhs_op, 1, &row, 3, cols, b, INSERT_VALUES));
  }
  for (Mat m : {lhs, rhs_op}) {
    SLAB_PETSC(MatAssemblyBegin(m, MAT_FINAL_ASSEMBLY));
    SLAB_PETSC(MatAssemblyEnd(m, MAT_FINAL_ASSEMBLY));
  }
  slab::petsc::OwnedVec owned_u, owned_b;
  SLAB_PETSC(DMCreateGlobalVector(da, owned_u.out()));
  SLAB_PETSC(VecDuplicate(owned_u.get(), owned_b.out()));
  Vec u = owned_u.get(), b = owned_b.get();
  slab::petsc::OwnedKSP owned_ksp;
  SLAB_PETSC(KSPCreate(comm.get(), owned_ksp.out()));
  KSP ksp = owned_ksp.get();
  SLAB_PETSC(KSPSetOperators(ksp, lhs, lhs));
  SLAB_PETSC(KSPSetTolerances(ksp, 1e-14, 1e-300, PETSC_DEFAULT, 10000));  // slab's accuracy
  SLAB_PETSC(KSPSetFromOptions(ksp));
  const auto seconds = time_it(comm, a.reps, [&] {
    SLAB_PETSC(VecSet(u, 1.0));
    for (long s = 0; s < a.steps; ++s) {
      SLAB_PETSC(MatMult(rhs_op, u, b));
      SLAB_PETSC(KSPSolve(ksp, b, u));
    }
  });
  report(comm, a, "petsc-dmda-ksp", seconds);
}

void heat_case(const Comm& comm, const Args& a, slab::heat::Scheme scheme) {
  const double r = scheme == slab::heat::Scheme::explicit_euler ? 0.25 : 10.0;
  const auto p = heat_problem(a, scheme, r);
  const slab::RowPartition part(p.nx, comm.size(), comm.rank());
  const auto u0 = slab::heat::initial(p, part, slab::heat::Init::sine, 1);
  const auto seconds = time_it(comm, a.reps, [&] {
    std::vector<double> u = u0;
    (void)slab::heat::solve(comm, p, u, {});
  });
  report(comm, a, "slab", seconds);
  if (scheme == slab::heat::Scheme::explicit_euler) {
    petsc_dmda_explicit(comm, a, r);
    return;
  }
  // Crank-Nicolson: the PETSc paths take minutes at 10^7 nodes; they run up to 10^6.
  if (a.n > 1000000 || a.peers == 0) return;
  auto through_petsc = p;
  through_petsc.solver = slab::heat::Solver::petsc;
  report(comm, a, "slab-petsc", time_it(comm, a.reps, [&] {
           std::vector<double> u = u0;
           (void)slab::heat::solve(comm, through_petsc, u, {});
         }));
  petsc_dmda_cn(comm, a, r);
}

void gd_case(const Comm& comm, const Args& a) {
  const auto rows = static_cast<std::size_t>(a.n), cols = static_cast<std::size_t>(a.cols);
  slab::DistTensor X(comm, {rows, cols}), y(comm, {rows});
  slab::regression::generate(1, 0.1, slab::regression::true_model(1, cols), X, y);
  slab::regression::GdOptions options;
  options.iters = a.steps;
  options.tol = 0;
  options.lr = 0.1;
  report(comm, a, "slab",
         time_it(comm, a.reps, [&] { (void)slab::regression::gradient_descent(comm, X, y, options); }));
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The direct least-squares fits, fit time only: TSQR (--method qr) and the normal equations. Also
// the slowest rank's CPU time of each repetition ("cpu_seconds"): on a machine shared with other
// jobs it still shows how the work divides over the ranks.
void lstsq_case(const Comm& comm, const Args& a) {
  const auto rows = static_cast<std::size_t>(a.n), cols = static_cast<std::size_t>(a.cols);
  slab::DistTensor X(comm, {rows, cols}), y(comm, {rows});
  slab::regression::generate(1, 0.1, slab::regression::true_model(1, cols), X, y);
  for (const std::string impl : {"slab-qr", "slab-normal"}) {
    std::vector<double> cpu;
    const auto seconds = time_it(comm, a.reps, [&] {
      const double start = cpu_seconds();
      if (impl == "slab-qr")
        (void)slab::regression::qr(comm, X, y);
      else
        (void)slab::regression::normal_equations(comm, X, y);
      cpu.push_back(comm.allreduce_max(cpu_seconds() - start));
    });
    std::string extra = ", \"cpu_seconds\": [";
    for (std::size_t i = 0; i < cpu.size(); ++i) extra += (i ? ", " : "") + std::to_string(cpu[i]);
    report(comm, a, impl, seconds, extra + "]");
  }
}

// A (n/1024, 1024) dataset through slab's writers, and the same bytes with write(2).
void h5write_case(const Comm& comm, const Args& a) {
  const std::size_t cols = 1024, rows = static_cast<std::size_t>(a.n) / cols;
  slab::DistTensor t(comm, {rows, cols});
  for (std::size_t i = 0; i < t.local().size(); ++i) t.local().data()[i] = static_cast<double>(i);
  const std::string path = a.dir + "/bench-write.h5";
  // Every writer starts alike: no file to replace (freeing 1 GiB of blocks is the file system's
  // cost, not the writer's) and no dirty pages of an earlier writer being written back under it.
  const auto flush_page_cache = [&] {
    if (!comm.is_root()) return;
    std::filesystem::remove(path);
    ::sync();
  };
  for (const auto mode : {slab::io::IoMode::parallel, slab::io::IoMode::gather}) {
    const auto seconds = time_it(
        comm, a.reps,
        [&] {
          slab::io::Output out(comm, {path, mode, true});
          out.sink().create({"a", {rows, cols}});
          const auto& p = t.partition();
          out.sink().write("a", p.count() > 0 ? slab::io::Block{{static_cast<std::uint64_t>(p.first()), 0},
                                                                {static_cast<std::uint64_t>(p.count()), cols},
                                                                t.local().data().data()}
                                              : slab::io::Block::none(2));
          out.commit();
        },
        flush_page_cache);
    report(comm, a, mode == slab::io::IoMode::parallel ? "slab-parallel" : "slab-gather", seconds);
  }
  if (comm.is_root()) std::filesystem::remove(path);
  // write(2) of the same bytes by one process, then with fsync.
  std::vector<double> all(comm.is_root() ? rows * cols : 0, 1.0);
  for (const bool sync : {false, true}) {
    std::vector<double> seconds;
    for (int r = 0; r < a.reps; ++r) {
      flush_page_cache();
      comm.barrier();
      const double start = slab::mpi::wall_time();
      if (comm.is_root()) {
        const std::string raw = a.dir + "/bench-write.raw";
        const int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const char* bytes = reinterpret_cast<const char*>(all.data());
        std::size_t left = all.size() * sizeof(double);
        while (left > 0) {
          const ssize_t n = ::write(fd, bytes, left);
          if (n <= 0) throw slab::RuntimeFailure("raw write failed");
          bytes += n;
          left -= static_cast<std::size_t>(n);
        }
        if (sync) ::fsync(fd);
        ::close(fd);
        std::filesystem::remove(raw);
      }
      seconds.push_back(comm.allreduce_max(slab::mpi::wall_time() - start));
    }
    report(comm, a, sync ? "write(2)+fsync" : "write(2)", seconds);
  }
}

// The pieces of an H5RowStream held in memory (this rank's rows, read whole first): the same pieces,
// served with no reading, so a streamed pass over it is the arithmetic alone.
class MemoryRows final : public slab::RowStream {
 public:
  explicit MemoryRows(const slab::io::H5RowStream& file)
      : rows_(file.rows()),
        cols_(file.cols()),
        piece_rows_(file.piece_rows()),
        data_(file.read_all()),
        first_(data_.first.partition().first()) {}
  [[nodiscard]] std::int64_t rows() const override { return rows_; }
  [[nodiscard]] std::size_t cols() const override { return cols_; }
  [[nodiscard]] std::int64_t piece_rows() const override { return piece_rows_; }
  void pass(const std::vector<slab::RowRange>& ranges, const std::function<void(const slab::RowPiece&)>& visit,
            bool /*with_x*/) const override {
    for (const slab::RowRange& r : ranges) {
      const auto local = static_cast<std::size_t>(r.begin - first_);
      visit({r.begin, static_cast<std::size_t>(r.size()), data_.first.local().data().data() + local * cols_,
             data_.second.local().data().data() + local});
    }
    ++passes_;
  }
  [[nodiscard]] std::int64_t passes() const override { return passes_; }

 private:
  std::int64_t rows_;
  std::size_t cols_;
  std::int64_t piece_rows_;
  std::pair<slab::DistTensor, slab::DistTensor> data_;  // X and y, this rank's rows
  std::int64_t first_;
  mutable std::int64_t passes_ = 0;
};

// A RowStream that passes everything to another and keeps the ranges of the last pass asked of it:
// the pieces a streamed TSQR reads, for reading the very same pieces with nothing to compute.
class RecordedRanges final : public slab::RowStream {
 public:
  explicit RecordedRanges(const slab::RowStream& rows) : rows_(rows) {}
  [[nodiscard]] std::int64_t rows() const override { return rows_.rows(); }
  [[nodiscard]] std::size_t cols() const override { return rows_.cols(); }
  [[nodiscard]] std::int64_t piece_rows() const override { return rows_.piece_rows(); }
  void pass(const std::vector<slab::RowRange>& ranges, const std::function<void(const slab::RowPiece&)>& visit,
            bool with_x) const override {
    ranges_ = ranges;
    rows_.pass(ranges, visit, with_x);
  }
  [[nodiscard]] std::int64_t passes() const override { return rows_.passes(); }
  [[nodiscard]] const std::vector<slab::RowRange>& ranges() const noexcept { return ranges_; }

 private:
  const slab::RowStream& rows_;
  mutable std::vector<slab::RowRange> ranges_;
};

// A streamed TSQR pass over an .h5 file of /regression/X and /regression/y (--dir FILE) through
// buffers of --n bytes per rank, against the same reader's pass over the same pieces with nothing
// to compute (the rate at which these ranks read the file alone). --steps 1: page cache cold
// (posix_fadvise DONTNEED on the file before every repetition); 0: warm. Rates in GB/s of X and y.
void stream_read_case(const Comm& comm, const Args& a) {
  const std::string& path = a.dir;
  const bool cold = a.steps == 1;
  const slab::io::H5RowStream rows(comm, path, {}, static_cast<std::uint64_t>(a.n), "--data");
  // One streamed TSQR pass first (which also warms the page cache): the pieces it reads are the
  // pieces read alone.
  const RecordedRanges recorder(rows);
  double sink = slab::regression::tsqr_factor(comm, recorder)[0];
  const std::vector<slab::RowRange> ranges = recorder.ranges();
  const auto drop_cache = [&] {
    if (!cold || !comm.is_root()) return;
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 || ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
      throw slab::RuntimeFailure("posix_fadvise(DONTNEED) failed on " + path);
    ::close(fd);
  };
  const double bytes = static_cast<double>(rows.rows()) * static_cast<double>(rows.cols() + 1) * 8.0;
  const std::string extra = ", \"bytes\": " + std::to_string(static_cast<long long>(bytes)) +
                            ", \"piece_rows\": " + std::to_string(rows.piece_rows()) + ", \"cache\": \"" +
                            (cold ? "cold" : "warm") + "\", \"overlap\": " + (rows.overlapped() ? "true" : "false") +
                            ", \"pieces\": " + std::to_string(ranges.size());
  const auto read = time_it(
      comm, a.reps,
      [&] { rows.pass(ranges, [&](const slab::RowPiece& piece) { sink += piece.rows > 0 ? piece.x[0] : 0.0; }); },
      drop_cache);
  report(comm, a, "read-alone", read, extra);
  const double waited_before = rows.wait_seconds();
  const auto qr = time_it(
      comm, a.reps, [&] { sink += slab::regression::tsqr_factor(comm, rows)[0]; }, drop_cache);
  const double waited = comm.allreduce_max((rows.wait_seconds() - waited_before) / a.reps);
  report(comm, a, "streamed-tsqr", qr, extra + ", \"waited_for_reads\": " + std::to_string(waited));
  if (cold) return;
  // The same streamed pass over the same pieces held in memory: the arithmetic alone.
  // With its CPU time (the slowest rank's), which other jobs on the machine disturb less.
  const MemoryRows memory(rows);
  std::string cpu = ", \"cpu_seconds\": [";
  const auto compute = time_it(comm, a.reps, [&] {
    const double start = cpu_seconds();
    sink += slab::regression::tsqr_factor(comm, memory)[0];
    cpu += (cpu.back() == '[' ? "" : ", ") + std::to_string(comm.allreduce_max(cpu_seconds() - start));
  });
  report(comm, a, "tsqr-in-memory", compute, extra + cpu + "]");
  if (sink == 0.12345) std::printf("#\n");
}

}  // namespace

int main(int argc, char** argv) {
  slab::mpi::Environment environment(argc, argv);
  const auto world = Comm::world().duplicate();
  int code = 0;
  {
    slab::petsc::Session petsc(world);
    try {
      const Args a = parse(argc, argv);
      if (a.name == "stream")
        stream(world, a);
      else if (a.name == "heat-explicit")
        heat_case(world, a, slab::heat::Scheme::explicit_euler);
      else if (a.name == "heat-cn")
        heat_case(world, a, slab::heat::Scheme::crank_nicolson);
      else if (a.name == "gd")
        gd_case(world, a);
      else if (a.name == "lstsq")
        lstsq_case(world, a);
      else if (a.name == "stream-read")
        stream_read_case(world, a);
      else if (a.name == "h5write")
        h5write_case(world, a);
      else
        throw slab::InputError("unknown case " + a.name);
    } catch (const std::exception& e) {
      if (world.is_root()) std::fprintf(stderr, "slab_bench: error: %s\n", e.what());
      code = 1;
    }
  }
  return code;
}
