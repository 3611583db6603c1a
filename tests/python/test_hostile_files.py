"""Hostile cases for the files slab owns (label `hostile`, at 2 ranks): what is at the output, its
temporary, its lock and its checkpoint; --overwrite; two runs at once; long paths; restarts with
other parameters; damaged checkpoints. Refusals are held to HostileTest.expect_refusal (exit code,
one error line, no banner, nothing new, nothing changed); the positive cases check that slab did
its job and left every neighbour as it was."""
import os
import shutil
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from hostile import HostileTest, snapshot
from slabrun import MPIEXEC, MPI_ENV, SLAB, error_lines, run

HEAT = ["heat", "--nx", "21", "--steps", "5", "-q"]
FORMATS = ("h5", "npz", "json", "csv")
MODES = ("parallel", "gather")
COMBOS = [(fmt, io) for fmt in FORMATS for io in MODES]


def target(name, fmt):
    """The path an --out of this format lands on (a .csv output is a folder without the suffix)."""
    return name if fmt == "csv" else f"{name}.{fmt}"


def write(path, text="user data\n"):
    with open(path, "w") as f:
        f.write(text)


def processes_in(folder):
    """Every process whose working directory is `folder` (an mpirun and its ranks)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == os.path.realpath(folder) and int(pid) != os.getpid():
                found.append(int(pid))
        except OSError:
            pass
    return found


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def wait_stopped(pids, seconds=60):
    """Waits until every thread of every process has stopped (a write in flight when SIGSTOP came
    finishes first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        running = False
        for pid in pids:
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/stat") as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    running = running or state not in ("T", "t", "Z", "X")
            except OSError:
                pass
        if not running:
            return
        time.sleep(0.01)
    raise AssertionError("the first run did not stop")


def start(args, cwd):
    return subprocess.Popen([MPIEXEC, "-n", "2", SLAB, *map(str, args)], cwd=cwd, env=dict(os.environ, **MPI_ENV),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.path.exists(path)


class OutputPaths(HostileTest):
    """Symlinks, folders and files where slab's output, temporary or lock would go."""

    def setUp(self):
        super().setUp()
        self.outside = os.path.join(self.dir + "-outside")
        os.mkdir(self.outside)
        self.victim = os.path.join(self.outside, "victim.txt")
        write(self.victim, "not slab's\n")
        self.addCleanup(shutil.rmtree, self.outside, True)

    def refuse(self, args, words, fmt, io):
        with self.subTest(args=args, fmt=fmt, io=io):
            self.expect_refusal([*HEAT, "--io", io, *args], 2, words, outside=[self.victim, self.outside])

    def test_a_symlink_at_the_output(self):
        for fmt, io in COMBOS:
            link = target(f"l{fmt}{io}", fmt)
            os.symlink(self.victim, self.path(link))
            self.refuse(["--out", f"l{fmt}{io}.{fmt}"], "already exists", fmt, io)
            self.refuse(["--out", f"l{fmt}{io}.{fmt}", "--overwrite"], "symbolic link", fmt, io)

    def test_a_symlink_or_a_folder_or_a_foreign_file_at_the_lock(self):
        for fmt, io in COMBOS:
            os.symlink(self.victim, self.path(target(f"s{fmt}{io}", fmt) + ".lock"))
            self.refuse(["--out", f"s{fmt}{io}.{fmt}"], "is a symbolic link, not a slab lock file", fmt, io)
            os.symlink("nowhere", self.path(target(f"d{fmt}{io}", fmt) + ".lock"))
            self.refuse(["--out", f"d{fmt}{io}.{fmt}"], "is a symbolic link, not a slab lock file", fmt, io)
        for fmt in FORMATS:
            os.mkdir(self.path(target(f"f{fmt}", fmt) + ".lock"))
            self.refuse(["--out", f"f{fmt}.{fmt}"], "not a regular file", fmt, "parallel")
            write(self.path(target(f"u{fmt}", fmt) + ".lock"), "my notes\n")
            self.refuse(["--out", f"u{fmt}.{fmt}"], "not a slab lock file", fmt, "gather")

    def test_folders_where_files_go_and_files_where_folders_go(self):
        for fmt, io in COMBOS:
            folder = self.path(target(f"x{fmt}{io}", fmt))
            os.mkdir(folder)
            write(os.path.join(folder, "keep.txt"))
            # A folder slab did not write is never replaced, whatever the format.
            self.refuse(["--out", f"x{fmt}{io}.{fmt}", "--overwrite"], "--overwrite replaces only", fmt, io)
        write(self.path("plain"))
        self.refuse(["--out", "plain.csv", "--overwrite"], "a file, and this output is a folder", "csv", "gather")
        self.refuse(["--out", "plain/out.h5"], "does not exist", "h5", "parallel")
        write(self.path("notes.txt"))
        self.refuse(["--out", "notes.txt/out.csv"], "does not exist", "csv", "gather")

    def test_a_slab_folder_with_a_stranger_inside_is_not_replaced(self):
        self.slab(2, *HEAT, "--out", "mine.csv")
        write(self.path("mine/notes.txt"))
        self.refuse(["--out", "mine.csv", "--overwrite"], "did not write", "csv", "parallel")
        os.remove(self.path("mine/notes.txt"))
        os.symlink(self.victim, self.path("mine/heat_u.csv.link"))
        self.refuse(["--out", "mine.csv", "--overwrite"], "did not write", "csv", "gather")

    def test_a_checkpoint_path_that_is_taken(self):
        for io in MODES:
            os.symlink(self.victim, self.path(f"c{io}.h5.ckpt.h5"))
            self.refuse(["--out", f"c{io}.h5", "--checkpoint-every", "2", "--overwrite"], "symbolic link", "h5", io)
            os.mkdir(self.path(f"k{io}.h5.ckpt.h5"))
            self.refuse(["--out", f"k{io}.h5", "--checkpoint-every", "2"], "", "h5", io)
            write(self.path(f"o{io}.h5.ckpt.h5"))
            self.refuse(["--out", f"o{io}.h5", "--checkpoint-every", "2"], "resume it with --restart", "h5", io)
            # Without --checkpoint-every too: a stop (here the time limit at once) would write one.
            self.refuse(["--out", f"o{io}.h5", "--time-limit", "0.001"], "resume it with --restart", "h5", io)
            self.refuse(["--out", f"o{io}.h5"], "resume it with --restart", "h5", io)

    def test_a_checkpoint_beside_the_output_of_a_method_that_never_writes_one_stays(self):
        write(self.path("q.h5.ckpt.h5"))
        before = snapshot(self.dir)
        self.slab(2, "regress", "--rows", "60", "--cols", "2", "--method", "qr", "-q", "--out", "q.h5",
                  "--time-limit", "0.001")
        self.assertEqual(snapshot(self.dir)[self.path("q.h5.ckpt.h5")], before[self.path("q.h5.ckpt.h5")])
        write(self.path("g.h5.ckpt.h5"))
        self.expect_refusal(["regress", "--rows", "60", "--cols", "2", "-q", "--out", "g.h5", "--time-limit", "0.001"],
                            2, "resume it with --restart")


class Neighbours(HostileTest):
    """Runs that succeed must leave every neighbour of their output as it was: res.old/, res.partial,
    h.h5.partial/ with content, a symlink at the old temporary name."""

    def test_siblings_survive_runs_and_overwrites(self):
        for fmt, io in COMBOS:
            with self.subTest(fmt=fmt, io=io):
                name = f"r{fmt}{io}"
                base = target(name, fmt)
                os.mkdir(self.path(base + ".old"))
                write(self.path(base + ".old/file"))
                os.mkdir(self.path(base + ".partial"))
                write(self.path(base + ".partial/inside"))
                os.symlink(self.path(base + ".old/file"), self.path(base + ".partial.link"))
                if not os.path.exists(self.path(name + ".partial")):  # for .csv it is the folder above
                    write(self.path(name + ".partial"))
                before = snapshot(self.dir)
                self.slab(2, *HEAT, "--io", io, "--out", f"{name}.{fmt}")
                self.slab(2, *HEAT, "--io", io, "--out", f"{name}.{fmt}", "--overwrite")
                after = snapshot(self.dir)
                for path, value in before.items():
                    self.assertEqual(after.get(path), value, path)
                new = sorted(p for p in after if p not in before)
                expected = [self.path(base)]
                if fmt == "csv":
                    expected += [os.path.join(self.path(base), f) for f in sorted(os.listdir(self.path(base)))]
                self.assertEqual(sorted(new), sorted(expected))

    def test_a_symlink_at_the_old_temporary_name_is_never_followed(self):
        outside = self.dir + "-outside"
        os.mkdir(outside)
        self.addCleanup(shutil.rmtree, outside, True)
        victim = os.path.join(outside, "victim.txt")
        write(victim, "not slab's\n")
        for fmt, io in COMBOS:
            with self.subTest(fmt=fmt, io=io):
                base = target(f"p{fmt}{io}", fmt)
                os.symlink(victim, self.path(base + ".partial"))
                self.slab(2, *HEAT, "--io", io, "--out", f"p{fmt}{io}.{fmt}")
                self.assertEqual(os.readlink(self.path(base + ".partial")), victim)
                with open(victim) as f:
                    self.assertEqual(f.read(), "not slab's\n")

    def test_overwrite_replaces_a_regular_file_and_slabs_own_folder(self):
        for fmt, io in COMBOS:
            with self.subTest(fmt=fmt, io=io):
                out = f"w{fmt}{io}.{fmt}"
                if fmt == "csv":
                    self.slab(2, *HEAT, "--io", io, "--out", out)
                else:
                    write(self.path(out), "old result\n")
                self.slab(2, "heat", "--nx", "11", "--steps", "5", "-q", "--io", io, "--out", out, "--overwrite")
                if fmt == "h5":
                    with h5py.File(self.path(out)) as f:
                        self.assertEqual(f["heat/u"].shape[1], 11)
                elif fmt == "csv":
                    self.assertIn("slab_manifest.txt", os.listdir(self.path(target(out[:-4], fmt))))
                    with open(self.path(target(out[:-4], fmt) + "/heat_x.csv")) as f:
                        lines = f.read().splitlines()
                    self.assertEqual(lines[0], "x")  # the header row, then one value per node
                    self.assertEqual(len(lines), 1 + 11)
                else:
                    with open(self.path(out), "rb") as f:
                        self.assertNotEqual(f.read(), b"old result\n")
        self.assertEqual([n for n in os.listdir(self.dir) if "lock" in n or "partial" in n], [])


class Concurrency(HostileTest):
    """A second run on the output (or the checkpoint) of a running one is refused at once, naming it;
    the first run is frozen meanwhile so that nothing moves under the check."""

    LONG = ["heat", "--nx", "200001", "--steps", "4000", "--snapshots", "3", "-q"]

    def second_run_is_refused(self, first_args, lock, second_args):
        first = start(first_args, self.dir)
        self.addCleanup(lambda: first.poll() is None and signal_all(processes_in(self.dir), signal.SIGKILL))
        self.assertTrue(wait_for(self.path(lock), first), "the first run never took its lock")
        pids = processes_in(self.dir)
        signal_all(pids, signal.SIGSTOP)
        try:
            wait_stopped(pids)
            line = self.expect_refusal(second_args, 2, "another slab run (pid ")
            self.assertIn(os.path.basename(lock), line)
        finally:
            signal_all(pids, signal.SIGCONT)
        out, err = first.communicate(timeout=600)
        self.assertEqual(first.returncode, 0, err)

    def test_two_runs_on_one_output(self):
        for io in MODES:
            with self.subTest(io=io):
                self.second_run_is_refused([*self.LONG, "--io", io, "--out", f"c{io}.h5"], f"c{io}.h5.lock",
                                           [*HEAT, "--io", io, "--out", f"c{io}.h5"])

    def test_two_runs_on_one_csv_output(self):
        self.second_run_is_refused([*self.LONG, "--out", "c.csv"], "c.lock", [*HEAT, "--out", "c.csv", "--overwrite"])

    def test_a_restart_from_the_checkpoint_of_a_running_run(self):
        self.second_run_is_refused([*self.LONG, "--out", "k.h5", "--checkpoint-every", "1000"], "k.h5.ckpt.h5.lock",
                                   [*self.LONG, "--restart", "k.h5.ckpt.h5", "--out", "other.h5"])


class StaleRuns(HostileTest):
    """A run killed with SIGKILL leaves its lock and temporary; the next run on that output takes the
    lock over, removes exactly what the dead run recorded, and succeeds."""

    def test_a_run_after_a_killed_run(self):
        for io in MODES:
            with self.subTest(io=io):
                first = start(["heat", "--nx", "200001", "--steps", "4000", "-q", "--io", io, "--out", f"k{io}.h5"],
                              self.dir)
                self.assertTrue(wait_for(self.path(f"k{io}.h5.lock"), first))
                time.sleep(0.5)  # the temporary exists
                signal_all([first.pid, *processes_in(self.dir)], signal.SIGKILL)
                first.wait()
                left = [n for n in os.listdir(self.dir) if n.startswith(f"k{io}.h5")]
                self.assertIn(f"k{io}.h5.lock", left)
                self.slab(2, *HEAT, "--io", io, "--out", f"k{io}.h5")
                self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(f"k{io}.h5")], [f"k{io}.h5"])

    def test_a_stale_lock_names_only_what_slab_may_remove(self):
        write(self.path("s.h5.lock"), "slab lock\nhost gone\npid 999999\ntemporary s.h5.0123456789abcdef.partial\n")
        write(self.path("s.h5.0123456789abcdef.partial"), "half a file")
        write(self.path("s.h5.0123456789abcdef.partial.data.0"), "")
        self.slab(2, *HEAT, "--out", "s.h5")
        self.assertEqual(sorted(os.listdir(self.dir)), ["s.h5"])
        # A lock that names something outside slab's own temporaries: that is left alone.
        write(self.path("t.h5.lock"), "slab lock\nhost gone\npid 999999\ntemporary ../precious\n")
        write(self.path("precious"), "keep")
        self.slab(2, *HEAT, "--out", "t.h5")
        self.assertEqual(sorted(os.listdir(self.dir)), ["precious", "s.h5", "t.h5"])


    def test_a_forged_stale_lock_never_removes_a_users_file(self):
        """A lock anyone could write: slab removes only a name of exactly its own pattern
        (<target>.<16 lowercase hex>.partial), named by a lock of exactly its own four lines, and
        made after that lock was written."""
        def lock(target, temporary, extra=""):
            write(self.path(target + ".lock"), f"slab lock\nhost gone\npid 999999\ntemporary {temporary}\n{extra}")

        cases = [
            ("a", "a.h5.mine.partial", ""),  # the report's case: only the prefix and suffix matched
            ("b", "b.h5.0123456789ABCDEF.partial", ""),  # slab writes lowercase hex
            ("c", "c.h5.0123456789abcdef0.partial", ""),  # 17 digits
            ("d", "d.h5.0123456789abcde.partial", ""),  # 15 digits
            ("e", "e.h5.0123456789abcdef.partial", "pid 1\n"),  # a line slab does not write
            ("f", "f.h5..partial", ""),
        ]
        for name, temporary, extra in cases:
            with self.subTest(temporary=temporary):
                write(self.path(temporary), "the user's data\n")
                write(self.path(temporary + ".data.0"), "the user's data\n")
                time.sleep(0.01)
                lock(f"{name}.h5", temporary, extra)
                self.slab(2, *HEAT, "--out", f"{name}.h5")
                for kept in (temporary, temporary + ".data.0"):
                    with open(self.path(kept)) as f:
                        self.assertEqual(f.read(), "the user's data\n", kept)
                self.assertFalse(os.path.exists(self.path(f"{name}.h5.lock")))
        # The exact pattern, but the file was there before the lock was written: not slab's.
        write(self.path("g.h5.0123456789abcdef.partial"), "older than the lock\n")
        time.sleep(0.01)
        lock("g.h5", "g.h5.0123456789abcdef.partial")
        self.slab(2, *HEAT, "--out", "g.h5")
        with open(self.path("g.h5.0123456789abcdef.partial")) as f:
            self.assertEqual(f.read(), "older than the lock\n")


