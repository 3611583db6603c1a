"""slab's output, loaded by the tools analysts reach for after h5py: xarray (netcdf4 and h5netcdf
engines), netCDF4, ncdump, pandas, pint, udunits2, h5diff, and jobs/plot.py. Outputs of 1, 2 and 3
ranks, gather and parallel, contiguous and extendible."""
import json
import os
import subprocess
import unittest

import h5py
import netCDF4
import numpy as np
import pandas as pd
import pint
import xarray as xr

from slabrun import TempDirTest

HEAT = ["heat", "--nx", "41", "--t-end", "0.02", "--snapshots", "5", "-q"]
REGRESS = ["regress", "--rows", "300", "--cols", "3", "--iters", "400", "-q"]
ENGINES = ("netcdf4", "h5netcdf")
# (ranks, --io, --layout): every rank count, mode and layout at least once.
CASES = [(ranks, io, layout) for ranks in (1, 2, 3) for io in ("parallel", "gather")
         for layout in ("contiguous", "extendible")]
UNITS = pint.UnitRegistry()


def layout_args(layout):
    return ["--layout", layout] + (["--compress", "4"] if layout == "extendible" else [])


def ncdump_header(path):
    return subprocess.run(["ncdump", "-h", path], capture_output=True, text=True, check=True).stdout


class HeatInXarray(TempDirTest):
    def test_u_of_t_and_x_with_coordinates_in_both_engines(self):
        for ranks, io, layout in CASES:
            out = f"heat-{ranks}-{io}-{layout}.h5"
            self.slab(ranks, *HEAT, "--io", io, *layout_args(layout), "--out", out)
            with h5py.File(self.path(out)) as f:
                x, t, u = f["heat/x"][()], f["heat/t"][()], f["heat/u"][()]
            for engine in ENGINES:
                with self.subTest(ranks=ranks, io=io, layout=layout, engine=engine):
                    with xr.open_dataset(self.path(out), group="heat", engine=engine) as ds:
                        self.assertEqual(ds["u"].dims, ("t", "x"))
                        self.assertEqual(set(ds.coords), {"t", "x"})
                        np.testing.assert_array_equal(ds["x"].values, x)
                        np.testing.assert_array_equal(ds["t"].values, t)
                        np.testing.assert_array_equal(ds["u"].values, u)
                        # Selection by coordinate: the point nearest x = 0.5 over time.
                        np.testing.assert_array_equal(ds["u"].sel(x=0.5, method="nearest").values, u[:, 20])
            header = ncdump_header(self.path(out))
            self.assertIn("x = 41 ;", header)
            self.assertRegex(header, r"t = (5|UNLIMITED ; // \(5 currently\))")
            self.assertIn("double u(t, x) ;", header)
            self.assertNotIn("phony_dim", header)

    def test_netcdf4_sees_named_dimensions_and_extendible_chunks_tile_both_axes(self):
        big = ["heat", "--nx", "100001", "--steps", "10", "--snapshots", "11", "-q"]
        self.slab(3, *big, "--layout", "extendible", "--compress", "1", "--out", "big.h5")
        self.slab(2, *big, "--out", "reference.h5")
        with netCDF4.Dataset(self.path("big.h5")) as nc:
            heat = nc.groups["heat"]
            self.assertEqual(heat.variables["u"].dimensions, ("t", "x"))
            self.assertEqual(len(heat.dimensions["x"]), 100001)
            self.assertTrue(heat.dimensions["t"].isunlimited())
            chunk = heat.variables["u"].chunking()
        # About 1 MiB, more than one snapshot deep and less than a snapshot wide: both a point's
        # time series and a snapshot read a few chunks.
        self.assertGreater(chunk[0], 1)
        self.assertLess(chunk[1], 100001)
        self.assertTrue(2**19 <= 8 * chunk[0] * chunk[1] <= 2**20, chunk)
        with h5py.File(self.path("big.h5")) as f, h5py.File(self.path("reference.h5")) as reference:
            self.assertTrue(f["heat/u"].shuffle)
            self.assertEqual(f["heat/u"].compression, "gzip")
            # Records held back until a row of chunks is complete (11 is not a multiple of the chunk's
            # depth: the last row is written on commit) arrive whole.
            np.testing.assert_array_equal(f["heat/u"][()], reference["heat/u"][()])


