// The MPI layer: one owner for MPI start-up and shutdown, a communicator handle that frees only
// what it created, checked calls, and the agreement step that turns one rank's failure into the
// same error on every rank (so nothing hangs waiting for a rank that has given up).
//
// This layer (mpi.hpp, mpi.cpp) is the only code that calls MPI: everything else asks a Comm, a
// Request, a ContiguousType or an Info. tests/unit/check_mpi_layer.py keeps it so.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace slab::mpi {

// Throws RuntimeFailure naming the call and MPI's own message when rc is not MPI_SUCCESS.
void check(int rc, const char* call, const char* file, int line);
#define SLAB_MPI(call) ::slab::mpi::check((call), #call, __FILE__, __LINE__)

// The MPI datatype of a C++ element type.
template <class T>
[[nodiscard]] MPI_Datatype datatype_of() noexcept;
template <>
inline MPI_Datatype datatype_of<double>() noexcept {
  return MPI_DOUBLE;
}
template <>
inline MPI_Datatype datatype_of<int>() noexcept {
  return MPI_INT;
}
template <>
inline MPI_Datatype datatype_of<std::int64_t>() noexcept {
  return MPI_INT64_T;
}
template <>
inline MPI_Datatype datatype_of<std::uint64_t>() noexcept {
  return MPI_UINT64_T;
}

// The tag of each point-to-point exchange, in one place: an exchange's messages can only match
// receives posted with its own tag.
namespace tag {
inline constexpr int rows_chunked = 0;       // DistTensor's gather and scatter in pieces (core/dist_tensor.cpp)
inline constexpr int halo_up = 1;            // a rank's last nodes, sent to the rank above (solvers/heat_explicit.cpp)
inline constexpr int halo_down = 2;          // a rank's first nodes, sent to the rank below
inline constexpr int gather_piece = 7;       // a piece of a block, to rank 0 and back (io/gather_sink.cpp)
inline constexpr int tsqr_rows = 7013;       // rows of a TSQR leaf that straddles two ranks (solvers/tsqr.cpp)
inline constexpr int partial_tree = 1701;    // a range of ranks' partial tree, in the reduction (core/tree_sum.cpp)
inline constexpr int rows_to_blocks = 1601;  // rows lent to a block's owner (solvers/tridiagonal.cpp)
inline constexpr int blocks_to_rows = 1602;  // and given back
inline constexpr int reduced_neighbours = 1603;  // block ends to the neighbours (solvers/reduced_system.cpp)
// Level j of the reduced system's cyclic reduction: down reduced_levels + 2j, up reduced_levels + 2j + 1
// (j < 64: 2000-2127, apart from every other tag here).
inline constexpr int reduced_levels = 2000;
}  // namespace tag

// A count as MPI's int; throws RuntimeFailure naming `what` past 2^31-1.
[[nodiscard]] int int_count(std::size_t count, const char* what);

// Owner of a committed datatype of `count` consecutive `element`s (Ginkgo's contiguous_type).
class ContiguousType {
 public:
  ContiguousType(int count, MPI_Datatype element);
  ~ContiguousType();
  ContiguousType(ContiguousType&& other) noexcept;
  ContiguousType& operator=(ContiguousType&& other) noexcept;
  ContiguousType(const ContiguousType&) = delete;
  ContiguousType& operator=(const ContiguousType&) = delete;
  [[nodiscard]] MPI_Datatype get() const noexcept { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Owner of one nonblocking operation. wait() completes it; a Request destroyed while still
// pending (an exception left its scope) cancels a point-to-point operation and then completes it,
// so a receive never lands in a buffer that has since been freed. A send that has already started
// cannot be withdrawn: the destructor waits for it to be received. A nonblocking collective cannot
// be cancelled at all: its destructor completes it (collective: the other ranks must reach the
// same operation, as they do when every rank leaves the same loop).
class Request {
 public:
  Request() = default;
  ~Request();
  Request(Request&& other) noexcept;
  Request& operator=(Request&& other) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  [[nodiscard]] bool pending() const noexcept { return handle_ != MPI_REQUEST_NULL; }
  void wait();

 private:
  friend class RequestSet;
  friend class Comm;
  // For MPI_Ixxx(..., &out): the address of the (empty) handle; `collective` for a nonblocking collective.
  [[nodiscard]] MPI_Request* out(bool collective = false);
  MPI_Request handle_ = MPI_REQUEST_NULL;
  bool collective_ = false;
};

// Several requests completed together with one MPI_Waitall; pending ones are cancelled and
// completed on destruction, as for Request.
class RequestSet {
 public:
  RequestSet() = default;
  ~RequestSet();
  RequestSet(const RequestSet&) = delete;
  RequestSet& operator=(const RequestSet&) = delete;

  void add(Request&& request);
  void wait_all();

 private:
  std::vector<MPI_Request> handles_;
  std::vector<bool> collective_;
};

// This process's rank in MPI_COMM_WORLD, for messages; -1 before MPI_Init.
[[nodiscard]] int world_rank() noexcept;

// MPI_Wtime: seconds on a wall clock, for timing.
[[nodiscard]] double wall_time() noexcept;

// Ends every process of the job with `code` (MPI_Abort on WORLD): for a failure the other ranks do
// not know about, or a state (a failed parallel HDF5 write) that MPI_Finalize cannot shut down.
[[noreturn]] void abort_all(int code) noexcept;

// Initialises MPI unless somebody already has, and finalises it only if it did.
// True when MPI was initialised with MPI_THREAD_SERIALIZED or more: any thread may call MPI, one at
// a time.
[[nodiscard]] bool threads_serialized();

class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool owns_ = false;
};

// A communicator. Comm::view() wraps a handle it does not own (WORLD, SELF, one a caller gave);
// Comm::duplicate() owns a fresh duplicate, set to return errors instead of aborting, and frees it.
class Comm {
 public:
  static Comm view(MPI_Comm handle);
  static Comm duplicate(MPI_Comm handle);
  // A view of MPI_COMM_WORLD (duplicate() it before use: library code is passed a communicator).
  [[nodiscard]] static Comm world();
  // Collective: an owned duplicate of this communicator, returning errors.
  [[nodiscard]] Comm duplicate() const;
  // Collective: the ranks of this communicator on this rank's node (MPI_COMM_TYPE_SHARED), owned.
  [[nodiscard]] Comm split_by_node() const;

  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  ~Comm();

