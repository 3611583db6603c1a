// Output: the one way the driver opens a result file. It picks the format from the extension
// (.h5/.hdf5: HDF5; .npz: NumPy archive; .json; .csv: a directory of CSV files) and the I/O
// mode, and makes the write safe:
//   - an existing target is refused unless overwrite is set, before anything is computed, and so
//     is a target whose file system lacks room for the data;
//   - everything is written to "<target>.partial" and renamed into place by rank 0 only after
//     every rank has finished; HDF5 files carry an attribute complete = 1, written last;
//   - an Output destroyed without commit() (a failed run) removes its .partial, so a failed run
//     leaves nothing at the target and an older file there untouched.
// Every call is collective and agreed: a failure on any rank throws the same error everywhere.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "mpi.hpp"
#include "names.hpp"
#include "sink.hpp"

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
  void commit();

 private:
  const mpi::Comm& comm_;
  std::string target_;
  std::string partial_;
  bool parallel_ = false;
  std::unique_ptr<Sink> sink_;
  bool committed_ = false;
};

// Checks an --out value before a run starts (format known, directory exists, no clobbering), on
// every rank, agreed. The Output constructor calls it too; the driver calls it early so that a
// bad --out costs no compute.
void check_output(const mpi::Comm& comm, const OutputOptions& options);

}  // namespace slab::io
