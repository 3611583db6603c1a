// Text slab writes: numbers in messages and files, and strings from the command line made fit for
// files that promise UTF-8 (JSON, HDF5 attributes of character set UTF-8). Pure C++.
#pragma once

#include <string>
#include <string_view>

namespace slab {

// Significant digits that read back as the same double, bit for bit.
inline constexpr int round_trip_digits = 17;

// A double in `significant` digits ("%.*g"): 6 for messages, round_trip_digits for files and for
// text that is parsed again.
[[nodiscard]] std::string format_number(double value, int significant = 6);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
[[nodiscard]] bool is_utf8(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD (the
// replacement character; one per byte, so a truncated sequence of two bytes gives two): what slab
// records of an argument (a path, the command line) in a file. Well-formed text is returned unchanged.
[[nodiscard]] std::string as_utf8(std::string_view text);

}  // namespace slab
