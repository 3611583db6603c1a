#include "core/petsc.hpp"

#include <string>

namespace slab::petsc {
namespace {

// PETSc's own words for the error being returned: the message given where it was raised (for
// example "Must use -log_view ...") and the routine, recorded by the error handler below.
thread_local std::string raised;

PetscErrorCode record_error(MPI_Comm, int, const char* function, const char*, PetscErrorCode code, PetscErrorType type,
                            const char* message, void*) {
  if (type == PETSC_ERROR_INITIAL)
    raised = std::string(message != nullptr && *message != '\0' ? message : "") + " (in " +
             (function != nullptr ? function : "?") + ")";
  return code;
}

}  // namespace

void check(PetscErrorCode code, const char* call, const char* file, int line) {
  if (code == 0) return;
  const char* generic = nullptr;
  if (PetscErrorMessage(code, &generic, nullptr) != 0 || generic == nullptr) generic = "unknown PETSc error";
  const std::string text = raised.empty() ? std::string(generic) : std::string(generic) + ": " + raised;
  raised.clear();
  throw RuntimeFailure(std::string(call) + " failed on rank " + std::to_string(mpi::world_rank()) + ": " + text +
                       " (PETSc error " + std::to_string(code) + ") [" + file + ":" + std::to_string(line) + "]");
}

void warn_destroy_failed() noexcept {
  warn("a PETSc destroy or restore failed in a destructor: " + (raised.empty() ? std::string("no message") : raised));
  raised.clear();
}

Session::Session(const mpi::Comm& comm) {
  PetscBool initialised = PETSC_FALSE;
  SLAB_PETSC(PetscInitialized(&initialised));
  if (initialised) return;
  PETSC_COMM_WORLD = comm.get();
  SLAB_PETSC(PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr));
  SLAB_PETSC(PetscInitializeNoArguments());
  owns_ = true;
  SLAB_PETSC(PetscPushErrorHandler(record_error, nullptr));
}

Session::~Session() {
  if (!owns_) return;
  PetscPopErrorHandler();
  if (PetscFinalize() != 0) warn("PetscFinalize failed");
}

void Session::insert_options(const std::string& options) {
  if (options.empty()) return;
  SLAB_PETSC(PetscOptionsInsertString(nullptr, options.c_str()));
  // -log_view normally has to be given at PetscInitialize; start the log now so it works here too.
  PetscBool log_view = PETSC_FALSE;
  SLAB_PETSC(PetscOptionsHasName(nullptr, nullptr, "-log_view", &log_view));
  if (log_view) SLAB_PETSC(PetscLogDefaultBegin());
}

std::vector<std::string> unused_options() {
  PetscInt count = 0;
  char** names = nullptr;
  char** values = nullptr;
  SLAB_PETSC(PetscOptionsLeftGet(nullptr, &count, &names, &values));
  std::vector<std::string> unused;
  for (PetscInt i = 0; i < count; ++i)
    unused.push_back("-" + std::string(names[i]) + (values[i] != nullptr ? " " + std::string(values[i]) : ""));
  SLAB_PETSC(PetscOptionsLeftRestore(nullptr, &count, &names, &values));
  return unused;
}

VecArray::VecArray(Vec v) : vec_(v) { SLAB_PETSC(VecGetArray(vec_, &data_)); }
VecArray::~VecArray() {
  if (VecRestoreArray(vec_, &data_) != 0) warn_destroy_failed();
}

std::optional<std::string> not_converged(KSP ksp, const std::string& what) {
  KSPConvergedReason reason;
  SLAB_PETSC(KSPGetConvergedReason(ksp, &reason));
  if (reason > 0) return std::nullopt;
  PetscInt iterations = 0;
  SLAB_PETSC(KSPGetIterationNumber(ksp, &iterations));
  std::string text = what + ": the PETSc linear solver did not converge (" + KSPConvergedReasons[reason] + " after " +
                     std::to_string(iterations) + " iterations); ";
  if (reason == KSP_DIVERGED_ITS)
    text += "raise -ksp_max_it or use a stronger -pc_type";
  else if (reason == KSP_DIVERGED_NANORINF)
    text += "the system holds values too large for double precision";
  else
    text += "try other -ksp_type/-pc_type options";
  return text;
}

void require_converged(KSP ksp, const std::string& what) {
  if (const auto failure = not_converged(ksp, what)) mpi::fail_alike(ExitCode::runtime, *failure);
}

void set_from_options(const mpi::Comm& comm, KSP ksp) {
  mpi::collectively(comm, [&] {
    try {
      SLAB_PETSC(KSPSetFromOptions(ksp));
    } catch (const RuntimeFailure& e) {
      throw InputError(std::string("PETSc did not accept the solver options: ") + e.what());
    }
  });
}

}  // namespace slab::petsc