class LongPaths(HostileTest):
    """Paths near PATH_MAX work for every input and output in both I/O modes (Open MPI's
    shared-file-pointer components used to abort on 237 characters)."""

    def test_every_format_and_input_at_3900_bytes(self):
        # Each name at most 200 bytes, and room left below PATH_MAX (4096) for what a run adds to the
        # output's path: ".<16 hex>.partial" and Open MPI's ".metadata.<rank>".
        folder = self.dir
        while len(folder) < 3700:
            folder = os.path.join(folder, "d" * 200)
        os.makedirs(folder)
        name = os.path.join(folder, "f" * (3900 - len(folder) - 1))
        self.assertEqual(len(name), 3900)
        for io in MODES:
            for fmt in FORMATS:
                with self.subTest(io=io, fmt=fmt):
                    self.slab(2, *HEAT, "--io", io, "--out", f"{name}{io}.{fmt}")
                    self.assertTrue(os.path.exists(target(f"{name}{io}", fmt)))
            with self.subTest(io=io, input="--init"):
                self.slab(2, *HEAT, "--io", io, "--init", f"{name}{io}.h5:/heat/x", "--out", f"{name}i{io}.h5")
        X = np.random.default_rng(0).normal(size=(30, 2))
        with h5py.File(f"{name}.h5", "w") as f:
            f["regression/X"] = X
            f["regression/y"] = X @ [1.0, -1.0]
        np.savez(f"{name}.npz", X=X, y=X @ [1.0, -1.0])
        for io in MODES:
            for ext in ("h5", "npz"):
                with self.subTest(io=io, data=ext):
                    self.slab(2, "regress", "--data", f"{name}.{ext}", "--iters", "5", "-q", "--io", io,
                              "--checkpoint-every", "2", "--out", f"{name}r{io}{ext}.h5")
        self.assertEqual([n for n in os.listdir(folder) if "lock" in n or "partial" in n], [])


    def test_a_name_longer_than_the_file_system_takes_is_refused_as_such(self):
        # 253 characters work as an output name; the checkpoint beside it would have 261.
        name = "a" * 250 + ".h5"
        self.slab(2, *HEAT, "--out", name)
        self.expect_refusal([*HEAT, "--checkpoint-every", "2", "--out", "b" * 250 + ".h5"], 2,
                            "is a file name of 261 bytes, more than the 255 a file system takes")
        self.expect_refusal([*HEAT, "--out", "c" * 253 + ".h5"], 2, "is a file name of 256 bytes")


