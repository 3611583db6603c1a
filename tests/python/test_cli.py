"""End-to-end behaviour of the slab command under mpirun: help and version, and every kind of bad
input or runtime fault. Each must end on every rank with the same exit code (2 for bad input, 1 for
a runtime failure), one line "slab: error: ..." from rank 0, nothing at --out, and an existing file
there untouched."""
import contextlib
import os
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from slabrun import MPIEXEC, MPI_ENV, SLAB, TIMEOUT, TempDirTest, error_lines, run

SMALL_HEAT = ["heat", "--nx", "21", "--t-end", "0.001", "-q"]
SMALL_REG = ["regress", "--rows", "50", "--cols", "2", "--iters", "20", "-q"]


class HelpAndVersion(TempDirTest):
    def test_version_and_help_print_once(self):
        version = self.slab(2, "--version")
        self.assertRegex(version.stdout, r"^slab \d+\.\d+\.\d+ \(commit [0-9a-f]+")
        self.assertEqual(version.stdout.count("slab "), 1)
        for args in (["--help"], ["heat", "--help"], ["regress", "--help"]):
            result = self.slab(2, *args)
            self.assertEqual(result.stdout.count("Usage:"), 1, args)
        heat_help = self.slab(1, "heat", "--help").stdout
        for option in ("--nx", "--t-end", "--cfl", "--scheme", "--bc", "--init", "--snapshots", "--out", "--io",
                       "--overwrite", "--layout", "[length^2/time", "1001", "--units", "--version",
                       "--scheme explicit|implicit|crank-nicolson=explicit", "--layout contiguous|extendible"):
            self.assertIn(option, heat_help)
        # Choices by name only: no enum internals, no numbers, flags without a {false}.
        for text in ("ENUM", "BOOLEAN", "->"):
            self.assertNotIn(text, heat_help)
        regress_help = self.slab(1, "regress", "--help").stdout
        self.assertIn("--method qr|lstsq|normal|gd=gd", regress_help)
        self.assertNotIn("{false}", regress_help)
        for command in ("heat", "regress"):
            self.assertRegex(self.slab(1, command, "--version").stdout, r"^slab \d+\.\d+\.\d+ \(commit ")
        refused = run(1, "heat", "--scheme", "2", "--out", "x.h5", cwd=self.dir)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("explicit|implicit|crank-nicolson", error_lines(refused.stderr)[0])
        extras = run(1, "heat", "--frobnicate", "1", "2", cwd=self.dir)
        self.assertIn("not expected: --frobnicate 1 2", error_lines(extras.stderr)[0])


class Driver(TempDirTest):
    def test_config_file_holds_the_flags_and_the_command_line_wins(self):
        with open(self.path("run.toml"), "w") as f:
            f.write('out = "c.h5"\n[heat]\nnx = 51\nscheme = "crank-nicolson"\nt_end = 0.02\ncfl = 2.5\nquiet = true\n')
        result = self.slab(2, "heat", "--config", "run.toml", "--nx", "61")
        self.assertEqual(result.stderr, "")  # quiet = true
        with h5py.File(self.path("c.h5")) as f:
            a = f["heat"].attrs
            self.assertEqual((a["nx"], a["scheme"], a["t_end"]), (61, "crank-nicolson", 0.02))
        with open(self.path("bad.toml"), "w") as f:
            f.write("nx = [1\n")
        result = run(2, "heat", "--config", "bad.toml", cwd=self.dir)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--config bad.toml", error_lines(result.stderr)[0])

    def test_progress_in_a_log_is_a_line_per_tenth_and_a_summary(self):
        result = self.slab(2, "heat", "--nx", "101", "--t-end", "0.01", "--out", "p.h5")
        lines = result.stderr.splitlines()
        self.assertTrue(lines[0].startswith("slab heat: nx=101"), lines[0])
        progress = [line for line in lines if line.startswith("step ")]
        self.assertGreaterEqual(len(progress), 10)
        self.assertLessEqual(len(progress), 12)
        self.assertIn("cell updates/s", lines[-1])
        self.assertIn("wrote p.h5", lines[-1])


