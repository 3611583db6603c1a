// Output: the one way the driver opens a result file. It picks the format from the extension
// (.h5/.hdf5: HDF5; .npz: NumPy archive; .json; .csv: a directory of CSV files) and the I/O
// mode, and makes the write safe:
//   - the target is claimed first (a lock "<target>.lock", see io/file_owner.hpp): a second run on
//     the same target is refused at once, naming the first;
//   - an existing target is refused unless overwrite is set, and even then it must be a regular
//     file or slab's own output folder; so is a target whose file system lacks room for the data,
//     all before anything is computed;
//   - everything is written to a temporary "<target>.<random>.partial", created exclusively, and
//     renamed into place by rank 0 only after every rank has finished; HDF5 files carry an
//     attribute complete = 1, written last; a .csv folder carries slab's manifest;
//   - an Output destroyed without commit() (a failed run) removes its temporary, so a failed run
//     leaves nothing at the target and an older file there untouched.
// Every call is collective and agreed: a failure on any rank throws the same error everywhere.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/mpi.hpp"
#include "core/names.hpp"
#include "io/file_owner.hpp"
#include "io/parallel_io.hpp"
#include "io/sink.hpp"

namespace slab::io {

enum class IoMode { parallel, gather };
inline constexpr NameTable<IoMode, 2> io_mode_names{{{IoMode::parallel, "parallel"}, {IoMode::gather, "gather"}}};
[[nodiscard]] inline std::string to_string(IoMode mode) { return name_of(io_mode_names, mode); }

// How a growing dataset is stored: contiguous (fixed size), or extendible (chunked, unlimited first axis).
enum class Layout { contiguous, extendible };
inline constexpr NameTable<Layout, 2> layout_names{
    {{Layout::contiguous, "contiguous"}, {Layout::extendible, "extendible"}}};
[[nodiscard]] inline std::string to_string(Layout layout) { return name_of(layout_names, layout); }

struct OutputOptions {
  std::string path;
  IoMode mode = IoMode::parallel;
  bool overwrite = false;
  std::uint64_t expected_bytes = 0;  // the data's size, checked against free space; 0: unknown
  std::string option = {};           // how messages name the target; empty: "--out <path>"
  FileAccess access = {};            // HDF5: the alignment and MPI-IO hints
};

// The size of a float64 dataset of these dims in an HDF5 file, plus room for its metadata.
[[nodiscard]] std::uint64_t expected_size(std::initializer_list<std::uint64_t> dims);

// Where an --out value lands: the path itself, except "name.csv", which is the directory "name".
[[nodiscard]] std::string output_target(const std::string& out);

class Output {
 public:
  Output(const mpi::Comm& comm, const OutputOptions& options);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  [[nodiscard]] Sink& sink() noexcept { return *sink_; }
  [[nodiscard]] const std::string& target() const noexcept { return target_; }
  [[nodiscard]] bool parallel() const noexcept { return parallel_; }
  // The MPI-IO hints the output file reports, "key=value;..." (rank 0's, the same on every rank);
  // empty when the file is not written with MPI-IO (--io gather, archives).
  [[nodiscard]] const std::string& reported_hints() const noexcept { return reported_hints_; }
  void commit();

 private:
  const mpi::Comm& comm_;
  OutputOptions options_;
  Claim claim_;  // rank 0: the lock on the target, held at least as long as this Output
  std::string target_;
  std::string partial_;
  bool parallel_ = false;
  std::unique_ptr<Sink> sink_;
  std::string reported_hints_;
  bool created_ = false;
  bool committed_ = false;
};

// Checks an --out value before a run starts (format known, directory exists, no clobbering) and
// claims its target, on every rank, agreed. The Output constructor calls it too; the driver calls
// it early and keeps the claim for the whole run, so that a bad --out costs no compute and a second
// run on the same target is refused before it computes. The claim is held on rank 0 only.
[[nodiscard]] Claim check_output(const mpi::Comm& comm, const OutputOptions& options);

// True once a failed HDF5 write has left the library unable to close files or shut down (see
// io/h5.hpp): the process must then end with MPI_Abort, not MPI_Finalize.
[[nodiscard]] bool hdf5_unusable() noexcept;

}  // namespace slab::io
