// Sink: where a run's datasets and attributes go. The driver writes through this interface; each
// output format (parallel HDF5, HDF5 through rank 0, NumPy .npz, JSON, CSV) implements it.
//
// The data model is HDF5's: a dataset has a global shape; each rank writes a block (a box
// [start, start + count) of the global array, row-major) and a rank may write an empty block.
// Every method is collective over the run's communicator, and every rank passes the same dataset
// specs and attribute values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.hpp"

namespace slab::io {

using AttributeValue = std::variant<std::int64_t, double, std::string, std::vector<double>>;
// Ordered name/value pairs: files list attributes in the order they were written.
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

struct DatasetSpec {
  std::string path;         // "heat/u": groups are created as needed
  Shape shape;              // the global shape; {} is a scalar. For an extendible dataset, the initial size
  bool extendible = false;  // unlimited first dimension, chunked (chunks of about 1 MiB tiling every axis)
  int deflate = 0;          // gzip level 1-9 (with the shuffle filter) for extendible datasets; 0 = none
  // netCDF dimension names, one per axis ({"t", "x"}), or none. A 1-D dataset named like its own
  // dimension in the same group is that dimension's coordinate variable; a dimension without one is
  // recorded as netCDF's "dimension without a variable". Datasets sharing a name share its length.
  std::vector<std::string> dims = {};
  // The first-axis length an extendible dataset is expected to reach (it shapes the chunks); 0: unknown.
  std::uint64_t expected_rows = 0;
};

struct Block {
  std::vector<std::uint64_t> start;  // one entry per dimension
  std::vector<std::uint64_t> count;
  const double* data = nullptr;  // element_count(count) values, row-major; nullptr: an empty block

  // Elements in the block; 0 for an empty block (also of a scalar dataset, whose count is {}).
  [[nodiscard]] std::uint64_t size() const;
  // An empty block of `ndim` dimensions (for a rank that owns nothing of this dataset).
  static Block none(std::size_t ndim);
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void create(const DatasetSpec& spec) = 0;
  // Extendible datasets grow to cover the block's first-axis range.
  virtual void write(const std::string& path, const Block& block) = 0;
  // Attributes of a group ("heat", or "" for the file itself; created if missing) or a dataset.
  virtual void annotate(const std::string& object, const Attributes& attributes) = 0;
  // Reads back this rank's box of a dataset written earlier in this run into `out` (box.data is
  // ignored; a box with a zero count, or out == nullptr, is empty and takes part). Lets a checkpoint copy what the
  // output already holds instead of keeping it in memory; callers keep boxes small (a few MiB).
  virtual void read(const std::string& path, const Block& box, double* out) = 0;
  // Finish: flush and close. After commit() the sink takes no more calls.
  virtual void commit() = 0;
};

}  // namespace slab::io