  [[nodiscard]] MPI_Comm get() const noexcept { return handle_; }
  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }
  [[nodiscard]] bool is_root() const noexcept { return rank_ == 0; }

  void barrier() const;
  // Element-wise sum / min / max over all ranks, in place (min, max: T is double, int, std::int64_t,
  // std::uint64_t).
  void allreduce_sum(std::vector<double>& values) const;
  template <class T>
  void allreduce_min(std::span<T> values) const;
  template <class T>
  void allreduce_max(std::span<T> values) const;
  // The least / greatest of every rank's value.
  template <class T>
  [[nodiscard]] T allreduce_min(T value) const;
  [[nodiscard]] double allreduce_max(double value) const;
  [[nodiscard]] std::int64_t allreduce_max(std::int64_t value) const;
  [[nodiscard]] bool any(bool flag) const;
  // Started now, completed by the Request: agreed[i] becomes the greatest of every rank's mine[i].
  // Both buffers must outlive the Request (declare it after them).
  template <class T>
  [[nodiscard]] Request iallreduce_max(std::span<const T> mine, std::span<T> agreed) const;
  void broadcast(std::string& text, int root = 0) const;
  void broadcast(std::vector<double>& values, int root = 0) const;
  // The root's values into every rank's `values`, of the same length on every rank.
  void broadcast(std::span<double> values, int root = 0) const;
  // Rank root's value, on every rank.
  template <class T>
  [[nodiscard]] T broadcast_value(T value, int root = 0) const;

  // Point to point, in elements of T (double, int, std::int64_t, std::uint64_t).
  template <class T>
  void send(std::span<const T> data, int dest, int tag) const;
  template <class T>
  void recv(std::span<T> data, int source, int tag) const;
  template <class T>
  [[nodiscard]] Request isend(std::span<const T> data, int dest, int tag) const;
  template <class T>
  [[nodiscard]] Request irecv(std::span<T> data, int source, int tag) const;
  // Receives one message of any length from `source` (MPI_Probe, then MPI_Recv of its size).
  template <class T>
  [[nodiscard]] std::vector<T> recv_any_length(int source, int tag) const;

  // Every rank's `mine` (all of the same length), concatenated in rank order: on the root only for
  // gather (other ranks get an empty vector), on every rank for allgather.
  template <class T>
  [[nodiscard]] std::vector<T> gather(std::span<const T> mine, int root) const;
  template <class T>
  [[nodiscard]] std::vector<T> allgather(std::span<const T> mine) const;
  // Every rank's `mine` (lengths may differ), concatenated in rank order on every rank.
  template <class T>
  [[nodiscard]] std::vector<T> allgatherv(std::span<const T> mine) const;
  // The same with the lengths known to every rank: rank r's counts[r] items land at displs[r] of all.
  template <class T>
  void allgatherv(std::span<const T> mine, std::span<T> all, std::span<const int> counts,
                  std::span<const int> displs) const;
  // Rank r sends / receives counts[r] items of `type` at displs[r] of the root's buffer.
  void gatherv(const void* mine, void* root_out, std::span<const int> counts, std::span<const int> displs,
               MPI_Datatype type, int root) const;
  void scatterv(const void* root_in, void* mine, std::span<const int> counts, std::span<const int> displs,
                MPI_Datatype type, int root) const;

