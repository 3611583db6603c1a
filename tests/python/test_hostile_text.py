"""Hostile text in arguments (label `hostile`, at 2 ranks): bytes that are not UTF-8, control
characters and very long strings. A unit string is refused unless it is 1 to 64 bytes of printable
UTF-8 (held to the contract of hostile.py); a path or any other argument is taken as given, and
every file that records it (the .json output, a .csv folder's attributes.json, the .npz's
attributes member, /provenance/command_line of an .h5) holds well-formed UTF-8 in which each byte
that was not UTF-8 reads as U+FFFD."""
import json
import os
import unittest

import h5py
import numpy as np

from hostile import HostileTest

HEAT = ["heat", "--nx", "11", "--steps", "3", "-q"]
LATIN1 = os.fsdecode(b"\xe9t\xe9")  # "été" in Latin-1: not UTF-8


def recorded(path):
    """The attributes slab wrote into an output, read as a strict reader would (UTF-8)."""
    if path.endswith(".h5"):
        with h5py.File(os.fsencode(path)) as f:
            return {"provenance": dict(f["provenance"].attrs), "heat/u": dict(f["heat/u"].attrs),
                    "heat": dict(f["heat"].attrs)}
    if path.endswith(".npz"):
        with np.load(path) as npz:
            return json.loads(str(npz["attributes"]))["attributes"]
    name = path if path.endswith(".json") else os.path.join(path, "attributes.json")
    with open(os.fsencode(name), encoding="utf-8") as f:
        return json.load(f)["attributes"]


class HostileText(HostileTest):
    def test_paths_that_are_not_utf8_are_recorded_as_valid_utf8(self):
        for fmt, landing in (("json", ".json"), ("csv", ""), ("h5", ".h5"), ("npz", ".npz")):
            with self.subTest(fmt=fmt):
                self.slab(2, *HEAT, "--out", f"{LATIN1}.{fmt}")
                attributes = recorded(self.path(LATIN1 + landing))
                self.assertIn("--out \ufffdt\ufffd." + fmt, attributes["provenance"]["command_line"])
        # An --init dataset path that is not UTF-8 is recorded the same way, in /heat's init.
        self.slab(2, *HEAT, "--out", "src.h5")
        os.rename(self.path("src.h5"), self.path(LATIN1 + ".h5"))
        self.slab(2, *HEAT, "--init", f"{LATIN1}.h5:/heat/x", "--out", "i.json")
        self.assertEqual(recorded(self.path("i.json"))["heat"]["init"], "\ufffdt\ufffd.h5:/heat/x")

    def test_a_unit_string_is_printable_utf8_of_at_most_64_bytes(self):
        cases = [
            (os.fsdecode(b"\xff\xfe"), "'\\xff\\xfe' is not UTF-8 text"),
            ("K\nx", "holds a control character"),
            ("K\tx", "holds a control character"),
            ("\x1b[31mK", "holds a control character"),
            ("K\x7f", "holds a control character"),
            ("K\u0085", "holds a control character"),  # a C1 control (NEL) in UTF-8
            ("", "the empty string is not a unit"),
            ("K" * 65, "a string of 65 bytes is too long"),
            ("m" * 100000, "a string of 100000 bytes is too long"),
        ]
        for units, words in cases:
            for fmt in ("json", "h5"):
                with self.subTest(units=units[:20], fmt=fmt):
                    line = self.expect_refusal([*HEAT, "--u-units", units, "--out", f"u.{fmt}"], 2, words)
                    self.assertIn("printable UTF-8", line)
        for units in ("K", "degC", "mol m-3", "\u00b0C", "W m-2 \u03bcm-1", "K" * 64):
            with self.subTest(units=units):
                self.slab(2, *HEAT, "--u-units", units, "--out", "ok.json", "--overwrite")
                self.assertEqual(recorded(self.path("ok.json"))["heat/u"]["units"], units)

    def test_a_config_string_holding_nul_is_refused(self):
        with open(self.path("c.toml"), "w") as f:
            f.write('[heat]\nout = "x.h5\\u0000.json"\n')
        self.expect_refusal([*HEAT, "--config", "c.toml"], 2, "key 'out' holds a NUL character")
        with open(self.path("u.toml"), "w") as f:
            f.write('[heat]\nu_units = "K\\u0000"\n')
        self.expect_refusal([*HEAT, "--config", "u.toml"], 2, "key 'u_units' holds a NUL character")


if __name__ == "__main__":
    unittest.main()
