// H5Writer: a Sink writing one HDF5 file. Parallel: the file is opened with MPI-IO on the run's
// communicator, metadata and transfers are collective, and each rank writes its block as a
// hyperslab. Serial: one process writes with the default driver (used by gather mode on rank 0).
// The file follows the netCDF-4 conventions: datasets with dims get HDF5 dimension scales (made
// and attached on commit, collectively), so netCDF, xarray and h5netcdf see named dimensions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "h5.hpp"
#include "mpi.hpp"
#include "sink.hpp"

namespace slab::io {

class H5Writer final : public Sink {
 public:
  // comm == nullptr: serial. Otherwise every rank of *comm makes every call. Creates (truncates)
  // the file at `path`.
  H5Writer(std::string path, const mpi::Comm* comm);
  ~H5Writer() override;
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  void create(const DatasetSpec& spec) override;
  void write(const std::string& path, const Block& block) override;
  void annotate(const std::string& group, const Attributes& attributes) override;
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
  // Makes every named dimension a dimension scale and attaches the scales to their datasets.
  void attach_dimensions();
  hid_t dimension_scale(const std::string& path, const std::string& name, hsize_t length, bool unlimited);

  std::string path_;
  const mpi::Comm* comm_;
  h5::File file_;
  h5::PropertyList transfer_;
  std::map<std::string, h5::Dataset> datasets_;
  std::map<std::string, bool> extendible_;
  std::vector<std::pair<std::string, std::vector<std::string>>> dims_;  // datasets with dims, in creation order
  std::map<std::string, h5::Dataset> scales_;                           // dimensions without a variable, made on commit
  int next_dimension_id_ = 0;
  bool every_transfer_collective_ = true;
};

}  // namespace slab::io
