#include "h5_writer.hpp"

#include <algorithm>
#include <vector>

namespace slab::io {
namespace {

// Objects of 1 MiB and more start on 1 MiB boundaries: stripe-aligned on Lustre/GPFS defaults.
constexpr hsize_t alignment_threshold = 1 << 20;
constexpr hsize_t alignment = 1 << 20;

std::string absolute(const std::string& path) { return path.empty() || path[0] != '/' ? "/" + path : path; }

}  // namespace

H5Writer::H5Writer(std::string path, const mpi::Comm* comm, bool exclusive) : path_(std::move(path)), comm_(comm) {
  h5::silence_errors();
  h5::PropertyList access(SLAB_H5(H5Pcreate(H5P_FILE_ACCESS), context()));
  SLAB_H5(H5Pset_alignment(access.get(), alignment_threshold, alignment), context());
  transfer_ = h5::PropertyList(SLAB_H5(H5Pcreate(H5P_DATASET_XFER), context()));
  if (comm_ != nullptr) {
    SLAB_H5(H5Pset_fapl_mpio(access.get(), comm_->get(), MPI_INFO_NULL), context());
    SLAB_H5(H5Pset_all_coll_metadata_ops(access.get(), true), context());
    SLAB_H5(H5Pset_coll_metadata_write(access.get(), true), context());
    SLAB_H5(H5Pset_dxpl_mpio(transfer_.get(), H5FD_MPIO_COLLECTIVE), context());
  }
  file_ = h5::File(SLAB_H5(
      H5Fcreate(path_.c_str(), exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), context()));
}

H5Writer::~H5Writer() {
  if (h5::library_unusable()) {
    // After a failed write HDF5 1.10 cannot close the file (a parallel close diverges between
    // ranks, a serial one crashes on the second try): leave the handles to the process's end.
    for (auto& entry : datasets_) (void)entry.second.release();
    (void)file_.release();
    return;
  }
  datasets_.clear();
  file_.reset();
}

template <class F>
void H5Writer::guarded(F&& operation) {
  try {
    operation();
  } catch (...) {
    h5::mark_library_unusable();
    throw;
  }
}

std::string H5Writer::context(const std::string& dataset) const {
  std::string c = "file '" + path_ + "'";
  if (!dataset.empty()) c += ", dataset '" + absolute(dataset) + "'";
  if (comm_ != nullptr) c += ", rank " + std::to_string(comm_->rank());
  return c;
}

void H5Writer::create(const DatasetSpec& spec) {
  const std::string where = context(spec.path);
  const std::vector<hsize_t> dims(spec.shape.begin(), spec.shape.end());
  std::vector<hsize_t> max_dims = dims;
  if (spec.extendible) {
    if (dims.empty()) throw RuntimeFailure("a scalar cannot be extendible: " + where);
    max_dims[0] = H5S_UNLIMITED;
  }
  h5::Dataspace space(
      dims.empty() ? SLAB_H5(H5Screate(H5S_SCALAR), where)
                   : SLAB_H5(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()), where));
  h5::PropertyList link(SLAB_H5(H5Pcreate(H5P_LINK_CREATE), where));
  SLAB_H5(H5Pset_create_intermediate_group(link.get(), 1), where);
  h5::PropertyList create(SLAB_H5(H5Pcreate(H5P_DATASET_CREATE), where));
  // Every element is written by slab: pre-filling with zeros would write the dataset twice (parallel
  // HDF5 allocates, and so fills, at creation).
  SLAB_H5(H5Pset_fill_time(create.get(), H5D_FILL_TIME_NEVER), where);
  if (spec.extendible) {
    // One chunk per record: a heat snapshot is one chunk, written once, read whole.
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    if (chunk.size() == 1) chunk[0] = 1024;
    for (std::size_t i = 1; i < chunk.size(); ++i) chunk[i] = std::max<hsize_t>(chunk[i], 1);
    SLAB_H5(H5Pset_chunk(create.get(), static_cast<int>(chunk.size()), chunk.data()), where);
    if (spec.deflate > 0) SLAB_H5(H5Pset_deflate(create.get(), static_cast<unsigned>(spec.deflate)), where);
  }
  h5::Dataset dataset(SLAB_H5(H5Dcreate2(file_.get(), absolute(spec.path).c_str(), H5T_IEEE_F64LE, space.get(),
                                         link.get(), create.get(), H5P_DEFAULT),
                              where));
  datasets_[spec.path] = std::move(dataset);
  extendible_[spec.path] = spec.extendible;
}

void H5Writer::write(const std::string& path, const Block& block) {
  guarded([&] { write_block(path, block); });
}

