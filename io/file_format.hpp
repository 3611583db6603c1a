// The file format a path names by its extension: the one place that maps extensions to formats,
// for outputs (--out) and inputs (--data) alike.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace slab::io {

enum class FileFormat { hdf5, npz, json, csv };

// .h5/.hdf5/.he5: HDF5; .npz: NumPy archive; .json; .csv. Nothing for any other extension.
[[nodiscard]] inline std::optional<FileFormat> format_of(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".h5" || ext == ".hdf5" || ext == ".he5") return FileFormat::hdf5;
  if (ext == ".npz") return FileFormat::npz;
  if (ext == ".json") return FileFormat::json;
  if (ext == ".csv") return FileFormat::csv;
  return std::nullopt;
}

}  // namespace slab::io
