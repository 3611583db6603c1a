"""I/O for parallel file systems, end to end: datasets aligned to a stripe (--align), MPI-IO hints
from the command line and the site (--io-hint, SLAB_IO_HINTS) reaching the file's MPI-IO layer, and
/provenance saying where the run ran and with which settings (docs/parallel-io.md)."""
import os
import socket
import unittest

import h5py
import numpy as np

from slabrun import TempDirTest, error_lines

MiB = 1 << 20
# u is 9 x 40000 doubles (2.7 MiB), over the 1 MiB threshold; x (312 KiB) and t are under it.
HEAT = ["heat", "--nx", "40000", "--steps", "8", "--snapshots", "9", "-q"]


def provenance(path):
    with h5py.File(path) as f:
        return dict(f["provenance"].attrs)


def offset(path, dataset):
    """Where a contiguous dataset's data starts in the file (h5py's low-level get_offset)."""
    with h5py.File(path) as f:
        return f[dataset].id.get_offset()


def hints(text):
    """"k=v;k=v" as a dict."""
    return dict(entry.split("=", 1) for entry in text.split(";") if entry)


class Alignment(TempDirTest):
    def test_large_datasets_start_on_a_mib_by_default_in_both_io_modes(self):
        for mode in ("parallel", "gather"):
            out = f"{mode}.h5"
            self.slab(2, *HEAT, "--io", mode, "--out", out)
            self.assertEqual(offset(self.path(out), "heat/u") % MiB, 0, mode)
            record = provenance(self.path(out))
            self.assertEqual((record["io_alignment"], record["io_alignment_threshold"]), (MiB, MiB))

    def test_align_takes_a_size_with_units_and_0_or_1_turn_it_off(self):
        for given, expected in (("64KiB", 64 << 10), ("4M", 4 * MiB), ("131072", 128 << 10)):
            out = f"a{expected}.h5"
            self.slab(2, *HEAT, "--align", given, "--out", out)
            self.assertEqual(offset(self.path(out), "heat/u") % expected, 0, given)
            self.assertEqual(provenance(self.path(out))["io_alignment"], expected)
        for given in ("0", "1"):
            out = f"none{given}.h5"
            self.slab(2, *HEAT, "--align", given, "--out", out)
            # Unaligned, u follows x and the metadata closely: well inside the first MiB.
            self.assertLess(offset(self.path(out), "heat/u"), MiB)
            self.assertEqual(provenance(self.path(out))["io_alignment"], 0)

    def test_alignment_changes_where_data_lies_not_its_bits(self):
        self.slab(3, *HEAT, "--out", "default.h5")
        self.slab(2, *HEAT, "--align", "4MiB", "--out", "wide.h5")
        self.slab(1, *HEAT, "--align", "0", "--out", "packed.h5")
        with h5py.File(self.path("default.h5")) as a, h5py.File(self.path("wide.h5")) as b, \
                h5py.File(self.path("packed.h5")) as c:
            for name in ("heat/x", "heat/t", "heat/u"):
                np.testing.assert_array_equal(a[name][()], b[name][()])
                np.testing.assert_array_equal(a[name][()], c[name][()])

    def test_a_size_that_is_not_one_is_refused(self):
        for bad in ("4MB", "-1", "1.5M", "M", "99999999999T"):
            result = self.slab(2, *HEAT, "--align", bad, "--out", "bad.h5", check=False)
            self.assertEqual(result.returncode, 2, bad)
            lines = error_lines(result.stderr)
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn("--align", lines[0])
            self.assertFalse(os.path.exists(self.path("bad.h5")))


