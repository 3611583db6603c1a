#!/usr/bin/python3
"""NumPy doing the same math as slab's benchmark cases, timed the same way (the loop only, not
data generation). Prints one JSON line per case, like slab_bench.

  numpy_peers.py heat-explicit N STEPS REPS
  numpy_peers.py heat-cn N STEPS REPS            (SciPy's banded solver)
  numpy_peers.py gd N COLS ITERS REPS
  numpy_peers.py lstsq N COLS REPS                (numpy.linalg.lstsq on [X 1], LAPACK gelsd)
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


def heat_cn(n, steps, reps):
    """Crank-Nicolson at R = 10 with Dirichlet 0 ends, as slab_bench heat-cn: the right side by
    slicing, then the tridiagonal solve with scipy.linalg.solve_banded (LAPACK gtsv)."""
    from scipy.linalg import solve_banded
    r = 10.0
    ab = np.zeros((3, n))  # ab[1 + i - j, j] = A[i, j]
    ab[0, 2:] = -r / 2     # upper diagonal of the interior rows
    ab[1, :] = 1 + r
    ab[1, 0] = ab[1, -1] = 1.0  # boundary rows are the identity
    ab[2, :-2] = -r / 2    # lower diagonal of the interior rows
    seconds = []
    for _ in range(reps):
        u = np.sin(np.pi * np.linspace(0, 1, n))
        start = time.perf_counter()
        for _ in range(steps):
            b = np.empty_like(u)
            b[1:-1] = u[1:-1] + r / 2 * (u[2:] - 2 * u[1:-1] + u[:-2])
            b[0] = b[-1] = 0.0
            u = solve_banded((1, 1), ab, b)
        seconds.append(time.perf_counter() - start)
    emit("heat-cn", "numpy-scipy", n, steps, 16, seconds)


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


def lstsq(n, cols, reps):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, cols))
    y = X @ rng.normal(size=cols) + 0.1 * rng.normal(size=n)
    A = np.column_stack([X, np.ones(n)])
    seconds, cpu = [], []
    for _ in range(reps):
        start, cpu_start = time.perf_counter(), time.process_time()
        np.linalg.lstsq(A, y, rcond=None)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)  # every thread's
    print(json.dumps({"case": "lstsq", "impl": "numpy", "ranks": 1, "n": n, "steps": 0, "cols": cols,
                      "seconds": seconds, "cpu_seconds": cpu}), flush=True)


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
    elif case == "heat-cn":
        heat_cn(int(args[0]), int(args[1]), int(args[2]))
    elif case == "gd":
        gd(int(args[0]), int(args[1]), int(args[2]), int(args[3]))
    elif case == "lstsq":
        lstsq(int(args[0]), int(args[1]), int(args[2]))
    elif case == "h5write":
        h5write(int(args[0]), int(args[1]), args[2])
    else:
        sys.exit(f"numpy_peers: unknown case {case}")
