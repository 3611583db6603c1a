// The one owner of every path slab writes: output files and folders, checkpoints, their temporaries
// and their lock files. Process-local (rank 0 calls these; io/output.cpp agrees on the outcome).
//
// The rules (docs/guarantees.md, "Files"):
//   - A target is claimed by a lock file "<target>.lock" that holds "slab lock", the host, the pid
//     and the temporary's name. It is created complete (written to a unique file, flock'ed, then
//     hard-linked into place) and held with flock(2) for the run. A second run finds it locked and
//     is refused, naming the first. A lock that nobody holds is stale: its run died (the kernel
//     drops a flock when its process ends, however it ends); the next run takes it over and removes
//     the temporary the dead run recorded in it. A lock file without the "slab lock" line is not
//     slab's, and the run is refused.
//   - A temporary "<target>.<random>.partial" is created exclusively (O_CREAT|O_EXCL, which never
//     follows a symlink; mkdir for a folder), in the target's folder.
//   - Commit is a rename: renameat2(RENAME_NOREPLACE) when the target must not exist; with
//     --overwrite the target is replaced only if it is a regular file, or a folder whose manifest
//     (slab_manifest.txt) says slab wrote it and which holds nothing else.
//   - slab removes only what it created in this run: its temporary, its lock, a checkpoint it wrote.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace slab::io {

// A held lock on one target; shared by everything in this process that writes that target.
class TargetLock;

class Claim {
 public:
  Claim() = default;
  [[nodiscard]] bool held() const noexcept { return lock_ != nullptr; }
  // The temporary this claim reserved for its target ("<target>.<random>.partial").
  [[nodiscard]] std::string temporary() const;

 private:
  friend Claim claim_target(const std::string& target, const std::string& option);
  std::shared_ptr<TargetLock> lock_;
};

// Takes (or, if this process already holds it, shares) the lock of `target`. Throws InputError
// naming the other run when another process holds it, and when the lock path is not a slab lock
// file. `option` names the flag the target came from, for messages.
[[nodiscard]] Claim claim_target(const std::string& target, const std::string& option);

enum class TargetKind { file, folder };

// What is at a path, without following a final symlink.
enum class Existing { nothing, file, folder, slab_folder, other };
[[nodiscard]] Existing existing(const std::string& path);

// Throws InputError unless `target` may be written: absent, or (overwrite) a regular file for a
// file output, a folder slab wrote for a folder output.
void check_replaceable(const std::string& target, TargetKind kind, bool overwrite, const std::string& option);

// Moves a finished temporary to its target (see the rules above). Throws RuntimeFailure.
void commit_temporary(const std::string& temporary, const std::string& target, TargetKind kind, bool overwrite,
                      const std::string& option);

// Removes a temporary this run created: a regular file, or a folder with slab's manifest (only the
// files it lists). Anything else at that path is left alone. Never throws.
void remove_temporary(const std::string& temporary) noexcept;

// Removes a file this run wrote (a finished checkpoint), if it is still a regular file.
void remove_own_file(const std::string& path) noexcept;

// Creates `folder` with slab's manifest listing `files` (bare names), before they are written.
void create_slab_folder(const std::string& folder, const std::vector<std::string>& files);

inline constexpr const char* manifest_name = "slab_manifest.txt";

}  // namespace slab::io