def make_checkpoint(folder, args, out):
    """Runs slab with checkpoints and a fault just before the output is committed, which leaves the
    last checkpoint behind as a killed run would."""
    result = run(2, *args, "--checkpoint-every", "10", "--out", out, cwd=folder, env={"SLAB_FAULT": "write:0"})
    assert result.returncode == 1, result.stderr
    return os.path.join(folder, out + ".ckpt.h5")


HEAT_RUN = ["heat", "--nx", "21", "--steps", "40", "--snapshots", "5", "-q"]
GD_RUN = ["regress", "--rows", "60", "--cols", "2", "--iters", "40", "--tol", "0", "--lr", "0.01", "-q"]


class RestartMismatch(HostileTest):
    """A restart with any parameter other than the checkpoint's is refused, naming it and both values."""

    def setUp(self):
        super().setUp()
        self.heat = make_checkpoint(self.dir, HEAT_RUN, "h.h5")
        self.gd = make_checkpoint(self.dir, GD_RUN, "g.h5")

    def refuse(self, args, words, i):
        fmt, io = COMBOS[i % len(COMBOS)]
        with self.subTest(args=args):
            self.expect_refusal([*args, "--io", io, "--out", f"o{i}.{fmt}"], 2, words)

    def test_heat_parameters(self):
        cases = [
            (["--nx", "22"], "nx = 21 but this run has 22"),
            (["--steps", "41"], "steps = 40 but this run has 41"),
            (["--alpha", "0.5"], "alpha"),
            (["--length", "2"], "length"),
            (["--bc", "neumann"], "bc = 'dirichlet' but this run has 'neumann'"),
            (["--left", "0.5"], "left"),
            (["--snapshots", "6"], "snapshots = 5 but this run has 6"),
            (["--init", "gaussian"], "init = 'sine' but this run has 'gaussian'"),
            (["--mode", "2"], "mode = 1 but this run has 2"),
            (["--scheme", "crank-nicolson"], "scheme"),
        ]
        for i, (extra, words) in enumerate(cases):
            args = list(HEAT_RUN)
            for flag, value in zip(extra[::2], extra[1::2]):
                if flag in args:
                    args[args.index(flag) + 1] = value
                else:
                    args += [flag, value]
            self.refuse([*args, "--restart", self.heat], words, i)

    def test_heat_init_files_are_named_by_content(self):
        with h5py.File(self.path("a.h5"), "w") as f:
            f["u0"] = np.linspace(0, 1, 21)
        shutil.copy(self.path("a.h5"), self.path("b.h5"))
        checkpoint = make_checkpoint(self.dir, [*HEAT_RUN, "--init", "a.h5:/u0"], "fi.h5")
        self.slab(2, *HEAT_RUN, "--init", "b.h5:/u0", "--restart", checkpoint, "--out", "same_bytes.h5")
        checkpoint = make_checkpoint(self.dir, [*HEAT_RUN, "--init", "a.h5:/u0"], "fj.h5")
        with h5py.File(self.path("b.h5"), "a") as f:
            f["u0"][3] = 7.0
        self.refuse([*HEAT_RUN, "--init", "b.h5:/u0", "--restart", checkpoint], "init_file_content", 1)
        self.refuse([*HEAT_RUN, "--restart", checkpoint], "init = 'a file, dataset /u0' but this run has 'sine'", 2)

    def test_regression_parameters(self):
        cases = [
            (["--rows", "61"], "rows = 60 but this run has 61"),
            (["--cols", "3"], "cols = 2 but this run has 3"),
            (["--seed", "43"], "seed = 42 but this run has 43"),
            (["--noise", "0.5"], "noise"),
            (["--lr", "0.02"], "lr"),
            (["--tol", "1e-9"], "tol"),
            (["--iters", "50"], "iters = 40 but this run has 50"),
            (["--standardize"], "standardize = 0 but this run has 1"),
        ]
        for i, (extra, words) in enumerate(cases):
            args = list(GD_RUN)
            if len(extra) == 2 and extra[0] in args:
                args[args.index(extra[0]) + 1] = extra[1]
            else:
                args += extra
            self.refuse([*args, "--restart", self.gd], words, i)
        self.refuse([*HEAT_RUN, "--restart", self.gd], "kind = 'regress' but this run has 'heat'", 3)

    def test_regression_data_files_are_named_by_content(self):
        X = np.random.default_rng(3).normal(size=(60, 2))
        np.savez(self.path("d.npz"), X=X, y=X @ [1.0, 2.0])
        checkpoint = make_checkpoint(self.dir, [*GD_RUN, "--data", "d.npz"], "d.h5")
        # The same bytes resume (parameters are recorded in HDF5's order, not the run's: the digest sorts them).
        self.slab(3, *GD_RUN, "--data", "d.npz", "--restart", checkpoint, "--out", "d.h5")
        checkpoint = make_checkpoint(self.dir, [*GD_RUN, "--data", "d.npz"], "d2.h5")
        np.savez(self.path("e.npz"), X=X, y=X @ [1.0, 2.5])
        self.refuse([*GD_RUN, "--data", "e.npz", "--restart", checkpoint], "the checkpoint has data = 'fnv1a-64:", 4)
        self.refuse([*GD_RUN, "--restart", checkpoint], "but this run has 'synthetic'", 5)


