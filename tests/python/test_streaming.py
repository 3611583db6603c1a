"""Regression on data larger than memory (docs/streaming.md): a file several times a small --memory
budget is fitted in streamed passes with qr, normal and gd at 1-3 ranks and gives the bits of the
in-memory fit; the largest rank's peak memory (/provenance peak_rss_bytes) stays under the budget
plus the process's own baseline; files named and typed as xarray and h5py users write them are read;
every refusal is one line; --plan writes nothing."""
import os
import subprocess
import unittest

import h5py
import numpy as np
import xarray as xr

from slabrun import MPIEXEC, MPI_ENV, SLAB, TIMEOUT, TempDirTest, error_lines

MiB = 1 << 20
BUDGET = 4 * MiB
# What HDF5's and MPI-IO's own buffers add to a streamed run beyond the baseline of a run that holds
# nothing at the same rank count: about 1 MiB at 1-2 ranks, 8 MiB at 3 (the collective-buffering
# aggregator of Open MPI's MPI-IO); the stated constant is 16 MiB (docs/streaming.md).
MARGIN = 16 * MiB
FIT = ["w", "b", "w_stderr", "b_stderr", "history/loss", "statistics/t_values"]


def table(rows, cols, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    y = X @ rng.standard_normal(cols) + 0.25 + 0.01 * rng.standard_normal(rows)
    return X, y


class StreamedFits(TempDirTest):
    def setUp(self):
        super().setUp()
        X, y = table(160000, 7)  # 10.3 MB: 2.5 times the 4 MiB budget
        self.assertGreater(X.nbytes + y.nbytes, 2.4 * BUDGET)
        with h5py.File(self.path("big.h5"), "w") as f:
            f["regression/X"] = X
            f["regression/y"] = y

    def fit(self, ranks, method, out, *extra):
        self.slab(ranks, "regress", "--data", "big.h5", "--method", method, "--iters", "15", "-q", "--out", out,
                  *extra)
        return h5py.File(self.path(out))

    def baseline_rss(self, ranks):
        # A run that holds next to nothing at this rank count: what MPI, HDF5 and PETSc take.
        self.slab(ranks, "regress", "--rows", "10", "--cols", "2", "--method", "qr", "-q", "--out", "tiny.h5",
                  "--overwrite")
        with h5py.File(self.path("tiny.h5")) as f:
            return int(f["provenance"].attrs["peak_rss_bytes"])

    def test_same_bits_as_in_memory_with_bounded_memory(self):
        baselines = {ranks: self.baseline_rss(ranks) for ranks in (1, 2, 3)}
        for method in ("qr", "normal", "gd"):
            with self.fit(1, method, f"mem-{method}.h5") as ref:
                self.assertEqual(ref["regression"].attrs["streamed"], 0)
                expected = {k: ref["regression/" + k][()] for k in FIT}
            for ranks in (1, 2, 3):
                with self.subTest(method=method, ranks=ranks):
                    with self.fit(ranks, method, f"st-{method}-{ranks}.h5", "--memory", "4MiB") as f:
                        self.assertEqual(f["regression"].attrs["streamed"], 1)
                        self.assertNotIn("X", f["regression"])  # --no-data is implied
                        for k in FIT:
                            self.assertEqual(f["regression/" + k][()].tobytes(), expected[k].tobytes(), k)
                        peak = int(f["provenance"].attrs["peak_rss_bytes"])
                        self.assertEqual(int(f["provenance"].attrs["memory_budget_bytes"]), BUDGET)
                        baseline = baselines[ranks]
                        self.assertLess(peak, BUDGET + baseline + MARGIN,
                                        f"peak {peak / MiB:.1f} MiB, baseline {baseline / MiB:.1f} MiB")

    def test_streamed_gd_checkpoint_resumes_with_the_same_bits(self):
        gd = ["regress", "--data", "big.h5", "--method", "gd", "--iters", "15", "--tol", "0", "-q"]
        self.slab(2, *gd, "--memory", "4MiB", "--out", "whole.h5")
        # A fault just before the output is committed leaves the checkpoint of iteration 12 behind.
        result = self.slab(2, *gd, "--memory", "4MiB", "--checkpoint-every", "6", "--out", "first.h5", check=False,
                           env={"SLAB_FAULT": "write:0"})
        self.assertEqual(result.returncode, 1, result.stderr)
        # Resumed on another rank count with other pieces (a budget of 6 MiB).
        resumed = self.slab(3, *gd, "--memory", "6MiB", "--restart", "first.h5.ckpt.h5", "--out", "resumed.h5")
        self.assertNotIn("error", resumed.stderr)
        with h5py.File(self.path("whole.h5")) as whole, h5py.File(self.path("resumed.h5")) as f:
            self.assertEqual(f["provenance"].attrs["restarted_from_step"], 12)
            for k in ("w", "b", "history/loss"):
                self.assertEqual(f["regression/" + k][()].tobytes(), whole["regression/" + k][()].tobytes(), k)

    def test_plan_shows_the_streamed_path_and_writes_nothing(self):
        result = self.slab(2, "regress", "--data", "big.h5", "--method", "qr", "--memory", "4MiB", "--plan",
                           "--out", "p.h5")
        self.assertIn("streamed", result.stdout)
        self.assertIn("the two buffers --data is streamed through", result.stdout)
        self.assertEqual(sorted(os.listdir(self.dir)), ["big.h5"])


class UserDatasets(TempDirTest):
    """Files as xarray and h5py users write them: other names, float32, int64, a table with y in it."""

    def reference(self, X, y, ranks=2, *extra):
        with h5py.File(self.path("ref.h5"), "w") as f:
            f["regression/X"] = X
            f["regression/y"] = y
        self.slab(ranks, "regress", "--data", "ref.h5", "--method", "qr", "-q", "--out", "ref-out.h5",
                  "--overwrite", *extra)
        with h5py.File(self.path("ref-out.h5")) as f:
            return f["regression/w"][()], f["regression/b"][()]

    def fit(self, ranks, data, *extra):
        result = self.slab(ranks, "regress", "--data", data, "--method", "qr", "--out", "out.h5", "--overwrite",
                           *extra)
        f = h5py.File(self.path("out.h5"))
        self.addCleanup(f.close)
        return result, f

    def test_xarray_netcdf4_in_both_engines_streamed_and_in_memory(self):
        X, y = table(3000, 3)
        w, b = self.reference(X.astype("f4").astype("f8"), y.astype("f4").astype("f8"))
        for engine in ("netcdf4", "h5netcdf"):
            name = f"xr-{engine}.h5"
            ds = xr.Dataset({"features": (("sample", "feature"), X.astype("f4")),
                             "target": (("sample",), y.astype("f4"))})
            ds.to_netcdf(self.path(name), engine=engine)
            for memory in ([], ["--memory", "200kB"]):
                with self.subTest(engine=engine, memory=memory):
                    result, f = self.fit(2, name, "--x", "/features", "--y", "/target", *memory)
                    self.assertIn("X float32, y float32, read as float64", result.stderr)
                    self.assertEqual(f["regression/w"][()].tobytes(), w.tobytes())
                    self.assertEqual(f["regression/b"][()].tobytes(), b.tobytes())
                    attrs = f["regression"].attrs
                    self.assertEqual(attrs["data_x_dimensions"], "sample,feature")
                    self.assertEqual(attrs["data_y_dimensions"], "sample")
                    self.assertEqual(attrs["data_x_type"], "float32")

    def test_h5py_int64_table_with_y_column_and_columns(self):
        rng = np.random.default_rng(5)
        T = rng.integers(-50, 50, size=(2000, 5)).astype("i8")
        T[:, 2] = T[:, [0, 3, 4]] @ [2, -1, 3] + rng.integers(-2, 3, size=2000)
        w, b = self.reference(T[:, [0, 3, 4]].astype("f8"), T[:, 2].astype("f8"), 3)
        with h5py.File(self.path("t.h5"), "w") as f:
            f["runs/2024/table"] = T
        for memory in ([], ["--memory", "100kB"]):
            for ranks in (1, 3):
                with self.subTest(memory=memory, ranks=ranks):
                    result, f = self.fit(ranks, "t.h5", "--x", "/runs/2024/table", "--y-column", "2", "--columns",
                                         "0,3,4", *memory)
                    self.assertIn("X int64, y int64, read as float64", result.stderr)
                    self.assertEqual(f["regression/w"][()].tobytes(), w.tobytes())
                    self.assertEqual(f["regression/b"][()].tobytes(), b.tobytes())
                    self.assertEqual(f["regression"].attrs["data_columns"], "0,3,4")


class StreamedStatistics(TempDirTest):
    def test_every_method_streams_in_pieces_of_whole_tsqr_leaves_or_refuses(self):
        # Every method's statistics make a streamed TSQR, which needs pieces of at least one 256-row
        # leaf: a budget that leaves normal or gd smaller pieces is refused before any work (exit 2,
        # one line), never failed after the fit on every rank (exit 1, a line per rank).
        X, y = table(4000, 3)
        with h5py.File(self.path("d.h5"), "w") as f:
            f["X"] = X
            f["y"] = y
        data = ["--data", "d.h5", "--x", "/X", "--y", "/y", "--iters", "7", "-q"]
        for method in ("normal", "gd"):
            self.slab(2, "regress", *data, "--method", method, "--out", f"mem-{method}.h5")
            with h5py.File(self.path(f"mem-{method}.h5")) as ref:
                expected = {k: ref["regression/" + k][()] for k in ("w", "b", "w_stderr")}
            outcomes = set()
            for kib in range(56, 104, 4):
                out = f"{method}-{kib}.h5"
                with self.subTest(method=method, memory=f"{kib}KiB"):
                    result = self.slab(2, "regress", *data, "--method", method, "--memory", f"{kib}KiB", "--out", out,
                                       check=False)
                    if result.returncode != 0:
                        outcomes.add("refused")
                        self.assertEqual(result.returncode, 2, result.stderr)
                        lines = error_lines(result.stderr)
                        self.assertEqual(len(lines), 1, result.stderr)
                        self.assertIn("cannot be streamed either", lines[0])
                        self.assertIn("a piece of 256 rows", lines[0])
                        self.assertFalse(os.path.exists(self.path(out)))
                        continue
                    outcomes.add("streamed")
                    with h5py.File(self.path(out)) as f:
                        self.assertEqual(f["regression"].attrs["streamed"], 1)
                        for k, v in expected.items():
                            self.assertEqual(f["regression/" + k][()].tobytes(), v.tobytes(), k)
            self.assertEqual(outcomes, {"refused", "streamed"}, method)


class StreamRefusals(TempDirTest):
    def setUp(self):
        super().setUp()
        X, y = table(4000, 3)
        with h5py.File(self.path("d.h5"), "w") as f:
            f["X"] = X
            f["y"] = y
            f["short"] = y[:10]
            f["names"] = np.array([b"a", b"b"] * 2000)
            f["flags"] = np.ones(4000, dtype=bool)
            f["cube"] = np.ones((4000, 2, 2))
            f.create_group("group")
        np.savez(self.path("d.npz"), X=X, y=y)

    def refuse(self, args, words, code=2, ranks=2):
        result = self.slab(ranks, "regress", *args, "-q", "--out", "r.h5", check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = error_lines(result.stderr)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(words, lines[0])
        self.assertFalse(os.path.exists(self.path("r.h5")))

    def test_every_refusal_is_one_line(self):
        d = ["--data", "d.h5", "--x", "/X"]
        cases = [
            (["--data", "d.h5", "--x", "/missing", "--y", "/y"], "no dataset '/missing'"),
            ([*d, "--y", "/nothing"], "no dataset '/nothing'"),
            ([*d, "--y", "/short"], "/short"),
            ([*d, "--y", "/names"], "holds strings, not numbers"),
            ([*d, "--y", "/flags"], "not numbers"),
            (["--data", "d.h5", "--x", "/cube", "--y", "/y"], "has shape (4000, 2, 2)"),
            (["--data", "d.h5", "--x", "/y", "--y", "/y"], "has shape (4000,)"),
            ([*d, "--y", "/group"], "is a group"),
            ([*d, "--y-column", "3"], "--y-column 3 is out of range"),
            ([*d, "--y", "/y", "--columns", "0,0"], "names column 0 twice"),
            ([*d, "--y-column", "1", "--columns", "1,2"], "which --y-column takes as y"),
            ([*d, "--y", "/y", "--y-column", "1"], "--y and --y-column both name y"),
            (["--data", "d.npz", "--x", "/X"], "select datasets of --data FILE.h5"),
            ([*d, "--y", "/y", "--memory", "12XB"], "--memory"),
            ([*d, "--y", "/y", "--memory", "0"], "--memory"),
            ([*d, "--y", "/y", "--method", "lstsq", "--memory", "64kB"], "--method lstsq (PETSc) needs X in memory"),
            ([*d, "--y", "/y", "--standardize", "--memory", "64kB"], "--standardize needs X in memory"),
            ([*d, "--y", "/y", "--method", "qr", "--memory", "2kB"], "cannot be streamed either"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.refuse(args, words)


    def test_nan_or_infinity_anywhere_is_refused_in_memory_and_streamed(self):
        # The reader checks every piece it reads (the only check of HDF5 data, in memory or
        # streamed): the first value, a float32 infinity in the last row of the last rank, y's middle.
        X, y = table(4000, 3)
        for name, row, col, value in (("x_first", 0, 0, np.nan), ("x_last", 3999, 2, -np.inf),
                                      ("y_middle", 2000, None, np.inf)):
            Xb, yb = X.copy(), y.copy()
            if col is None:
                yb[row] = value
            else:
                Xb[row, col] = value
            with h5py.File(self.path(name + ".h5"), "w") as f:
                f["X"] = Xb.astype(np.float32) if name == "x_last" else Xb
                f["y"] = yb
            which = "y" if col is None else "X"
            for memory in ([], ["--memory", "64kB"]):
                for ranks in (1, 3):
                    with self.subTest(file=name, memory=memory, ranks=ranks):
                        self.refuse(["--data", name + ".h5", "--x", "/X", "--y", "/y", "--method", "qr", *memory],
                                    f"{which} in '{name}.h5' (--data) holds NaN or infinite values", ranks=ranks)


    def test_a_rank_bound_to_one_core_is_warned_that_reads_take_turns_with_arithmetic(self):
        args = ["regress", "--data", "d.h5", "--x", "/X", "--y", "/y", "--method", "qr", "--memory", "100KiB", "-q",
                "--out", "w.h5", "--overwrite"]
        for policy, ranks, warned in (("core", 1, True), ("core", 2, True), ("none", 1, False), ("none", 2, False)):
            with self.subTest(binding=policy, ranks=ranks):
                result = self.slab(ranks, *args, env={"OMPI_MCA_hwloc_base_binding_policy": policy})
                warnings = [line for line in result.stderr.splitlines() if line.startswith("slab: warning:")]
                self.assertEqual(warnings, ["slab: warning: a rank has one core, so its reads of --data take turns "
                                            "with its arithmetic; give each rank two (mpirun --bind-to none or "
                                            "--map-by slot:PE=2, srun --cpus-per-task=2)"] if warned else [],
                                 result.stderr)
        in_memory = self.slab(1, "regress", "--data", "d.h5", "--x", "/X", "--y", "/y", "--method", "qr", "-q",
                              "--out", "m.h5", env={"OMPI_MCA_hwloc_base_binding_policy": "core"})
        self.assertNotIn("slab: warning:", in_memory.stderr)  # nothing to overlap

    def test_a_file_written_to_while_it_is_streamed_is_refused(self):
        # Truncated under a running streamed gd, the file's rows past its new end would read as
        # zeros: the pass that read them ends the run (exit 2, one line, no output).
        rng = np.random.default_rng(1)
        X = rng.standard_normal((30000, 3))
        with h5py.File(self.path("m.h5"), "w") as f:
            f["X"] = X
            f["y"] = X.sum(axis=1) + 0.1 * rng.standard_normal(30000)
        process = subprocess.Popen(
            [MPIEXEC, "-n", "2", SLAB, "regress", "--data", "m.h5", "--x", "/X", "--y", "/y", "--method", "gd",
             "--lr", "0.001", "--iters", "20000", "--tol", "0", "--memory", "600KiB", "--out", "r.h5"],
            cwd=self.dir, env=dict(os.environ, **MPI_ENV), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in process.stderr:  # the first progress line after the start: a tenth of the iterations
            lines.append(line)
            if line.startswith("iteration ") and not line.startswith("iteration 2/"):
                break
        self.assertIsNone(process.poll(), "the run ended before the file could be changed:\n" + "".join(lines))
        os.truncate(self.path("m.h5"), os.path.getsize(self.path("m.h5")) // 2)
        _, rest = process.communicate(timeout=TIMEOUT)
        stderr = "".join(lines) + rest
        self.assertEqual(process.returncode, 2, stderr)
        self.assertEqual(error_lines(stderr), ["slab: error: 'm.h5' (--data) changed while slab read it (another "
                                               "process wrote to it); run again on a file nothing writes to"])
        self.assertEqual([name for name in os.listdir(self.dir) if name.startswith("r.h5")], [])


class PlanStops(TempDirTest):
    def test_regress_plan_computes_and_writes_nothing(self):
        for method in ("qr", "gd", "normal"):
            result = self.slab(2, "regress", "--rows", "5000", "--cols", "10", "--method", method, "--out", "p.h5",
                               "--plan")
            self.assertIn("memory on the busiest rank", result.stdout)
            self.assertNotIn("slab regress:", result.stderr)
            self.assertEqual(os.listdir(self.dir), [])

    def test_wide_qr_is_refused_before_allocating(self):
        result = self.slab(1, "regress", "--rows", "5000", "--cols", "100000", "--method", "qr", "-q", "--out",
                           "w.h5", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("TSQR's (D+2)^2 triangles", error_lines(result.stderr)[0])
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    unittest.main()
