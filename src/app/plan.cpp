#include "app/plan.hpp"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "app/checkpoint.hpp"
#include "core/error.hpp"
#include "io/h5_reader.hpp"
#include "io/input_file.hpp"
#include "io/row_stream.hpp"
#include "solvers/tridiagonal.hpp"
#include "solvers/tsqr.hpp"

namespace slab::app {
namespace {

constexpr std::uint64_t f8 = sizeof(double);
constexpr std::uint64_t file_overhead = 64 << 10;  // HDF5 metadata, headers, attributes

Checked sum(const std::vector<PlanItem>& items) {
  Checked total = 0;
  for (const auto& item : items) total += item.bytes;
  return total;
}

std::string extension(const std::string& out) { return std::filesystem::path(out).extension().string(); }

bool archive(const std::string& out) {
  const std::string ext = extension(out);
  return ext == ".npz" || ext == ".json" || ext == ".csv";
}

// Rank 0 holds a whole archive output (.npz, .json, .csv) until it is written; .npz builds its zip
// image besides (two more copies at the peak).
void add_gathered_output(ResourcePlan& plan, const std::string& out, Checked values) {
  if (!archive(out)) return;
  plan.root_memory.push_back({"the whole output, gathered on rank 0", values * f8});
  if (extension(out) == ".npz") plan.root_memory.push_back({"its .npz image", values * f8 * 2});
}

Checked file_bytes(const std::string& out, Checked values) { return values * bytes_per_value(out) + file_overhead; }

}  // namespace

std::uint64_t bytes_per_value(const std::string& out) {
  const std::string ext = extension(out);
  // "%.17g" takes up to 24 characters ("-1.2345678901234567e-308"), then ", " or ",".
  if (ext == ".json") return 26;
  if (ext == ".csv") return 25;
  return f8;
}

Checked ResourcePlan::memory_per_rank() const { return sum(memory) + sum(root_memory); }
Checked ResourcePlan::disk_bytes() const { return sum(disk); }

std::string ResourcePlan::describe() const {
  std::ostringstream text;
  text << "memory on the busiest rank: " << format_bytes(memory_per_rank()) << "\n";
  for (const auto& item : memory) text << "  " << format_bytes(item.bytes) << "  " << item.what << "\n";
  for (const auto& item : root_memory) text << "  " << format_bytes(item.bytes) << "  " << item.what << "\n";
  text << "disk: " << format_bytes(disk_bytes()) << "\n";
  for (const auto& item : disk) text << "  " << format_bytes(item.bytes) << "  " << item.what << "\n";
  return text.str();
}

ResourcePlan resource_plan_heat(const Config& config, const heat::Problem& p, int ranks) {
  ResourcePlan plan;
  const Checked nx = Checked::of(p.nx), k = Checked::of(p.snapshots);
  const Checked rows = nx.divide_up(static_cast<std::uint64_t>(ranks));
  // u, the next u (explicit) or the view of PETSc's solution (implicit), and x.
  plan.memory.push_back({"the grid: u, its update and x (3 values per node)", rows * 3 * f8});
  if (p.scheme != heat::Scheme::explicit_euler && p.solver == heat::Solver::petsc)
    // Solution, right-hand side and GMRES(30)'s 31 basis vectors, two tridiagonal AIJ matrices
    // (3 values + 3 column indices + a row pointer per row each).
    plan.memory.push_back({"PETSc: 33 vectors and 2 tridiagonal matrices", rows * (33 * f8 + 2 * 44)});
  if (p.scheme != heat::Scheme::explicit_euler && p.solver == heat::Solver::direct) {
    // The state in whole blocks (a rank's last block reaches into the next rank's rows), three
    // block factorisations of 9 arrays of up to 2 blocks' rows, and this rank's part of the reduced
    // system's cyclic reduction: about 24 values per block it starts and per level (log2 blocks),
    // and 20 more while it is set up.
    const Checked block = Checked::of(tridiag::default_block_rows);
    std::uint64_t levels = 0;
    while (levels < 63 && (std::uint64_t{1} << levels) < nx.divide_up(block.value()).value()) ++levels;
    plan.memory.push_back({"the direct solver: the state in whole blocks, 3 block factors, the reduced system",
                           (rows + block * 2) * f8 + block * 2 * 27 * f8 +
                               (rows.divide_up(block.value()) + 1 + Checked(levels)) * 44 * f8});
  }
  // A checkpoint copies the snapshots taken so far from the output in pieces of about 8 MiB of whole
  // rows (src/app/checkpoint.cpp); in gather mode rank 0 takes every rank's part of a piece.
  const Checked piece = std::min(Checked(snapshot_rows_per_piece(nx.value())), k);
  plan.memory.push_back({"a checkpoint's copy of the snapshots (pieces of about 8 MiB)", piece * rows * f8});
  if (config.output.io == io::IoMode::gather)
    plan.root_memory.push_back({"a checkpoint's pieces of every rank", piece * nx * f8});
  plan.root_memory.push_back({"the snapshot times", k * f8});
  const Checked values = k * nx + nx + k;
  add_gathered_output(plan, config.output.out, values);
  plan.disk.push_back({"the output " + config.output.out, file_bytes(config.output.out, values)});
  if (config.output.checkpoint_every > 0)
    // The new checkpoint is written beside the previous one, then renamed over it.
    plan.disk.push_back(
        {"two checkpoints (the new one beside the last)", ((nx * k + nx + k) * f8 + file_overhead) * 2, 2});
  return plan;
}

namespace {

// TSQR's triangles ((D + 2)^2 values each), which every method's statistics make (qr for its fit):
// a leaf block and its reflector, the merge's work, a stack of partial triangles per tree level, this
// rank's nodes (twice: values and the record sent), the one partial tree received at a time in the
// binomial reduction and the join of the two (twice; combine_tree gathers no rank's nodes), then the
// solution's and the statistics' small matrices. Independent of the rank count.
Checked tsqr_bytes(const RegressSize& size) {
  const Checked width = size.cols + 2, triangle = width * width;
  const Checked leaves = size.rows.divide_up(static_cast<std::uint64_t>(regression::tsqr_block_rows));
  std::uint64_t levels = 1;
  while (levels < 63 && (std::uint64_t{1} << levels) < leaves.value()) ++levels;
  const Checked nodes = Checked(2 * levels + 2);
  // The leaf's scratch, and (in memory) the rows of a block that straddles ranks, sent and received.
  const Checked block = Checked(regression::tsqr_block_rows + 8) * width * 3 + width * 2 + 16;
  const Checked own_nodes = nodes * 2;       // this rank's nodes: the values and the record sent
  const Checked received_nodes = nodes * 2;  // a partial tree received, and its join with this rank's
  return (block + triangle * (Checked(levels + 1) + own_nodes + received_nodes + 6)) * f8;
}

}  // namespace

ResourcePlan resource_plan_regress(const Config& config, const RegressSize& size, int ranks,
                                   std::uint64_t stream_buffers) {
  ResourcePlan plan;
  const RegressConfig& cfg = config.regress;
  const Checked rows = size.rows.divide_up(static_cast<std::uint64_t>(ranks));
  const Checked width = size.cols + 1;
  const bool streamed = stream_buffers > 0;
  if (streamed) {
    plan.memory.push_back({"the two buffers --data is streamed through (" +
                               (size.reader_bytes_per_row.value() > 0
                                    ? std::to_string(stream_buffers / 2 / size.reader_bytes_per_row.value())
                                    : std::string("0")) +
                               " rows a piece)",
                           Checked(stream_buffers)});
  } else {
    plan.memory.push_back({"this rank's rows of X and y", rows * width * f8});
    if (size.h5) {
      const Checked reader = std::min(Checked(in_memory_read_buffers), rows * size.reader_bytes_per_row * 2);
      plan.memory.push_back({"the reader's two piece buffers", reader});
    }
  }
  // The tree sums keep about two partial nodes per level of a 64-level tree.
  const Checked node = cfg.method == regression::Method::normal ? width * (width + 1) : width + 1;
  plan.memory.push_back({"the reproducible sums' partial nodes", node * 130 * f8});
  plan.memory.push_back({"TSQR's (D+2)^2 triangles (qr, and every method's statistics)", tsqr_bytes(size)});
  if (cfg.method == regression::Method::lstsq)
    plan.memory.push_back({"PETSc's copy of [X 1] and its vectors", rows * (width + 6) * f8});
  if (cfg.method == regression::Method::gd) plan.memory.push_back({"the loss history", Checked::of(cfg.gd.iters) * f8});
  if (cfg.standardize && !streamed) plan.memory.push_back({"the standardised copy of X", rows * size.cols * f8});
  if (size.file_bytes > 0) {
    // The file's bytes, the values parsed from it, and X and y split from them; then all of X and y
    // stay on rank 0 while they are scattered.
    const Checked parsed = size.csv ? size.file_bytes.divide_up(2) * f8 : size.file_bytes;
    plan.root_memory.push_back({"--data read whole on rank 0 (file, values, X and y)", size.file_bytes + parsed * 3});
  }
  // A streamed table is never copied into the output (--no-data is implied).
  const Checked data_values = cfg.write_data && !streamed ? size.rows * width : Checked(0);
  const Checked values = data_values + width * 2 + Checked::of(cfg.gd.iters);
  add_gathered_output(plan, config.output.out, values);
  plan.disk.push_back({"the output " + config.output.out, file_bytes(config.output.out, values)});
  if (config.output.checkpoint_every > 0)
    plan.disk.push_back({"two checkpoints", ((width + Checked::of(cfg.gd.iters) + 2) * f8 + file_overhead) * 2, 2});
  return plan;
}

RegressDecision decide_regress(const Config& config, const RegressSize& size, int ranks, Checked budget,
                               const std::string& budget_basis) {
  const RegressConfig& cfg = config.regress;
  RegressDecision d{resource_plan_regress(config, size, ranks), 0, budget, budget_basis};
  if (!size.h5 || budget.overflowed() || d.plan.memory_per_rank() <= budget) return d;
  const std::string need = "X and y need " + format_bytes(d.plan.memory_per_rank()) + " per rank in memory but " +
                           budget_basis + " allows " + format_bytes(budget);
  if (cfg.method == regression::Method::lstsq)
    throw InputError("--method lstsq (PETSc) needs X in memory: " + need +
                     "; use --method qr, normal or gd, which stream --data in pieces, or more ranks");
  if (cfg.standardize)
    throw InputError("--standardize needs X in memory: " + need +
                     "; drop --standardize to stream --data, or use more ranks");
  // What the streamed run holds besides its buffers; the buffers take the rest: at least two TSQR
  // leaf blocks, for every method, since every method's statistics make a streamed TSQR.
  const Checked with_one = resource_plan_regress(config, size, ranks, 1).memory_per_rank();
  const Checked fixed = with_one.overflowed() ? with_one : Checked(with_one.value() - 1);
  const std::uint64_t least_rows = regression::tsqr_block_rows;
  const Checked least = size.reader_bytes_per_row * least_rows * 2;
  if (fixed.overflowed() || !(fixed + least <= budget))
    throw InputError("--data does not fit in memory (" + need +
                     ") and cannot be streamed either: the fit's own state takes " + format_bytes(fixed) +
                     " and a piece of " + std::to_string(least_rows) + " rows " + format_bytes(least) +
                     "; raise --memory or use more ranks (--plan prints the plan)");
  const std::uint64_t room = budget.value() - fixed.value();
  d.stream_buffers = std::min(room, most_stream_buffers);
  d.plan = resource_plan_regress(config, size, ranks, d.stream_buffers);
  return d;
}

}  // namespace slab::app

