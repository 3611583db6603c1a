// ArchiveSink: a serial sink that assembles every dataset in memory and, on commit, writes them
// all as one NumPy .npz archive, one JSON document, or a directory of CSV files. Used on rank 0
// behind a GatherSink; meant for data that fits in one process's memory.
// Metadata travels in every format: the .npz holds a member `attributes` (a 0-d unicode array: a
// JSON document with every dataset's shape and dims and every attribute), the CSV directory an
// attributes.json with the same document, the .json output all of it inline.
#pragma once

#include <map>
#include <string>

#include "io/sink.hpp"
#include "io/text_format.hpp"

namespace slab::io {

enum class ArchiveFormat { npz, json, csv };

class ArchiveSink final : public Sink {
 public:
  // `path` is the file (npz, json) or directory (csv) to create on commit.
  ArchiveSink(std::string path, ArchiveFormat format);

  void create(const DatasetSpec& spec) override;
  void write(const std::string& path, const Block& block) override;
  void annotate(const std::string& group, const Attributes& attributes) override;
  void read(const std::string& path, const Block& box, double* out) override;
  void commit() override;

 private:
  std::string path_;
  ArchiveFormat format_;
  std::vector<std::string> order_;  // datasets in creation order
  std::map<std::string, Tensor> datasets_;
  DatasetDims dims_;
  GroupAttributes attributes_;
};

// Text exports warn above this many values: JSON and CSV of 10^7 doubles is ~250 MB of text.
inline constexpr std::size_t text_export_warning_values = 10'000'000;

}  // namespace slab::io