class BadInput(TempDirTest):
    def setUp(self):
        super().setUp()
        X = np.random.default_rng(1).normal(size=(40, 2))
        y = X @ [1.0, 2.0]
        with h5py.File(self.path("good.h5"), "w") as f:
            f["regression/X"] = X
            f["regression/y"] = y
            f["u0_short"] = np.zeros(5)
            f["u0_int"] = np.zeros(21, dtype=np.int32)
        with h5py.File(self.path("wrong_shape.h5"), "w") as f:
            f["regression/X"] = np.zeros(40)
            f["regression/y"] = y
        with h5py.File(self.path("mismatch.h5"), "w") as f:
            f["regression/X"] = X
            f["regression/y"] = y[:30]
        with h5py.File(self.path("nodata.h5"), "w") as f:
            f["other"] = y
        with open(self.path("good.h5"), "rb") as f:
            data = f.read()
        with open(self.path("truncated.h5"), "wb") as f:
            f.write(data[: len(data) // 3])
        with open(self.path("text.h5"), "w") as f:
            f.write("not an HDF5 file\n")
        np.savez(self.path("mismatch.npz"), X=X, y=y[:10])
        np.savez(self.path("nan.npz"), X=np.full((4, 2), np.nan), y=np.zeros(4))

    def expect_failure(self, args, code=2, words=None, out="out.h5", env=None):
        result = run(2, *args, "--out", out, cwd=self.dir, env=env)
        self.assertEqual(result.returncode, code, f"{args}: {result.stderr}")
        lines = error_lines(result.stderr)
        self.assertEqual(len(lines), 1, f"{args}: want one error line from rank 0, got {result.stderr!r}")
        if words:
            self.assertIn(words, lines[0])
        self.assertFalse(os.path.exists(self.path(out)), args)
        self.assertFalse(os.path.exists(self.path(out + ".partial")), args)
        return lines[0]

    def test_layout_and_compress_apply_to_hdf5_only(self):
        for fmt in ("npz", "json", "csv"):
            for command in (["heat"], ["regress", "--rows", "50"]):
                with self.subTest(fmt=fmt, command=command[0]):
                    self.expect_failure([*command, "--layout", "extendible", "--compress", "4"], out=f"o.{fmt}",
                                        words=f"--layout extendible applies to HDF5 output (.h5) only; --out o.{fmt}")
                    self.expect_failure([*command, "--layout", "extendible"], out=f"o.{fmt}",
                                        words="--layout extendible applies to HDF5 output (.h5) only")
        self.expect_failure(["heat", "--compress", "4"], out="o.npz", words="--compress applies to HDF5 output")
        run(2, "heat", "--layout", "extendible", "--compress", "4", "-q", "--out", "o.h5", cwd=self.dir, check=True)

    def test_unknown_flags_and_commands(self):
        self.expect_failure(["heat", "--bogus"], words="--bogus")
        self.expect_failure(["simulate"], words="unknown command 'simulate': slab heat|regress")
        result = run(2, cwd=self.dir)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(error_lines(result.stderr), ["slab: error: a command comes first: slab heat|regress [options] "
                                                      "(see slab --help)"])

    def test_bad_numbers(self):
        cases = [
            (["heat", "--nx", "abc"], "--nx"),
            (["heat", "--nx", "1"], "--nx must be at least 2"),
            (["heat", "--dt", "-1"], "--dt"),
            (["heat", "--dt", "0"], "--dt"),
            (["heat", "--alpha", "0"], "--alpha"),
            (["heat", "--alpha", "nan"], "--alpha"),
            (["heat", "--length", "inf"], "--length"),
            (["heat", "--t-end", "-0.1"], "--t-end"),
            (["heat", "--snapshots", "0"], "--snapshots"),
            (["heat", "--steps", "0"], "--steps"),
            (["heat", "--compress", "12"], "--compress"),
            (["heat", "--compress", "3"], "--layout extendible"),
            (["heat", "--scheme", "rk4"], "--scheme"),
            (["regress", "--rows", "0"], "--rows"),
            (["regress", "--cols", "0"], "--cols"),
            (["regress", "--lr", "0"], "--lr"),
            (["regress", "--lr", "inf"], "--lr"),
            (["regress", "--iters", "-5"], "--iters"),
            (["regress", "--noise", "-1"], "--noise"),
            (["heat", "--scheme", "crank-nicolson", "--solver", "petsc", "--petsc", "-pc_type nosuchpc"],
             "PC type nosuchpc"),
            (["heat", "--scheme", "crank-nicolson", "--petsc", "-pc_type lu"], "--petsc options apply to --solver petsc"),
            (["heat", "--scheme", "implicit", "--solver", "lu"], "--solver"),
            (["regress", "--method", "lstsq", "--petsc", "-ksp_type nosuchksp"], "KSP type nosuchksp"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.expect_failure(args, words=words)

    def test_unstable_explicit_parameters(self):
        line = self.expect_failure(["heat", "--cfl", "0.75", "--steps", "10"])
        self.assertIn("R = alpha*dt/dx^2 = 0.75", line)
        self.assertIn("--scheme crank-nicolson", line)

    def test_bad_input_files(self):
        cases = [
            (["regress", "--data", "missing.h5"], "no such file"),
            (["regress", "--data", "text.h5"], "not an HDF5 file"),
            (["regress", "--data", "truncated.h5"], "truncated.h5"),
            (["regress", "--data", "nodata.h5"], "no dataset '/regression/X'"),
            (["regress", "--data", "wrong_shape.h5"], "has shape (40,)"),
            (["regress", "--data", "mismatch.h5"], "/regression/y"),
            (["regress", "--data", "mismatch.npz"], "X has 40 rows but y has 10"),
            (["regress", "--data", "nan.npz"], "NaN"),
            (["regress", "--data", "data.txt"], "--data must be"),
            (["heat", "--nx", "21", "--init", "missing.h5:/u0"], "no such file"),
            (["heat", "--nx", "21", "--init", "good.h5:/u0_short"], "has shape (5,)"),
            (["heat", "--nx", "21", "--init", "good.h5:/absent"], "no dataset"),
            (["heat", "--nx", "21", "--init", "good.h5:/u0_int"], "not floating point"),
            (["heat", "--init", "parabola"], "--init"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.expect_failure(args, words=words)

    def test_output_paths(self):
        self.expect_failure(SMALL_HEAT, out="no/such/dir/out.h5", words="does not exist")
        self.expect_failure(SMALL_HEAT, out="out.txt", words="unknown output format")
        with open(self.path("exists.h5"), "w") as f:
            f.write("keep me")
        result = run(2, *SMALL_HEAT, "--out", "exists.h5", cwd=self.dir)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--overwrite", error_lines(result.stderr)[0])
        with open(self.path("exists.h5")) as f:
            self.assertEqual(f.read(), "keep me")
        self.slab(2, *SMALL_HEAT, "--out", "exists.h5", "--overwrite")
        with h5py.File(self.path("exists.h5")) as f:
            self.assertEqual(f.attrs["complete"], 1)

    def test_more_ranks_than_rows_or_nodes_still_works(self):
        self.slab(4, "regress", "--rows", "3", "--cols", "2", "--iters", "10", "--out", "tiny.h5", "-q")
        self.slab(4, "heat", "--nx", "3", "--steps", "5", "--out", "tiny_heat.h5", "-q")
        with h5py.File(self.path("tiny.h5")) as f:
            self.assertEqual(f["regression/X"].shape, (3, 2))
        with h5py.File(self.path("tiny_heat.h5")) as f:
            self.assertEqual(f["heat/u"].shape, (6, 3))  # 11 snapshots clamped to steps + 1


class RuntimeFaults(TempDirTest):
    def test_a_fault_on_one_rank_fails_every_rank_cleanly(self):
        for phase in ("init", "factor", "solve", "write"):
            for io in ("parallel", "gather"):
                with self.subTest(phase=phase, io=io):
                    scheme = ["--scheme", "implicit"] if phase == "factor" else []  # the direct solver's factors
                    result = run(3, *SMALL_HEAT, *scheme, "--io", io, "--out", "f.h5", cwd=self.dir,
                                 env={"SLAB_FAULT": f"{phase}:1"})
                    self.assertEqual(result.returncode, 1, result.stderr)
                    lines = error_lines(result.stderr)
                    self.assertEqual(len(lines), 1, result.stderr)
                    self.assertIn(f"injected fault in phase '{phase}' on rank 1", lines[0])
                    self.assertNotIn("MPI_ABORT", result.stderr)  # agreed, not aborted
                    self.assertEqual(os.listdir(self.dir), [])

    def test_a_failed_overwrite_keeps_the_previous_file(self):
        self.slab(2, *SMALL_REG, "--out", "keep.h5")
        with open(self.path("keep.h5"), "rb") as f:
            before = f.read()
        result = run(2, *SMALL_REG, "--out", "keep.h5", "--overwrite", cwd=self.dir, env={"SLAB_FAULT": "write:0"})
        self.assertEqual(result.returncode, 1)
        with open(self.path("keep.h5"), "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(sorted(os.listdir(self.dir)), ["keep.h5"])

    @contextlib.contextmanager
    def small_disk(self, size):
        """A tmpfs of `size` mounted at small/ in the test's folder, unmounted afterwards; the test is
        skipped where mounting needs a root this is not."""
        small = self.path("small")
        os.mkdir(small)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", small], capture_output=True)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a {size} tmpfs here (needs root): " + mounted.stderr.decode().strip())
        try:
            yield small
        finally:
            # A rank that has just exited can keep the mount busy for a moment (seen once under load).
            for _ in range(50):
                if subprocess.run(["umount", small], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                subprocess.run(["umount", "--lazy", small], check=False)

    def test_a_full_disk_is_a_clean_runtime_error(self):
        with self.small_disk("4m") as small:
            # 4.8 MB of X, more than the disk holds, in a 5 KB compressed .npz: the resource plan sizes an
            # .npz by its file, so the run starts and the disk fills while writing.
            X = np.zeros((600000, 1))
            np.savez_compressed(self.path("data.npz"), X=X, y=2 * X[:, 0])
            with open(os.path.join(small, "keep.h5"), "w") as f:
                f.write("old result")
            for io in ("parallel", "gather"):
                with self.subTest(io=io):
                    # Known sizes are refused before any work, by the resource plan (bad input) ...
                    result = run(2, "heat", "--nx", "100000", "--steps", "20", "-q", "--io", io, "--out",
                                 os.path.join(small, "big.h5"), cwd=self.dir)
                    self.assertEqual(result.returncode, 2, result.stderr)
                    self.assertIn("free; free space or write elsewhere", error_lines(result.stderr)[0])
                    # The total names every file it counts: with checkpoints, the output is not all of it.
                    result = run(2, "heat", "--nx", "30000", "--steps", "20", "--snapshots", "5", "-q", "--io", io,
                                 "--checkpoint-every", "5", "--out", os.path.join(small, "ck.h5"), cwd=self.dir)
                    self.assertEqual(result.returncode, 2, result.stderr)
                    line = error_lines(result.stderr)[0]
                    self.assertRegex(line, r"this run writes [0-9.]+ [KMG]?i?B \([0-9.]+ [KMG]?i?B for the output .*ck\.h5 "
                                           r"\+ [0-9.]+ [KMG]?i?B for two checkpoints")
                    # ... and a disk that fills up while writing fails cleanly, without a hang.
                    result = run(2, "regress", "--data", "data.npz", "--iters", "5", "-q", "--io", io, "--overwrite",
                                 "--out", os.path.join(small, "keep.h5"), cwd=self.dir)
                    self.assertEqual(result.returncode, 1, result.stderr)
                    lines = error_lines(result.stderr)
                    self.assertEqual(len(lines), 1, result.stderr)
                    # Serial HDF5 passes on the system's words; MPI-IO says only that the write failed.
                    self.assertIn("H5Dwrite failed for file", lines[0])
                    self.assertIn("/regression/X", lines[0])
                    self.assertEqual(os.listdir(small), ["keep.h5"])
                    with open(os.path.join(small, "keep.h5")) as f:
                        self.assertEqual(f.read(), "old result")

    def test_a_disk_that_fills_between_checkpoints_leaves_no_temporary(self):
        with self.small_disk("2m") as small:
            # The first checkpoint fits; then the disk is filled, and the next one cannot be created
            # (serial HDF5 makes the file, then fails to write its superblock).
            process = subprocess.Popen([MPIEXEC, "-n", "2", SLAB, "heat", "--nx", "2001", "--t-end", "0.03", "-q",
                                        "--snapshots", "6", "--checkpoint-every", "20000", "--io", "gather",
                                        "--out", os.path.join(small, "o.h5")], cwd=self.dir,
                                       env=dict(os.environ, **MPI_ENV), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
            try:
                while not os.path.exists(os.path.join(small, "o.h5.ckpt.h5")):
                    self.assertIsNone(process.poll(), "the run ended before its first checkpoint")
                    time.sleep(0.001)
                try:
                    with open(os.path.join(small, "fill"), "wb", buffering=0) as f:
                        while True:
                            f.write(bytes(1 << 16))
                except OSError:
                    pass  # full
                _, stderr = process.communicate(timeout=TIMEOUT)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            self.assertEqual(process.returncode, 1, stderr)
            lines = error_lines(stderr)
            self.assertEqual(len(lines), 1, stderr)
            self.assertIn("No space left on device", lines[0])
            # The last whole checkpoint stays (a restart can use it); no temporary, no lock.
            self.assertEqual(sorted(os.listdir(small)), ["fill", "o.h5.ckpt.h5"])

    def test_nan_in_the_solution_names_the_step(self):
        with h5py.File(self.path("bad.h5"), "w") as f:
            f["u0"] = np.full(21, 1e308)
        result = run(2, "heat", "--nx", "21", "--steps", "200", "--snapshots", "3", "--init", "bad.h5:/u0",
                     "--bc", "neumann", "--out", "out.h5", cwd=self.dir)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("NaN or infinite by step", error_lines(result.stderr)[0])


class CheckpointRestart(TempDirTest):
    """Kill -9 a run partway, restart it from its checkpoint on other rank counts, and get the same
    bits as a run that was never interrupted."""

    def kill_after_first_checkpoint(self, ranks, args, out):
        checkpoint = self.path(out + ".ckpt.h5")
        process = subprocess.Popen([MPIEXEC, "-n", str(ranks), SLAB, *args, "--out", out], cwd=self.dir,
                                   env=dict(os.environ, **MPI_ENV), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while not os.path.exists(checkpoint) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        # Like a node going down: every process of the run dies at once. Open MPI starts the ranks in
        # process groups of their own, so they are found by their working directory, not the group.
        os.killpg(process.pid, signal.SIGKILL)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/cwd") == os.path.realpath(self.dir) and int(pid) != os.getpid():
                    os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        process.wait()
        self.assertTrue(os.path.exists(checkpoint), "the run ended before its first checkpoint")
        self.assertFalse(os.path.exists(self.path(out)), "the run finished before it was killed")
        return checkpoint

    def check_restarts(self, args, datasets, kill_ranks, restart_ranks):
        self.slab(2, *args, "--out", "whole.h5")
        with h5py.File(self.path("whole.h5")) as f:
            reference = {name: f[name][()] for name in datasets}
        checkpoint = self.kill_after_first_checkpoint(kill_ranks, [*args, "--checkpoint-every", "100"], "run.h5")
        for ranks in restart_ranks:
            with self.subTest(ranks=ranks):
                self.slab(ranks, *args, "--restart", checkpoint, "--out", f"restarted{ranks}.h5")
                with h5py.File(self.path(f"restarted{ranks}.h5")) as f:
                    self.assertGreater(f["provenance"].attrs["restarted_from_step"], 0)
                    for name in datasets:
                        np.testing.assert_array_equal(f[name][()], reference[name], err_msg=name)

    def test_explicit_heat_restarts_bitwise_on_2_and_3_ranks(self):
        self.check_restarts(["heat", "--nx", "3001", "--t-end", "0.004", "-q"],
                            ["heat/u", "heat/t", "heat/x"], 2, (2, 3))

    def test_implicit_schemes_restart_bitwise_on_2_and_3_ranks(self):
        # The direct solver gives the same bits on any rank count, so a run killed on 2 ranks may
        # resume on 3 (49 blocks of the solver, some straddling rank boundaries).
        for scheme, bc in (("implicit", "dirichlet"), ("crank-nicolson", "periodic")):
            with self.subTest(scheme=scheme):
                self.check_restarts(["heat", "--nx", "200001", "--steps", "300", "--scheme", scheme, "--cfl", "10",
                                     "--bc", bc, "--init", "step", "-q"], ["heat/u", "heat/t"], 2, (2, 3))
                for name in os.listdir(self.dir):
                    os.remove(self.path(name))

    def test_gradient_descent_restarts_bitwise_on_2_and_3_ranks(self):
        self.check_restarts(["regress", "--rows", "50000", "--cols", "8", "--lr", "0.002", "--iters", "3000", "--tol", "0",
                             "-q"],
                            ["regression/w", "regression/b", "regression/history/loss"], 2, (2, 3))

    def test_a_restart_with_other_parameters_is_refused(self):
        args = ["heat", "--nx", "3001", "--t-end", "0.004", "-q"]
        checkpoint = self.kill_after_first_checkpoint(2, [*args, "--checkpoint-every", "100"], "run.h5")
        result = run(2, "heat", "--nx", "3002", "--t-end", "0.004", "--restart", checkpoint, "--out", "other.h5",
                     cwd=self.dir)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("the checkpoint has nx = 3001 but this run has 3002", error_lines(result.stderr)[0])


if __name__ == "__main__":
    unittest.main()
