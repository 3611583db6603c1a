#include "core/mpi.hpp"

#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <utility>

namespace slab::mpi {

namespace {

// MPI's own message for an error code.
std::string error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  return std::string(text, static_cast<std::size_t>(length));
}

bool finalised() noexcept {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

// For destructors: prints a failed release and carries on (see slab::warn).
void warn_unless_success(int rc, const char* call) noexcept {
  if (rc != MPI_SUCCESS) warn(std::string(call) + " failed in a destructor: " + error_text(rc));
}

// A request that was never completed: cancel (unless it is a collective, which cannot be
// cancelled), then complete, so MPI is done with its buffers.
void abandon(MPI_Request& handle, bool collective) noexcept {
  if (handle == MPI_REQUEST_NULL || finalised()) return;
  if (!collective) warn_unless_success(MPI_Cancel(&handle), "MPI_Cancel");
  warn_unless_success(MPI_Wait(&handle, MPI_STATUS_IGNORE), "MPI_Wait");
}

}  // namespace

void check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  throw RuntimeFailure(std::string(call) + " failed on rank " + std::to_string(world_rank()) + ": " + error_text(rc) +
                       " [" + file + ":" + std::to_string(line) + "]");
}

int int_count(std::size_t count, const char* what) {
  if (count > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw RuntimeFailure(std::string(what) + " of " + std::to_string(count) +
                         " elements: more than one MPI call can carry (2^31-1)");
  return static_cast<int>(count);
}

ContiguousType::ContiguousType(int count, MPI_Datatype element) {
  SLAB_MPI(MPI_Type_contiguous(count, element, &type_));
  const int rc = MPI_Type_commit(&type_);
  if (rc != MPI_SUCCESS) MPI_Type_free(&type_);
  SLAB_MPI(rc);
}

ContiguousType::~ContiguousType() {
  if (type_ != MPI_DATATYPE_NULL && !finalised()) warn_unless_success(MPI_Type_free(&type_), "MPI_Type_free");
}

ContiguousType::ContiguousType(ContiguousType&& other) noexcept
    : type_(std::exchange(other.type_, MPI_DATATYPE_NULL)) {}

ContiguousType& ContiguousType::operator=(ContiguousType&& other) noexcept {
  std::swap(type_, other.type_);
  return *this;
}

Info::~Info() {
  if (info_ != MPI_INFO_NULL && !finalised()) warn_unless_success(MPI_Info_free(&info_), "MPI_Info_free");
}

Info::Info(Info&& other) noexcept : info_(std::exchange(other.info_, MPI_INFO_NULL)) {}

Info& Info::operator=(Info&& other) noexcept {
  std::swap(info_, other.info_);
  return *this;
}

void Info::set(const std::string& key, const std::string& value) {
  if (info_ == MPI_INFO_NULL) SLAB_MPI(MPI_Info_create(&info_));
  SLAB_MPI(MPI_Info_set(info_, key.c_str(), value.c_str()));
}

Request::~Request() { abandon(handle_, collective_); }

Request::Request(Request&& other) noexcept
    : handle_(std::exchange(other.handle_, MPI_REQUEST_NULL)), collective_(other.collective_) {}

Request& Request::operator=(Request&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(collective_, other.collective_);
  return *this;
}

void Request::wait() { SLAB_MPI(MPI_Wait(&handle_, MPI_STATUS_IGNORE)); }

MPI_Request* Request::out(bool collective) {
  if (pending()) throw RuntimeFailure("an MPI request was reused while still pending");
  collective_ = collective;
  return &handle_;
}

RequestSet::~RequestSet() {
  for (std::size_t i = 0; i < handles_.size(); ++i) abandon(handles_[i], collective_[i]);
}

void RequestSet::add(Request&& request) {
  handles_.reserve(handles_.size() + 1);
  collective_.reserve(collective_.size() + 1);  // no allocation can fail once the handle has moved
  handles_.push_back(std::exchange(request.handle_, MPI_REQUEST_NULL));
  collective_.push_back(request.collective_);
}

void RequestSet::wait_all() {
  SLAB_MPI(MPI_Waitall(int_count(handles_.size(), "MPI_Waitall"), handles_.data(), MPI_STATUSES_IGNORE));
  handles_.clear();
  collective_.clear();
}

int world_rank() noexcept {
  int rank = -1;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

double wall_time() noexcept { return MPI_Wtime(); }

void abort_all(int code) noexcept {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, the process ends all the same
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
  if (owns_ && !finalised()) warn_unless_success(MPI_Finalize(), "MPI_Finalize");
}

Comm::Comm(MPI_Comm handle, bool owned) : handle_(handle), owned_(owned) {
  SLAB_MPI(MPI_Comm_rank(handle_, &rank_));
  SLAB_MPI(MPI_Comm_size(handle_, &size_));
}

Comm Comm::view(MPI_Comm handle) { return Comm(handle, false); }

Comm Comm::world() { return view(MPI_COMM_WORLD); }

Comm Comm::duplicate() const { return duplicate(handle_); }

Comm Comm::duplicate(MPI_Comm handle) {
  MPI_Comm dup = MPI_COMM_NULL;
  SLAB_MPI(MPI_Comm_dup(handle, &dup));
  Comm comm(dup, true);
  SLAB_MPI(MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN));
  return comm;
}

Comm Comm::split_by_node() const {
  MPI_Comm node = MPI_COMM_NULL;
  SLAB_MPI(MPI_Comm_split_type(handle_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  Comm comm(node, true);
  SLAB_MPI(MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN));
  return comm;
}

Comm::Comm(Comm&& other) noexcept
    : handle_(other.handle_), owned_(other.owned_), rank_(other.rank_), size_(other.size_) {
  other.handle_ = MPI_COMM_NULL;
  other.owned_ = false;
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    if (owned_ && handle_ != MPI_COMM_NULL && !finalised())
      warn_unless_success(MPI_Comm_free(&handle_), "MPI_Comm_free");
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
  if (owned_ && handle_ != MPI_COMM_NULL && !finalised()) warn_unless_success(MPI_Comm_free(&handle_), "MPI_Comm_free");
}

void Comm::barrier() const { SLAB_MPI(MPI_Barrier(handle_)); }

void Comm::allreduce_sum(std::vector<double>& values) const {
  SLAB_MPI(
      MPI_Allreduce(MPI_IN_PLACE, values.data(), int_count(values.size(), "allreduce"), MPI_DOUBLE, MPI_SUM, handle_));
}

template <class T>
void Comm::allreduce_min(std::span<T> values) const {
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data(), int_count(values.size(), "allreduce"), datatype_of<T>(), MPI_MIN,
                         handle_));
}