class DamagedCheckpoints(HostileTest):
    """A damaged checkpoint never crashes and never yields a file marked complete."""

    def setUp(self):
        super().setUp()
        self.heat = make_checkpoint(self.dir, HEAT_RUN, "h.h5")
        self.gd = make_checkpoint(self.dir, GD_RUN, "g.h5")
        self.count = 0

    def damaged(self, source, change):
        self.count += 1
        path = self.path(f"bad{self.count}.ckpt.h5")
        shutil.copy(source, path)
        with h5py.File(path, "a") as f:
            change(f)
        return path

    def refuse(self, run_args, path, words):
        fmt, io = COMBOS[self.count % len(COMBOS)]
        with self.subTest(path=path, words=words):
            self.expect_refusal([*run_args, "--io", io, "--restart", path, "--out", f"o{self.count}.{fmt}"], 2, words)

    def test_heat_checkpoints(self):
        def replace(name, data):
            def change(f):
                del f[name]
                f[name] = data
            return change

        def attribute(obj, key, value):
            def change(f):
                f[obj].attrs[key] = value
            return change

        cases = [
            (replace("checkpoint/u", np.zeros(20)), "'/checkpoint/u' has shape (20,), but at step 30 it must be (21,)"),
            (replace("checkpoint/u", np.full(21, np.nan)), "holds NaN or infinity"),
            (replace("checkpoint/t", np.zeros(7)), "'/checkpoint/t' has shape (7,), but at step 30 it must be (4,)"),
            (replace("checkpoint/t", np.zeros(2)), "'/checkpoint/t' has shape (2,)"),
            (replace("checkpoint/snapshots", np.zeros((21, 3))), "'/checkpoint/snapshots' has shape (21, 3), but at step 30 it must be (4, 21)"),
            (replace("checkpoint/snapshots", np.full((4, 21), np.inf)), "holds NaN or infinity"),
            (attribute("checkpoint", "step", 0), "step is 0, outside this run"),
            (attribute("checkpoint", "step", 40), "step is 40, outside this run"),
            (attribute("checkpoint", "step", -5), "step is -5, outside this run"),
            (attribute("checkpoint", "step", 2**62), "outside this run"),
            (attribute("checkpoint", "step", 20.0), "does not record its step"),
            (attribute("checkpoint/parameters", "nx", 21.0), "nx = 21 as a floating-point number, but this run's nx is an integer (21)"),
            (lambda f: f["checkpoint/t"].__setitem__(1, 0.5), "snapshot 1 is at t = 0.5"),
        ]
        for change, words in cases:
            self.refuse(HEAT_RUN, self.damaged(self.heat, change), words)

    def test_edits_that_keep_the_shapes_are_caught_by_the_digest(self):
        """A step one off, a value nudged, a parameter or the digest itself changed: the shapes
        still fit, so only the digest, written last, can tell."""
        def attribute(obj, key, value):
            def change(f):
                f[obj].attrs[key] = value
            return change

        def nudge(name, index):
            def change(f):
                f[name][index] = f[name][index] + 1e-9
            return change

        digest = "does not match its digest"
        heat_cases = [
            (attribute("checkpoint", "step", 31), digest),  # 4 snapshots taken by step 30 and by 31
            (attribute("checkpoint", "step", 29), "'/checkpoint/snapshots' has shape (4, 21), but at step 29 it must be (3, 21)"),
            (nudge("checkpoint/u", 3), digest),
            (nudge("checkpoint/snapshots", (2, 5)), digest),
            (attribute("checkpoint", "digest", "fnv1a-64:0000000000000000"), digest),
            (lambda f: f["checkpoint"].attrs.__delitem__("digest"), "does not record its digest"),
        ]
        for change, words in heat_cases:
            self.refuse(HEAT_RUN, self.damaged(self.heat, change), words)
        gd_cases = [
            (attribute("checkpoint", "step", 29), "'/checkpoint/loss' has shape (30,), but at iteration 29"),
            (nudge("checkpoint/w", 1), digest),
            (nudge("checkpoint/state", 0), digest),
            (nudge("checkpoint/loss", 29), digest),
        ]
        for change, words in gd_cases:
            self.refuse(GD_RUN, self.damaged(self.gd, change), words)

    def test_types_format_and_completion_are_exact(self):
        def retyped(name, dtype):
            def change(f):
                data = f[name][...]
                del f[name]
                f.create_dataset(name, data=data, dtype=dtype)
            return change

        def attribute(obj, key, value):
            def change(f):
                f[obj].attrs[key] = value
            return change

        def int32_step(f):
            step = int(f["checkpoint"].attrs["step"])
            f["checkpoint"].attrs.create("step", step, dtype=np.int32)

        cases = [
            (retyped("checkpoint/u", np.float32), "no dataset of numbers '/checkpoint/u' (of float64"),
            (retyped("checkpoint/u", ">f8"), "no dataset of numbers '/checkpoint/u' (of float64"),
            (retyped("checkpoint/snapshots", np.float32), "no dataset of numbers '/checkpoint/snapshots'"),
            (retyped("checkpoint/t", np.float16), "no dataset of numbers '/checkpoint/t'"),
            (int32_step, "does not record its step"),
            (attribute("checkpoint", "format", "slab checkpoint 2"), "format is 'slab checkpoint 2', not 'slab checkpoint 3'"),
            (attribute("checkpoint", "format", 3), "does not record its format"),
            (lambda f: f["checkpoint"].attrs.__delitem__("format"), "does not record its format"),
            (attribute("/", "complete", 0), "not marked complete (attribute complete = 1, which slab writes last, is = 0)"),
            (lambda f: f.attrs.__delitem__("complete"), "not marked complete"),
        ]
        for change, words in cases:
            self.refuse(HEAT_RUN, self.damaged(self.heat, change), words)
        self.refuse(GD_RUN, self.damaged(self.gd, retyped("checkpoint/w", np.float32)), "'/checkpoint/w' (of float64")

    def test_objects_of_the_wrong_kind(self):
        def group_for(name):
            def change(f):
                del f[name]
                f.create_group(name)
            return change

        def dangling(name):
            def change(f):
                del f[name]
                f[name] = h5py.SoftLink("/nowhere")
            return change

        self.refuse(HEAT_RUN, self.damaged(self.heat, group_for("checkpoint/u")), "no dataset of numbers '/checkpoint/u'")
        self.refuse(HEAT_RUN, self.damaged(self.heat, dangling("checkpoint/t")), "no dataset of numbers '/checkpoint/t'")
        self.refuse(HEAT_RUN, self.damaged(self.heat, lambda f: f.__delitem__("checkpoint/parameters")),
                    "does not record kind")
        self.refuse(HEAT_RUN, self.damaged(self.heat, lambda f: f["checkpoint/parameters"].attrs.__setitem__("extra", 1)),
                    "records extra = 1, which this run does not have")

    def test_files_that_are_not_checkpoints(self):
        with open(self.heat, "rb") as f:
            data = f.read()
        for i, cut in enumerate((len(data) // 2, 2000, 100)):
            with open(self.path(f"cut{i}.ckpt.h5"), "wb") as f:
                f.write(data[:cut])
            self.refuse(HEAT_RUN, self.path(f"cut{i}.ckpt.h5"), None)
        write(self.path("text.ckpt.h5"), "hello\n")
        self.refuse(HEAT_RUN, self.path("text.ckpt.h5"), "not an HDF5 file")
        self.refuse(HEAT_RUN, self.path("h.h5"), "no such file")

    def test_gradient_descent_checkpoints(self):
        def replace(name, data):
            def change(f):
                del f[name]
                f[name] = data
            return change

        cases = [
            (replace("checkpoint/w", np.zeros(3)), "'/checkpoint/w' has shape (3,), but at iteration 30 it must be (2,)"),
            (replace("checkpoint/loss", np.zeros(4)), "'/checkpoint/loss' has shape (4,), but at iteration 30 it must be (30,)"),
            (replace("checkpoint/state", np.array([np.nan, 0.0])), "holds NaN or infinity"),
            (replace("checkpoint/state", np.array([0.0, 2.5])), "loss increases"),
            (lambda f: f["checkpoint/loss"].__setitem__(0, -1.0), "negative"),
            (lambda f: f["checkpoint"].attrs.__setitem__("step", 40), "iteration is 40, outside this run"),
        ]
        for change, words in cases:
            self.refuse(GD_RUN, self.damaged(self.gd, change), words)


if __name__ == "__main__":
    unittest.main()
