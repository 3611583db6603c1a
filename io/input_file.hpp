// Input files are looked at before they are opened: opening a fifo blocks until someone writes,
// and a device such as /dev/zero never ends. Every reader goes through these checks.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
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

// What tells whether a file's content changed between two looks: the file (device and inode), its
// size and the time it was last modified, in nanoseconds.
struct FileStamp {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t modified_ns = 0;
};
// The stamp of what `path` names now (after symlinks); nullopt when it cannot be looked at.
[[nodiscard]] std::optional<FileStamp> file_stamp(const std::string& path);
// True when `now` is the same file as `then` with another size or modification time: another
// process wrote to it. (Another file at the path, or none, is not: the one opened is still whole.)
[[nodiscard]] bool written_since(const FileStamp& then, const std::optional<FileStamp>& now);

}  // namespace slab::io
