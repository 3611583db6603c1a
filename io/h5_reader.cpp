#include "io/h5_reader.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <hdf5_hl.h>

#include "io/h5.hpp"
#include "io/input_file.hpp"

namespace slab::io {

bool is_hdf5(const std::string& path) {
  h5::silence_errors();
  return H5Fis_hdf5(path.c_str()) > 0;
}

namespace {

struct Opened {
  h5::Dataset data;
  Shape shape;
};

// Throws InputError unless `dataset` names a dataset stored in this file: not missing, not a
// group or a named datatype, not a soft link to nothing, not an external link to another file.
void require_dataset(const h5::File& file, const std::string& dataset, const std::string& where) {
  const std::string name = "'" + dataset + "' in " + where;
  // H5Lexists fails (< 0) when a parent group is missing or is itself a broken link.
  if (H5Lexists(file.get(), dataset.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError("no dataset " + name);
  }
  H5L_info_t link{};
  if (H5Lget_info(file.get(), dataset.c_str(), &link, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError("cannot look up " + name);
  }
  if (link.type == H5L_TYPE_EXTERNAL)
    throw InputError(name + " is an external link to another file; slab reads datasets stored in the file itself");
  if (link.type != H5L_TYPE_HARD && link.type != H5L_TYPE_SOFT) throw InputError(name + " is a user-defined link");
  if (H5Oexists_by_name(file.get(), dataset.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError(name + " is a soft link to nothing (a dangling link)");
  }
  H5O_info_t info{};
  if (H5Oget_info_by_name(file.get(), dataset.c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError("cannot look up " + name);
  }
  if (info.type == H5O_TYPE_GROUP) throw InputError(name + " is a group, not a dataset");
  if (info.type != H5O_TYPE_DATASET) throw InputError(name + " is not a dataset");
}

// What a dataset of `expected` shape is, in words: "a 2-D dataset of 50 rows of 3 values".
std::string describe(const ExpectedShape& expected) {
  std::string text = "a " + std::to_string(expected.ndim) + "-D dataset";
  if (expected.ndim == 1) return expected.rows ? text + " of " + std::to_string(*expected.rows) + " values" : text;
  if (expected.rows) text += " of " + std::to_string(*expected.rows) + " rows";
  if (expected.row_length)
    text += (expected.rows ? " of " : " of rows of ") + std::to_string(*expected.row_length) + " values";
  return text;
}

// How many chunks a chunked dataset of this shape needs, and how many it has stored.
std::pair<hsize_t, hsize_t> chunks_needed_and_stored(const h5::Dataset& data, const h5::PropertyList& create,
                                                     const Shape& shape, const std::string& where) {
  std::vector<hsize_t> chunk(shape.size());
  SLAB_H5(H5Pget_chunk(create.get(), static_cast<int>(chunk.size()), chunk.data()), where);
  hsize_t needed = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) needed *= (shape[d] + chunk[d] - 1) / chunk[d];
  hsize_t stored = 0;
  const h5::Dataspace space(SLAB_H5(H5Dget_space(data.get()), where));  // HDF5 1.10 refuses H5S_ALL here
  SLAB_H5(H5Dget_num_chunks(data.get(), space.get(), &stored), where);
  return {needed, stored};
}

// Throws InputError unless every element of a (non-empty) opened dataset is stored in this file:
// not in external raw files beside it (which can change under an unchanged .h5), and not a dataset
// never written or with chunks never written (those read as the fill value; HDF5's collective read
// fails on the missing chunks).
void require_stored_in_file(const h5::Dataset& data, const Shape& shape, const std::string& name,
                            const std::string& where) {
  h5::PropertyList create(SLAB_H5(H5Dget_create_plist(data.get()), where));
  if (SLAB_H5(H5Pget_external_count(create.get()), where) > 0)
    throw InputError(name + " keeps its data in external raw files; slab reads datasets stored in the file itself");
  const std::string unwritten = ": its missing elements would read as the fill value";
  const H5D_layout_t layout = H5Pget_layout(create.get());
  if (layout < 0) throw RuntimeFailure("H5Pget_layout failed for " + where + ": " + h5::error_stack());
  if (layout == H5D_CONTIGUOUS && H5Dget_storage_size(data.get()) == 0)
    throw InputError(name + " was never written" + unwritten);
  if (layout != H5D_CHUNKED) return;
  const auto [needed, stored] = chunks_needed_and_stored(data, create, shape, where);
  if (stored == 0) throw InputError(name + " was never written" + unwritten);
  if (stored < needed)
    throw InputError(name + " is partly written (" + std::to_string(stored) + " of its " + std::to_string(needed) +
                     " chunks stored)" + unwritten);
}

// An HDF5 type class in words, for a refusal.
std::string class_name(H5T_class_t kind) {
  switch (kind) {
    case H5T_STRING:
      return "strings";
    case H5T_COMPOUND:
      return "records (a compound type)";
    case H5T_ENUM:
      return "an enumeration (h5py stores booleans so)";
    case H5T_BITFIELD:
      return "bit fields";
    case H5T_OPAQUE:
      return "opaque bytes";
    case H5T_REFERENCE:
      return "references";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_ARRAY:
      return "arrays";
    case H5T_TIME:
      return "times";
    default:
      return "values of another type";
  }
}

// Opens `dataset` of an open file on every rank (collectively) and checks its type and shape.
Opened open_checked(const mpi::Comm& comm, const h5::File& file, const std::string& dataset,
                    const ExpectedShape& expected, const std::string& where) {
  Opened o;
  mpi::collectively(comm, [&] {
    require_dataset(file, dataset, where);
    o.data = h5::Dataset(SLAB_H5(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT), where));
    h5::Datatype type(SLAB_H5(H5Dget_type(o.data.get()), where));
    const H5T_class_t kind = H5Tget_class(type.get());
    if (expected.integers && kind != H5T_FLOAT && kind != H5T_INTEGER)
      throw InputError("dataset '" + dataset + "' in " + where + " holds " + class_name(kind) +
                       ", not numbers (slab reads integer and floating-point datasets)");
    if (!expected.integers && kind != H5T_FLOAT)
      throw InputError("dataset '" + dataset + "' in " + where + " is not floating point");
    h5::Dataspace space(SLAB_H5(H5Dget_space(o.data.get()), where));
    const int ndim = SLAB_H5(H5Sget_simple_extent_ndims(space.get()), where);
    std::vector<hsize_t> dims(static_cast<std::size_t>(ndim));
    SLAB_H5(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), where);
    o.shape.assign(dims.begin(), dims.end());
    std::size_t row_length = 1;
    for (std::size_t a = 1; a < o.shape.size(); ++a) row_length *= o.shape[a];
    const bool ok = o.shape.size() == expected.ndim && (!expected.rows || o.shape[0] == *expected.rows) &&
                    (!expected.row_length || row_length == *expected.row_length);
    if (!ok)
      throw InputError("dataset '" + dataset + "' in " + where + " has shape " + to_string(o.shape) + ", expected " +
                       describe(expected));
    if (o.shape.empty()) throw InputError("dataset '" + dataset + "' in " + where + " is a scalar");
  });
  return o;
}

// Read of the box [start, start + count) of an opened dataset (an empty box: nothing) that every rank
// takes part in and agrees on the outcome of. `mode`: how MPI-IO moves the values (collectively, or
// H5FD_MPIO_INDEPENDENT: each rank reads its own box, with no exchange between the ranks).
void read_selection(const mpi::Comm& comm, const Opened& o, const std::vector<hsize_t>& start,
                    const std::vector<hsize_t>& count, double* out, const std::string& dataset,
                    const std::string& where, H5FD_mpio_xfer_t mode = H5FD_MPIO_COLLECTIVE) {
  const bool empty = std::find(count.begin(), count.end(), 0) != count.end();
  mpi::collectively(comm, [&] {
    h5::Dataspace file_space(SLAB_H5(H5Dget_space(o.data.get()), where));
    const h5::Dataspace memory = h5::select_block(file_space, start, count, empty, where);
    h5::PropertyList transfer(SLAB_H5(H5Pcreate(H5P_DATASET_XFER), where));
    SLAB_H5(H5Pset_dxpl_mpio(transfer.get(), mode), where);
    double dummy = 0;
    if (H5Dread(o.data.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), transfer.get(), empty ? &dummy : out) <
        0)
      throw InputError("cannot read dataset '" + dataset + "' from " + where +
                       " (truncated or corrupt file?): " + h5::error_stack());
  });
}

// Collective read of the first-axis range [first, first + count) of an opened dataset.
void read_range(const mpi::Comm& comm, const Opened& o, std::uint64_t first, std::uint64_t count, double* out,
                const std::string& dataset, const std::string& where) {
  // An empty dataset has nothing to read (and HDF5 may have no storage to read it from).
  if (std::find(o.shape.begin(), o.shape.end(), 0) != o.shape.end()) return;
  std::vector<hsize_t> start(o.shape.size(), 0), counts(o.shape.begin(), o.shape.end());
  start[0] = first;
  counts[0] = count;
  read_selection(comm, o, start, counts, out, dataset, where);
}

}  // namespace

H5Input::H5Input(const mpi::Comm& comm, const std::string& file, const std::string& option, const FileAccess& settings)
    : comm_(comm), where_("'" + file + "' (" + option + ")") {
  h5::silence_errors();
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    require_regular_file(file, where_);  // before HDF5 opens it: a fifo would block, a device never end
    if (!is_hdf5(file)) throw InputError("not an HDF5 file: " + where_);
  });
  mpi::collectively(comm, [&] {
    const h5::PropertyList access = h5::file_access(&comm, settings, where_);
    const hid_t id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, access.get());
    if (id < 0) throw InputError("cannot open HDF5 file " + where_ + ": " + h5::error_stack());
    file_ = h5::File(id);
  });
}

