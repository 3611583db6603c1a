#!/usr/bin/python3
"""The marginal cost of a Crank-Nicolson step of whole slab runs: `slab heat` from the shell with
150 and with 50 steps (R = 10, one snapshot), the difference divided by 100, so start-up, set-up
and output cancel. Prints one JSON line like slab_bench (seconds: the 100 steps' difference).

  cn_marginal.py SLAB RANKS N REPS DIR
"""
import json
import os
import subprocess
import sys
import time


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(slab, ranks, n, reps, directory):
    out = os.path.join(directory, "cn-marginal.h5")
    run = ["mpirun", "-np", str(ranks), slab, "heat", "--nx", str(n), "--cfl", "10", "--scheme", "crank-nicolson",
           "--snapshots", "1", "--quiet", "--overwrite", "--out", out]
    differences = [timed(run + ["--steps", "150"]) - timed(run + ["--steps", "50"]) for _ in range(reps)]
    os.remove(out)
    print(json.dumps({"case": "heat-cn-marginal", "impl": "slab", "ranks": ranks, "n": n, "steps": 100, "cols": 0,
                      "seconds": differences}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
