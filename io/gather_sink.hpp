// GatherSink: gather mode. Every rank sends its blocks to rank 0 in 8 MiB pieces, and rank 0 alone
// writes them through a serial sink (serial HDF5, or an in-memory archive for .npz/.json/.csv).
// Rank 0 never holds more than its own block and two pieces; it posts the receive of the next
// piece before writing the current one (Open MPI moves a large message only inside MPI calls, so
// on one node the copy and the write mostly alternate).
// For file systems without working MPI-IO, and for small runs. A failure of rank 0's writer is
// agreed on by every rank before the call returns.
#pragma once

#include <memory>

#include "core/mpi.hpp"
#include "io/sink.hpp"

namespace slab::io {

class GatherSink final : public Sink {
 public:
  // `root_sink` is used on rank 0 only (pass nullptr elsewhere).
  GatherSink(const mpi::Comm& comm, std::unique_ptr<Sink> root_sink);

  void create(const DatasetSpec& spec) override;
  void write(const std::string& path, const Block& block) override;
  void annotate(const std::string& group, const Attributes& attributes) override;
  void read(const std::string& path, const Block& box, double* out) override;
  void commit() override;

 private:
  const mpi::Comm& comm_;
  std::unique_ptr<Sink> root_sink_;
};

}  // namespace slab::io
