#include "io/file_owner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/stop.hpp"

namespace slab::io {
namespace fs = std::filesystem;

namespace {

constexpr const char* lock_header = "slab lock\n";
constexpr const char* manifest_header = "slab output folder";

std::string random_hex() {
  static std::mt19937_64 engine{std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32)};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(engine()));
  return text;
}

// Names slab makes next to a target must fit NAME_MAX (255) with room for what MPI-IO appends to a
// temporary (".metadata.<rank>"): a long target name is cut, and its lock then carries a hash.
constexpr std::size_t name_max = 255;
constexpr std::size_t prefix_max = 200;

std::string sibling_prefix(const std::string& target) {
  const fs::path path(target);
  const std::string name = path.filename().string();
  return (path.parent_path() / name.substr(0, prefix_max)).string();
}

std::string lock_path(const std::string& target) {
  const std::string name = fs::path(target).filename().string();
  if (name.size() + 5 <= name_max) return target + ".lock";
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(name)));
  return sibling_prefix(target) + "." + hash + ".lock";
}

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string read_fd(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n = 0;
  off_t at = 0;
  while ((n = ::pread(fd, buffer, sizeof buffer, at)) > 0 && text.size() < 8192) {
    text.append(buffer, static_cast<std::size_t>(n));
    at += n;
  }
  return text;
}

