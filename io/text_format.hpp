// Text exports for small data (the seed's conversion path): JSON and CSV with 17 significant
// digits, so every double survives the round trip bit for bit; and a CSV reader for input data.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sink.hpp"
#include "tensor.hpp"

namespace slab::io {

using NamedTensors = std::vector<std::pair<std::string, const Tensor*>>;
using GroupAttributes = std::vector<std::pair<std::string, Attributes>>;

// {"heat/u": {"shape": [K, nx], "data": [flat row-major]}, ..., "attributes": {"heat": {...}}}
void write_json(const std::string& path, const NamedTensors& datasets, const GroupAttributes& attributes);

// One array per file: a "# shape: (K, nx)" comment line, then one line per row (the first axis)
// with the remaining axes flattened, so np.loadtxt(f, delimiter=",", ndmin=2).reshape(shape)
// rebuilds the array.
void write_csv(const std::string& path, const Tensor& tensor);

// Reads a numeric CSV (UTF-8, with or without a byte-order mark; lines end in LF, CRLF or CR;
// RFC 4180 quotes). '#' lines and blank lines are skipped. The header rule: the first remaining
// line is a header if none of its fields is a number, and data otherwise. A number is what C++
// reads as a double, with an optional leading '+'. Returns a (rows, columns) tensor, (0, 0) when
// there is no data line. InputError names the file, the line and the column (1-based characters).
[[nodiscard]] Tensor read_csv(const std::string& path);
[[nodiscard]] Tensor parse_csv(const std::string& text, const std::string& what);

// "%.17g": the shortest printf format that round-trips every double.
[[nodiscard]] std::string format_double(double value);

}  // namespace slab::io
