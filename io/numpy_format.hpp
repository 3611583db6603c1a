// NumPy's own file formats, written and read without Python: .npy (format 1.0, or 2.0 when the
// header needs it; '<f8', C order, the shape in the header) and .npz (a zip archive of .npy
// members, stored uncompressed like numpy.savez; deflated members, as numpy.savez_compressed
// writes them, are read too).
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace slab::io {

// The complete .npy byte stream header for a float64 C-order array (magic through padding).
[[nodiscard]] std::string npy_header(const Shape& shape);
[[nodiscard]] std::string npy_bytes(const Tensor& tensor);
// A 0-d NumPy unicode array ('<Un') holding UTF-8 `text`: np.load reads it without pickle.
[[nodiscard]] std::string npy_text_bytes(const std::string& text);

// Parses .npy bytes. Accepts float64 little-endian ('<f8'), C or Fortran order (converted to C
// order), any shape. Throws InputError naming `what` for anything else.
[[nodiscard]] Tensor parse_npy(std::string_view bytes, const std::string& what);

// Members are named without the ".npy" suffix, as numpy.load(...)[name] sees them; `texts` become
// 0-d unicode members (str(np.load(path)[name]) is the text). With a filter, only the members it
// wants are decompressed and parsed; the others may hold anything. Every member must name its own
// array: an archive with two members of one name ("X.npy" twice, or "X" and "X.npy", which zip
// allows and numpy.load resolves its own way) is an InputError naming them.
using MemberFilter = std::function<bool(const std::string& name)>;
void write_npz(const std::string& path, const std::vector<std::pair<std::string, const Tensor*>>& members,
               const std::vector<std::pair<std::string, std::string>>& texts = {});
[[nodiscard]] std::map<std::string, Tensor> parse_npz(std::string_view bytes, const std::string& what,
                                                      const MemberFilter& wanted = {});
[[nodiscard]] std::map<std::string, Tensor> read_npz(const std::string& path, const MemberFilter& wanted = {});

// Reads a whole regular file; InputError when it is not one (a folder, a fifo, a device) or cannot
// be opened.
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace slab::io
