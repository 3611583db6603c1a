// PETSc on top of slab's MPI: one owner for PetscInitialize/PetscFinalize, a checking macro that
// turns PETSc error codes into exceptions, and one small non-copyable owner per PETSc object type.
#pragma once

#include <petscdm.h>
#include <petscksp.h>

#include <optional>
#include <string>
#include <vector>

#include "core/mpi.hpp"

namespace slab::petsc {

void check(PetscErrorCode code, const char* call, const char* file, int line);
#define SLAB_PETSC(call) ::slab::petsc::check((call), #call, __FILE__, __LINE__)

// For destructors: prints the PETSc error just returned (a failed XxxDestroy or restore) as a warning.
void warn_destroy_failed() noexcept;

// Initialises PETSc on `comm` (which becomes PETSC_COMM_WORLD) with errors returned, not printed
// or aborted on, and no PETSc signal handler. Declare it before any PETSc object so they are
// destroyed first. Options come from PETSC_OPTIONS and from insert_options().
class Session {
 public:
  explicit Session(const mpi::Comm& comm);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Adds options such as "-ksp_type cg -pc_type jacobi" to PETSc's database.
  static void insert_options(const std::string& options);

 private:
  bool owns_ = false;
};

// The options in PETSc's database that nothing has read (misspelt, or meant for a solver this run
// does not use), as "-name value" texts. The database is the same on every rank, so is this.
[[nodiscard]] std::vector<std::string> unused_options();

// Owner of one PETSc object; Destroy is the type's XxxDestroy.
template <class T, PetscErrorCode (*Destroy)(T*)>
class Handle {
 public:
  Handle() = default;
  // A failed destroy is printed as a warning (see slab::warn), never thrown.
  ~Handle() {
    if (handle_ != nullptr && Destroy(&handle_) != 0) warn_destroy_failed();
  }
  Handle(Handle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Handle& operator=(Handle&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] T get() const noexcept { return handle_; }
  // For XxxCreate(..., &out): the address of the (empty) handle.
  [[nodiscard]] T* out() noexcept { return &handle_; }

 private:
  T handle_ = nullptr;
};

using OwnedDM = Handle<DM, DMDestroy>;
using OwnedVec = Handle<Vec, VecDestroy>;
using OwnedMat = Handle<Mat, MatDestroy>;
using OwnedKSP = Handle<KSP, KSPDestroy>;
using OwnedScatter = Handle<VecScatter, VecScatterDestroy>;

// Scoped VecGetArray / VecRestoreArray.
class VecArray {
 public:
  explicit VecArray(Vec v);
  ~VecArray();
  VecArray(const VecArray&) = delete;
  VecArray& operator=(const VecArray&) = delete;
  [[nodiscard]] PetscScalar* data() const noexcept { return data_; }

 private:
  Vec vec_;
  PetscScalar* data_ = nullptr;
};

// Why the last KSPSolve did not converge, naming what was solved; empty when it converged. The
// reason is computed from global norms, so it is the same on every rank.
[[nodiscard]] std::optional<std::string> not_converged(KSP ksp, const std::string& what);
// Throws the same error on every rank (mpi::fail_alike) unless the last KSPSolve converged.
void require_converged(KSP ksp, const std::string& what);

// KSPSetFromOptions, collectively: the options are the same on every rank, so a bad one fails on
// all of them alike; it becomes one InputError everywhere, naming PETSc's complaint.
void set_from_options(const mpi::Comm& comm, KSP ksp);

}  // namespace slab::petsc