Shape H5Input::shape(const std::string& dataset, const ExpectedShape& expected) const {
  return open_checked(comm_, file_, dataset, expected, where_).shape;
}

void H5Input::require_stored(const std::string& dataset, const h5::Dataset& data, const Shape& shape) const {
  if (stored_.contains(dataset) || std::find(shape.begin(), shape.end(), 0) != shape.end()) return;
  mpi::collectively(comm_,
                    [&] { require_stored_in_file(data, shape, "dataset '" + dataset + "' in " + where_, where_); });
  stored_.insert(dataset);
}

DistTensor H5Input::rows(const std::string& dataset, const ExpectedShape& expected) const {
  const Opened o = open_checked(comm_, file_, dataset, expected, where_);
  require_stored(dataset, o.data, o.shape);
  DistTensor out(comm_, o.shape);
  read_range(comm_, o, static_cast<std::uint64_t>(out.partition().first()),
             static_cast<std::uint64_t>(out.partition().count()), out.local().data().data(), dataset, where_);
  return out;
}

Tensor H5Input::whole(const std::string& dataset, const ExpectedShape& expected) const {
  const Opened o = open_checked(comm_, file_, dataset, expected, where_);
  require_stored(dataset, o.data, o.shape);
  Tensor out(o.shape);
  read_range(comm_, o, 0, o.shape[0], out.data().data(), dataset, where_);
  return out;
}

