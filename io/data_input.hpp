// The regression data a user hands slab in a file read whole on one rank: .npz (arrays X and y,
// or regression/X and regression/y as slab's own .npz output names them) or .csv (features, then
// y in the last column).
#pragma once

#include <string>
#include <utility>

#include "core/tensor.hpp"

namespace slab::io {

// X (N, D) and y (N,) with N >= 1 and D >= 1, from `path`. `what` names it, e.g. "'a.csv' (--data)".
// Throws InputError saying exactly what is missing or of the wrong shape.
[[nodiscard]] std::pair<Tensor, Tensor> read_xy(const std::string& path, const std::string& what);

}  // namespace slab::io
