#!/usr/bin/python3
"""The bytes each rank sends per unit of work, counted by Open MPI's monitoring layer, in weak scaling.

    measure_traffic.py SLAB [--ranks 4 32] [--per-rank 65536] [--growth 2.5] [--json FILE]

For each unit of work (one gd iteration, one qr fit, one Crank-Nicolson step, one explicit step) two
runs differ only in how many units they do (gd: 60 and 10 iterations; qr: 16 and 4 columns; heat:
120 and 20 or 160 and 32 steps), so start-up, set-up and the output cancel in the difference. The
monitoring layer counts every byte a rank hands to the PML, point to point and inside collectives;
the figure is the mean over ranks. The growth from the smallest to the largest rank count must stay
within --growth (log2 32 / log2 4 = 2.5 for a design whose traffic grows like log P); exit 1 names
the units that grew more.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

UNITS = {
    # unit: (arguments of the larger run, of the smaller, units in the difference)
    "gd": (["regress", "--method", "gd", "--cols", "16", "--iters", "60", "--tol", "0", "--no-data"],
           ["regress", "--method", "gd", "--cols", "16", "--iters", "10", "--tol", "0", "--no-data"], 50),
    "qr": (["regress", "--method", "qr", "--cols", "16", "--no-data"],
           ["regress", "--method", "qr", "--cols", "4", "--no-data"], 1),
    "cn": (["heat", "--scheme", "crank-nicolson", "--steps", "120", "--snapshots", "2"],
           ["heat", "--scheme", "crank-nicolson", "--steps", "20", "--snapshots", "2"], 100),
    "explicit": (["heat", "--scheme", "explicit", "--steps", "160", "--snapshots", "2"],
                 ["heat", "--scheme", "explicit", "--steps", "32", "--snapshots", "2"], 128),
}


def size_arguments(args, ranks, per_rank):
    total = str(ranks * per_rank)
    return args + (["--rows", total] if args[0] == "regress" else ["--nx", total])


def mean_bytes_sent(folder):
    """Mean over ranks of the bytes sent, from the per-rank files of the monitoring layer."""
    per_rank = []
    for path in sorted(glob.glob(os.path.join(folder, "prof.*.prof"))):
        sent = 0
        with open(path) as f:
            for line in f:
                fields = line.split("\t")
                # "E <rank> <peer> <n> bytes <m> msgs sent ...": every message this rank sent to peer.
                if fields[0] == "E":
                    sent += int(fields[3].split()[0])
        per_rank.append(sent)
    if not per_rank:
        raise RuntimeError(f"the monitoring layer wrote no counts in {folder}")
    return sum(per_rank) / len(per_rank)


def run_counted(slab, args, ranks, work):
    folder = tempfile.mkdtemp(dir=work)
    command = ["mpirun", "--oversubscribe", "-np", str(ranks), "--mca", "pml", "^ucx", "--mca", "btl", "self,vader",
               "--mca", "pml_monitoring_enable", "1", "--mca", "pml_monitoring_enable_output", "3",
               "--mca", "pml_monitoring_filename", os.path.join(folder, "prof"),
               slab] + args + ["--out", os.path.join(folder, "out.h5"), "-q"]
    # A run is seconds long; a stuck one fails the test with its output instead of waiting for CTest.
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}")
    return mean_bytes_sent(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slab")
    parser.add_argument("--ranks", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--per-rank", type=int, default=65536, help="rows or grid nodes per rank")
    parser.add_argument("--growth", type=float, default=2.5)
    parser.add_argument("--units", nargs="+", default=list(UNITS))
    parser.add_argument("--json")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for unit in options.units:
            larger, smaller, count = UNITS[unit]
            for ranks in options.ranks:
                big = run_counted(options.slab, size_arguments(larger, ranks, options.per_rank), ranks, work)
                small = run_counted(options.slab, size_arguments(smaller, ranks, options.per_rank), ranks, work)
                rows.append({"unit": unit, "ranks": ranks, "bytes": (big - small) / count})
    print(f"{'unit of work':<10}" + "".join(f"{str(r) + ' ranks':>14}" for r in options.ranks) + f"{'growth':>10}")
    failed = []
    for unit in options.units:
        values = [r["bytes"] for r in rows if r["unit"] == unit]
        growth = values[-1] / values[0] if values[0] > 0 else (1.0 if values[-1] <= 0 else float("inf"))
        print(f"{unit:<10}" + "".join(f"{v:>12.0f} B" for v in values) + f"{growth:>9.2f}x")
        if growth > options.growth:
            failed.append(f"{unit} ({growth:.2f}x)")
    if options.json:
        with open(options.json, "w") as f:
            json.dump(rows, f, indent=1)
    if failed:
        print(f"traffic: grew more than {options.growth}x from {options.ranks[0]} to {options.ranks[-1]} ranks: "
              + ", ".join(failed), file=sys.stderr)
        return 1
    print(f"traffic: every unit grew at most {options.growth}x from {options.ranks[0]} to {options.ranks[-1]} ranks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