DistTensor read_rows(const mpi::Comm& comm, const std::string& file, const std::string& dataset,
                     const ExpectedShape& expected, const std::string& option, const FileAccess& access) {
  return H5Input(comm, file, option, access).rows(dataset, expected);
}

std::optional<Shape> H5Input::shape(const std::string& dataset) const {
  std::optional<Shape> out;
  mpi::collectively(comm_, [&] {
    H5O_info_t info{};
    if (H5Lexists(file_.get(), dataset.c_str(), H5P_DEFAULT) <= 0 ||
        H5Oget_info_by_name2(file_.get(), dataset.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
        info.type != H5O_TYPE_DATASET) {
      H5Eclear2(H5E_DEFAULT);
      return;
    }
    const h5::Dataset data(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT));
    if (!data.valid()) return;
    const h5::Datatype type(H5Dget_type(data.get()));
    const h5::Dataspace space(H5Dget_space(data.get()));
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
    if (!type.valid() || H5Tequal(type.get(), H5T_IEEE_F64LE) <= 0 || rank < 0) return;
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) return;
    out = Shape(dims.begin(), dims.end());
  });
  H5Eclear2(H5E_DEFAULT);
  return out;
}

namespace {
// One scalar attribute as a value; nullopt for any other type or shape.
std::optional<AttributeValue> read_attribute(hid_t attribute) {
  const h5::Datatype type(H5Aget_type(attribute));
  const h5::Dataspace space(H5Aget_space(attribute));
  if (!type.valid() || !space.valid() || H5Sget_simple_extent_type(space.get()) != H5S_SCALAR) return std::nullopt;
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER: {
      if (H5Tequal(type.get(), H5T_STD_I64LE) <= 0) return std::nullopt;  // exactly what slab writes
      std::int64_t v = 0;
      if (H5Aread(attribute, H5T_NATIVE_INT64, &v) < 0) return std::nullopt;
      return v;
    }
    case H5T_FLOAT: {
      if (H5Tequal(type.get(), H5T_IEEE_F64LE) <= 0) return std::nullopt;
      double v = 0;
      if (H5Aread(attribute, H5T_NATIVE_DOUBLE, &v) < 0) return std::nullopt;
      return v;
    }
    case H5T_STRING: {
      if (H5Tis_variable_str(type.get()) <= 0) return std::nullopt;
      char* text = nullptr;
      if (H5Aread(attribute, type.get(), &text) < 0 || text == nullptr) return std::nullopt;
      std::string value(text);
      H5free_memory(text);
      return value;
    }
    default:
      return std::nullopt;
  }
}
}  // namespace