template <class T>
void Comm::allreduce_max(std::span<T> values) const {
  SLAB_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data(), int_count(values.size(), "allreduce"), datatype_of<T>(), MPI_MAX,
                         handle_));
}

template <class T>
T Comm::allreduce_min(T value) const {
  allreduce_min(std::span<T>(&value, 1));
  return value;
}

template <class T>
Request Comm::iallreduce_max(std::span<const T> mine, std::span<T> agreed) const {
  if (mine.size() != agreed.size()) throw RuntimeFailure("iallreduce_max: the two buffers differ in length");
  Request request;
  SLAB_MPI(MPI_Iallreduce(mine.data(), agreed.data(), int_count(mine.size(), "allreduce"), datatype_of<T>(), MPI_MAX,
                          handle_, request.out(/*collective=*/true)));
  return request;
}

template <class T>
T Comm::broadcast_value(T value, int root) const {
  SLAB_MPI(MPI_Bcast(&value, 1, datatype_of<T>(), root, handle_));
  return value;
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

void Comm::broadcast(std::span<double> values, int root) const {
  SLAB_MPI(MPI_Bcast(values.data(), int_count(values.size(), "broadcast"), MPI_DOUBLE, root, handle_));
}

template <class T>
void Comm::send(std::span<const T> data, int dest, int tag) const {
  SLAB_MPI(MPI_Send(data.data(), int_count(data.size(), "send"), datatype_of<T>(), dest, tag, handle_));
}

template <class T>
void Comm::recv(std::span<T> data, int source, int tag) const {
  SLAB_MPI(MPI_Recv(data.data(), int_count(data.size(), "receive"), datatype_of<T>(), source, tag, handle_,
                    MPI_STATUS_IGNORE));
}

template <class T>
Request Comm::isend(std::span<const T> data, int dest, int tag) const {
  Request request;
  SLAB_MPI(MPI_Isend(data.data(), int_count(data.size(), "send"), datatype_of<T>(), dest, tag, handle_, request.out()));
  return request;
}

template <class T>
Request Comm::irecv(std::span<T> data, int source, int tag) const {
  Request request;
  SLAB_MPI(
      MPI_Irecv(data.data(), int_count(data.size(), "receive"), datatype_of<T>(), source, tag, handle_, request.out()));
  return request;
}

template <class T>
std::vector<T> Comm::recv_any_length(int source, int tag) const {
  MPI_Status status;
  SLAB_MPI(MPI_Probe(source, tag, handle_, &status));
  int count = 0;
  SLAB_MPI(MPI_Get_count(&status, datatype_of<T>(), &count));
  if (count == MPI_UNDEFINED)
    throw RuntimeFailure("a message from rank " + std::to_string(source) + " is not whole elements");
  std::vector<T> data(static_cast<std::size_t>(count));
  SLAB_MPI(MPI_Recv(data.data(), count, datatype_of<T>(), source, tag, handle_, MPI_STATUS_IGNORE));
  return data;
}

template <class T>
std::vector<T> Comm::gather(std::span<const T> mine, int root) const {
  const int count = int_count(mine.size(), "gather");
  std::vector<T> all(rank_ == root ? mine.size() * static_cast<std::size_t>(size_) : 0);
  SLAB_MPI(MPI_Gather(mine.data(), count, datatype_of<T>(), all.data(), count, datatype_of<T>(), root, handle_));
  return all;
}

template <class T>
std::vector<T> Comm::allgather(std::span<const T> mine) const {
  const int count = int_count(mine.size(), "allgather");
  std::vector<T> all(mine.size() * static_cast<std::size_t>(size_));
  SLAB_MPI(MPI_Allgather(mine.data(), count, datatype_of<T>(), all.data(), count, datatype_of<T>(), handle_));
  return all;
}

template <class T>
std::vector<T> Comm::allgatherv(std::span<const T> mine) const {
  const int count = int_count(mine.size(), "allgatherv");
  const std::vector<int> counts = allgather(std::span<const int>(&count, 1));
  std::vector<int> displs(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = int_count(total, "allgatherv");
    total += static_cast<std::size_t>(counts[r]);
  }
  std::vector<T> all(total);
  SLAB_MPI(MPI_Allgatherv(mine.data(), count, datatype_of<T>(), all.data(), counts.data(), displs.data(),
                          datatype_of<T>(), handle_));
  return all;
}

template <class T>
void Comm::allgatherv(std::span<const T> mine, std::span<T> all, std::span<const int> counts,
                      std::span<const int> displs) const {
  SLAB_MPI(MPI_Allgatherv(mine.data(), int_count(mine.size(), "allgatherv"), datatype_of<T>(), all.data(),
                          counts.data(), displs.data(), datatype_of<T>(), handle_));
}

void Comm::gatherv(const void* mine, void* root_out, std::span<const int> counts, std::span<const int> displs,
                   MPI_Datatype type, int root) const {
  SLAB_MPI(MPI_Gatherv(mine, counts[static_cast<std::size_t>(rank_)], type, root_out, counts.data(), displs.data(),
                       type, root, handle_));
}

void Comm::scatterv(const void* root_in, void* mine, std::span<const int> counts, std::span<const int> displs,
                    MPI_Datatype type, int root) const {
  SLAB_MPI(MPI_Scatterv(root_in, counts.data(), displs.data(), type, mine, counts[static_cast<std::size_t>(rank_)],
                        type, root, handle_));
}

template void Comm::send(std::span<const double>, int, int) const;
template void Comm::recv(std::span<double>, int, int) const;
template Request Comm::isend(std::span<const double>, int, int) const;
template Request Comm::irecv(std::span<double>, int, int) const;
template std::vector<double> Comm::recv_any_length(int, int) const;
template std::vector<std::uint64_t> Comm::gather(std::span<const std::uint64_t>, int) const;
template std::vector<int> Comm::allgather(std::span<const int>) const;
template std::vector<double> Comm::allgatherv(std::span<const double>) const;
template void Comm::allgatherv(std::span<const double>, std::span<double>, std::span<const int>,
                               std::span<const int>) const;
template void Comm::allreduce_min(std::span<int>) const;
template void Comm::allreduce_min(std::span<std::uint64_t>) const;
template void Comm::allreduce_max(std::span<std::int64_t>) const;
template int Comm::allreduce_min(int) const;
template std::uint64_t Comm::allreduce_min(std::uint64_t) const;
template Request Comm::iallreduce_max(std::span<const int>, std::span<int>) const;
template std::uint64_t Comm::broadcast_value(std::uint64_t, int) const;

LocalFailure failure_of(std::exception_ptr error, int rank) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return describe(e, rank);
  } catch (...) {
    return LocalFailure{ExitCode::runtime, "an unknown exception"};
  }
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

void fail_alike(ExitCode code, const std::string& message) { throw CollectiveError(code, message, 0); }

LocalFailure describe(const std::exception& e, int rank) {
  if (const auto* error = dynamic_cast<const Error*>(&e)) return {error->code(), error->what()};
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr)
    return {ExitCode::runtime, "out of memory on rank " + std::to_string(rank) +
                                   " (an allocation failed; fewer values per rank, or more ranks or nodes, would fit)"};
  return {ExitCode::runtime, std::string(e.what()) + " (on rank " + std::to_string(rank) + ")"};
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
