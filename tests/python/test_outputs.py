"""slab's output, loaded the way its users load it: h5py and NumPy (Debian's), no reshaping."""
import json
import os
import subprocess
import unittest

import h5py
import numpy as np

from slabrun import TempDirTest

HEAT = ["heat", "--nx", "41", "--t-end", "0.02", "--snapshots", "5", "-q"]
REGRESS = ["regress", "--rows", "500", "--cols", "3", "--iters", "3000", "--tol", "0", "-q"]


class HeatOutput(TempDirTest):
    def test_layout_values_and_attributes_at_1_2_3_ranks(self):
        results = {}
        for ranks in (1, 2, 3):
            out = f"heat{ranks}.h5"
            self.slab(ranks, *HEAT, "--out", out)
            with h5py.File(self.path(out)) as f:
                u = np.asarray(f["heat/u"])
                x, t = f["heat/x"][()], f["heat/t"][()]
                attrs = dict(f["heat"].attrs)
                provenance = dict(f["provenance"].attrs)
                self.assertEqual(f.attrs["complete"], 1)
            self.assertEqual(u.shape, (5, 41))
            self.assertEqual(u.dtype, np.dtype("<f8"))
            np.testing.assert_array_equal(x, np.arange(41) * (1.0 / 40))
            self.assertEqual(t[0], 0.0)
            self.assertEqual(t[-1], 0.02)
            self.assertEqual(provenance["nranks"], ranks)
            self.assertEqual(attrs["scheme"], "explicit")
            self.assertEqual(attrs["nx"], 41)
            self.assertIn("heat --nx 41", provenance["command_line"])
            self.assertNotIn("nranks", attrs)  # parameters apart from provenance
            # u(x, t) = exp(-pi^2 t) sin(pi x); FTCS error O(dx^2).
            exact = np.exp(-np.pi**2 * t[:, None]) * np.sin(np.pi * x[None, :])
            self.assertLess(np.max(np.abs(u - exact)), 1e-3)
            self.assertAlmostEqual(attrs["max_error_vs_exact"], np.max(np.abs(u[-1] - exact[-1])), delta=1e-15)
            results[ranks] = u
        # The explicit scheme is bitwise identical for any rank count.
        np.testing.assert_array_equal(results[1], results[2])
        np.testing.assert_array_equal(results[1], results[3])

    def test_gather_mode_and_every_export_hold_the_same_values(self):
        self.slab(3, *HEAT, "--out", "p.h5")
        self.slab(3, *HEAT, "--out", "g.h5", "--io", "gather")
        self.slab(2, *HEAT, "--out", "run.npz")
        self.slab(2, *HEAT, "--out", "run.json")
        self.slab(2, *HEAT, "--out", "run.csv")
        with h5py.File(self.path("p.h5")) as p, h5py.File(self.path("g.h5")) as g:
            self.assertEqual(sorted(p["heat"].keys()), sorted(g["heat"].keys()))
            reference = {name: p["heat/" + name][()] for name in ("x", "t", "u")}
            for name in reference:
                np.testing.assert_array_equal(g["heat/" + name][()], reference[name])
            self.assertEqual(g["provenance"].attrs["io_mode"], "gather")
        npz = np.load(self.path("run.npz"), allow_pickle=False)
        self.assertEqual(json.loads(str(npz["attributes"]))["attributes"]["heat"]["nx"], 41)
        with open(self.path("run.json")) as handle:
            doc = json.load(handle)
        for name, value in reference.items():
            np.testing.assert_array_equal(npz["heat/" + name], value)
            entry = doc["heat/" + name]
            np.testing.assert_array_equal(np.array(entry["data"]).reshape(entry["shape"]), value)
            csv = self.path(f"run/heat_{name}.csv")
            with open(self.path("run/attributes.json")) as handle:
                shape = json.load(handle)["heat/" + name]["shape"]
            np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2).reshape(shape), value)
        self.assertEqual(doc["attributes"]["heat"]["nx"], 41)

    def test_extendible_compressed_layout_matches_the_contiguous_one(self):
        self.slab(2, *HEAT, "--out", "c.h5")
        self.slab(2, *HEAT, "--out", "e.h5", "--layout", "extendible", "--compress", "4")
        with h5py.File(self.path("c.h5")) as c, h5py.File(self.path("e.h5")) as e:
            self.assertEqual(e["heat/u"].maxshape, (None, 41))
            # 5 x 41 doubles fit in one chunk of about 1 MiB; shuffle before deflate.
            self.assertEqual(e["heat/u"].chunks, (5, 41))
            self.assertEqual(e["heat/u"].compression, "gzip")
            self.assertTrue(e["heat/u"].shuffle)
            np.testing.assert_array_equal(e["heat/u"][()], c["heat/u"][()])

    def test_implicit_schemes_and_initial_condition_from_a_file(self):
        x = np.linspace(0, 1, 41)
        with h5py.File(self.path("init.h5"), "w") as f:
            f["u0"] = np.sin(np.pi * x) + 0.5 * np.sin(3 * np.pi * x)
        for scheme in ("implicit", "crank-nicolson"):
            self.slab(3, *HEAT, "--scheme", scheme, "--init", "init.h5:/u0", "--out", f"{scheme}.h5")
            with h5py.File(self.path(f"{scheme}.h5")) as f:
                u, t = f["heat/u"][()], f["heat/t"][()]
            exact = (np.exp(-np.pi**2 * t[:, None]) * np.sin(np.pi * x)
                     + 0.5 * np.exp(-9 * np.pi**2 * t[:, None]) * np.sin(3 * np.pi * x))
            self.assertLess(np.max(np.abs(u - exact)), 5e-3, scheme)

    def test_h5dump_shows_the_documented_layout(self):
        self.slab(2, *HEAT, "--out", "d.h5")
        header = subprocess.run(["h5dump", "-H", self.path("d.h5")], capture_output=True, text=True,
                                check=True).stdout
        for text in ('GROUP "heat"', 'DATASET "u"', "H5T_IEEE_F64LE", "DATASPACE  SIMPLE { ( 5, 41 ) / ( 5, 41 ) }",
                     'ATTRIBUTE "alpha"', 'ATTRIBUTE "complete"'):
            self.assertIn(text, header)