void H5Writer::write_block(const std::string& path, const Block& block) {
  const std::string where = context(path);
  const auto found = datasets_.find(path);
  if (found == datasets_.end()) throw RuntimeFailure("write to a dataset that was not created: " + where);
  const hid_t dataset = found->second.get();
  const bool empty = block.size() == 0;  // a rank with nothing to write still takes part

  if (extendible_[path]) {
    // Every rank must ask for the same extent: the largest first-axis end of any block.
    auto end = static_cast<std::int64_t>(empty ? 0 : block.start[0] + block.count[0]);
    if (comm_ != nullptr) end = comm_->allreduce_max(end);
    h5::Dataspace current(SLAB_H5(H5Dget_space(dataset), where));
    std::vector<hsize_t> dims(block.start.size());
    SLAB_H5(H5Sget_simple_extent_dims(current.get(), dims.data(), nullptr), where);
    if (static_cast<hsize_t>(end) > dims[0]) {
      dims[0] = static_cast<hsize_t>(end);
      SLAB_H5(H5Dset_extent(dataset, dims.data()), where);
    }
  }

  h5::Dataspace file_space(SLAB_H5(H5Dget_space(dataset), where));
  const hsize_t one = 1;
  h5::Dataspace memory;
  if (empty) {
    SLAB_H5(H5Sselect_none(file_space.get()), where);
    memory = h5::Dataspace(SLAB_H5(H5Screate_simple(1, &one, nullptr), where));
    SLAB_H5(H5Sselect_none(memory.get()), where);
  } else if (block.start.empty()) {
    memory = h5::Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), where));
  } else {
    const std::vector<hsize_t> start(block.start.begin(), block.start.end());
    const std::vector<hsize_t> count(block.count.begin(), block.count.end());
    SLAB_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), where);
    memory = h5::Dataspace(SLAB_H5(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), where));
  }
  const double dummy = 0.0;
  written_since_flush_ = true;
  SLAB_H5(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), transfer_.get(),
                   empty ? &dummy : block.data),
          where);
  if (comm_ != nullptr) {
    H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
    SLAB_H5(H5Pget_mpio_actual_io_mode(transfer_.get(), &mode), where);
    if (mode == H5D_MPIO_NO_COLLECTIVE) every_transfer_collective_ = false;
  }
}

void H5Writer::write_attribute(hid_t object, const std::string& name, const AttributeValue& value,
                               const std::string& where) {
  const std::string at = where + ", attribute '" + name + "'";
  if (SLAB_H5(H5Aexists(object, name.c_str()), at) > 0) SLAB_H5(H5Adelete(object, name.c_str()), at);
  h5::Dataspace space;
  h5::Datatype string_type;
  hid_t file_type = H5T_IEEE_F64LE;
  hid_t memory_type = H5T_NATIVE_DOUBLE;
  const void* data = nullptr;
  const char* text = nullptr;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    space = h5::Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), at));
    file_type = H5T_STD_I64LE;
    memory_type = H5T_NATIVE_INT64;
    data = i;
  } else if (const auto* d = std::get_if<double>(&value)) {
    space = h5::Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), at));
    data = d;
  } else if (const auto* v = std::get_if<std::vector<double>>(&value)) {
    const hsize_t n = v->size();
    space = h5::Dataspace(SLAB_H5(H5Screate_simple(1, &n, nullptr), at));
    data = v->data();
  } else {
    // Variable-length UTF-8: h5py returns these as Python str.
    space = h5::Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), at));
    string_type = h5::Datatype(SLAB_H5(H5Tcopy(H5T_C_S1), at));
    SLAB_H5(H5Tset_size(string_type.get(), H5T_VARIABLE), at);
    SLAB_H5(H5Tset_cset(string_type.get(), H5T_CSET_UTF8), at);
    file_type = memory_type = string_type.get();
    text = std::get<std::string>(value).c_str();
    data = &text;
  }
  h5::Attribute attribute(
      SLAB_H5(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), at));
  SLAB_H5(H5Awrite(attribute.get(), memory_type, data), at);
}

void H5Writer::annotate(const std::string& object, const Attributes& attributes) {
  const std::string name = absolute(object);
  const std::string where = "file '" + path_ + "', object '" + name + "'";
  if (name != "/" && SLAB_H5(H5Lexists(file_.get(), name.c_str(), H5P_DEFAULT), where) <= 0) {
    h5::PropertyList link(SLAB_H5(H5Pcreate(H5P_LINK_CREATE), where));
    SLAB_H5(H5Pset_create_intermediate_group(link.get(), 1), where);
    h5::Group created(SLAB_H5(H5Gcreate2(file_.get(), name.c_str(), link.get(), H5P_DEFAULT, H5P_DEFAULT), where));
  }
  h5::Object handle(SLAB_H5(H5Oopen(file_.get(), name.c_str(), H5P_DEFAULT), where));
  for (const auto& [key, value] : attributes) write_attribute(handle.get(), key, value, where);
}

void H5Writer::read(const std::string& path, const Block& requested, double* out) {
  Block box = requested;
  box.data = out;  // the box is empty only if out is null or a count is 0
  const std::string where = context(path);
  const auto found = datasets_.find(path);
  if (found == datasets_.end()) throw RuntimeFailure("read of a dataset that was not created: " + where);
  if (written_since_flush_) {
    // Every rank's writes reach the file before anyone reads (collective in parallel mode).
    guarded([&] { SLAB_H5(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), where); });
    if (comm_ != nullptr) comm_->barrier();
    written_since_flush_ = false;
  }
  h5::Dataspace file_space(SLAB_H5(H5Dget_space(found->second.get()), where));
  const hsize_t one = 1;
  h5::Dataspace memory;
  const bool empty = box.size() == 0;
  if (empty) {
    SLAB_H5(H5Sselect_none(file_space.get()), where);
    memory = h5::Dataspace(SLAB_H5(H5Screate_simple(1, &one, nullptr), where));
    SLAB_H5(H5Sselect_none(memory.get()), where);
  } else if (box.start.empty()) {
    memory = h5::Dataspace(SLAB_H5(H5Screate(H5S_SCALAR), where));
  } else {
    const std::vector<hsize_t> start(box.start.begin(), box.start.end()), count(box.count.begin(), box.count.end());
    SLAB_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), where);
    memory = h5::Dataspace(SLAB_H5(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), where));
  }
  double dummy = 0.0;
  SLAB_H5(H5Dread(found->second.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), transfer_.get(),
                  empty ? &dummy : out),
          where);
}

void H5Writer::commit() {
  // Written last: a reader that sees complete == 1 knows every dataset was written.
  annotate("", {{"complete", std::int64_t{1}}});
  guarded([&] {
    for (auto& [name, dataset] : datasets_) dataset.close(context(name));
    datasets_.clear();
    file_.close(context());
  });
}

}  // namespace slab::io
