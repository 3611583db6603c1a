#include "petsc.hpp"

namespace slab::petsc {

void check(PetscErrorCode code, const char* call, const char* file, int line) {
  if (code == 0) return;
  const char* text = nullptr;
  if (PetscErrorMessage(code, &text, nullptr) != 0 || text == nullptr) text = "unknown PETSc error";
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw RuntimeFailure(std::string(call) + " failed on rank " + std::to_string(rank) + ": " + text + " (PETSc error " +
                       std::to_string(code) + ") [" + file + ":" + std::to_string(line) + "]");
}

Session::Session(const mpi::Comm& comm) {
  PetscBool initialised = PETSC_FALSE;
  SLAB_PETSC(PetscInitialized(&initialised));
  if (initialised) return;
  PETSC_COMM_WORLD = comm.get();
  SLAB_PETSC(PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr));
  SLAB_PETSC(PetscInitializeNoArguments());
  owns_ = true;
  SLAB_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, nullptr));
}

Session::~Session() {
  if (!owns_) return;
  PetscPopErrorHandler();
  PetscFinalize();
}

void Session::insert_options(const std::string& options) {
  if (!options.empty()) SLAB_PETSC(PetscOptionsInsertString(nullptr, options.c_str()));
}

VecArray::VecArray(Vec v) : vec_(v) { SLAB_PETSC(VecGetArray(vec_, &data_)); }
VecArray::~VecArray() { VecRestoreArray(vec_, &data_); }

void require_converged(KSP ksp, const std::string& what) {
  KSPConvergedReason reason;
  SLAB_PETSC(KSPGetConvergedReason(ksp, &reason));
  if (reason > 0) return;
  PetscInt iterations = 0;
  SLAB_PETSC(KSPGetIterationNumber(ksp, &iterations));
  throw RuntimeFailure(what + ": the PETSc linear solver did not converge (" + KSPConvergedReasons[reason] + " after " +
                       std::to_string(iterations) + " iterations); try other -ksp_type/-pc_type options");
}

}  // namespace slab::petsc