def implicit_reference(u0, steps, r, scheme, bc, left, right):
    """Steps u0 by backward Euler or Crank-Nicolson the textbook way: B u by NumPy slicing, then
    SciPy's banded solver (LAPACK gbsv) or, periodic, its circulant solver."""
    import scipy.linalg
    theta = 0.5 if scheme == "crank-nicolson" else 1.0
    n = len(u0)
    if bc == "periodic" and n == 2:
        bc = "neumann"  # both neighbours of a node are the other node

    def laplacian(u):
        if bc == "periodic":
            return np.roll(u, 1) - 2 * u + np.roll(u, -1)
        lu = np.empty_like(u)
        lu[1:-1] = u[:-2] - 2 * u[1:-1] + u[2:]
        lu[0], lu[-1] = (2 * u[1] - 2 * u[0], 2 * u[-2] - 2 * u[-1]) if bc == "neumann" else (0, 0)
        return lu

    ab = np.zeros((3, n))
    ab[0, 1:], ab[1, :], ab[2, :-1] = -theta * r, 1 + 2 * theta * r, -theta * r
    if bc == "neumann":
        ab[0, 1], ab[2, n - 2] = -2 * theta * r, -2 * theta * r
    if bc == "dirichlet":
        ab[0, 1], ab[1, 0], ab[1, -1], ab[2, n - 2] = 0, 1, 1, 0
    column = np.zeros(n)
    column[0], column[1], column[-1] = 1 + 2 * theta * r, -theta * r, -theta * r
    u = np.array(u0, dtype=float)
    for _ in range(steps):
        b = u + (1 - theta) * r * laplacian(u)
        if bc == "dirichlet":
            b[0], b[-1] = left, right
        u = scipy.linalg.solve_circulant(column, b) if bc == "periodic" else scipy.linalg.solve_banded((1, 1), ab, b)
    return u


