#include "gather_sink.hpp"

#include <vector>

#include "dist_tensor.hpp"

namespace slab::io {

GatherSink::GatherSink(const mpi::Comm& comm, std::unique_ptr<Sink> root_sink)
    : comm_(comm), root_sink_(std::move(root_sink)) {}

void GatherSink::create(const DatasetSpec& spec) {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->create(spec);
  });
}

void GatherSink::write(const std::string& path, const Block& block) {
  // Headers first (start and count of every rank's block), then the data in rank order.
  const std::size_t rank = block.start.size();
  std::vector<std::uint64_t> header(2 * rank);
  std::copy(block.start.begin(), block.start.end(), header.begin());
  std::copy(block.count.begin(), block.count.end(), header.begin() + static_cast<std::ptrdiff_t>(rank));
  std::vector<std::uint64_t> headers(comm_.is_root() ? header.size() * comm_.size() : 0);
  SLAB_MPI(MPI_Gather(header.data(), static_cast<int>(header.size()), MPI_UINT64_T, headers.data(),
                      static_cast<int>(header.size()), MPI_UINT64_T, 0, comm_.get()));
  std::vector<std::int64_t> sizes(comm_.size());
  const auto mine = static_cast<std::int64_t>(block.size());
  SLAB_MPI(MPI_Allgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm_.get()));
  std::int64_t total = 0;
  for (const auto s : sizes) total += s;
  std::vector<double> data(comm_.is_root() ? static_cast<std::size_t>(total) : 0);
  gather_units(comm_, sizes, 1, block.data, data.data(), 0);

  mpi::collectively(comm_, [&] {
    if (!root_sink_) return;
    const double* next = data.data();
    for (int r = 0; r < comm_.size(); ++r) {
      Block part;
      const auto* h = headers.data() + static_cast<std::size_t>(r) * 2 * rank;
      part.start.assign(h, h + rank);
      part.count.assign(h + rank, h + 2 * rank);
      part.data = next;
      next += sizes[r];
      if (sizes[r] > 0) root_sink_->write(path, part);
    }
  });
}

void GatherSink::annotate(const std::string& group, const Attributes& attributes) {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->annotate(group, attributes);
  });
}

void GatherSink::commit() {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->commit();
  });
}

}  // namespace slab::io
