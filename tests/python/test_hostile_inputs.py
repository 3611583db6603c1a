"""Hostile inputs at 2 ranks (label `hostile`): numbers out of range, sizes that cannot be
allocated, files of the wrong kind, CSV/.npz/HDF5/TOML variants and solver failures. Each refusal
is held to the contract of hostile.py (exit code, one error line, no banner, nothing new, nothing
changed); the variants a format allows are checked to give the right fit.
"""
import os
import struct
import unittest

import h5py
import numpy as np

from hostile import HostileTest
from slabrun import run

SMALL_HEAT = ["heat", "--nx", "21", "--steps", "4", "-q"]
SMALL_REGRESS = ["regress", "--rows", "200", "--cols", "2", "--iters", "5", "-q"]
# y = 2 x0 - 3 x1 + 0.5 exactly, at rows no two of which are collinear.
X3 = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 5.0], [3.0, -1.0], [-4.0, 2.5], [1.5, 1.5]])
Y3 = X3 @ [2.0, -3.0] + 0.5


def write(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def csv_text(newline="\n", plus=False):
    def number(v):
        return ("+" if plus and v >= 0 else "") + repr(float(v))
    return newline.join(",".join(map(number, (a, b, c))) for (a, b), c in zip(X3, Y3)) + newline


def quote_fields(text):
    """Every field of a CSV text quoted, with blanks around the quotes."""
    return "".join(",".join(f' "{f}"\t' for f in line.split(",")) + "\n" for line in text.splitlines())


def npy_bytes(array, descr="<f8", shape=None):
    """A .npy stream whose header may lie about dtype or shape."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape or array.shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + array.tobytes()


def npz_with(path, members, suffix=".npy"):
    """A stored zip of the given raw .npy streams, as numpy.savez writes them. `members` maps names
    to streams, or lists (name, stream) pairs: a name may come twice (zipfile warns, and writes it)."""
    import warnings
    import zipfile
    pairs = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for name, data in pairs:
            z.writestr(name + suffix, data)


class HostileNumbers(HostileTest):
    """Every numeric option, out of its range, is named as such (exit 2)."""

    def test_heat_options(self):
        cases = [("--nx", "-1"), ("--nx", "1"), ("--nx", "99999999999999999999"), ("--nx", "1e3"), ("--nx", "nan"),
                 ("--length", "0"), ("--length", "nan"), ("--length", "inf"), ("--alpha", "-1"), ("--alpha", "inf"),
                 ("--t-end", "0"), ("--t-end", "nan"), ("--t-end", "1e309"), ("--dt", "-1"), ("--dt", "nan"),
                 ("--cfl", "0"), ("--cfl", "inf"), ("--cfl", "0.6"), ("--left", "nan"), ("--right", "-inf"),
                 ("--mode", "0"), ("--mode", "3000000000"), ("--snapshots", "0"), ("--snapshots", "-1"),
                 ("--compress", "10"), ("--checkpoint-every", "-1"), ("--time-limit", "-1"), ("--time-limit", "nan"),
                 ("--time-limit", "1e10")]
        for option, value in cases:
            with self.subTest(option=option, value=value):
                line = self.expect_refusal(["heat", "--nx", "21", "-q", option, value], 2)
                self.assertIn(option if option != "--cfl" or value != "0.6" else "unstable", line)
                self.assertLess(len(line), 200, "a sentence, not a range of 300 digits")

    def test_refusals_name_the_option_that_caused_them(self):
        cases = [
            (["--length", "1e308"], "--length 1e+308 on --nx 21 nodes gives dx = 5e+306, whose square"),
            (["--length", "1e-300"], "--length 1e-300 on --nx 21 nodes gives dx = 5e-302, whose square"),
            (["--steps", "5", "--length", "1e308"], "--length 1e+308 on --nx 21 nodes"),
            (["--steps", "5", "--length", "1e-300"], "--length 1e-300 on --nx 21 nodes"),
            (["--steps", "5", "--alpha", "1e-320"], "from --cfl, --length/--nx and --alpha is inf"),
            (["--alpha", "1e308"], "from --cfl, --length/--nx and --alpha is 1"),
            (["--compress", "abc"], "--compress: takes a gzip level, an integer from 0 (none) to 9, not 'abc'"),
            (["--compress", "10"], "--compress: takes a gzip level, an integer from 0 (none) to 9, not '10'"),
            (["--compress", "4.5"], "--compress: takes a gzip level"),
            (["--cfl", "abc"], "--cfl: must be a number, got 'abc'"),
            (["--time-limit", "abc"], "--time-limit: must be a number, got 'abc'"),
            (["--length", ""], "--length: must be a number, got ''"),
        ]
        for extra, words in cases:
            with self.subTest(extra=extra):
                line = self.expect_refusal(["heat", "--nx", "21", "-q", *extra], 2, words)
                self.assertNotIn("not in range", line)
                self.assertNotIn("Could not convert", line)

    def test_implicit_time_steps_beyond_double_precision(self):
        # Past R = 2^52, 1 + 2R rounds to 2R: a Neumann grid's system becomes singular (a zero pivot).
        for scheme, option, value in (("implicit", "--cfl", "1e16"), ("crank-nicolson", "--cfl", "1e300"),
                                      ("implicit", "--dt", "1e300")):
            with self.subTest(scheme=scheme, option=option, value=value):
                self.expect_refusal(["heat", "--nx", "9001", "--steps", "3", "--bc", "neumann", "--scheme", scheme,
                                     option, value, "-q"], 2, "below 2^52 = 4.5e15")
        self.slab(2, "heat", "--nx", "9001", "--steps", "3", "--bc", "neumann", "--scheme", "implicit", "--cfl",
                  "4e15", "-q", "--out", "largest.h5")

    def test_steps_out_of_range(self):
        for value in ("0", "-3", "9000000000000001"):
            with self.subTest(value=value):
                self.expect_refusal(["heat", "--nx", "21", "-q", "--steps", value], 2, "--steps")

    def test_regress_options(self):
        cases = [("--rows", "0"), ("--rows", "1e12"), ("--cols", "-1"), ("--seed", "-1"),
                 ("--seed", "18446744073709551616"), ("--seed", "1.5"), ("--noise", "-1"), ("--noise", "nan"),
                 ("--lr", "0"), ("--lr", "-inf"), ("--lr", "nan"), ("--iters", "0"), ("--iters", "-1"),
                 ("--tol", "-1"), ("--tol", "nan")]
        for option, value in cases:
            with self.subTest(option=option, value=value):
                self.expect_refusal(["regress", "--rows", "50", "-q", option, value], 2, option)


class HostileSizes(HostileTest):
    """Sizes that cannot be allocated are refused by the resource plan before anything is allocated."""

    def test_a_grid_beyond_64_bit_sizes(self):
        line = self.expect_refusal(["heat", "--nx", "4611686018427387904", "--steps", "10", "-q"], 2)
        self.assertIn("more than 16 EiB", line)
        self.assertIn("available per rank", line)

    def test_a_regression_beyond_the_nodes_memory(self):
        line = self.expect_refusal(["regress", "--rows", "1000000000000", "--cols", "1000", "-q"], 2)
        self.assertRegex(line, r"needs [0-9.]+ PiB of memory on its busiest rank .* is available per rank")

    def test_an_h5_declaring_a_huge_x_in_a_small_file(self):
        with h5py.File(self.path("huge.h5"), "w") as f:
            f.create_dataset("regression/X", shape=(10**12, 1000), dtype="f8", chunks=(1, 1000))
            f.create_dataset("regression/y", shape=(10**12,), dtype="f8", chunks=(1000,))
        self.assertLess(os.path.getsize(self.path("huge.h5")), 10000)
        # Too large for memory, so it would be streamed (docs/streaming.md); its chunks were never
        # written, which is refused before a row is read.
        self.expect_refusal(["regress", "--data", "huge.h5", "-q"], 2, "was never written")
        # lstsq cannot stream: refused by the plan.
        self.expect_refusal(["regress", "--data", "huge.h5", "--method", "lstsq", "-q"], 2, "needs X in memory")

    def test_an_npz_declaring_a_huge_x_in_a_small_file(self):
        npz_with(self.path("huge.npz"), {"X": npy_bytes(np.zeros(2), shape=(10**12, 1000)),
                                         "y": npy_bytes(np.zeros(2))})
        self.expect_refusal(["regress", "--data", "huge.npz", "-q"], 2, "needs 8000000000000000")

    def test_files_beyond_ulimit_f_are_refused_before_anything_is_written(self):
        # 1000001 nodes x 12 rows of 8 bytes: a 96 MB output against a 16 MiB limit on every file (the
        # limit applies to mpiexec too: below about 4 MiB Open MPI's PMIx cannot create its own files).
        for out in ("h.h5", "h.npz"):
            for io in ("parallel", "gather"):
                with self.subTest(out=out, io=io):
                    self.expect_refusal(["heat", "--nx", "1000001", "--steps", "11", "--io", io, "-q", "--out", out],
                                        2, "ulimit -f (RLIMIT_FSIZE) allows files of 16 MiB", file_size_limit=16 << 20)
        # Each file alone must fit, not their sum: an output and two checkpoints of 9.6 MB each.
        run(2, "heat", "--nx", "100001", "--steps", "20", "--checkpoint-every", "5", "-q", "--out", "fits.h5",
            cwd=self.dir, file_size_limit=16 << 20, check=True)

    def test_a_plan_prints_and_computes_nothing(self):
        result = self.slab(2, "heat", "--nx", "1001", "--snapshots", "11", "--plan", "--out", "h.json")
        self.assertIn("memory on the busiest rank", result.stdout)
        self.assertIn("the output h.json", result.stdout)
        self.assertEqual(os.listdir(self.dir), [])


class HostileFiles(HostileTest):
    """Inputs that are empty, of the wrong kind, folders, fifos or devices: refused, never read."""

    def setUp(self):
        super().setUp()
        os.mkdir(self.path("folder.csv"))
        os.mkdir(self.path("folder.h5"))
        os.mkfifo(self.path("fifo.csv"))
        os.mkfifo(self.path("fifo.h5"))
        os.mkfifo(self.path("fifo.toml"))
        for name in ("empty.csv", "empty.npz", "empty.h5", "empty.toml"):
            write(self.path(name), "")
        write(self.path("text.h5"), "not hdf5 at all\n")
        write(self.path("text.npz"), "PK but not a zip\n")
        os.symlink("/dev/zero", self.path("zero.csv"))
        os.symlink("/dev/urandom", self.path("random.npz"))
        os.symlink("/dev/zero", self.path("zero.h5"))
        os.symlink("nowhere.csv", self.path("dangling.csv"))

    def test_data_files(self):
        cases = [("folder.csv", "is a folder"), ("folder.h5", "is a folder"), ("fifo.csv", "fifo"),
                 ("fifo.h5", "fifo"), ("empty.csv", "no data line"), ("empty.npz", "not a .npz"),
                 ("empty.h5", "not an HDF5 file"), ("text.h5", "not an HDF5 file"), ("text.npz", "not a .npz"),
                 ("zero.csv", "character device"), ("random.npz", "character device"),
                 ("zero.h5", "character device"), ("dangling.csv", "dangling symlink"), ("missing.npz", "no such file"),
                 ("/dev/zero", "--data must be")]
        for name, words in cases:
            with self.subTest(data=name):
                self.expect_refusal(["regress", "--data", name, "-q"], 2, words)

    def test_init_and_config_files(self):
        cases = [(["--init", "fifo.h5:/u"], "fifo"), (["--init", "folder.h5:/u"], "folder"),
                 (["--init", "zero.h5:/u"], "character device"), (["--config", "fifo.toml"], "fifo"),
                 (["--config", "folder.csv"], "folder"), (["--config", "/dev/zero"], "character device"),
                 (["--config", "/dev/urandom"], "character device"), (["--config", "missing.toml"], "no such file")]
        for args, words in cases:
            with self.subTest(args=args):
                self.expect_refusal(SMALL_HEAT + args, 2, words)


class HostileCsv(HostileTest):
    """CSV: what the format allows is read; what is wrong is named by line and column."""

    def test_refusals_name_line_and_column(self):
        cases = [("ragged.csv", "1,2,3\n4,5\n", "line 2: 2 fields, expected 3 as on line 1"),
                 ("only_header.csv", "# comment\nx0,x1,y\n", "no data line"),
                 ("blank.csv", "\n\n  \n", "no data line"),
                 ("nan_text.csv", "1,2,3\nnan,5,6\n", "NaN or infinite"),
                 ("huge.csv", "1,2,3\n4,1e999,6\n", "line 2, column 3: '1e999' is beyond the range of double"),
                 ("word.csv", "x,y,z\n1,2,3\n4,five,6\n", "line 3, column 3: 'five' is not a number"),
                 ("mixed_header.csv", "1,b,3\n4,5,6\n", "line 1, column 3"),
                 ("empty_field.csv", "1,2,3\r\n4,,6\r\n", "line 2, column 3: empty field"),
                 ("one_column.csv", "1\n2\n", "at least two columns"),
                 ("utf16.csv", "\ufeff1,2,3\n".encode("utf-16-le"), "UTF-16"),
                 ("unclosed.csv", '"1"",2\n3,4\n5,6\n7,9\n', "line 1, column 1: the quoted field '\"1\"\",2' has no "
                  "closing quote on its line"),
                 ("unclosed_last.csv", '1,2,3\n4,5,"6\n', "line 2, column 5: the quoted field '\"6' has no closing"),
                 ("unclosed_header.csv", '"a,b,y\n1,2,3\n', "line 1, column 1: the quoted field"),
                 ("line_break.csv", 'x0,"x1\nm",y\n1,2,3\n', "line 1, column 4: the quoted field '\"x1' has no closing "
                  "quote on its line (a quoted field cannot hold a line break)"),
                 ("stray_quote.csv", '1,2,3\n4,5",6\n', "line 2, column 4: a quote inside the unquoted field '5\"'"),
                 ("stray_quote_header.csv", 'x0,x"1,y\n1,2,3\n', "line 1, column 5: a quote inside the unquoted"),
                 ("after_quote.csv", '1,"2"x,3\n', "line 1, column 6: text after the closing quote in the field "
                  "'\"2\"x'"),
                 ("two_quoted.csv", '1,2,3\n4,"5" "6",7\n', "line 2, column 7: text after the closing quote"),
                 ("control_bytes.csv", b"1,2,3\n4,\x00\xff\x1b[2J,6\n",
                  "line 2, column 3: '\\x00\\xff\\x1b[2J' is not a number")]
        for name, text, words in cases:
            with self.subTest(csv=name):
                write(self.path(name), text, "wb" if isinstance(text, bytes) else "w")
                line = self.expect_refusal(["regress", "--data", name, "-q"], 2, words)
                self.assertTrue(line.isascii() and line.isprintable(), line)

    def test_allowed_variants_give_the_exact_fit(self):
        variants = {"bom.csv": b"\xef\xbb\xbf" + csv_text().encode(),
                    "plus.csv": csv_text(plus=True).encode(),
                    "crlf_header.csv": ("# made by hand\r\nx0,\"x1, m\",y\r\n" + csv_text("\r\n")).encode(),
                    "cr.csv": csv_text("\r").encode(),
                    "quoted.csv": ('"x0 ""m""", x1 ,\t"y"\n' + quote_fields(csv_text())).encode()}
        for name, data in variants.items():
            with self.subTest(csv=name):
                write(self.path(name), data, "wb")
                self.slab(2, "regress", "--data", name, "--method", "normal", "-q", "--out", name + ".h5")
                with h5py.File(self.path(name + ".h5")) as f:
                    self.assertEqual(f["regression/X"].shape, (6, 2))
                    np.testing.assert_allclose(f["regression/w"][:], [2.0, -3.0], atol=1e-10)
                    self.assertAlmostEqual(f["regression/b"][()], 0.5, delta=1e-10)


class HostileNpz(HostileTest):
    def test_refusals(self):
        good = {"X": npy_bytes(X3), "y": npy_bytes(Y3)}
        cases = [("missing_y.npz", {"X": good["X"]}, "must hold arrays named X and y"),
                 ("ints.npz", {"X": npy_bytes(X3.astype("<i8"), "<i8"), "y": good["y"]}, "is not float64"),
                 ("strings.npz", {"X": npy_bytes(np.zeros(2), "<U3", (2,)), "y": good["y"]}, "is not float64"),
                 ("rows.npz", {"X": good["X"], "y": npy_bytes(Y3[:4])}, "X has 6 rows but y has 4")]
        for name, members, words in cases:
            with self.subTest(npz=name):
                npz_with(self.path(name), members)
                self.expect_refusal(["regress", "--data", name, "-q"], 2, words)
        np.savez(self.path("whole.npz"), X=X3, y=Y3)
        with open(self.path("whole.npz"), "rb") as f:
            data = f.read()
        write(self.path("truncated.npz"), data[:len(data) // 2], "wb")
        self.expect_refusal(["regress", "--data", "truncated.npz", "-q"], 2, "truncated.npz")

    def test_members_that_name_one_array_twice(self):
        # numpy.load reads the last of two "X.npy" (here 2 X3) and the member "X" before "X.npy":
        # whatever slab read, the two would fit different data.
        x, y, other = npy_bytes(X3), npy_bytes(Y3), npy_bytes(2 * X3)
        cases = [("twice.npz", [("X", x), ("y", y), ("X", other)], ".npy",
                  "'twice.npz' (--data): the archive holds two members named 'X.npy'; keep one of them"),
                 ("twice_y.npz", [("y", y), ("X", x), ("y", y)], ".npy", "two members named 'y.npy'"),
                 ("suffix.npz", [("X.npy", x), ("y.npy", y), ("X", other)], "",
                  "members 'X.npy' and 'X' are both the array 'X'"),
                 ("both.npz", [("X", x), ("y", y), ("regression/X", other), ("regression/y", y)], ".npy",
                  "holds both 'X' and 'regression/X': slab will not guess which to read"),
                 ("both_y.npz", [("regression/X", x), ("y", y), ("regression/y", y)], ".npy",
                  "holds both 'y' and 'regression/y'")]
        for name, members, suffix, words in cases:
            with self.subTest(npz=name):
                npz_with(self.path(name), members, suffix)
                self.expect_refusal(["regress", "--data", name, "-q"], 2, words)
        with np.load(self.path("twice.npz")) as z:
            np.testing.assert_array_equal(z["X"], 2 * X3)  # the reason for refusing: numpy reads the last

    def test_extra_members_and_slabs_own_output_are_read(self):
        np.savez(self.path("extra.npz"), X=X3, y=Y3, notes=np.array(["any", "thing"]), ints=np.arange(3))
        self.slab(2, "regress", "--data", "extra.npz", "--method", "normal", "-q", "--out", "a.npz")
        # slab's own .npz names them regression/X and regression/y: it reads them back.
        self.slab(2, "regress", "--data", "a.npz", "--method", "normal", "-q", "--out", "b.h5")
        with h5py.File(self.path("b.h5")) as f:
            np.testing.assert_array_equal(f["regression/X"][:], X3)
            np.testing.assert_allclose(f["regression/w"][:], [2.0, -3.0], atol=1e-10)


class HostileHdf5(HostileTest):
    """A dataset that is not there as a dataset is bad input (exit 2) with a sentence, not HDF5's stack."""

    def test_refusals(self):
        y = np.arange(3.0)
        files = {"group.h5": lambda f: f.create_group("regression/X"),
                 "dangling.h5": lambda f: f.__setitem__("regression/X", h5py.SoftLink("/nowhere")),
                 "external.h5": lambda f: f.__setitem__("regression/X", h5py.ExternalLink("other.h5", "/X")),
                 "empty_x.h5": lambda f: f.__setitem__("regression/X", np.zeros((0, 3))),
                 "strings.h5": lambda f: f.__setitem__("regression/X", np.array([[b"a", b"b"]] * 3)),
                 "missing.h5": lambda f: f.create_group("regression/nothing_here"),
                 "rank3.h5": lambda f: f.__setitem__("regression/X", np.ones((3, 2, 2))),
                 "holes.h5": self.chunks_with_a_hole,
                 "unwritten.h5": lambda f: f.create_dataset("regression/X", (3, 2)),
                 "raw.h5": lambda f: f.create_dataset("regression/X", (3, 2), "f8",
                                                      external=[(self.path("x.raw"), 0, 48)])}
        words = {"group.h5": "is a group, not a dataset", "dangling.h5": "dangling link",
                 "external.h5": "external link", "empty_x.h5": "at least one row", "strings.h5": "holds strings, not numbers",
                 "missing.h5": "no dataset '/regression/X'", "rank3.h5": "has shape (3, 2, 2)",
                 "holes.h5": "partly written", "unwritten.h5": "never written", "raw.h5": "external raw files"}
        with h5py.File(self.path("other.h5"), "w") as f:
            f["X"] = np.ones((3, 2))
        write(self.path("x.raw"), np.ones((3, 2)).tobytes(), "wb")
        for name, build in files.items():
            with self.subTest(h5=name):
                with h5py.File(self.path(name), "w") as f:
                    build(f)
                    if name == "empty_x.h5":
                        f["regression/y"] = np.zeros(0)
                    elif "regression/y" not in f:
                        f["regression/y"] = y
                line = self.expect_refusal(["regress", "--data", name, "-q"], 2, words[name])
                self.assertNotIn("H5", line)
        # Each rank's rows in a chunk of their own; one rank's chunk missing (a collective read hung).
        for ranks in (1, 3):
            self.expect_refusal(["regress", "--data", "holes.h5", "--method", "qr", "-q"], 2, "partly written",
                                ranks=ranks)
        self.expect_refusal(["heat", "--nx", "50", "--init", "holes.h5:/u", "-q"], 2, "partly written")

    @staticmethod
    def chunks_with_a_hole(f):
        """X (50 x 2) and u (50) in chunks of 5 rows, rows 20-24 never written (h5py reads them as 0);
        y whole."""
        for name, shape in (("regression/X", (50, 2)), ("u", (50,))):
            data = f.create_dataset(name, shape, "f8", chunks=(5, *shape[1:]))
            data[:20] = 1.0
            data[25:] = 2.0
        f["regression/y"] = np.arange(50.0)


class HostileConfig(HostileTest):
    def test_refusals_name_the_file_and_the_key(self):
        cases = [("unknown.toml", "nxx = 101\n", "--config unknown.toml: key 'nxx' is not an option of slab heat"),
                 ("table.toml", "[heta]\nnx = 3\n", "unknown table [heta]"),
                 ("type.toml", "[heat]\nnx = \"many\"\n", "key 'nx' must be a number"),
                 ("flag.toml", "[heat]\nquiet = 1\n", "key 'quiet' is a flag"),
                 ("array.toml", "[heat]\nnx = [1, 2]\n", "key 'nx' must be a number, a string or a boolean"),
                 ("nested.toml", "config = \"other.toml\"\n", "cannot name another"),
                 ("syntax.toml", "nx = = 3\n", "at line 1"),
                 ("value.toml", "[heat]\nnx = 1\n", "--nx must be at least 2"),
                 ("float.toml", "[heat]\nnx = 101.0\n", "key 'nx' must be an integer (as on the command line)"),
                 ("other.toml", "[regress]\nfoo = 1\n", "key 'foo' is not an option of slab regress")]
        for name, text, words in cases:
            with self.subTest(toml=name):
                write(self.path(name), text)
                self.expect_refusal(["heat", "--config", name, "-q"], 2, words)

    def test_a_bad_progress_timeout_is_refused_before_anything_is_created(self):
        """SLAB_PROGRESS_TIMEOUT (the watchdog, read by the step loops) is checked with the options."""
        for value in ("abc", "-1", "1e10", "nan", "5s"):
            for args in (["heat", "--nx", "101", "--steps", "10"], ["regress", "--rows", "100", "--iters", "5"]):
                with self.subTest(value=value, command=args[0]):
                    self.expect_refusal(args + ["--out", "r.h5", "-q"], 2, f"SLAB_PROGRESS_TIMEOUT='{value}'",
                                        env={"SLAB_PROGRESS_TIMEOUT": value})

    def test_repeated_config_merges_in_order_and_dev_null_is_empty(self):
        write(self.path("a.toml"), "[heat]\nnx = 31\nsnapshots = 3\nquiet = true\n")
        write(self.path("b.toml"), "[heat]\nnx = 41\nout = \"b.h5\"\n")
        self.slab(2, "heat", "--config", "a.toml", "--config=b.toml", "--steps", "4")
        self.slab(2, "heat", "--config", "b.toml", "--config", "a.toml", "--steps", "4", "--nx", "51", "--out", "c.h5")
        self.slab(2, "heat", "--config", "/dev/null", "--steps", "4", "--nx", "11", "-q", "--out", "d.h5")
        for name, nx, k in (("b.h5", 41, 3), ("c.h5", 51, 3), ("d.h5", 11, 5)):
            with h5py.File(self.path(name)) as f:
                self.assertEqual(f["heat/u"].shape, (k, nx), name)


class HostileSolvers(HostileTest):
    """Failures inside the solvers: one agreed line naming the cause, exit 1, nothing left behind."""

    def test_divergence_singularity_and_non_convergence(self):
        np.savez(self.path("singular.npz"), X=np.c_[X3, X3[:, 0]], y=Y3)
        cases = [(["regress", "--rows", "1000", "--lr", "10", "-q"], "--lr 10 is too large"),
                 (["regress", "--data", "singular.npz", "--method", "normal", "-q"], "singular"),
                 (["heat", "--nx", "101", "--steps", "3", "--scheme", "implicit", "--solver", "petsc", "--petsc", "-ksp_max_it 1", "-q"],
                  "did not converge (DIVERGED_ITS"),
                 (["regress", "--rows", "1000", "--method", "lstsq", "--petsc", "-ksp_max_it 1", "-q"],
                  "did not converge (DIVERGED_ITS"),
                 (["heat", "--nx", "101", "--steps", "3", "--scheme", "implicit", "--solver", "petsc", "--petsc",
                   "-ksp_type cg -pc_type icc", "-q"], "ICC")]
        for args, words in cases:
            with self.subTest(args=args):
                self.expect_refusal(args + ["--out", "r.h5"], 1, words)

    def test_a_step_too_large_is_refused_with_the_same_line_on_any_rank_count_streamed_or_not(self):
        """The figures the refusal quotes (the stable step, the largest |X|) come from reproducible
        reductions: the same line at 1-3 ranks, with X in memory or streamed in pieces."""
        rng = np.random.default_rng(7)
        X = rng.standard_normal((30001, 5)) * np.array([1, 1e3, 1e-3, 7, 0.1])
        with h5py.File(self.path("d.h5"), "w") as f:
            f["regression/X"] = X
            f["regression/y"] = X @ np.arange(1.0, 6.0) + rng.standard_normal(len(X))
        lines = {(ranks, memory): self.expect_refusal(["regress", "--data", "d.h5", "--lr", "10", *memory, "-q"], 1,
                                                      "--lr 10 is too large", ranks=ranks)
                 for ranks in (1, 2, 3) for memory in ((), ("--memory", "1MiB"))}
        self.assertEqual(len(set(lines.values())), 1, lines)

    def test_data_far_below_the_intercepts_scale_blames_the_scale(self):
        """X scaled by 1e-300 beside the intercept's 1 is a matter of scale, not of linearly
        dependent columns; a column that really is a combination is still named as one."""
        np.savez(self.path("tiny.npz"), X=X3 * 1e-300, y=Y3)
        np.savez(self.path("one.npz"), X=np.c_[X3, X3[:, 0] * 1e-300], y=Y3)
        for data, columns in (("tiny.npz", "X column 0, X column 1 (0-based) are"), ("one.npz", "X column 2 (0-based) is")):
            with self.subTest(data=data, method="qr"):
                line = self.expect_refusal(["regress", "--data", data, "--method", "qr", "-q"], 2,
                                           columns + " too small next to the largest column of [1 X]")
                self.assertNotIn("linearly dependent", line)
                self.assertIn("rescale X", line)
        for data in ("tiny.npz", "one.npz"):
            with self.subTest(data=data, method="normal"):
                line = self.expect_refusal(["regress", "--data", data, "--method", "normal", "-q"], 2,
                                           "too small next to the largest column of [X 1]")
                self.assertNotIn("linearly dependent", line)
        np.savez(self.path("dependent.npz"), X=np.c_[X3, 2 * X3[:, 0]], y=Y3)
        self.expect_refusal(["regress", "--data", "dependent.npz", "--method", "qr", "-q"], 2,
                            "X has linearly dependent columns: X column 2 (0-based)")
        self.expect_refusal(["regress", "--data", "dependent.npz", "--method", "normal", "-q"], 1,
                            "the normal equations are singular")

    def test_data_beyond_double_range_blames_the_scale(self):
        np.savez(self.path("scaled.npz"), X=X3 * 1e200, y=Y3)
        for method in ("gd", "normal", "lstsq"):
            with self.subTest(method=method):
                line = self.expect_refusal(["regress", "--data", "scaled.npz", "--method", method, "-q"], 1,
                                           "the data's scale overflows")
                self.assertNotIn("--lr", line)
        # QR needs no X^T X: it solves that data, and fails only where its own norms overflow.
        np.savez(self.path("huge.npz"), X=X3 * (1e308 / 5), y=Y3)
        self.expect_refusal(["regress", "--data", "huge.npz", "--method", "qr", "-q"], 1, "the data's scale overflows")
        # y alone beyond range: every method solves for finite w, but the squared loss overflows.
        for method in ("qr", "normal", "lstsq", "gd"):
            with self.subTest(method=method, noise="1e200"):
                self.expect_refusal(["regress", "--rows", "100", "--cols", "3", "--noise", "1e200", "--method", method,
                                     "-q"], 1, "the data's scale overflows")

    def test_petsc_words_it_cannot_take(self):
        self.expect_refusal(SMALL_HEAT + ["--scheme", "implicit", "--solver", "petsc", "--petsc", "junk"], 2, "start with '-'")
        self.expect_refusal(SMALL_HEAT + ["--scheme", "implicit", "--solver", "petsc", "--petsc", "-ksp_type nonsense"], 2,
                            "PETSc did not accept")
        result = self.slab(2, *SMALL_HEAT, "--scheme", "implicit", "--solver", "petsc", "--petsc", "-ksp_type cg -ksp_typo 3")
        warnings = [line for line in result.stderr.splitlines() if line.startswith("slab: warning:")]
        self.assertEqual(len(warnings), 1, result.stderr)
        self.assertIn("-ksp_typo 3", warnings[0])


if __name__ == "__main__":
    unittest.main()
