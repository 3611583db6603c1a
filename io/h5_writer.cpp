#include "io/h5_writer.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/text.hpp"

namespace slab::io {
namespace {

std::string absolute(const std::string& path) { return path.empty() || path[0] != '/' ? "/" + path : path; }

// "heat/u" -> "heat/", "u" -> "".
std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/') + 1); }

// Chunks of about 1 MiB (2^17 doubles) whose extents are in proportion to the dataset's, so that a
// row (a heat snapshot u[k, :]) and a column (a point's time series u[:, i]) both cost a few
// chunks. A narrow table (at most 64 columns, a row under 512 bytes) keeps whole rows.
// `rows` is the first-axis length expected (an extendible dataset starts at 0).
std::vector<hsize_t> chunk_shape(std::vector<hsize_t> dims, hsize_t rows) {
  constexpr double target = 1 << 17;
  dims[0] = std::max<hsize_t>(rows, 1);
  if (dims.size() == 1) return {std::min<hsize_t>(dims[0], static_cast<hsize_t>(target))};
  double inner = 1;  // elements per index of the second axis
  for (std::size_t d = 2; d < dims.size(); ++d) inner *= static_cast<double>(std::max<hsize_t>(dims[d], 1));
  const double n_rows = static_cast<double>(dims[0]), n_cols = static_cast<double>(std::max<hsize_t>(dims[1], 1));
  std::vector<hsize_t> chunk = dims;
  for (std::size_t d = 1; d < chunk.size(); ++d) chunk[d] = std::max<hsize_t>(chunk[d], 1);
  if (n_rows * n_cols * inner <= target) return chunk;
  const double scale = std::sqrt(target / (n_rows * n_cols * inner));
  double cols = n_cols <= 64 ? n_cols : std::clamp(std::round(n_cols * scale), 1.0, n_cols);
  const double chunk_rows = std::clamp(std::floor(target / (cols * inner)), 1.0, n_rows);
  cols = std::clamp(std::floor(target / (chunk_rows * inner)), 1.0, n_cols);
  chunk[0] = static_cast<hsize_t>(chunk_rows);
  chunk[1] = static_cast<hsize_t>(cols);
  return chunk;
}

// What netCDF-4 calls a dimension that has no coordinate variable (the NAME of its scale).
constexpr const char* not_a_variable = "This is a netCDF dimension but not a netCDF variable.";

}  // namespace

H5Writer::H5Writer(std::string path, const mpi::Comm* comm, bool exclusive, const FileAccess& settings)
    : path_(std::move(path)), comm_(comm) {
  h5::silence_errors();
  const h5::PropertyList access = h5::file_access(comm_, settings, context());
  transfer_ = h5::PropertyList(SLAB_H5(H5Pcreate(H5P_DATASET_XFER), context()));
  if (comm_ != nullptr) SLAB_H5(H5Pset_dxpl_mpio(transfer_.get(), H5FD_MPIO_COLLECTIVE), context());
  file_ = h5::File(SLAB_H5(
      H5Fcreate(path_.c_str(), exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), context()));
}

mpi::Hints H5Writer::reported_hints() const {
  return comm_ == nullptr ? mpi::Hints{} : h5::reported_hints(file_, context());
}

h5::PropertyList H5Writer::access_plist() const {
  return h5::PropertyList(SLAB_H5(H5Fget_access_plist(file_.get()), context()));
}

H5Writer::~H5Writer() {
  if (h5::library_unusable()) {
    // After a failed write HDF5 1.10 cannot close the file (a parallel close diverges between
    // ranks, a serial one crashes on the second try): leave the handles to the process's end.
    for (auto& entry : datasets_) (void)entry.second.release();
    for (auto& entry : scales_) (void)entry.second.release();
    (void)file_.release();
    return;
  }
  scales_.clear();
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
  if (!spec.dims.empty() && spec.dims.size() != dims.size())
    throw RuntimeFailure(std::to_string(spec.dims.size()) + " dimension names for a dataset of rank " +
                         std::to_string(dims.size()) + ": " + where);
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
  h5::PropertyList access(SLAB_H5(H5Pcreate(H5P_DATASET_ACCESS), where));
  if (spec.extendible) {
    const std::vector<hsize_t> chunk = chunk_shape(dims, spec.expected_rows);
    SLAB_H5(H5Pset_chunk(create.get(), static_cast<int>(chunk.size()), chunk.data()), where);
    if (spec.deflate > 0) {
      // Shuffle groups the bytes of equal significance: doubles then deflate to about 2/3 the size.
      SLAB_H5(H5Pset_shuffle(create.get()), where);
      SLAB_H5(H5Pset_deflate(create.get(), static_cast<unsigned>(spec.deflate)), where);
    }
    // Records arrive one at a time: a serial writer keeps one row of chunks in its cache until
    // it is complete, so each chunk is compressed and written once.
    std::size_t chunk_bytes = 8, row_chunks = 1;
    for (std::size_t d = 0; d < chunk.size(); ++d) chunk_bytes *= chunk[d];
    for (std::size_t d = 1; d < chunk.size(); ++d) row_chunks *= (dims[d] + chunk[d] - 1) / chunk[d];
    SLAB_H5(H5Pset_chunk_cache(access.get(), 12421, (row_chunks + 1) * chunk_bytes, 1.0), where);
    if (comm_ != nullptr && spec.deflate > 0 && chunk[0] > 1) records_[spec.path].per_chunk = chunk[0];
  }
  h5::Dataset dataset(SLAB_H5(H5Dcreate2(file_.get(), absolute(spec.path).c_str(), H5T_IEEE_F64LE, space.get(),
                                         link.get(), create.get(), access.get()),
                              where));
  datasets_[spec.path] = std::move(dataset);
  extendible_[spec.path] = spec.extendible;
  if (!spec.dims.empty()) dims_.emplace_back(spec.path, spec.dims);
}

void H5Writer::write(const std::string& path, const Block& block) {
  guarded([&] {
    if (records_.contains(path))
      write_record(path, block);
    else
      write_block(path, block);
  });
}

void H5Writer::write_record(const std::string& path, const Block& block) {
  // Where this write lies, agreed by every rank (a rank with an empty block knows nothing of it).
  const bool empty = block.size() == 0;
  std::int64_t span[3] = {empty ? std::numeric_limits<std::int64_t>::min() : static_cast<std::int64_t>(block.start[0]),
                          empty ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(block.start[0]),
                          empty ? 0 : static_cast<std::int64_t>(block.count[0])};
  comm_->allreduce_max(std::span<std::int64_t>(span));
  Records& held = records_.at(path);
  const bool one_record = span[2] == 1 && span[0] == -span[1];
  const auto record = static_cast<std::uint64_t>(span[0]);
  if (held.count > 0 && (!one_record || record != held.first + held.count)) flush_records(path);
  if (!one_record) {
    write_block(path, block);
    return;
  }
  if (held.count == 0) {
    held.first = record;
    held.part = block;
    held.data.clear();
  }
  if (!empty) held.data.insert(held.data.end(), block.data, block.data + block.size());
  ++held.count;
  if ((record + 1) % held.per_chunk == 0) flush_records(path);
}

void H5Writer::flush_records(const std::string& path) {
  Records& held = records_.at(path);
  if (held.count == 0) return;
  Block rows = held.data.empty() ? Block::none(held.part.start.size()) : held.part;
  if (!held.data.empty()) {
    rows.start[0] = held.first;
    rows.count[0] = held.count;
    rows.data = held.data.data();
  }
  held.count = 0;
  write_block(path, rows);
  held.data.clear();
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
  const std::vector<hsize_t> start(block.start.begin(), block.start.end());
  const std::vector<hsize_t> count(block.count.begin(), block.count.end());
  const h5::Dataspace memory = h5::select_block(file_space, start, count, empty, where);
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
  std::string utf8;  // the character set the attribute declares: bytes that are not UTF-8 become U+FFFD
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
    utf8 = as_utf8(std::get<std::string>(value));
    text = utf8.c_str();
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

hid_t H5Writer::dimension_scale(const std::string& path, const std::string& name, hsize_t length, bool unlimited) {
  const std::string where = context(path);
  hid_t scale = H5I_INVALID_HID;
  const auto own = std::find_if(dims_.begin(), dims_.end(), [&](const auto& d) { return d.first == path; });
  if (own != dims_.end() && own->second == std::vector<std::string>{name}) {
    scale = datasets_.at(path).get();  // the dimension's coordinate variable
    SLAB_H5(H5DSset_scale(scale, name.c_str()), where);
  } else {
    if (datasets_.contains(path))
      throw RuntimeFailure("a dataset named like dimension '" + name + "' is not its coordinate variable: " + where);
    // As netCDF-4 writes it: a 1-D float dataset that holds no data, its NAME saying so. Its values
    // are zeros, as h5netcdf leaves them: parallel HDF5 allocates the storage at creation, and
    // unfilled, it would hold whatever bytes HDF5 wrote there (different on each run).
    const hsize_t max_length = unlimited ? H5S_UNLIMITED : length, chunk = 1024;
    h5::Dataspace space(SLAB_H5(H5Screate_simple(1, &length, &max_length), where));
    h5::PropertyList create(SLAB_H5(H5Pcreate(H5P_DATASET_CREATE), where));
    const float zero = 0.0F;
    SLAB_H5(H5Pset_fill_value(create.get(), H5T_NATIVE_FLOAT, &zero), where);
    SLAB_H5(H5Pset_fill_time(create.get(), H5D_FILL_TIME_ALLOC), where);
    if (unlimited) SLAB_H5(H5Pset_chunk(create.get(), 1, &chunk), where);
    h5::Dataset created(SLAB_H5(H5Dcreate2(file_.get(), absolute(path).c_str(), H5T_IEEE_F32LE, space.get(),
                                           H5P_DEFAULT, create.get(), H5P_DEFAULT),
                                where));
    char label[96];
    std::snprintf(label, sizeof label, "%s%10d", not_a_variable, static_cast<int>(length));
    SLAB_H5(H5DSset_scale(created.get(), label), where);
    scale = created.get();
    scales_[path] = std::move(created);
  }
  // netCDF-4's dimension id: the order in which the dimensions were defined.
  const int id = next_dimension_id_++;
  h5::Dataspace scalar(SLAB_H5(H5Screate(H5S_SCALAR), where));
  h5::Attribute attribute(
      SLAB_H5(H5Acreate2(scale, "_Netcdf4Dimid", H5T_STD_I32LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT), where));
  SLAB_H5(H5Awrite(attribute.get(), H5T_NATIVE_INT, &id), where);
  return scale;
}

void H5Writer::attach_dimensions() {
  struct Dimension {
    std::string name;
    hsize_t length = 0;
    bool unlimited = false;
    hid_t scale = H5I_INVALID_HID;
  };
  std::map<std::string, Dimension> found;  // by path: "heat/x"
  std::vector<std::string> order;          // as first named
  for (const auto& [path, names] : dims_) {
    const std::string where = context(path);
    h5::Dataspace space(SLAB_H5(H5Dget_space(datasets_.at(path).get()), where));
    std::vector<hsize_t> extent(names.size());
    SLAB_H5(H5Sget_simple_extent_dims(space.get(), extent.data(), nullptr), where);
    for (std::size_t a = 0; a < names.size(); ++a) {
      const std::string key = parent_of(path) + names[a];
      const auto [it, inserted] = found.try_emplace(key, Dimension{names[a], extent[a]});
      if (inserted) order.push_back(key);
      if (it->second.length != extent[a])
        throw RuntimeFailure("dimension '" + names[a] + "' has length " + std::to_string(it->second.length) +
                             " elsewhere but " + std::to_string(extent[a]) + " here: " + where);
      if (a == 0 && extendible_[path]) it->second.unlimited = true;
    }
  }
  for (const auto& key : order) {
    Dimension& d = found[key];
    d.scale = dimension_scale(key, d.name, d.length, d.unlimited);
  }
  for (const auto& [path, names] : dims_)
    for (std::size_t a = 0; a < names.size(); ++a) {
      const std::string key = parent_of(path) + names[a];
      if (key == path) continue;  // a coordinate variable is its own scale
      SLAB_H5(H5DSattach_scale(datasets_.at(path).get(), found[key].scale, static_cast<unsigned>(a)), context(path));
    }
}

void H5Writer::read(const std::string& path, const Block& requested, double* out) {
  Block box = requested;
  box.data = out;  // the box is empty only if out is null or a count is 0
  const std::string where = context(path);
  const auto found = datasets_.find(path);
  if (found == datasets_.end()) throw RuntimeFailure("read of a dataset that was not created: " + where);
  // Rows held back to fill a compressed chunk are written first (collective, like the read).
  if (records_.contains(path)) guarded([&] { flush_records(path); });
  if (written_since_flush_) {
    // Every rank's writes reach the file before anyone reads (collective in parallel mode).
    guarded([&] { SLAB_H5(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), where); });
    if (comm_ != nullptr) comm_->barrier();
    written_since_flush_ = false;
  }
  h5::Dataspace file_space(SLAB_H5(H5Dget_space(found->second.get()), where));
  const bool empty = box.size() == 0;
  const std::vector<hsize_t> start(box.start.begin(), box.start.end()), count(box.count.begin(), box.count.end());
  const h5::Dataspace memory = h5::select_block(file_space, start, count, empty, where);
  double dummy = 0.0;
  SLAB_H5(H5Dread(found->second.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), transfer_.get(),
                  empty ? &dummy : out),
          where);
}

void H5Writer::commit() {
  guarded([&] {
    for (auto& entry : records_) flush_records(entry.first);
    attach_dimensions();
  });
  // Written last: a reader that sees complete == 1 knows every dataset was written.
  annotate("", {{"complete", std::int64_t{1}}});
  guarded([&] {
    for (auto& [name, scale] : scales_) scale.close(context(name));
    scales_.clear();
    for (auto& [name, dataset] : datasets_) dataset.close(context(name));
    datasets_.clear();
    file_.close(context());
  });
}

}  // namespace slab::io