class RegressionInXarray(TempDirTest):
    def test_named_dimensions_no_unrelated_product_and_a_loss_history(self):
        for ranks, io, layout in [(1, "parallel", "contiguous"), (2, "gather", "extendible"),
                                  (3, "parallel", "extendible"), (3, "gather", "contiguous")]:
            out = f"reg-{ranks}-{io}-{layout}.h5"
            self.slab(ranks, *REGRESS, "--io", io, *layout_args(layout), "--out", out)
            with h5py.File(self.path(out)) as f:
                X, w, loss = f["regression/X"][()], f["regression/w"][()], f["regression/history/loss"][()]
            for engine in ENGINES:
                with self.subTest(ranks=ranks, io=io, layout=layout, engine=engine):
                    with xr.open_dataset(self.path(out), group="regression", engine=engine) as ds:
                        self.assertEqual(ds["X"].dims, ("sample", "feature"))
                        self.assertEqual(ds["y"].dims, ("sample",))
                        self.assertEqual(ds["w"].dims, ("feature",))
                        self.assertEqual(ds["b"].dims, ())
                        self.assertEqual(dict(ds.sizes), {"sample": 300, "feature": 3})
                        np.testing.assert_array_equal(ds["X"].values, X)
                        np.testing.assert_array_equal(ds["w"].values, w)
                        # One row per (sample, feature): the long form of X, nothing more.
                        self.assertEqual(ds.to_dataframe().shape[0], 300 * 3)
                    with xr.open_dataset(self.path(out), group="regression/history", engine=engine) as history:
                        self.assertEqual(history["loss"].dims, ("iteration",))
                        np.testing.assert_array_equal(history["iteration"].values, np.arange(loss.size))
                        np.testing.assert_array_equal(history["loss"].values, loss)
            header = ncdump_header(self.path(out))
            self.assertIn("double X(sample, feature) ;", header)
            self.assertNotIn("phony_dim", header)


class ProvenanceAndH5diff(TempDirTest):
    def h5diff(self, *args):
        return subprocess.run(["h5diff", *args], capture_output=True, text=True, cwd=self.dir)

    def test_gather_and_parallel_runs_compare_equal_apart_from_provenance(self):
        for command, extra in ((HEAT, ["--layout", "extendible"]), (REGRESS, [])):
            self.slab(2, *command, *extra, "--out", "parallel.h5", "--overwrite")
            self.slab(3, *command, *extra, "--io", "gather", "--out", "gather.h5", "--overwrite")
            # The command of docs/outputs.md ("Comparing two runs").
            self.assertEqual(self.h5diff("--exclude-path", "/provenance", "parallel.h5", "gather.h5").returncode, 0,
                             command[0])
            self.assertEqual(self.h5diff("parallel.h5", "gather.h5").returncode, 1)  # nranks, io_mode differ
            with h5py.File(self.path("gather.h5")) as f:
                record = f["provenance"].attrs
                self.assertEqual((record["nranks"], record["io_mode"]), (3, "gather"))
                for key in ("slab_version", "git_commit", "command_line", "start_time", "wall_time_total"):
                    self.assertIn(key, record)
        self.slab(2, *HEAT, "--alpha", "0.5", "--out", "other.h5")
        self.slab(2, *HEAT, "--out", "heat.h5")
        different = self.h5diff("--exclude-path", "/provenance", "heat.h5", "other.h5")
        self.assertEqual(different.returncode, 1)
        self.assertIn("alpha", different.stdout)


    def test_dimensions_without_a_coordinate_variable_hold_zeros_at_every_rank_count(self):
        # netCDF-4's placeholder datasets (regression's sample, feature, statistics/coefficient):
        # zeros, as h5netcdf leaves them, not whatever bytes parallel HDF5 wrote where they lie.
        X = np.random.default_rng(1).standard_normal((2999, 3))
        with h5py.File(self.path("table.h5"), "w") as f:
            f["X"], f["y"] = X, X.sum(axis=1)
        streamed = ["regress", "--data", "table.h5", "--x", "/X", "--y", "/y", "--method", "qr", "--memory", "100KiB",
                    "-q"]
        for ranks, command, io in ((1, REGRESS, "parallel"), (3, REGRESS, "parallel"), (4, REGRESS, "gather"),
                                   (3, streamed, "parallel"), (4, streamed, "parallel")):
            out = f"r{ranks}{io}{command[1]}.h5"
            self.slab(ranks, *command, "--io", io, "--out", out)
            placeholders = {}
            with h5py.File(self.path(out)) as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and b"not a netCDF variable" in bytes(obj.attrs.get("NAME", b"")):
                        placeholders[name] = np.count_nonzero(obj[()])
                f.visititems(visit)
            self.assertIn("regression/feature", placeholders, out)
            self.assertEqual(set(placeholders.values()), {0}, f"{out}: non-zero values in {placeholders}")