Attributes H5Input::attributes(const std::string& object) const {
  Attributes out;
  mpi::collectively(comm_, [&] {
    H5O_info_t info{};
    if (H5Lexists(file_.get(), object.c_str(), H5P_DEFAULT) <= 0 ||
        H5Oget_info_by_name2(file_.get(), object.c_str(), &info, H5O_INFO_NUM_ATTRS, H5P_DEFAULT) < 0)
      return;
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
      const h5::Attribute attribute(
          H5Aopen_by_idx(file_.get(), object.c_str(), H5_INDEX_CRT_ORDER, H5_ITER_NATIVE, i, H5P_DEFAULT, H5P_DEFAULT));
      if (!attribute.valid()) continue;
      char name[256] = {};
      if (H5Aget_name(attribute.get(), sizeof name, name) < 0) continue;
      if (auto value = read_attribute(attribute.get())) out.emplace_back(name, std::move(*value));
    }
  });
  H5Eclear2(H5E_DEFAULT);
  return out;
}

void H5Input::read_numbers(const std::string& dataset, const std::vector<std::uint64_t>& start,
                           const std::vector<std::uint64_t>& count, double* out) const {
  const Opened o = open_checked(comm_, file_, dataset, {start.size(), {}, {}, true}, where_);
  require_stored(dataset, o.data, o.shape);
  read_selection(comm_, o, std::vector<hsize_t>(start.begin(), start.end()),
                 std::vector<hsize_t>(count.begin(), count.end()), out, dataset, where_, H5FD_MPIO_INDEPENDENT);
}

std::string H5Input::type_name(const std::string& dataset) const {
  std::string name;
  mpi::collectively(comm_, [&] {
    const h5::Dataset data(SLAB_H5(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), where_));
    const h5::Datatype type(SLAB_H5(H5Dget_type(data.get()), where_));
    const std::size_t bits = H5Tget_size(type.get()) * 8;
    if (H5Tget_class(type.get()) == H5T_FLOAT)
      name = "float" + std::to_string(bits);
    else
      name = std::string(H5Tget_sign(type.get()) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
  });
  return name;
}

std::vector<std::string> H5Input::dimension_names(const std::string& dataset) const {
  std::vector<std::string> names;
  mpi::collectively(comm_, [&] {
    const h5::Dataset data(SLAB_H5(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), where_));
    const h5::Dataspace space(SLAB_H5(H5Dget_space(data.get()), where_));
    const int ndim = SLAB_H5(H5Sget_simple_extent_ndims(space.get()), where_);
    names.assign(static_cast<std::size_t>(ndim), "");
    for (int a = 0; a < ndim; ++a) {
      if (H5DSget_num_scales(data.get(), static_cast<unsigned>(a)) <= 0) continue;
      // The scale dataset's own name: netCDF-4 sets the NAME attribute of a dimension without a
      // coordinate variable to a sentence ("This is a netCDF dimension but not a netCDF variable").
      auto first_name = [](hid_t, unsigned, hid_t scale, void* into) -> herr_t {
        char text[1024] = {};
        if (H5Iget_name(scale, text, sizeof text) > 0) {
          const std::string path = text;
          *static_cast<std::string*>(into) = path.substr(path.rfind('/') + 1);
        }
        return 1;  // the first scale names the axis
      };
      int index = 0;
      (void)H5DSiterate_scales(data.get(), static_cast<unsigned>(a), &index, first_name,
                               &names[static_cast<std::size_t>(a)]);
    }
  });
  H5Eclear2(H5E_DEFAULT);
  return names;
}

void H5Input::read_box(const std::string& dataset, const std::vector<std::uint64_t>& start,
                       const std::vector<std::uint64_t>& count, double* out) const {
  const Opened o = open_checked(comm_, file_, dataset, {start.size(), {}, {}}, where_);
  require_stored(dataset, o.data, o.shape);
  read_selection(comm_, o, std::vector<hsize_t>(start.begin(), start.end()),
                 std::vector<hsize_t>(count.begin(), count.end()), out, dataset, where_);
}

}  // namespace slab::io
