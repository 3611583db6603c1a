"""The contract every hostile case is held to (label `hostile`).

A case runs `slab` at 2 ranks in a folder prepared by the test, then checks, whatever the input:
  - the exit code is the documented one (2 bad input, 1 runtime failure);
  - stderr holds exactly one line starting "slab: error:" and no crash or abort banner;
  - nothing new is left in the folder (no .partial, no lock, no half-written output);
  - every file, folder and symlink that existed before is byte-for-byte unchanged, and so is every
    file a symlink pointed to (wherever it lives).
"""
import hashlib
import os
import stat

from slabrun import TempDirTest, error_lines, run

# Words that mean the run did not end on its own terms.
BANNERS = ("MPI_ABORT", "MPI_Abort", "Segmentation fault", "Aborted", "terminate called", "core dumped",
           "AddressSanitizer", "runtime error:", "LeakSanitizer", "*** Process received signal",
           "buffer overflow detected", "std::bad_alloc", "PETSC ERROR", "HDF5-DIAG", "mpirun noticed",
           "mpiexec noticed", "primary job  terminated")


def snapshot(root, extra=()):
    """Everything under root (and the extra paths, e.g. symlink targets outside it): for each path,
    its kind and content (a file's hash, a link's target, a folder's marker)."""
    state = {}

    def record(path):
        if os.path.islink(path):
            state[path] = ("link", os.readlink(path))
        elif os.path.isdir(path):
            state[path] = ("dir", None)
        elif os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            state[path] = ("special", os.stat(path).st_mode)  # a fifo or a device: opening it could block
        elif os.path.exists(path):
            with open(path, "rb") as f:
                state[path] = ("file", hashlib.sha256(f.read()).hexdigest())

    for directory, folders, files in os.walk(root):
        for name in folders + files:
            record(os.path.join(directory, name))
    for path in extra:
        record(path)
        if os.path.isdir(path) and not os.path.islink(path):
            for directory, folders, files in os.walk(path):
                for name in folders + files:
                    record(os.path.join(directory, name))
    return state


class HostileTest(TempDirTest):
    """A TempDirTest with expect_refusal(), the contract above."""

    ranks = 2

    def expect_refusal(self, args, code, words=None, outside=(), env=None, ranks=None, file_size_limit=None):
        """Runs slab with args in self.dir; asserts the contract and returns the error line.
        `outside` lists paths beyond self.dir that must stay unchanged (symlink targets)."""
        before = snapshot(self.dir, outside)
        result = run(ranks or self.ranks, *args, cwd=self.dir, env=env, file_size_limit=file_size_limit)
        label = f"slab {' '.join(map(str, args))}"
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, code, f"{label}: exit code\n{output}")
        lines = error_lines(result.stderr)
        self.assertEqual(len(lines), 1, f"{label}: want exactly one 'slab: error:' line\n{output}")
        for banner in BANNERS:
            self.assertNotIn(banner, output, f"{label}: crash or abort banner\n{output}")
        if words is not None:
            self.assertIn(words, lines[0], label)
        after = snapshot(self.dir, outside)
        new = sorted(set(after) - set(before))
        self.assertEqual(new, [], f"{label}: left new files behind")
        changed = sorted(p for p in before if after.get(p) != before[p])
        self.assertEqual(changed, [], f"{label}: changed or removed what it did not create")
        return lines[0]
