#!/usr/bin/python3
"""Streamed regression against reading the file alone (issue 24, docs/streaming.md).

Writes an .h5 file of N rows of D features (/regression/X, /regression/y), then at each rank count
runs `slab_bench stream-read`: the rows read in pieces through slab's reader with nothing to
compute (the rate at which these ranks read the file alone), and a streamed TSQR pass over the same
pieces, page cache warm and cold (posix_fadvise DONTNEED before every repetition), and (warm) the
same TSQR over the same pieces held in memory (the arithmetic alone). The ranks run unbound
(`mpirun --bind-to none`): bound to one core each, as Open MPI binds by default, a rank's reader
thread shares the core with its arithmetic and the two take turns. Beside them:
numpy.linalg.lstsq on the same table loaded whole (what fits in memory), and the whole
`slab regress --method qr --memory BUDGET` run. Prints one JSON line per measurement, then a
summary of the rates in GB/s (bytes of X and y over the best of the repetitions).

  stream_rate.py BUILD_DIR DIR [N] [D] [BUFFER_BYTES] [RANKS...]
e.g. bench/stream_rate.py build/release /tmp 4000000 16 67108864 1 2
Environment: STREAM_RATE_REPS (default 5), STREAM_RATE_BIND (default none; core: Open MPI's binding).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
REPS = int(os.environ.get("STREAM_RATE_REPS", "5"))  # best of REPS repetitions
BIND = os.environ.get("STREAM_RATE_BIND", "none")  # mpirun --bind-to: none, or core (Open MPI's default)


def write_table(path, rows, cols):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(cols)
    with h5py.File(path, "w") as f:
        X = f.create_dataset("regression/X", (rows, cols), "f8")
        y = f.create_dataset("regression/y", (rows,), "f8")
        step = 500000
        for a in range(0, rows, step):
            x = rng.standard_normal((min(step, rows - a), cols))
            X[a:a + len(x)] = x
            y[a:a + len(x)] = x @ w + 0.1 * rng.standard_normal(len(x))
    os.sync()


def bench(build, path, buffer_bytes, ranks, cold):
    load = os.getloadavg()[0]
    out = subprocess.run(["mpirun", "--oversubscribe", "--bind-to", BIND, "-np", str(ranks),
                          os.path.join(build, "slab_bench"), "stream-read", "--dir", path, "--n", str(buffer_bytes),
                          "--reps", str(REPS), "--steps", "1" if cold else "0"],
                         env=ENV, capture_output=True, text=True, check=True)
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for r in results:
        r["load_average"] = [load, os.getloadavg()[0]]  # 1-minute load before and after
    return results


def numpy_lstsq(path):
    with h5py.File(path) as f:
        X, y = f["regression/X"][()], f["regression/y"][()]
    A = np.hstack([X, np.ones((len(X), 1))])
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        np.linalg.lstsq(A, y, rcond=None)
        seconds.append(time.perf_counter() - start)
    return {"case": "numpy-lstsq", "impl": "numpy.linalg.lstsq", "ranks": 1, "bytes": X.nbytes + y.nbytes,
            "seconds": seconds}


def whole_run(build, path, ranks, budget):
    start = time.perf_counter()
    out = subprocess.run(["mpirun", "--oversubscribe", "--bind-to", BIND, "-np", str(ranks),
                          os.path.join(build, "slab"), "regress",
                          "--data", path, "--method", "qr", "--memory", budget, "--out", path + ".fit.h5",
                          "--overwrite"], env=ENV, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    with h5py.File(path + ".fit.h5") as f:
        peak = int(f["provenance"].attrs["peak_rss_bytes"])
    os.remove(path + ".fit.h5")
    return {"case": "slab-regress", "impl": f"qr --memory {budget}", "ranks": ranks,
            "bytes": os.path.getsize(path), "seconds": [seconds], "peak_rss_bytes": peak,
            "summary": out.stderr.strip().splitlines()[-1]}


def main():
    build, folder = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 4000000
    cols = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    buffer_bytes = int(sys.argv[5]) if len(sys.argv) > 5 else 64 << 20
    rank_counts = [int(r) for r in sys.argv[6:]] or [1, 2]
    # Every file it writes (the table, the fits) lives in a folder of its own under DIR, removed at
    # the end: nothing of DIR's is replaced.
    work = tempfile.mkdtemp(dir=folder, prefix="stream-rate-")
    try:
        measure(build, os.path.join(work, f"stream-{rows}x{cols}.h5"), rows, cols, buffer_bytes, rank_counts)
    finally:
        shutil.rmtree(work)


def measure(build, path, rows, cols, buffer_bytes, rank_counts):
    write_table(path, rows, cols)
    results = []
    for ranks in rank_counts:
        for cold in (False, True):
            results += bench(build, path, buffer_bytes, ranks, cold)
        results.append(whole_run(build, path, ranks, "64MiB"))
    results.append(numpy_lstsq(path))
    for r in results:
        print(json.dumps(r))
    rate = {}
    for r in results:
        gbs = r["bytes"] / min(r["seconds"]) / 1e9
        key = (r["impl"], r["ranks"], r.get("cache", ""))
        rate[key] = gbs
        load = " (load %.1f-%.1f)" % tuple(r["load_average"]) if "load_average" in r else ""
        print(f"# {r['impl']:>24} ranks {r['ranks']} {r.get('cache', ''):>4}: {gbs:.3f} GB/s{load}")
    for ranks in rank_counts:
        for cache in ("warm", "cold"):
            ratio = rate[("streamed-tsqr", ranks, cache)] / rate[("read-alone", ranks, cache)]
            print(f"# streamed TSQR / read alone, {ranks} ranks, {cache}: {100 * ratio:.0f} %")


if __name__ == "__main__":
    main()
