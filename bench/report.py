#!/usr/bin/python3
"""Turns the JSON lines of bench/run.sh into Markdown tables, a JSON file and a PNG.

  report.py RESULTS.jsonl OUT_PREFIX      writes OUT_PREFIX.json and OUT_PREFIX.png
"""
import json
import os
import platform
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def pick(results, case, impl, ranks=None, n=None):
    for r in results:
        if r["case"] == case and r["impl"] == impl and (ranks is None or r["ranks"] == ranks) and \
                (n is None or r["n"] == n):
            return r
    return None


def best(r):
    return min(r["seconds"])


def median(r):
    return statistics.median(r["seconds"])


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}g}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(path, prefix):
    results = load(path)
    bandwidth = {}  # (kernel, ranks) -> GB/s, all ranks together
    stream_rows = []
    for r in results:
        if r["case"] == "stream":
            gbs = r["ranks"] * r["n"] * r["bytes_per_element"] / best(r) / 1e9
            stream_rows.append([r["impl"], r["ranks"], fmt(gbs)])
            bandwidth[(r["impl"], r["ranks"])] = gbs
    copy = {k: v for (kernel, k), v in bandwidth.items() if kernel == "copy"}
    read = {k: v for (kernel, k), v in bandwidth.items() if kernel == "read"}
    machine = (f"{cpu_model()}, {os.cpu_count()} cores; STREAM copy "
               + ", ".join(f"{copy[k]:.1f} GB/s at {k} process{'es' if k > 1 else ''}" for k in sorted(copy))
               + "; read " + ", ".join(f"{read[k]:.1f}" for k in sorted(read)) + " GB/s")
    out = [f"Machine: {machine}", "", "### STREAM (measured in this run)", "",
           table(["kernel", "processes", "GB/s"], stream_rows), ""]

    # Heat, explicit: cell updates per second.
    rows = []
    sizes = sorted({r["n"] for r in results if r["case"] == "heat-explicit"})
    for n in sizes:
        numpy_r = pick(results, "heat-explicit", "numpy", n=n)
        slab1 = pick(results, "heat-explicit", "slab", 1, n)
        for impl in ("slab", "petsc-dmda", "numpy"):
            for r in (x for x in results if x["case"] == "heat-explicit" and x["impl"] == impl and x["n"] == n):
                updates = r["n"] * r["steps"] / best(r)
                bound = copy.get(r["ranks"], 0) * 1e9 / 16
                rows.append([impl, r["ranks"], r["n"], fmt(best(r)), fmt(median(r)), fmt(updates),
                             fmt(100 * updates / bound if bound else None) + " %",
                             fmt(best(slab1) / best(r)) if slab1 and impl == "slab" else "",
                             fmt(best(numpy_r) / best(r)) if numpy_r and impl != "numpy" else ""])
    out += ["### Heat, explicit FTCS (200 steps)", "",
            table(["implementation", "ranks", "nx", "min s", "median s", "cell updates/s", "of bandwidth bound",
                   "speed-up vs 1 rank", "× NumPy"], rows),
            "", "Bound: STREAM copy bandwidth / 16 bytes per cell update (read u, write u_new) — the bound of one "
            "step per pass over memory; slab's temporal blocking (16 steps per pass) is not subject to it. "
            "Targets: ≥ 85 % of the bound at 1 rank, ≥ 1.8× at 2 ranks, ≥ 10× NumPy, ≥ 1.5× PETSc.", ""]

    rows = []
    for r in (x for x in results if x["case"] == "heat-cn"):
        idiom = pick(results, "heat-cn", "petsc-dmda-ksp", r["ranks"], r["n"])
        numpy_cn = pick(results, "heat-cn", "numpy-scipy", 1, r["n"])
        rows.append([r["impl"], r["ranks"], r["n"], r["steps"], fmt(best(r)), fmt(median(r)),
                     fmt(best(r) / best(idiom)) if idiom and r["impl"] == "slab" else "",
                     fmt(best(r) / best(numpy_cn)) if numpy_cn and r["impl"] == "slab" else ""])
    out += ["### Heat, Crank–Nicolson (R = 10)", "",
            table(["implementation", "ranks", "nx", "steps", "min s", "median s", "time / PETSc idiom",
                   "time / NumPy+SciPy"], rows),
            "", "slab: on 1 rank an LU factorisation once and triangular solves per step; on 2, GMRES + block "
            "Jacobi/ILU to a relative residual of 1e-14 from the previous step. The PETSc idiom: DMDA matrices, "
            "default GMRES + block Jacobi/ILU from a zero guess, same tolerance. NumPy+SciPy: scipy.linalg."
            "solve_banded (LAPACK's tridiagonal solver) each step. Target: ≤ 1.1× the PETSc idiom.", ""]

    rows = []
    numpy_gd = pick(results, "gd", "numpy")
    for r in (x for x in results if x["case"] == "gd"):
        per_iteration = best(r) / r["steps"]
        nbytes = 8 * r["n"] * r["cols"]

        def of_bound(gbs):
            return fmt(100 * nbytes / (gbs * 1e9) / per_iteration) + " %" if gbs else "—"
        rows.append([r["impl"], r["ranks"], f"{r['n']} × {r['cols']}", fmt(per_iteration), fmt(median(r) / r["steps"]),
                     of_bound(copy.get(r["ranks"])), of_bound(read.get(r["ranks"])),
                     fmt(best(numpy_gd) / numpy_gd["steps"] / per_iteration) if numpy_gd and r["impl"] != "numpy" else ""])
    out += ["### Regression, gradient descent", "",
            table(["implementation", "ranks", "N × D", "min s/iteration", "median s/iteration", "of copy bound",
                   "of read bound", "× NumPy"], rows),
            "", "Bound: one read of X per iteration (8·N·D bytes) at STREAM copy bandwidth (the target's bound) and "
            "at the read-only bandwidth measured above (what a pass that only reads can reach). slab's "
            "iteration is one fused pass with a reproducible tree sum. Targets: ≥ 80 % of the bound, ≥ 3× NumPy "
            "(X.T @ (X @ w - y)).", ""]

    rows = []
    numpy_lstsq = pick(results, "lstsq", "numpy")

    def cpu(r):
        return min(r["cpu_seconds"]) if r and "cpu_seconds" in r else float("nan")
    for r in (x for x in results if x["case"] == "lstsq"):
        one = pick(results, "lstsq", r["impl"], 1, r["n"])
        normal = pick(results, "lstsq", "slab-normal", r["ranks"], r["n"])
        slab = r["impl"] != "numpy"
        rows.append([r["impl"], r["ranks"], f"{r['n']} × {r['cols']}", fmt(best(r)), fmt(median(r)), fmt(cpu(r)),
                     f"{fmt(best(one) / best(r))} ({fmt(cpu(one) / cpu(r))})" if one and slab else "",
                     f"{fmt(best(numpy_lstsq) / best(r))} ({fmt(cpu(numpy_lstsq) / cpu(r))})"
                     if numpy_lstsq and slab else "",
                     f"{fmt(best(r) / best(normal))} ({fmt(cpu(r) / cpu(normal))})"
                     if normal and r["impl"] == "slab-qr" else ""])
    if rows:
        out += ["### Regression, direct least squares", "",
                table(["implementation", "ranks", "N × D", "min s", "median s", "min CPU s",
                       "speed-up vs 1 rank (CPU)", "× numpy.linalg.lstsq (CPU)", "time / slab normal (CPU)"], rows),
                "", "Fit time only (data in memory; both slab fits include the loss pass at the answer). CPU s: the "
                "slowest rank's CPU time (NumPy: all its threads'), which a machine shared with other jobs inflates "
                "less than wall time; the ratios in brackets use it. slab-qr: TSQR over fixed 256-row blocks, the "
                "same bits on any rank count; slab-normal: the normal equations (tree-summed Gram matrix, "
                "Cholesky). numpy: numpy.linalg.lstsq on [X 1] (LAPACK gelsd). Targets: qr ≥ 3× "
                "numpy.linalg.lstsq at 1 rank, ≥ 1.7× faster at 2 ranks than at 1, ≤ 2× slab normal.", ""]

    rows = []
    for ranks in sorted({r["ranks"] for r in results if r["case"] == "h5write"}):
        raw = pick(results, "h5write", "write(2)", ranks)
        for r in (x for x in results if x["case"] == "h5write" and x["ranks"] == ranks):
            gbs = 8 * r["n"] / best(r) / 1e9
            rows.append([r["impl"], ranks, f"{8 * r['n'] / 2**30:.3g} GiB", fmt(best(r)), fmt(gbs),
                         fmt(100 * best(raw) / best(r)) + " %" if raw else ""])
    out += ["### HDF5 write", "", table(["implementation", "ranks", "size", "min s", "GB/s", "of write(2)"], rows),
            "", "write(2) is one process writing the same bytes to the same file system (page cache); "
            "+fsync waits for the disk. Targets: parallel ≥ 80 % of write(2); gather ≤ 1.3× parallel at 2 ranks.", ""]

    rows = []
    for r in (x for x in results if x["case"] == "whole-run"):
        inside = r.get("inside")
        rows.append([r["impl"], r["ranks"], fmt(best(r)), fmt(median(r)),
                     fmt(statistics.median(r["solve"])) if inside else "",
                     fmt(statistics.median(inside)) if inside else "",
                     fmt(median(r) - statistics.median(inside)) if inside else fmt(median(r))])
    if rows:
        out += ["### Whole run: the default job", "",
                table(["command", "ranks", "min s", "median s", "solve s", "inside slab s",
                       "start-up + shut-down s"], rows),
                "", "From the shell (mpirun to exit) against slab's own wall_time_total (command line parsed to file "
                "committed); the difference is launching, loading the libraries, MPI_Init, PETSc and MPI_Finalize. "
                "`mpirun /bin/true` is the launcher alone.", ""]

    text = "\n".join(out)
    print(text)
    with open(prefix + ".json", "w") as f:
        json.dump({"machine": machine, "results": results}, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for impl in ("slab", "petsc-dmda"):
            for n in sizes:
                pts = sorted((r["ranks"], r["n"] * r["steps"] / best(r)) for r in results
                             if r["case"] == "heat-explicit" and r["impl"] == impl and r["n"] == n)
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=f"{impl}, nx={n:.0e}")
        if copy:
            ks = sorted(copy)
            ax.plot(ks, [copy[k] * 1e9 / 16 for k in ks], "k--", label="one-step bandwidth bound")
        ax.set(xlabel="ranks", ylabel="cell updates / s", title="heat, explicit: scaling")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(prefix + ".png", dpi=110)
    except ImportError:
        pass
    print(f"\nwrote {prefix}.json and {prefix}.png")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