  // Collective: the ranks that pass member = true, in their order here, as a new owned
  // communicator; nullopt on the others.
  [[nodiscard]] std::optional<Comm> split_members(bool member) const;
  // Collective: every rank's text (lengths may differ), in rank order, on the root only (a table of
  // size() lengths there, and the texts; other ranks get an empty vector).
  [[nodiscard]] std::vector<std::string> gather_text(const std::string& mine, int root) const;

 private:
  Comm(MPI_Comm handle, bool owned);
  MPI_Comm handle_ = MPI_COMM_NULL;
  bool owned_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// The failure every rank throws after agreeing: same exit code and message on all ranks.
class CollectiveError : public Error {
 public:
  CollectiveError(ExitCode code, const std::string& what, int failed_rank)
      : Error(code, what), failed_rank_(failed_rank) {}
  [[nodiscard]] int failed_rank() const noexcept { return failed_rank_; }

 private:
  int failed_rank_;
};

struct LocalFailure {
  ExitCode code;
  std::string message;
};

// The failure a caught exception stands for, in words (see describe). Call it inside a catch block
// with std::current_exception().
[[nodiscard]] LocalFailure failure_of(std::exception_ptr error, int rank);

// Collective: if any rank passes a failure, every rank throws the CollectiveError of the lowest
// failing rank. Costs one allreduce when nothing failed.
void raise_if_any(const Comm& comm, const std::optional<LocalFailure>& failure);

// For a failure that every rank decides alike from replicated values (an allreduced loss, a KSP's
// converged reason, the factorisation of a replicated matrix): throws the agreed CollectiveError
// at once, without communicating. The message must be built from replicated values only.
[[noreturn]] void fail_alike(ExitCode code, const std::string& message);

// The failure a local exception means, in words (std::bad_alloc becomes "out of memory").
[[nodiscard]] LocalFailure describe(const std::exception& e, int rank);

// Runs fn on every rank and agrees on the outcome. fn may throw on some ranks only, so it must not
// itself make collective calls that a failing rank would skip; a collective it makes that fails
// on every rank alike (a CollectiveError, or PETSc refusing its options everywhere) is fine.
template <class F>
void collectively(const Comm& comm, F&& fn) {
  std::optional<LocalFailure> failure;
  try {
    fn();
  } catch (const std::exception&) {
    failure = failure_of(std::current_exception(), comm.rank());
  }
  raise_if_any(comm, failure);
}

// ---- MPI-IO hints and the node's name (parallel I/O settings, provenance) ----------------------

// MPI-IO hints as key/value pairs, in order.
using Hints = std::vector<std::pair<std::string, std::string>>;

// Owner of one MPI_Info (the hints a file is opened with, or those an open file reports), freed
// on destruction.
class Info {
 public:
  // The longest key and value MPI_Info_set takes (Open MPI counts the terminating NUL in
  // MPI_MAX_INFO_KEY and MPI_MAX_INFO_VAL: 35 and 255 characters).
  static constexpr std::size_t max_key_length = MPI_MAX_INFO_KEY - 1;
  static constexpr std::size_t max_value_length = MPI_MAX_INFO_VAL - 1;

  // An info object holding `hints` (MPI_Info_create, MPI_Info_set).
  explicit Info(const Hints& hints = {});
  // The hints an open file reports (MPI_File_get_info); `file` is the address of its MPI_File, as
  // HDF5's H5Fget_vfd_handle gives it.
  [[nodiscard]] static Info of_file(const void* file);
  ~Info();
  Info(Info&& other) noexcept;
  Info& operator=(Info&& other) noexcept;
  Info(const Info&) = delete;
  Info& operator=(const Info&) = delete;

  [[nodiscard]] MPI_Info get() const noexcept { return handle_; }
  // Every key and its value, in MPI's order.
  [[nodiscard]] Hints entries() const;

 private:
  Info(MPI_Info handle, bool /*adopt*/) : handle_(handle) {}
  MPI_Info handle_ = MPI_INFO_NULL;
};

// The name of the node this process runs on (MPI_Get_processor_name).
[[nodiscard]] std::string processor_name();

// A test hook: when the environment variable SLAB_FAULT is "<phase>:<rank>" and this rank and
// phase match, throws a RuntimeFailure. Production runs never set it.
void inject_fault(const Comm& comm, const char* phase);

}  // namespace slab::mpi
