// The resource plan: from a run's parameters alone, in overflow-checked 64-bit arithmetic
// (src/checked.hpp), the memory the busiest rank will hold at its peak and the bytes every file the
// run writes will take, checked against what the node and the file system have before anything is
// allocated or computed. `slab ... --plan` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "core/checked.hpp"
#include "core/mpi.hpp"
#include "solvers/heat.hpp"

namespace slab::app {

struct PlanItem {
  std::string what;
  Checked bytes;
  std::uint64_t files = 1;  // a disk item's bytes are this many files of equal size
};

struct ResourcePlan {
  std::vector<PlanItem> memory;                   // on the rank with the most rows, by part
  std::vector<PlanItem> root_memory;              // what rank 0 (which has the most rows) holds on top
  std::vector<PlanItem> disk;                     // files written, temporaries included, in the output's folder
  [[nodiscard]] Checked memory_per_rank() const;  // the peak: rank 0's
  [[nodiscard]] Checked disk_bytes() const;
  [[nodiscard]] std::string describe() const;  // one line per item, for --plan
};

// The size of the data a regression reads or makes.
struct RegressSize {
  Checked rows, cols;
  Checked file_bytes = 0;  // a .npz or .csv read whole on rank 0; 0 otherwise
  bool csv = false;
};

// Collective: the size of the data --data holds (an .h5 file's declared shape, read without reading
// the data; the size of an .npz or .csv file), or of the synthetic data.
[[nodiscard]] RegressSize regress_size(const mpi::Comm& comm, const RegressConfig& cfg,
                                       const io::FileAccess& access = {});

// Pure functions of the parameters (and the rank count), unit-tested without MPI.
[[nodiscard]] ResourcePlan resource_plan_heat(const Config& config, const heat::Problem& p, int ranks);
[[nodiscard]] ResourcePlan resource_plan_regress(const Config& config, const RegressSize& size, int ranks);

// Bytes one value takes in an output of this --out (8 in binary formats, about 25 in text).
[[nodiscard]] std::uint64_t bytes_per_value(const std::string& out);

struct Available {
  Checked memory_per_rank;   // the smallest over the nodes of MemAvailable / ranks on the node
  std::string memory_basis;  // how it was found, in words
  Checked disk;              // free bytes where the output goes
  std::string disk_folder;
  Checked file_size = Checked::overflow();  // the largest file ulimit -f lets every rank write (overflow: no limit)
};

// Collective: MemAvailable of each node (/proc/meminfo) shared by the ranks on it
// (MPI_Comm_split_type SHARED), bounded by RLIMIT_AS, the free space of the output's folder and the
// smallest RLIMIT_FSIZE of the ranks.
[[nodiscard]] Available measure_available(const mpi::Comm& comm, const std::string& out);

// Throws InputError (exit 2) with a sentence naming the need and what is available when the plan
// does not fit. Pure: the same verdict on every rank given the same (agreed) Available.
void check_plan(const ResourcePlan& plan, const Available& available);

// Collective, before anything is allocated: measures what is available, prints the plan on rank 0
// with --plan, and refuses (the same InputError on every rank) when it does not fit. Returns true
// when the run should stop here (--plan: print only).
[[nodiscard]] bool apply_plan(const mpi::Comm& comm, const Config& config, const ResourcePlan& plan);

}  // namespace slab::app