namespace slab::app {
namespace {

// A "Key:   123 kB" line of /proc/meminfo, in bytes; nothing when absent.
std::optional<std::uint64_t> meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> name >> kib >> unit)
    if (name == key + ":") return kib * 1024;
  return std::nullopt;
}

// What this process's cgroup (v2) still allows, when it sets a memory limit.
std::optional<std::uint64_t> cgroup_room() {
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    if (!line.starts_with("0::")) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    std::ifstream max_file(dir + "/memory.max"), current_file(dir + "/memory.current");
    std::string max;
    std::uint64_t current = 0;
    if (!(max_file >> max) || max == "max" || !(current_file >> current)) return std::nullopt;
    const std::uint64_t limit = std::stoull(max);
    return limit > current ? limit - current : 0;
  }
  return std::nullopt;
}

// What RLIMIT_AS (ulimit -v) still allows this process to map.
std::optional<std::uint64_t> address_space_room() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0;
  statm >> pages;
  const std::uint64_t used = pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  return limit.rlim_cur > used ? limit.rlim_cur - used : 0;
}

// The largest file RLIMIT_FSIZE (ulimit -f) lets this process write; UINT64_MAX for no limit.
std::uint64_t file_size_room() {
  rlimit limit{};
  if (getrlimit(RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return limit.rlim_cur;
}

// This rank's share of its node's memory, and how it was found.
std::pair<std::uint64_t, std::string> memory_share(const mpi::Comm& comm) {
  const int on_node = comm.split_by_node().size();
  std::uint64_t bytes = UINT64_MAX;
  std::string basis;
  if (const auto available = meminfo("MemAvailable")) {
    bytes = *available;
    basis = "MemAvailable " + format_bytes(bytes);
  }
  if (const auto room = cgroup_room(); room && *room < bytes) {
    bytes = *room;
    basis = "the cgroup's memory.max leaves " + format_bytes(bytes);
  }
  if (bytes != UINT64_MAX) {
    bytes /= static_cast<std::uint64_t>(on_node);
    basis += " shared by " + std::to_string(on_node) + " rank" + (on_node > 1 ? "s" : "") + " on the node";
  }
  if (const auto room = address_space_room(); room && *room < bytes) {
    bytes = *room;
    basis = "ulimit -v (RLIMIT_AS) leaves " + format_bytes(bytes) + " to each rank";
  }
  return {bytes, basis};
}

}  // namespace

Available measure_available(const mpi::Comm& comm, const std::string& out) {
  Available a;
  auto [mine, basis] = memory_share(comm);
  const std::uint64_t least = comm.allreduce_min(mine);
  // The lowest rank with the least says how it was found.
  const int holder = comm.allreduce_min(mine == least ? comm.rank() : comm.size());
  comm.broadcast(basis, holder);
  a.memory_per_rank = least == UINT64_MAX ? Checked::overflow() : Checked(least);
  a.memory_basis = least == UINT64_MAX ? "unknown" : basis;
  const std::filesystem::path parent = std::filesystem::path(out).parent_path();
  a.disk_folder = parent.empty() ? "." : parent.string();
  std::uint64_t free_bytes = UINT64_MAX;
  struct statvfs space {};
  if (comm.is_root() && ::statvfs(a.disk_folder.c_str(), &space) == 0)
    free_bytes = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
  free_bytes = comm.broadcast_value(free_bytes);
  a.disk = free_bytes == UINT64_MAX ? Checked::overflow() : Checked(free_bytes);
  const std::uint64_t file_size = comm.allreduce_min(file_size_room());
  a.file_size = file_size == UINT64_MAX ? Checked::overflow() : Checked(file_size);
  return a;
}

void check_plan(const ResourcePlan& plan, const Available& available) {
  const Checked memory = plan.memory_per_rank();
  if (!available.memory_per_rank.overflowed() && memory > available.memory_per_rank) {
    const PlanItem* biggest = nullptr;
    for (const auto* items : {&plan.memory, &plan.root_memory})
      for (const auto& item : *items)
        if (biggest == nullptr || item.bytes > biggest->bytes) biggest = &item;
    throw InputError("this run needs " + format_bytes(memory) + " of memory on its busiest rank (" +
                     format_bytes(biggest->bytes) + " for " + biggest->what + ") but " +
                     format_bytes(available.memory_per_rank) + " is available per rank (" + available.memory_basis +
                     "); use more nodes or a smaller problem (--plan prints the plan)");
  }
  const Checked disk = plan.disk_bytes();
  if (!available.disk.overflowed() && disk > available.disk) {
    std::string parts;  // every file the total counts: the output, and the checkpoints beside it
    for (const PlanItem& item : plan.disk)
      parts += (parts.empty() ? "" : " + ") + format_bytes(item.bytes) + " for " + item.what;
    throw InputError("this run writes " + format_bytes(disk) + " (" + parts + ") but '" + available.disk_folder +
                     "' has " + format_bytes(available.disk) +
                     " free; free space or write elsewhere (--plan prints the plan)");
  }
  if (available.file_size.overflowed()) return;
  for (const PlanItem& item : plan.disk)
    if (const Checked file = item.bytes.divide_up(item.files); file > available.file_size)
      throw InputError("this run writes a file of " + format_bytes(file) + " (" + item.what + ") but ulimit -f " +
                       "(RLIMIT_FSIZE) allows files of " + format_bytes(available.file_size) +
                       "; raise the limit or write less (--plan prints the plan)");
}

}  // namespace slab::app

