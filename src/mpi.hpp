// The MPI layer: one owner for MPI start-up and shutdown, a communicator handle that frees only
// what it created, checked calls, and the agreement step that turns one rank's failure into the
// same error on every rank (so nothing hangs waiting for a rank that has given up).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"

namespace slab::mpi {

// Throws RuntimeFailure naming the call and MPI's own message when rc is not MPI_SUCCESS.
void check(int rc, const char* call, const char* file, int line);
#define SLAB_MPI(call) ::slab::mpi::check((call), #call, __FILE__, __LINE__)

// Initialises MPI unless somebody already has, and finalises it only if it did.
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
  // Element-wise sum / max over all ranks, in place.
  void allreduce_sum(std::vector<double>& values) const;
  [[nodiscard]] double allreduce_max(double value) const;
  [[nodiscard]] std::int64_t allreduce_max(std::int64_t value) const;
  [[nodiscard]] bool any(bool flag) const;
  void broadcast(std::string& text, int root = 0) const;
  void broadcast(std::vector<double>& values, int root = 0) const;

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
  } catch (const std::exception& e) {
    failure = describe(e, comm.rank());
  }
  raise_if_any(comm, failure);
}

// A test hook: when the environment variable SLAB_FAULT is "<phase>:<rank>" and this rank and
// phase match, throws a RuntimeFailure. Production runs never set it.
void inject_fault(const Comm& comm, const char* phase);

}  // namespace slab::mpi