class ImplicitReference(TempDirTest):
    """The direct solver's result at 1-4 ranks against NumPy/SciPy stepping the same scheme: the
    same bits at every rank count, and the reference to 1e-12 of max |u| (both solves are backward
    stable; the matrices' condition number is below 1 + 4R = 41)."""

    def test_every_scheme_and_boundary_matches_scipy_at_1_to_4_ranks(self):
        for scheme in ("implicit", "crank-nicolson"):
            for bc in ("dirichlet", "neumann", "periodic"):
                for nx, rank_counts in ((2, (3,)), (5, (4,)), (9001, (1, 2, 3, 4))):
                    self.check(scheme, bc, nx, rank_counts)

    def check(self, scheme, bc, nx, rank_counts):
        args = ["heat", "--nx", nx, "--steps", 20, "--cfl", 10, "--scheme", scheme, "--bc", bc, "--init", "gaussian",
                "--left", 1.5, "--right", -0.5, "--snapshots", 3, "-q", "--overwrite"]
        results = []
        for ranks in rank_counts:
            self.slab(ranks, *args, "--out", "run.h5")
            with h5py.File(self.path("run.h5")) as f:
                results.append(f["heat/u"][()])
                r = f["heat"].attrs["cfl"]
        u = results[0]
        for other in results[1:]:
            np.testing.assert_array_equal(other, u, err_msg=f"{scheme} {bc} nx={nx}")
        for k, steps in ((1, 10), (2, 10)):
            expected = implicit_reference(u[k - 1], steps, r, scheme, bc, 1.5, -0.5)
            scale = np.max(np.abs(expected))
            np.testing.assert_allclose(u[k], expected, rtol=0, atol=1e-12 * scale,
                                       err_msg=f"{scheme} {bc} nx={nx} snapshot {k}")


class RegressionOutput(TempDirTest):
    def test_fit_matches_numpy_lstsq_and_is_identical_across_ranks(self):
        fits = {}
        for ranks in (1, 2, 3):
            self.slab(ranks, *REGRESS, "--out", f"r{ranks}.h5")
            with h5py.File(self.path(f"r{ranks}.h5")) as f:
                r = f["regression"]
                X, y, w, b = r["X"][()], r["y"][()], r["w"][()], r["b"][()]
                self.assertEqual(X.shape, (500, 3))
                self.assertEqual(y.shape, (500,))
                self.assertEqual(r["b"].shape, ())
                # One loss per step taken, plus the final one when the run stopped on --tol.
                self.assertEqual(len(r["history/loss"]), r.attrs["iterations"] + int(r.attrs["converged"]))
                self.assertEqual(f["provenance"].attrs["nranks"], ranks)
                w_true = r["w_true"][()]
            z = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
            np.testing.assert_allclose(np.r_[w, b], z, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(w, w_true, atol=0.01)
            fits[ranks] = (X, y, w, b)
        for ranks in (2, 3):
            for a, b in zip(fits[1], fits[ranks]):
                np.testing.assert_array_equal(a, b)

    def test_methods_agree_and_data_files_give_the_same_fit(self):
        self.slab(2, *REGRESS, "--out", "gd.h5")
        self.slab(2, *REGRESS, "--method", "normal", "--out", "normal.h5")
        self.slab(3, *REGRESS, "--method", "lstsq", "--out", "lstsq.h5")
        with h5py.File(self.path("gd.h5")) as f:
            X, y = f["regression/X"][()], f["regression/y"][()]
            reference = np.r_[f["regression/w"][()], f["regression/b"][()]]
        for name in ("normal", "lstsq"):
            with h5py.File(self.path(f"{name}.h5")) as f:
                np.testing.assert_allclose(np.r_[f["regression/w"][()], f["regression/b"][()]], reference, rtol=1e-8)
        # The same data read back from .h5 (in parallel), .npz and .csv gives the same fit, to the bit.
        np.savez(self.path("data.npz"), X=X, y=y)
        np.savetxt(self.path("data.csv"), np.c_[X, y], delimiter=",", fmt="%.17g")
        for data in ("gd.h5", "data.npz", "data.csv"):
            out = "from-" + data.replace(".", "-") + ".h5"
            self.slab(3, *REGRESS, "--data", data, "--out", out)
            with h5py.File(self.path(out)) as f:
                np.testing.assert_array_equal(np.r_[f["regression/w"][()], f["regression/b"][()]], reference)
                self.assertNotIn("w_true", f["regression"])

    def test_no_data_flag_skips_x_and_y(self):
        self.slab(2, *REGRESS, "--no-data", "--out", "small.h5")
        with h5py.File(self.path("small.h5")) as f:
            self.assertNotIn("X", f["regression"])
            self.assertIn("w", f["regression"])


if __name__ == "__main__":
    unittest.main()
