#include "mpi.hpp"

#include <cstdlib>
#include <limits>
#include <string>

namespace slab::mpi {

void check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  int rank = -1;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw RuntimeFailure(std::string(call) + " failed on rank " + std::to_string(rank) + ": " +
                       std::string(text, static_cast<std::size_t>(length)) + " [" + file + ":" + std::to_string(line) +
                       "]");
}

Environment::Environment(int& argc, char**& argv) {
  int initialised = 0;
  SLAB_MPI(MPI_Initialized(&initialised));
  if (initialised) return;
  // Open MPI's shared-file-pointer components "sm" and "lockedfile" build a name from the file's path
  // in a fixed buffer and abort (a fortified sprintf) on paths of more than about 230 characters, at
  // every MPI_File_open; slab never uses a shared file pointer, so they are left out ("individual"
  // stays). A user's own OMPI_MCA_sharedfp setting wins.
  ::setenv("OMPI_MCA_sharedfp", "^sm,lockedfile", /*overwrite=*/0);
  int provided = 0;
  SLAB_MPI(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
  owns_ = true;
}

Environment::~Environment() {
  if (!owns_) return;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

Comm::Comm(MPI_Comm handle, bool owned) : handle_(handle), owned_(owned) {
  SLAB_MPI(MPI_Comm_rank(handle_, &rank_));
  SLAB_MPI(MPI_Comm_size(handle_, &size_));
}

Comm Comm::view(MPI_Comm handle) { return Comm(handle, false); }

Comm Comm::duplicate(MPI_Comm handle) {
  MPI_Comm dup = MPI_COMM_NULL;
  SLAB_MPI(MPI_Comm_dup(handle, &dup));
  Comm comm(dup, true);
  SLAB_MPI(MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN));
  return comm;
}

Comm::Comm(Comm&& other) noexcept
    : handle_(other.handle_), owned_(other.owned_), rank_(other.rank_), size_(other.size_) {
  other.handle_ = MPI_COMM_NULL;
  other.owned_ = false;
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    if (owned_ && handle_ != MPI_COMM_NULL) MPI_Comm_free(&handle_);
    handle_ = other.handle_;
    owned_ = other.owned_;
    rank_ = other.rank_;
    size_ = other.size_;
    other.handle_ = MPI_COMM_NULL;
    other.owned_ = false;
  }
  return *this;
}

Comm::~Comm() {
  if (!owned_ || handle_ == MPI_COMM_NULL) return;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Comm_free(&handle_);
}

void Comm::barrier() const { SLAB_MPI(MPI_Barrier(handle_)); }

void Comm::allreduce_sum(std::vector<double>& values) const {
  if (values.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw RuntimeFailure("allreduce of more than 2^31-1 values");
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, handle_));
}

double Comm::allreduce_max(double value) const {
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, handle_));
  return value;
}

std::int64_t Comm::allreduce_max(std::int64_t value) const {
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MAX, handle_));
  return value;
}

bool Comm::any(bool flag) const {
  int value = flag ? 1 : 0;
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_LOR, handle_));
  return value != 0;
}

void Comm::broadcast(std::string& text, int root) const {
  std::uint64_t length = text.size();
  SLAB_MPI(MPI_Bcast(&length, 1, MPI_UINT64_T, root, handle_));
  text.resize(length);
  SLAB_MPI(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, handle_));
}

void Comm::broadcast(std::vector<double>& values, int root) const {
  std::uint64_t length = values.size();
  SLAB_MPI(MPI_Bcast(&length, 1, MPI_UINT64_T, root, handle_));
  values.resize(length);
  SLAB_MPI(MPI_Bcast(values.data(), static_cast<int>(length), MPI_DOUBLE, root, handle_));
}

void raise_if_any(const Comm& comm, const std::optional<LocalFailure>& failure) {
  // The lowest failing rank wins, so the message does not depend on timing.
  int first_failed = failure ? comm.rank() : comm.size();
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, &first_failed, 1, MPI_INT, MPI_MIN, comm.get()));
  if (first_failed == comm.size()) return;
  int code = failure ? static_cast<int>(failure->code) : 0;
  std::string message = failure ? failure->message : std::string();
  SLAB_MPI(MPI_Bcast(&code, 1, MPI_INT, first_failed, comm.get()));
  comm.broadcast(message, first_failed);
  throw CollectiveError(static_cast<ExitCode>(code), message, first_failed);
}

void inject_fault(const Comm& comm, const char* phase) {
  const char* spec = std::getenv("SLAB_FAULT");
  if (spec == nullptr) return;
  const std::string s(spec);
  const auto colon = s.find(':');
  if (colon == std::string::npos || s.substr(0, colon) != phase) return;
  if (std::atoi(s.c_str() + colon + 1) != comm.rank()) return;
  throw RuntimeFailure("injected fault in phase '" + std::string(phase) + "' on rank " + std::to_string(comm.rank()));
}

}  // namespace slab::mpi
