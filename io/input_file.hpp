// Input files are looked at before they are opened: opening a fifo blocks until someone writes,
// and a device such as /dev/zero never ends. Every reader goes through these checks.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace slab::io {

// "a folder", "a fifo (named pipe)", "a character device", ... or "a regular file", after
// following symlinks, without opening it; "missing" when nothing is there.
[[nodiscard]] std::string file_kind(const std::string& path);

// Throws InputError "<what> is a folder, not a file" (or a fifo, a device, missing) unless path is
// a regular file. `what` names the file and its option, e.g. "'a.csv' (--data)".
void require_regular_file(const std::string& path, const std::string& what);

// The size in bytes of a regular file (0 for anything else).
[[nodiscard]] std::uintmax_t regular_file_size(const std::string& path);

// Reads a whole regular file of at most `limit` bytes; InputError naming `what` otherwise.
[[nodiscard]] std::string read_regular_file(const std::string& path, const std::string& what,
                                            std::uintmax_t limit = std::numeric_limits<std::uintmax_t>::max());

}  // namespace slab::io
