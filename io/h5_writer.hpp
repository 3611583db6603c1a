// H5Writer: a Sink writing one HDF5 file. Parallel: the file is opened with MPI-IO on the run's
// communicator, metadata and transfers are collective, and each rank writes its block as a
// hyperslab. Serial: one process writes with the default driver (used by gather mode on rank 0).
// The file follows the netCDF-4 conventions: datasets with dims get HDF5 dimension scales (made
// and attached on commit, collectively), so netCDF, xarray and h5netcdf see named dimensions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/mpi.hpp"
#include "io/h5.hpp"
#include "io/sink.hpp"

namespace slab::io {

class H5Writer final : public Sink {
 public:
  // comm == nullptr: serial. Otherwise every rank of *comm makes every call. Creates the file at
  // `path`: exclusive fails if anything (a file, a symlink) is there; otherwise a file is truncated.
  // `access`: the alignment of large datasets and (parallel) the MPI-IO hints.
  H5Writer(std::string path, const mpi::Comm* comm, bool exclusive = false, const FileAccess& access = {});
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
  // The hints the file's MPI-IO layer reports on this rank (empty for a serial writer). Local.
  [[nodiscard]] mpi::Hints reported_hints() const;
  // A copy of the file access property list the file is open with (H5Fget_access_plist).
  // Collective in parallel: HDF5 duplicates the communicator.
  [[nodiscard]] h5::PropertyList access_plist() const;

 private:
  [[nodiscard]] std::string context(const std::string& dataset = {}) const;
  void write_block(const std::string& path, const Block& block);
  // Parallel writes to a compressed chunked dataset: records are held until a row of chunks is
  // complete, so each chunk is compressed once (parallel HDF5 has no chunk cache for filtered
  // data: a partial chunk would be read, decompressed and compressed again at every record).
  void write_record(const std::string& path, const Block& block);
  void flush_records(const std::string& path);
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
  struct Records {
    hsize_t per_chunk = 1;     // first-axis extent of a chunk
    std::uint64_t first = 0;   // first record held
    std::uint64_t count = 0;   // records held (the same on every rank)
    Block part;                // this rank's part of one record (start/count past the first axis)
    std::vector<double> data;  // this rank's part of every record held
  };
  std::map<std::string, Records> records_;  // compressed extendible datasets of a parallel writer
  int next_dimension_id_ = 0;
  bool every_transfer_collective_ = true;
  bool written_since_flush_ = false;  // a read-back flushes first (MPI-IO's sync-barrier rule)
};

}  // namespace slab::io