class IoHints(TempDirTest):
    def test_hints_from_the_site_and_the_command_line_reach_the_file(self):
        site = {"SLAB_IO_HINTS": " cb_buffer_size=1048576 ; romio_cb_write=enable;"}
        self.slab(2, *HEAT, "--io-hint", "cb_buffer_size=8388608", "--io-hint", "cb_nodes=1",
                  "--out", "h.h5", env=site)
        record = provenance(self.path("h.h5"))
        # The command line wins over the environment, key by key; the order is the environment's, then new keys.
        self.assertEqual(record["io_hints"], "cb_buffer_size=8388608;romio_cb_write=enable;cb_nodes=1")
        reported = hints(record["mpi_io_info"])
        self.assertEqual(reported.get("cb_buffer_size"), "8388608", record["mpi_io_info"])
        self.assertEqual(reported.get("romio_cb_write"), "enable", record["mpi_io_info"])

    def test_romio_reports_the_hints_too(self):
        # Open MPI's other MPI-IO layer, the one that honours Lustre striping hints (docs/parallel-io.md).
        self.slab(3, *HEAT, "--io-hint", "cb_buffer_size=4194304", "--io-hint", "romio_cb_write=enable",
                  "--out", "romio.h5", env={"OMPI_MCA_io": "romio321"})
        reported = hints(provenance(self.path("romio.h5"))["mpi_io_info"])
        self.assertEqual((reported.get("cb_buffer_size"), reported.get("romio_cb_write")), ("4194304", "enable"))
        with h5py.File(self.path("romio.h5")) as f:
            self.assertEqual(f["heat/u"].shape, (9, 40000))

    def test_without_hints_nothing_is_asked_for(self):
        self.slab(2, *HEAT, "--out", "plain.h5", env={"SLAB_IO_HINTS": ""})
        self.assertEqual(provenance(self.path("plain.h5"))["io_hints"], "")
        self.slab(2, *HEAT, "--io", "gather", "--out", "gather.h5", env={"SLAB_IO_HINTS": "cb_nodes=1"})
        record = provenance(self.path("gather.h5"))
        self.assertEqual((record["io_hints"], record["mpi_io_info"]), ("cb_nodes=1", ""))  # no MPI-IO file

    def test_malformed_hints_are_refused_with_one_line(self):
        key36, value256 = "k" * 36, "v" * 256
        cases = [(["--io-hint", "cb_buffer_size"], {}, "no '='"),
                 (["--io-hint", "=4"], {}, "key is empty"),
                 (["--io-hint", "cb_nodes="], {}, "value is empty"),
                 (["--io-hint", key36 + "=1"], {}, "at most 35"),
                 (["--io-hint", "a=" + value256], {}, "at most 255"),
                 ([], {"SLAB_IO_HINTS": "cb_nodes=2;striping"}, "SLAB_IO_HINTS 'striping'")]
        for args, env, words in cases:
            result = self.slab(2, *HEAT, *args, "--out", "bad.h5", env=env, check=False)
            self.assertEqual(result.returncode, 2, (args, env))
            lines = error_lines(result.stderr)
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn(words, lines[0])
            self.assertFalse(os.path.exists(self.path("bad.h5")))

    def test_help_lists_the_options(self):
        text = self.slab(1, "heat", "--help").stdout
        self.assertIn("--align SIZE", text)
        self.assertIn("--io-hint KEY=VALUE", text)
        self.assertIn("SLAB_IO_HINTS", text)


class Hosts(TempDirTest):
    def test_a_one_node_run_records_this_host_with_all_its_ranks(self):
        for ranks in (1, 3):
            out = f"h{ranks}.h5"
            self.slab(ranks, *HEAT, "--out", out)
            record = provenance(self.path(out))
            expected = socket.gethostname() + (":0" if ranks == 1 else f":0-{ranks - 1}")
            self.assertEqual((record["hosts"], record["nnodes"]), (expected, 1))

    def test_regression_outputs_record_them_too(self):
        self.slab(2, "regress", "--rows", "200", "--cols", "2", "--method", "qr", "-q", "--out", "r.h5")
        self.assertEqual(provenance(self.path("r.h5"))["hosts"], socket.gethostname() + ":0-1")


if __name__ == "__main__":
    unittest.main()
