#!/usr/bin/python3
"""The default job (jobs/run-local.sh: `slab heat` and `slab regress` with their defaults) end to
end: the wall time seen from the shell against the time slab itself records in the output
(`wall_time_total`, from the parsed command line to the committed file). The difference is
start-up and shut-down: mpirun, loading the libraries, MPI_Init, PETSc, MPI_Finalize. `mpirun
/bin/true` is the launcher's own floor. Prints one JSON line per command, like slab_bench.

  whole_run.py SLAB RANKS REPS DIR
"""
import json
import os
import subprocess
import sys
import time

import h5py


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(slab, ranks, reps, directory):
    mpirun = ["mpirun", "-np", str(ranks)]
    out = os.path.join(directory, "whole-run.h5")
    for job, group in (("heat", "heat"), ("regress", "regression")):
        outside, inside, solve = [], [], []
        for _ in range(reps):
            if os.path.exists(out):
                os.remove(out)
            outside.append(timed(mpirun + [slab, job, "--out", out, "--quiet"]))
            with h5py.File(out) as f:
                attrs = f["provenance"].attrs if "provenance" in f else f[group].attrs
                inside.append(float(attrs["wall_time_total"]))
                solve.append(float(attrs["wall_time_compute"] + attrs["wall_time_communication"]))
        os.remove(out)
        print(json.dumps({"case": "whole-run", "impl": f"slab {job}", "ranks": ranks, "n": 0, "steps": 0, "cols": 0,
                          "seconds": outside, "inside": inside, "solve": solve}), flush=True)
    floor = [timed(mpirun + ["/bin/true"]) for _ in range(reps)]
    print(json.dumps({"case": "whole-run", "impl": "mpirun /bin/true", "ranks": ranks, "n": 0, "steps": 0, "cols": 0,
                      "seconds": floor}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
