// H5Writer: a Sink writing one HDF5 file. Parallel: the file is opened with MPI-IO on the run's
// communicator, metadata and transfers are collective, and each rank writes its block as a
// hyperslab. Serial: one process writes with the default driver (used by gather mode on rank 0).
#pragma once

#include <map>
#include <string>

#include "h5.hpp"
#include "mpi.hpp"
#include "sink.hpp"

namespace slab::io {

class H5Writer final : public Sink {
 public:
  // comm == nullptr: serial. Otherwise every rank of *comm makes every call. Creates the file at
  // `path`: exclusive fails if anything (a file, a symlink) is there; otherwise a file is truncated.
  H5Writer(std::string path, const mpi::Comm* comm, bool exclusive = false);
  ~H5Writer() override;
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  void create(const DatasetSpec& spec) override;
  void write(const std::string& path, const Block& block) override;
  void annotate(const std::string& group, const Attributes& attributes) override;
  void read(const std::string& path, const Block& box, double* out) override;
  void commit() override;

  // True while every parallel transfer so far ran as collective MPI-IO
  // (H5Pget_mpio_actual_io_mode); always true for a serial writer.
  [[nodiscard]] bool every_transfer_collective() const noexcept { return every_transfer_collective_; }

 private:
  [[nodiscard]] std::string context(const std::string& dataset = {}) const;
  void write_block(const std::string& path, const Block& block);
  // Runs an operation that writes data; a failure marks the HDF5 library unusable.
  template <class F>
  void guarded(F&& operation);
  void write_attribute(hid_t object, const std::string& name, const AttributeValue& value, const std::string& where);

  std::string path_;
  const mpi::Comm* comm_;
  h5::File file_;
  h5::PropertyList transfer_;
  std::map<std::string, h5::Dataset> datasets_;
  std::map<std::string, bool> extendible_;
  bool every_transfer_collective_ = true;
  bool written_since_flush_ = false;  // a read-back flushes first (MPI-IO's sync-barrier rule)
};

}  // namespace slab::io