class UnitsAndNames(TempDirTest):
    def check_units(self, path):
        """Every variable of every group has a long_name and units that pint and UDUNITS parse."""
        seen = {}
        with h5py.File(self.path(path)) as f:
            def visit(name, item):
                if isinstance(item, h5py.Dataset) and "NAME" not in item.attrs or name in ("heat/x", "heat/t"):
                    self.assertIn("long_name", item.attrs, name)
                    seen[name] = item.attrs["units"]
            f.visititems(visit)
        for name, units in seen.items():
            UNITS.Unit(units)  # raises when pint cannot parse it
            udunits = subprocess.run(["udunits2", "-H", units, "-W", ""], capture_output=True, text=True,
                                     stdin=subprocess.DEVNULL)
            self.assertEqual(udunits.returncode, 0, f"{name}: udunits2 cannot parse {units!r}: {udunits.stderr}")
        return seen

    def test_default_units_are_non_dimensional_and_si_is_stated(self):
        self.slab(2, *HEAT, "--out", "plain.h5")
        self.assertEqual(set(self.check_units("plain.h5").values()), {"1"})
        self.slab(2, *HEAT, "--units", "si", "--length", "0.1", "--alpha", "1e-4", "--u-units", "K", "--out", "si.h5")
        units = self.check_units("si.h5")
        self.assertEqual((units["heat/x"], units["heat/t"], units["heat/u"]), ("m", "s", "K"))
        with h5py.File(self.path("si.h5")) as f:
            a = f["heat"].attrs
            self.assertEqual(UNITS.Unit(a["alpha_units"]), UNITS.Unit("m**2/s"))
            self.assertEqual((a["length_units"], a["time_units"], a["unit_system"]), ("m", "s", "si"))
            self.assertEqual(f["heat/x"][-1], 0.1)
        with xr.open_dataset(self.path("si.h5"), group="heat", engine="h5netcdf") as ds:
            self.assertEqual(ds["x"].attrs["units"], "m")
            self.assertEqual(ds["t"].dtype, np.float64)  # "s" is not a time-since-epoch: no datetime decoding
        self.slab(2, *REGRESS, "--out", "reg.h5")
        self.assertEqual(set(self.check_units("reg.h5").values()), {"1"})


