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

template hid_t check<hid_t>(hid_t, const char*, const std::string&);
template herr_t check<herr_t>(herr_t, const char*, const std::string&);  // also htri_t: both are int
}  // namespace slab::h5
