#include "io/input_file.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <sys/stat.h>

#include "core/error.hpp"

namespace slab::io {

namespace fs = std::filesystem;

std::string file_kind(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);  // follows symlinks, opens nothing
  switch (status.type()) {
    case fs::file_type::regular:
      return "a regular file";
    case fs::file_type::directory:
      return "a folder";
    case fs::file_type::fifo:
      return "a fifo (named pipe)";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::not_found:
      return fs::is_symlink(fs::symlink_status(path, error)) ? "a dangling symlink" : "missing";
    default:
      return error ? "unreadable (" + error.message() + ")" : "not a regular file";
  }
}

void require_regular_file(const std::string& path, const std::string& what) {
  const std::string kind = file_kind(path);
  if (kind == "a regular file") return;
  if (kind == "missing") throw InputError("no such file " + what);
  throw InputError(what + " is " + kind + ", not a regular file");
}

std::uintmax_t regular_file_size(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return 0;
  const std::uintmax_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

std::string read_regular_file(const std::string& path, const std::string& what, std::uintmax_t limit) {
  require_regular_file(path, what);
  const std::uintmax_t size = regular_file_size(path);
  if (size > limit)
    throw InputError(what + " holds " + std::to_string(size) + " bytes, more than the " + std::to_string(limit) +
                     " this input may have");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open " + what);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  // A file that changed size while being read is read as far as it had been written.
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

std::optional<FileStamp> file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

bool written_since(const FileStamp& then, const std::optional<FileStamp>& now) {
  return now && now->device == then.device && now->inode == then.inode &&
         (now->size != then.size || now->modified_ns != then.modified_ns);
}

}  // namespace slab::io