// The value of "key value" on its own line of a lock file; "" if absent.
std::string field(const std::string& text, const std::string& key) {
  const std::string prefix = "\n" + key + " ";
  const auto at = text.find(prefix);
  if (at == std::string::npos) return "";
  const auto start = at + prefix.size();
  return text.substr(start, text.find('\n', start) - start);
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

bool same_file(int fd, const std::string& path) {
  struct stat held {
  }, now{};
  return ::fstat(fd, &held) == 0 && ::lstat(path.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
         held.st_ino == now.st_ino;
}

// The files a slab output folder's manifest lists; nullopt if it has no valid manifest.
std::optional<std::set<std::string>> manifest_of(const std::string& folder) {
  const int fd = ::open((folder + "/" + manifest_name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  const std::string text = read_fd(fd);
  ::close(fd);
  const std::string header = std::string(manifest_header) + "\n";
  if (text.rfind(header, 0) != 0) return std::nullopt;
  std::set<std::string> names;
  std::size_t at = header.size();
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    const std::string name = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) return std::nullopt;
    names.insert(name);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return names;
}

// The entries of a folder (without . and ..); nullopt if it cannot be read.
std::optional<std::vector<std::string>> entries_of(const std::string& folder) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

bool is_slab_folder(const std::string& folder) {
  const auto listed = manifest_of(folder);
  const auto present = entries_of(folder);
  if (!listed || !present) return false;
  for (const auto& name : *present) {
    if (name == manifest_name) continue;
    struct stat st {};
    if (!listed->contains(name) || ::lstat((folder + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return false;
  }
  return true;
}

// Open MPI's "individual" shared-file-pointer component keeps "<file>.data.<rank>" and
// "<file>.metadata.<rank>" while a file is open for writing; a killed run leaves them behind.
void remove_mpi_io_files(const std::string& temporary) noexcept {
  const fs::path path(temporary);
  const std::string folder = path.parent_path().empty() ? "." : path.parent_path().string();
  const std::string name = path.filename().string();
  try {
    const auto names = entries_of(folder);
    if (!names) return;
    for (const auto& entry : *names) {
      if (entry.rfind(name + ".", 0) != 0) continue;
      const std::string rest = entry.substr(name.size() + 1);
      const auto dot = rest.find('.');
      const std::string kind = rest.substr(0, dot), rank = dot == std::string::npos ? "" : rest.substr(dot + 1);
      if ((kind != "data" && kind != "metadata") || rank.empty() ||
          rank.find_first_not_of("0123456789") != std::string::npos)
        continue;
      const std::string file = (path.parent_path() / entry).string();
      struct stat st {};
      if (::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(file.c_str());
    }
  } catch (...) {
  }
}

// True when `name` is exactly the name slab gives a temporary of `target`: "<target>.<16 hex
// digits>.partial" (the target's name cut to prefix_max bytes), as TargetLock makes it.
bool is_temporary_of(const std::string& name, const std::string& target) {
  const std::string base = fs::path(sibling_prefix(target)).filename().string() + ".";
  const std::string suffix = ".partial";
  if (name.size() != base.size() + 16 + suffix.size() || !name.starts_with(base) || !name.ends_with(suffix))
    return false;
  const std::string hex = name.substr(base.size(), 16);
  return hex.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The temporary a stale lock names, when the lock proves it was slab's: the lock holds exactly the
// four lines slab writes ("slab lock", host, pid, temporary), the name is exactly a temporary's of
// this target, and that file did not exist before the lock was written (slab writes the lock
// first, then creates the temporary: its status changed no earlier than the lock's content).
// Anything else stays where it is.
std::optional<std::string> stale_temporary(const std::string& text, const std::string& target, int lock_fd) {
  const std::string name = field(text, "temporary");
  const std::string expected = std::string(lock_header) + "host " + field(text, "host") + "\npid " +
                               field(text, "pid") + "\ntemporary " + name + "\n";
  const std::string pid = field(text, "pid");
  if (text != expected || pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ||
      !is_temporary_of(name, target))
    return std::nullopt;
  struct stat lock {
  }, temporary{};
  const std::string path = (fs::path(target).parent_path() / name).string();
  if (::fstat(lock_fd, &lock) != 0 || ::lstat(path.c_str(), &temporary) != 0) return std::nullopt;
  const auto when = [](const timespec& t) { return std::pair(t.tv_sec, t.tv_nsec); };
  if (when(temporary.st_ctim) < when(lock.st_mtim)) return std::nullopt;
  return name;
}

}  // namespace

// ---- locks ------------------------------------------------------------------------------------

class TargetLock {
 public:
  TargetLock(const std::string& target, const std::string& option);
  ~TargetLock();
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;
  [[nodiscard]] const std::string& temporary() const noexcept { return temporary_; }

 private:
  bool try_create();
  bool try_take_existing();
  [[noreturn]] void refuse_held(const std::string& text) const;

  std::string target_, option_, path_, temporary_, content_;
  int fd_ = -1;
  int scratch_ = -1;  // the handle under which a second signal removes the temporary and the lock
};

TargetLock::TargetLock(const std::string& target, const std::string& option)
    : target_(target),
      option_(option),
      path_(lock_path(target)),
      temporary_(sibling_prefix(target) + "." + random_hex() + ".partial") {
  content_ = std::string(lock_header) + "host " + host_name() + "\npid " + std::to_string(::getpid()) + "\ntemporary " +
             fs::path(temporary_).filename().string() + "\n";
  // Each pass either takes the lock or sees a lock file that vanished meanwhile (its run ended).
  for (int attempt = 0; attempt < 20; ++attempt)
    if (try_create() || try_take_existing()) {
      scratch_ = stop::track_scratch(temporary_, path_);
      return;
    }
  throw RuntimeFailure("cannot take the lock '" + path_ + "' (" + option_ + "): it keeps changing");
}

// A new lock file appears complete and already locked: written and flock'ed under a unique name,
// then hard-linked to its place (link(2) fails if anything is there, and never follows a symlink).
bool TargetLock::try_create() {
  const std::string fresh = sibling_prefix(target_) + "." + random_hex() + ".new";
  const int fd = ::open(fresh.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeFailure(system_error("cannot create the lock '" + fresh + "' (" + option_ + ")"));
  const bool written = ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
                       ::write(fd, content_.data(), content_.size()) == static_cast<ssize_t>(content_.size());
  const int linked = written ? ::link(fresh.c_str(), path_.c_str()) : -1;
  const int link_errno = errno;
  ::unlink(fresh.c_str());
  if (linked == 0) {
    fd_ = fd;
    return true;
  }
  ::close(fd);
  if (!written) throw RuntimeFailure(system_error("cannot write the lock '" + fresh + "' (" + option_ + ")"));
  if (link_errno != EEXIST) {
    errno = link_errno;
    throw RuntimeFailure(system_error("cannot create the lock '" + path_ + "' (" + option_ + ")"));
  }
  return false;
}

// The lock path exists: refuse if it is held or not slab's; take it over if its run is gone.
bool TargetLock::try_take_existing() {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0) return false;  // vanished: try again
  if (!S_ISREG(st.st_mode))
    throw InputError("'" + path_ + "' is " + (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file") +
                     ", not a slab lock file; remove it or choose another " + option_);
  const int fd = ::open(path_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw InputError(system_error("cannot open the lock '" + path_ + "' (" + option_ + ")"));
  }
  const std::string text = read_fd(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    refuse_held(text);
  }
  if (!same_file(fd, path_)) {  // its owner removed it between our open and our flock
    ::close(fd);
    return false;
  }
  if (text.rfind(lock_header, 0) != 0) {
    ::close(fd);
    throw InputError("'" + path_ + "' exists and is not a slab lock file; remove it or choose another " + option_);
  }
  // Stale: the run that wrote it has ended without removing it. Take it, and remove that run's
  // temporary if the lock proves it was slab's.
  if (const auto stale = stale_temporary(text, target_, fd))
    remove_temporary((fs::path(target_).parent_path() / *stale).string());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, content_.data(), content_.size(), 0) != static_cast<ssize_t>(content_.size())) {
    ::close(fd);
    throw RuntimeFailure(system_error("cannot write the lock '" + path_ + "' (" + option_ + ")"));
  }
  fd_ = fd;
  return true;
}

void TargetLock::refuse_held(const std::string& text) const {
  const std::string pid = field(text, "pid"), host = field(text, "host");
  const std::string who = pid.empty() ? "another slab run" : "another slab run (pid " + pid + " on host " + host + ")";
  throw InputError(who + " is writing '" + target_ + "' (its lock is '" + path_ +
                   "'); wait for it to end or choose another " + option_);
}

TargetLock::~TargetLock() {
  stop::forget_scratch(scratch_);
  if (fd_ < 0) return;
  if (same_file(fd_, path_)) ::unlink(path_.c_str());  // unlinked while still held: no one can take it in between
  ::close(fd_);
}

namespace {
std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<TargetLock>>& registry() {
  static std::map<std::string, std::weak_ptr<TargetLock>> held;
  return held;
}
}  // namespace

std::string Claim::temporary() const { return lock_ ? lock_->temporary() : std::string(); }

Claim claim_target(const std::string& target, const std::string& option) {
  if (const std::size_t length = fs::path(target).filename().string().size(); length > name_max)
    throw InputError("'" + target + "' is a file name of " + std::to_string(length) + " bytes, more than the " +
                     std::to_string(name_max) + " a file system takes; choose a shorter name (" + option + ")");
  const std::string key = fs::absolute(target).lexically_normal().string();
  const std::lock_guard<std::mutex> guard(registry_mutex);
  Claim claim;
  claim.lock_ = registry()[key].lock();
  if (!claim.lock_) {
    claim.lock_ = std::make_shared<TargetLock>(target, option);
    registry()[key] = claim.lock_;
  }
  return claim;
}

// ---- targets ----------------------------------------------------------------------------------

Existing existing(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Existing::nothing : Existing::other;
  if (S_ISREG(st.st_mode)) return Existing::file;
  if (S_ISDIR(st.st_mode)) return is_slab_folder(path) ? Existing::slab_folder : Existing::folder;
  return Existing::other;
}

void check_replaceable(const std::string& target, TargetKind kind, bool overwrite, const std::string& option) {
  const Existing found = existing(target);
  if (found == Existing::nothing) return;
  const std::string where = " (" + option + ")";
  if (!overwrite) throw InputError("output '" + target + "' already exists; pass --overwrite to replace it" + where);
  if (found == Existing::file && kind == TargetKind::file) return;
  if (found == Existing::slab_folder && kind == TargetKind::folder) return;
  std::string what = "a symbolic link or special file";
  if (found == Existing::file) what = "a file, and this output is a folder";
  if (found == Existing::slab_folder) what = "a folder, and this output is a file";
  if (found == Existing::folder)
    what = "a folder slab did not write (it has no " + std::string(manifest_name) + " naming everything in it)";
  throw InputError("'" + target + "' is " + what +
                   "; --overwrite replaces only a regular file or a folder of slab's own output" + where);
}

namespace {
// rename(2) that fails if `to` exists. File systems without RENAME_NOREPLACE get link+unlink (files)
// or a plain rename after a fresh check (folders).
void rename_no_replace(const std::string& from, const std::string& to, TargetKind kind) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS)
    throw RuntimeFailure(system_error("cannot rename '" + from + "' to '" + to + "'"));
  if (kind == TargetKind::file) {
    if (::link(from.c_str(), to.c_str()) != 0)
      throw RuntimeFailure(system_error("cannot rename '" + from + "' to '" + to + "'"));
    ::unlink(from.c_str());
    return;
  }
  if (existing(to) != Existing::nothing || ::rename(from.c_str(), to.c_str()) != 0)
    throw RuntimeFailure(system_error("cannot rename '" + from + "' to '" + to + "'"));
}

// Swaps a finished folder with slab's old one, then removes the old one's files.
void replace_folder(const std::string& temporary, const std::string& target) {
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    remove_temporary(temporary);  // now the old folder, checked to hold only what its manifest lists
    return;
  }
  if (errno != EINVAL && errno != ENOSYS) throw RuntimeFailure(system_error("cannot replace '" + target + "'"));
  const std::string aside = temporary + ".old";
  if (::rename(target.c_str(), aside.c_str()) != 0)
    throw RuntimeFailure(system_error("cannot replace '" + target + "'"));
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const std::string failure = system_error("cannot replace '" + target + "'");
    ::rename(aside.c_str(), target.c_str());
    throw RuntimeFailure(failure);
  }
  remove_temporary(aside);
}
}  // namespace

void commit_temporary(const std::string& temporary, const std::string& target, TargetKind kind, bool overwrite,
                      const std::string& option) {
  try {
    check_replaceable(target, kind, overwrite, option);  // again: the target may have changed during the run
  } catch (const InputError& e) {
    throw RuntimeFailure(std::string("the output changed during the run: ") + e.what());
  }
  switch (existing(target)) {
    case Existing::nothing:
      rename_no_replace(temporary, target, kind);
      return;
    case Existing::file:
      if (::rename(temporary.c_str(), target.c_str()) != 0)
        throw RuntimeFailure(system_error("cannot rename '" + temporary + "' to '" + target + "'"));
      return;
    case Existing::slab_folder:
      replace_folder(temporary, target);
      return;
    default:
      throw RuntimeFailure("the output '" + target + "' changed during the run; not replacing it (" + option + ")");
  }
}

void remove_temporary(const std::string& temporary) noexcept {
  struct stat st {};
  if (::lstat(temporary.c_str(), &st) != 0) return;
  if (S_ISREG(st.st_mode)) {
    ::unlink(temporary.c_str());
    remove_mpi_io_files(temporary);
    return;
  }
  if (!S_ISDIR(st.st_mode)) return;
  try {
    if (const auto listed = manifest_of(temporary)) {
      for (const auto& name : *listed) {
        const std::string file = temporary + "/" + name;
        if (::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(file.c_str());
      }
      ::unlink((temporary + "/" + manifest_name).c_str());
    }
  } catch (...) {
  }
  ::rmdir(temporary.c_str());  // only if empty: anything slab did not list stays
}

void remove_own_file(const std::string& path) noexcept {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(path.c_str());
}

void create_slab_folder(const std::string& folder, const std::vector<std::string>& files) {
  if (::mkdir(folder.c_str(), 0755) != 0)
    throw RuntimeFailure(system_error("cannot create the folder '" + folder + "'"));
  std::string text = std::string(manifest_header) + "\n";
  for (const auto& name : files) {
    if (name.empty() || name.find('/') != std::string::npos || name == manifest_name)
      throw RuntimeFailure("'" + name + "' cannot be a file of an output folder");
    text += name + "\n";
  }
  const std::string path = folder + "/" + manifest_name;
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeFailure(system_error("cannot create '" + path + "'"));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (::close(fd) != 0 || !ok) throw RuntimeFailure(system_error("cannot write '" + path + "'"));
}

}  // namespace slab::io