namespace slab::app {

bool apply_plan(const mpi::Comm& comm, const Config& config, const ResourcePlan& plan) {
  return apply_plan(comm, config, plan, measure_available(comm, config.output.out));
}

bool apply_plan(const mpi::Comm& comm, const Config& config, const ResourcePlan& plan, const Available& available,
                const std::string& note) {
  if (config.print_plan && comm.is_root()) {
    const std::string file_limit =
        available.file_size.overflowed() ? "" : "; files up to " + format_bytes(available.file_size) + " (ulimit -f)";
    std::printf("%s%savailable: %s of memory per rank (%s); %s free in '%s'%s\n", note.c_str(), plan.describe().c_str(),
                format_bytes(available.memory_per_rank).c_str(), available.memory_basis.c_str(),
                format_bytes(available.disk).c_str(), available.disk_folder.c_str(), file_limit.c_str());
  }
  // Every rank has the same plan and the same (agreed) availability; agree anyway, so that a plan
  // built from a file one rank sees differently cannot split the ranks.
  mpi::collectively(comm, [&] { check_plan(plan, available); });
  return config.print_plan;
}

}  // namespace slab::app

namespace slab::app {

RegressSize regress_size(const mpi::Comm& comm, const RegressConfig& cfg, const io::FileAccess& access) {
  if (cfg.data.empty()) return {Checked::of(cfg.rows), Checked::of(cfg.cols)};
  const std::string ext = std::filesystem::path(cfg.data).extension().string();
  if (ext == ".npz" || ext == ".csv") {
    // Read whole on rank 0: its size bounds the values (8 bytes each in .npz, 2 or more in text).
    const std::uint64_t bytes = comm.broadcast_value(comm.is_root() ? io::regular_file_size(cfg.data) : 0);
    const Checked values = ext == ".npz" ? Checked(bytes / 8) : Checked(bytes).divide_up(2);
    return {values, 0, bytes, ext == ".csv"};
  }
  // HDF5: the declared shapes and types, checked before anything is read.
  const io::H5Input input(comm, cfg.data, "--data", access);
  const io::TableInfo info = io::inspect_table(comm, input, {cfg.x_path, cfg.y_path, cfg.y_column, cfg.columns});
  RegressSize size{Checked::of(info.rows), Checked(info.cols())};
  size.h5 = true;
  size.table_cols = Checked(info.table_cols);
  size.reader_bytes_per_row = Checked(info.buffer_bytes_per_row());
  return size;
}

}  // namespace slab::app
