#include "io/h5.hpp"

#include <atomic>
#include <cstring>

#include "core/error.hpp"

namespace slab::h5 {

void silence_errors() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

namespace {
std::atomic<bool> unusable{false};

herr_t collect(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto& text = *static_cast<std::string*>(data);
  if (error->desc == nullptr || *error->desc == '\0') return 0;
  if (!text.empty()) text += "; ";
  text += error->desc;
  return 0;
}
}  // namespace

void mark_library_unusable() noexcept { unusable = true; }
bool library_unusable() noexcept { return unusable; }

std::string error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &text);
  H5Eclear2(H5E_DEFAULT);
  // Some HDF5 messages span lines (the failed write(2) details); errors here are one line.
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text.empty() ? "no HDF5 error message" : text;
}

template <class T>
T check(T value, const char* call, const std::string& context) {
  if (value >= 0) return value;
  // Name the function, not the argument list the macro saw.
  const std::string name(call, std::strcspn(call, "("));
  throw RuntimeFailure(name + " failed for " + context + ": " + error_stack());
}

Dataspace select_block(const Dataspace& file_space, std::span<const hsize_t> start, std::span<const hsize_t> count,
                       bool empty, const std::string& context) {
  for (const hsize_t c : count) empty = empty || c == 0;
  if (empty) {
    const hsize_t one = 1;
    SLAB_H5(H5Sselect_none(file_space.get()), context);
    Dataspace memory(SLAB_H5(H5Screate_simple(1, &one, nullptr), context));
    SLAB_H5(H5Sselect_none(memory.get()), context);
    return memory;
  }
  if (start.empty()) return Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), context));
  SLAB_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), context);
  return Dataspace(SLAB_H5(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), context));
}

PropertyList file_access(const mpi::Comm* comm, const io::FileAccess& access, const std::string& context) {
  PropertyList list(SLAB_H5(H5Pcreate(H5P_FILE_ACCESS), context));
  if (access.aligned()) SLAB_H5(H5Pset_alignment(list.get(), access.threshold(), access.alignment), context);
  if (comm == nullptr) return list;
  const mpi::Info hints(access.hints);  // HDF5 keeps a copy
  SLAB_H5(H5Pset_fapl_mpio(list.get(), comm->get(), hints.get()), context);
  SLAB_H5(H5Pset_all_coll_metadata_ops(list.get(), true), context);
  SLAB_H5(H5Pset_coll_metadata_write(list.get(), true), context);
  return list;
}

mpi::Hints reported_hints(const File& file, const std::string& context) {
  // Not through H5Fget_access_plist: with MPI-IO it duplicates the communicator, a collective call.
  void* handle = nullptr;
  SLAB_H5(H5Fget_vfd_handle(file.get(), H5P_DEFAULT, &handle), context);
  return mpi::Info::of_file(handle).entries();
}

template hid_t check<hid_t>(hid_t, const char*, const std::string&);
template herr_t check<herr_t>(herr_t, const char*, const std::string&);  // also htri_t: both are int
}  // namespace slab::h5
