#!/usr/bin/python3
"""NumPy doing the same math as slab's benchmark cases, timed the same way (the loop only, not
data generation). Prints one JSON line per case, like slab_bench.

  numpy_peers.py heat-explicit N STEPS REPS
  numpy_peers.py gd N COLS ITERS REPS
  numpy_peers.py h5write N REPS DIR
"""
import json
import os
import sys
import time

import numpy as np


def emit(case, impl, n, steps, cols, seconds):
    print(json.dumps({"case": case, "impl": impl, "ranks": 1, "n": n, "steps": steps, "cols": cols,
                      "seconds": seconds}), flush=True)


def heat_explicit(n, steps, reps):
    r = 0.25
    seconds = []
    for _ in range(reps):
        u = np.sin(np.pi * np.linspace(0, 1, n))
        start = time.perf_counter()
        for _ in range(steps):
            un = u.copy()
            un[1:-1] = u[1:-1] + r * (u[2:] - 2 * u[1:-1] + u[:-2])
            u = un
        seconds.append(time.perf_counter() - start)
    emit("heat-explicit", "numpy", n, steps, 16, seconds)


def gd(n, cols, iters, reps):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, cols))
    y = X @ rng.normal(size=cols) + 0.1 * rng.normal(size=n)
    seconds = []
    for _ in range(reps):
        w = np.zeros(cols)
        b = 0.0
        start = time.perf_counter()
        for _ in range(iters):
            r = X @ w + b - y
            g = X.T @ r
            w -= 0.1 * 2 / n * g
            b -= 0.1 * 2 / n * r.sum()
        seconds.append(time.perf_counter() - start)
    emit("gd", "numpy", n, iters, cols, seconds)


def h5write(n, reps, directory):
    import h5py
    a = np.ones((n // 1024, 1024))
    path = os.path.join(directory, "bench-h5py.h5")
    seconds = []
    for _ in range(reps):
        if os.path.exists(path):  # as slab_bench: no file to replace, no dirty pages of another writer
            os.remove(path)
        os.sync()
        start = time.perf_counter()
        with h5py.File(path, "w") as f:
            f["a"] = a
        seconds.append(time.perf_counter() - start)
    os.remove(path)
    emit("h5write", "h5py", n, 0, 16, seconds)


if __name__ == "__main__":
    case, args = sys.argv[1], sys.argv[2:]
    if case == "heat-explicit":
        heat_explicit(int(args[0]), int(args[1]), int(args[2]))
    elif case == "gd":
        gd(int(args[0]), int(args[1]), int(args[2]), int(args[3]))
    elif case == "h5write":
        h5write(int(args[0]), int(args[1]), args[2])
    else:
        sys.exit(f"numpy_peers: unknown case {case}")
