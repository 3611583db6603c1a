// Text exports for small data (the seed's conversion path): JSON and CSV with 17 significant
// digits, so every double survives the round trip bit for bit; and a CSV reader for input data.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "io/sink.hpp"

namespace slab::io {

using NamedTensors = std::vector<std::pair<std::string, const Tensor*>>;
using GroupAttributes = std::vector<std::pair<std::string, Attributes>>;
using DatasetDims = std::map<std::string, std::vector<std::string>>;  // dataset -> dimension names

// {"heat/u": {"shape": [K, nx], "dims": ["t", "x"], "data": [flat row-major]}, ...,
//  "attributes": {"heat": {...}}}; "dims" only for datasets that have them.
void write_json(const std::string& path, const NamedTensors& datasets, const GroupAttributes& attributes,
                const DatasetDims& dims = {});
// The same document without "data": every dataset's shape and dims, and every attribute.
[[nodiscard]] std::string json_metadata(const NamedTensors& datasets, const GroupAttributes& attributes,
                                        const DatasetDims& dims);

// One array per file: a header row naming the columns, then one line per row (the first axis)
// with the remaining axes flattened, so pandas.read_csv(f) gives a numeric frame and
// np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2).reshape(shape) rebuilds the array. A 0-D or
// 1-D dataset is one column named `name`; columns of a wider one are name[0], name[1], ...
void write_csv(const std::string& path, const Tensor& tensor, const std::string& name);

// Reads a numeric CSV (UTF-8, with or without a byte-order mark; lines end in LF, CRLF or CR;
// RFC 4180 quotes, closed on the line they open: a field cannot hold a line break). A field is
// either unquoted without any quote, or quoted from its first to its last non-blank character
// with "" for a quote inside; anything else is an error. '#' lines and blank lines are skipped.
// The header rule: the first remaining line is a header if none of its fields is a number, and
// data otherwise. A number is what C++ reads as a double, with an optional leading '+'. Returns a
// (rows, columns) tensor, (0, 0) when there is no data line. InputError names the file, the line
// and the column (1-based characters); field text in it is printable().
[[nodiscard]] Tensor read_csv(const std::string& path);
[[nodiscard]] Tensor parse_csv(const std::string& text, const std::string& what);

// Text from an input file, fit to quote in an error line: printable ASCII stays, a backslash
// becomes \\ and any other byte \xNN (control bytes, invalid UTF-8 and also valid non-ASCII).
[[nodiscard]] std::string printable(std::string_view text);

}  // namespace slab::io