class ArchivesInPandas(TempDirTest):
    def test_csv_npz_and_json_carry_names_shapes_and_every_attribute(self):
        self.slab(2, *HEAT, "--out", "heat.h5")
        self.slab(3, *HEAT, "--out", "heat.csv")
        self.slab(2, *HEAT, "--out", "heat.npz")
        self.slab(1, *HEAT, "--out", "heat.json")
        self.slab(2, *REGRESS, "--out", "reg.csv")
        with h5py.File(self.path("heat.h5")) as f:
            reference = {name: f["heat/" + name][()] for name in ("x", "t", "u")}
            parameters = dict(f["heat"].attrs)
        with open(self.path("heat/attributes.json")) as handle:
            meta = json.load(handle)
        u = pd.read_csv(self.path("heat/heat_u.csv"))
        self.assertEqual(u.shape, tuple(meta["heat/u"]["shape"]))
        self.assertEqual(list(u.columns[:2]), ["u[0]", "u[1]"])
        self.assertTrue(all(dtype == np.float64 for dtype in u.dtypes))
        # pandas' default parser (xstrtod) is not correctly rounded: off by a few ulps (measured up to 6);
        # its round-trip parser gives the bits back.
        np.testing.assert_allclose(u.to_numpy(), reference["u"], rtol=16 * np.finfo(float).eps, atol=0)
        exact = pd.read_csv(self.path("heat/heat_u.csv"), float_precision="round_trip")
        np.testing.assert_array_equal(exact.to_numpy(), reference["u"])
        self.assertEqual(meta["heat/u"]["dims"], ["t", "x"])
        x = pd.read_csv(self.path("heat/heat_x.csv"), float_precision="round_trip")
        self.assertEqual(list(x.columns), ["x"])
        np.testing.assert_array_equal(x["x"].to_numpy(), reference["x"])
        X = pd.read_csv(self.path("reg/regression_X.csv"))
        self.assertEqual((X.shape, list(X.columns)), ((300, 3), ["X[0]", "X[1]", "X[2]"]))
        b = pd.read_csv(self.path("reg/regression_b.csv"))
        self.assertEqual((b.shape, list(b.columns)), ((1, 1), ["b"]))

        with np.load(self.path("heat.npz"), allow_pickle=False) as z:
            doc = json.loads(str(z["attributes"]))
            np.testing.assert_array_equal(z["heat/u"], reference["u"])
        with open(self.path("heat.json")) as handle:
            whole = json.load(handle)
        for metadata in (doc, meta, whole):
            self.assertEqual(metadata["heat/u"]["dims"], ["t", "x"])
            self.assertEqual(metadata["attributes"]["heat"]["scheme"], parameters["scheme"])
            self.assertEqual(set(metadata["attributes"]["heat"]), set(parameters))
            self.assertIn("command_line", metadata["attributes"]["provenance"])
        self.assertEqual(doc["attributes"]["heat/u"]["units"], "1")


class PlotScript(TempDirTest):
    PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "jobs", "plot.py")

    def plot(self, *outputs):
        result = subprocess.run(["/usr/bin/python3", self.PLOT, *outputs], capture_output=True, text=True,
                                cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_every_format_plots_and_direct_methods_show_residuals(self):
        for out in ("h.h5", "h.npz", "h.json", "h.csv"):
            self.slab(2, *HEAT, "--out", out)
            stem = out.rsplit(".", 1)[0]
            self.plot(out)
            for suffix in ("_profiles.png", "_spacetime.png"):
                self.assertTrue(os.path.exists(self.path(stem + suffix)), out)
            for name in os.listdir(self.dir):
                if name.endswith(".png"):
                    os.remove(self.path(name))
        for out in ("gd.h5", "gd.npz"):
            self.slab(2, *REGRESS, "--out", out)
            self.assertIn("gd_loss.png", self.plot(out))
        self.slab(2, *REGRESS, "--method", "normal", "--out", "normal.json")
        written = self.plot("normal.json")
        self.assertIn("normal_residuals.png", written)
        self.assertNotIn("loss", written)  # one value is no history: no empty loss plot
        self.assertIn("normal_weights.png", written)


if __name__ == "__main__":
    unittest.main()
