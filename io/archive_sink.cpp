#include "io/archive_sink.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "io/file_owner.hpp"
#include "io/numpy_format.hpp"

namespace slab::io {

namespace {
// Copies a box of row-major values into a tensor (from != nullptr) or out of it, line by line along
// the last axis.
void copy_box(Tensor& t, const Block& box, const double* from, double* to) {
  const Shape& dims = t.shape();
  const std::size_t rank = dims.size();
  for (std::size_t a = 0; a < rank; ++a)
    if (box.start[a] + box.count[a] > dims[a]) throw RuntimeFailure("a box outside its dataset");
  const std::size_t inner = box.count[rank - 1];
  const std::size_t lines = box.size() / (inner == 0 ? 1 : inner);
  std::vector<std::size_t> index(rank - 1, 0);
  for (std::size_t line = 0; line < lines; ++line) {
    std::size_t offset = 0;
    for (std::size_t a = 0; a + 1 < rank; ++a) offset = offset * dims[a] + box.start[a] + index[a];
    offset = offset * dims[rank - 1] + box.start[rank - 1];
    if (from != nullptr)
      std::copy_n(from + line * inner, inner, t.data().data() + offset);
    else
      std::copy_n(t.data().data() + offset, inner, to + line * inner);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++index[a] < box.count[a]) break;
      index[a] = 0;
    }
  }
}
}  // namespace

ArchiveSink::ArchiveSink(std::string path, ArchiveFormat format) : path_(std::move(path)), format_(format) {}

void ArchiveSink::create(const DatasetSpec& spec) {
  order_.push_back(spec.path);
  datasets_.insert_or_assign(spec.path, Tensor(spec.shape));
  if (!spec.dims.empty()) dims_[spec.path] = spec.dims;
}

void ArchiveSink::write(const std::string& path, const Block& block) {
  const auto found = datasets_.find(path);
  if (found == datasets_.end()) throw RuntimeFailure("write to a dataset that was not created: '" + path + "'");
  Tensor& t = found->second;
  if (block.size() == 0) return;
  const std::size_t ndim = t.shape().size();
  if (ndim == 0) {
    t.data()[0] = block.data[0];
    return;
  }
  // Grow an extendible dataset along its first axis.
  if (block.start[0] + block.count[0] > t.shape()[0]) {
    Shape grown = t.shape();
    grown[0] = block.start[0] + block.count[0];
    std::vector<double> data = t.to_vec();
    data.resize(element_count(grown), 0.0);
    t = Tensor(grown, std::move(data));
  }
  copy_box(t, block, block.data, nullptr);
}

void ArchiveSink::read(const std::string& path, const Block& requested, double* out) {
  Block box = requested;
  box.data = out;  // the box is empty only if out is null or a count is 0
  const auto found = datasets_.find(path);
  if (found == datasets_.end()) throw RuntimeFailure("read of a dataset that was not created: '" + path + "'");
  if (box.size() == 0) return;
  if (found->second.shape().empty()) {
    out[0] = found->second.data()[0];
    return;
  }
  copy_box(found->second, box, nullptr, out);
}

void ArchiveSink::annotate(const std::string& group, const Attributes& attributes) {
  for (auto& [name, attrs] : attributes_)
    if (name == group) {
      attrs.insert(attrs.end(), attributes.begin(), attributes.end());
      return;
    }
  attributes_.emplace_back(group, attributes);
}

void ArchiveSink::commit() {
  annotate("", {{"complete", std::int64_t{1}}});
  NamedTensors members;
  std::size_t values = 0;
  for (const auto& name : order_) {
    members.emplace_back(name, &datasets_.at(name));
    values += datasets_.at(name).size();
  }
  if (format_ != ArchiveFormat::npz && values > text_export_warning_values)
    std::fprintf(stderr, "slab: warning: writing %zu values as text; an .h5 or .npz output is smaller and faster\n",
                 values);
  switch (format_) {
    case ArchiveFormat::npz:
      write_npz(path_, members, {{"attributes", json_metadata(members, attributes_, dims_)}});
      break;
    case ArchiveFormat::json:
      write_json(path_, members, attributes_, dims_);
      break;
    case ArchiveFormat::csv: {
      // The manifest first: it marks the folder as slab's (a killed run's half folder included).
      std::vector<std::string> names;
      for (const auto& [name, tensor] : members) {
        std::string file = name;
        for (char& c : file)
          if (c == '/') c = '_';
        names.push_back(file + ".csv");
      }
      names.emplace_back("attributes.json");
      create_slab_folder(path_, names);
      for (std::size_t k = 0; k < members.size(); ++k) {
        const std::string& name = members[k].first;
        write_csv(path_ + "/" + names[k], *members[k].second, name.substr(name.rfind('/') + 1));
      }
      const std::string metadata = path_ + "/attributes.json";
      std::ofstream out(metadata, std::ios::out | std::ios::__noreplace);  // exclusive, like every file here
      out << json_metadata(members, attributes_, dims_);
      out.close();
      if (!out) throw RuntimeFailure("write failed for '" + metadata + "' (disk full?)");
      break;
    }
  }
}

}  // namespace slab::io
