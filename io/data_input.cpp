#include "io/data_input.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "io/file_format.hpp"
#include "io/input_file.hpp"
#include "io/numpy_format.hpp"
#include "io/text_format.hpp"

namespace slab::io {
namespace {

std::pair<Tensor, Tensor> from_npz(const std::string& path, const std::string& what) {
  auto arrays = parse_npz(read_regular_file(path, what), what, [](const std::string& name) {
    return name == "X" || name == "y" || name == "regression/X" || name == "regression/y";
  });
  for (const std::string name : {"X", "y"}) {
    if (arrays.contains(name) && arrays.contains("regression/" + name))
      throw InputError(what + " holds both '" + name + "' and 'regression/" + name +
                       "': slab will not guess which to read; keep one of them");
  }
  for (const std::string prefix : {"", "regression/"}) {
    if (arrays.contains(prefix + "X") && arrays.contains(prefix + "y"))
      return {std::move(arrays.at(prefix + "X")), std::move(arrays.at(prefix + "y"))};
  }
  throw InputError(what + " must hold arrays named X and y (or regression/X and regression/y, as slab writes them)");
}

std::pair<Tensor, Tensor> from_csv(const std::string& path, const std::string& what) {
  const Tensor table = parse_csv(read_regular_file(path, what), what);
  if (table.shape()[0] == 0) throw InputError(what + " holds no data line (only comments, blank lines or a header)");
  if (table.shape()[1] < 2) throw InputError(what + " needs at least two columns: features, then y last");
  const std::size_t rows = table.shape()[0], cols = table.shape()[1] - 1;
  Tensor X({rows, cols});
  Tensor y({rows});
  for (std::size_t i = 0; i < rows; ++i) {
    std::copy_n(table.data().data() + i * (cols + 1), cols, X.data().data() + i * cols);
    y.data()[i] = table.data()[i * (cols + 1) + cols];
  }
  return {std::move(X), std::move(y)};
}

}  // namespace

std::pair<Tensor, Tensor> read_xy(const std::string& path, const std::string& what) {
  auto [X, y] = format_of(path) == FileFormat::npz ? from_npz(path, what) : from_csv(path, what);
  if (X.ndim() != 2) throw InputError("X in " + what + " must be 2-D (N, D), got shape " + to_string(X.shape()));
  if (y.ndim() != 1) throw InputError("y in " + what + " must be 1-D (N,), got shape " + to_string(y.shape()));
  if (X.shape()[0] == 0 || X.shape()[1] == 0)
    throw InputError("X in " + what + " is empty (shape " + to_string(X.shape()) +
                     "); it needs at least one row and column");
  if (y.shape()[0] != X.shape()[0])
    throw InputError(what + ": X has " + std::to_string(X.shape()[0]) + " rows but y has " +
                     std::to_string(y.shape()[0]));
  return {std::move(X), std::move(y)};
}

}  // namespace slab::io
