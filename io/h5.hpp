// Thin checked layer over the HDF5 C API: one owner per handle kind, and every call's failure
// turned into an exception that carries HDF5's own error stack and slab's context (file, dataset).
#pragma once

#include <hdf5.h>

#include <span>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/mpi.hpp"
#include "io/parallel_io.hpp"

namespace slab::h5 {

// Turns HDF5's automatic error printing off (slab reports errors itself). Idempotent.
void silence_errors();

// After a failed write or close, HDF5 1.10 can neither close the file nor shut down cleanly: a
// parallel close then diverges between ranks and hangs, and HDF5's own shutdown at MPI_Finalize
// crashes. Writers mark that state; the process must then end with MPI_Abort, not MPI_Finalize.
void mark_library_unusable() noexcept;
[[nodiscard]] bool library_unusable() noexcept;

// The messages on HDF5's error stack, innermost last, joined by "; ".
[[nodiscard]] std::string error_stack();

// Throws RuntimeFailure "<call> failed for <context>: <HDF5 error stack>" when value < 0.
template <class T>
T check(T value, const char* call, const std::string& context);
#define SLAB_H5(call, context) ::slab::h5::check((call), #call, (context))

// Owner of one hid_t, closed with Close (H5Fclose, H5Dclose, ...). The destructor never throws.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] hid_t get() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
  // Closes now and reports failure (a close can be where buffered data meets a full disk).
  void close(const std::string& context) {
    if (id_ < 0) return;
    const herr_t status = Close(std::exchange(id_, H5I_INVALID_HID));
    check(status, "close", context);
  }
  // Gives up ownership without closing.
  [[nodiscard]] hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }
  // Closes now; a failure is printed as a warning (see slab::warn), never thrown.
  void reset() noexcept {
    if (id_ >= 0 && Close(std::exchange(id_, H5I_INVALID_HID)) < 0)
      warn("an HDF5 handle did not close in a destructor: " + error_stack());
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using PropertyList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;
using Datatype = Handle<H5Tclose>;
using Object = Handle<H5Oclose>;

// Selects the block [start, start + count) of `file_space` and returns the matching memory space;
// an empty start (a scalar dataset) selects the whole. Without data (`empty`, or any count 0) it
// selects nothing on either side: a rank with no data still takes part in a collective transfer,
// passing any valid buffer.
[[nodiscard]] Dataspace select_block(const Dataspace& file_space, std::span<const hsize_t> start,
                                     std::span<const hsize_t> count, bool empty, const std::string& context);

// The file access property list slab opens files with: `access`'s alignment; with a communicator,
// MPI-IO on it with `access`'s hints, and metadata read and written collectively (every rank makes
// the same metadata calls, so one rank reads and broadcasts, and the metadata cache is flushed
// collectively: fewer small requests on a parallel file system's metadata server).
[[nodiscard]] PropertyList file_access(const mpi::Comm* comm, const io::FileAccess& access, const std::string& context);

// The hints the MPI-IO file beneath an HDF5 file opened with MPI-IO reports (MPI_File_get_info).
// Local: no communication.
[[nodiscard]] mpi::Hints reported_hints(const File& file, const std::string& context);

}  // namespace slab::h5
