// The resource plan: from a run's parameters alone, in overflow-checked 64-bit arithmetic
// (src/core/checked.hpp), the memory the busiest rank will hold at its peak and the bytes every file the
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
  bool h5 = false;                   // an .h5 --data: read in pieces, and streamed when it does not fit
  Checked table_cols = 0;            // .h5: the columns of --x (more than cols with --columns/--y-column)
  Checked reader_bytes_per_row = 0;  // .h5: the reader's buffers per row of a piece (io/row_stream.hpp)
};

// The buffers an in-memory read of an .h5 --data uses for its pieces (two of them).
inline constexpr std::uint64_t in_memory_read_buffers = std::uint64_t{32} << 20;
// The most the buffers of a streamed pass take, whatever the budget: larger pieces read no faster.
inline constexpr std::uint64_t most_stream_buffers = std::uint64_t{1} << 30;

// Collective: the size of the data --data holds (an .h5 file's declared shape, read without reading
// the data; the size of an .npz or .csv file), or of the synthetic data.
[[nodiscard]] RegressSize regress_size(const mpi::Comm& comm, const RegressConfig& cfg,
                                       const io::FileAccess& access = {});

// Pure functions of the parameters (and the rank count), unit-tested without MPI.
[[nodiscard]] ResourcePlan resource_plan_heat(const Config& config, const heat::Problem& p, int ranks);
// `stream_buffers` > 0: X and y are streamed from --data through piece buffers of that many bytes
// (instead of held in memory).
[[nodiscard]] ResourcePlan resource_plan_regress(const Config& config, const RegressSize& size, int ranks,
                                                 std::uint64_t stream_buffers = 0);

// How a regression reads its data, decided by the plan: in memory, or streamed through buffers of
// `stream_buffers` bytes per rank because X does not fit the budget (--memory, or what the node has).
struct RegressDecision {
  ResourcePlan plan;
  std::uint64_t stream_buffers = 0;  // 0: in memory
  Checked budget = Checked::overflow();
  std::string budget_basis;
};
// Pure: the in-memory plan when it fits `budget`, else the streamed plan with the largest buffers the
// budget leaves (at most most_stream_buffers). Throws InputError when nothing fits or the method
// cannot stream (lstsq, --standardize).
[[nodiscard]] RegressDecision decide_regress(const Config& config, const RegressSize& size, int ranks, Checked budget,
                                             const std::string& budget_basis);

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
// The same with what is available measured already.
[[nodiscard]] bool apply_plan(const mpi::Comm& comm, const Config& config, const ResourcePlan& plan,
                              const Available& available, const std::string& note = {});

}  // namespace slab::app
