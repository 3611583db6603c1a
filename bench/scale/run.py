#!/usr/bin/env python3
"""The scaling study of bench/scale.sh: runs scale_kernels under smpirun on platform.xml, prints the
tables, writes bench/results/scale-<date>.json (the rows), scale-<date>.md (the tables beside the
model) and scale-<date>.png (the plot).

Every time in the study comes from a simulation run: the weak-scaling baseline is the 1-rank run,
and the model's compute term for P ranks is a 1-rank run of the same per-rank size.
"""
import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = ["gd", "qr", "cn", "explicit"]
FEATURES = 16
WEAK_SIZE = {"gd": 2**17, "qr": 2**17, "cn": 2**20, "explicit": 2**20}  # rows or grid nodes per rank
STRONG_SIZE = {"gd": 2**27, "qr": 2**27, "cn": 2**30, "explicit": 2**30}
STRONG_BASE = 64
# The least share per rank the strong-scaling model is taken to (above the explicit scheme's temporal
# block of 16 nodes and TSQR's 18 columns).
MIN_SHARE = 32

# SMPI settings (docs/scaling.md): computation is injected by compute_replay.cpp, not by SMPI;
# the platform's link figures are used as given (no calibration factors of another cluster);
# MPI_Probe/MPI_Test polls cost 1 us, not SMPI's default 100 us (SMPI's MPI_Probe and waits on
# MPI_Test poll: at 0.1 us a rank waiting 1 ms is 10,000 simulation steps; 1 us delays a detected
# message by 0.5 us on average, on the order of one message's latency); Open MPI's collective choices,
# but for the broadcast, reduction and allreduce SMPI's own binomial trees and recursive doubling:
# SMPI 3.32's ports of Open MPI's tuned algorithms for these cost the simulator a time that grows
# about 8x per doubling of P (one 160-byte MPI_Bcast at 512 ranks: 3.2 s of CPU, 0.02 s with
# binomial_tree; one 8-byte MPI_Allreduce at 1,024 ranks: 28 s, 0.06 s at 512 with rdb), which at
# 4,096 ranks would be hours per point. The messages are the same log2 P rounds of the same sizes
# (Open MPI's choice for one small allreduce at these sizes is a binomial reduce and broadcast,
# 2 log2 P rounds to recursive doubling's log2 P; docs/scaling.md).
SMPI_OPTIONS = [
    "-no-privatize",
    "--cfg=smpi/host-speed:1Gf",
    "--cfg=smpi/simulate-computation:no",
    "--cfg=smpi/coll-selector:ompi",
    "--cfg=smpi/bcast:binomial_tree",
    "--cfg=smpi/reduce:binomial",
    "--cfg=smpi/allreduce:rdb",
    "--cfg=smpi/lat-factor:0:1",
    "--cfg=smpi/bw-factor:0:1",
    "--cfg=smpi/iprobe:1e-6",
    "--cfg=smpi/test:1e-6",
    "--cfg=smpi/grow-injected-times:no",
    "--log=root.thres:warning",
]


class Platform:
    """The figures of platform.xml that the model needs."""

    def __init__(self, path):
        cluster = ET.parse(path).getroot().find(".//cluster")
        self.cores = int(cluster.get("core"))
        self.bw = parse_rate(cluster.get("bw"))
        self.lat = parse_time(cluster.get("lat"))
        self.loop_bw = parse_rate(cluster.get("loopback_bw"))
        self.loop_lat = parse_time(cluster.get("loopback_lat"))
        topo = cluster.get("topo_parameters").split(";")
        self.nodes_per_leaf = int(topo[1].split(",")[0])
        first, last = cluster.get("radical").split("-")
        self.nodes = int(last) - int(first) + 1

    def message(self, distance, nbytes):
        """Latency plus transfer time of one message between ranks `distance` apart (ranks are
        placed `cores` per node in order): through shared memory, one leaf switch (2 links), or
        a spine switch (4 links)."""
        if distance < self.cores:
            return self.loop_lat + nbytes / self.loop_bw
        if distance < self.cores * self.nodes_per_leaf:
            return 2 * self.lat + nbytes / self.bw
        return 4 * self.lat + nbytes / self.bw


def parse_rate(text):
    units = {"GBps": 1e9, "MBps": 1e6, "kBps": 1e3, "Bps": 1.0}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)


def parse_time(text):
    units = {"us": 1e-6, "ns": 1e-9, "ms": 1e-3, "s": 1.0}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)


def binomial(platform, ranks, nbytes):
    """The critical path of a binomial tree over `ranks` ranks (a reduction to rank 0 or a broadcast
    from it): one message per round, at distance 1, 2, 4, ..."""
    total, step = 0.0, 1
    while step < ranks:
        total += platform.message(step, nbytes)
        step *= 2
    return total


def recursive_doubling(platform, ranks, nbytes):
    """An allreduce of `nbytes` by recursive doubling: one exchange per round at distance 1, 2, 4, ..."""
    total, step = 0.0, 1
    while step < ranks:
        total += platform.message(step, nbytes)
        step *= 2
    return total


def recursive_doubling_allgather(platform, ranks, nbytes_per_rank):
    total, step = 0.0, 1
    while step < ranks:
        total += platform.message(step, step * nbytes_per_rank)
        step *= 2
    return total


def model_communication(platform, kernel, ranks, local):
    """Rounds x latency + bytes / bandwidth of one unit of work at `ranks` ranks with `local` rows or
    nodes per rank, following the algorithms of src/core/tree_sum.cpp, solvers/tsqr.cpp,
    solvers/tridiagonal.cpp and solvers/heat_explicit.cpp (docs/scaling.md)."""
    if ranks == 1:
        return 0.0
    width = FEATURES + 2
    tree = 8 * (width + 2)  # one tree node: begin, level, the values (aligned ranks join to one node)
    if kernel == "gd":
        return binomial(platform, ranks, tree) + binomial(platform, ranks, 8 * (width + 1))
    if kernel == "qr":
        w = FEATURES + 2
        triangle = 8 * (w * w + 2)
        # TSQR's tree of triangles, then the loss and gradient norm of the fit (a gd-sized sum).
        return (binomial(platform, ranks, triangle) + binomial(platform, ranks, 8 * (w * w + 1))
                + binomial(platform, ranks, tree) + binomial(platform, ranks, 8 * (width + 1)))
    if kernel == "cn":
        # The reduced system by block cyclic reduction (solvers/reduced_system.hpp): per level above
        # a rank's own blocks one double to the neighbour at that level's distance, up the levels
        # and back down (2 log2 P rounds of 8 B), and the block ends at each edge to the neighbours.
        return 2 * binomial(platform, ranks, 8) + platform.message(1, 16)
    if kernel == "explicit":
        # Per block of 16 steps: the stop agreement, one allreduce of an int (under SMPI a blocking
        # one, compute_replay.cpp; Open MPI's recursive doubling for small messages: log2 P
        # exchanges at distances 1, 2, 4, ...), and the halo of 16 nodes with each neighbour,
        # overlapped with the interior tiles (milliseconds against its microsecond): nothing.
        return recursive_doubling(platform, ranks, 4) / 16
    raise ValueError(kernel)


def run_kernel(binary, platform_xml, hostfile, workdir, kernel, ranks, size, reps):
    cmd = (["smpirun"] + SMPI_OPTIONS + ["-platform", platform_xml, "-hostfile", hostfile, "-np", str(ranks),
                                          binary, kernel, str(size), str(reps)])
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    wall = time.monotonic() - started
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(rows) != reps:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"scale: {kernel} at {ranks} ranks failed (exit {proc.returncode})")
    # Each repetition injects the least compute seen so far (compute_replay.cpp): the last is the
    # least disturbed by other work on this machine.
    return rows[-1]["seconds"], wall


def repetitions(ranks):
    """Repetitions per run: each injects the least compute its call path has shown so far
    (compute_replay.cpp), so more repetitions take more of this machine's noise out; wall time
    grows with ranks x repetitions."""
    return 10 if ranks == 1 else 3 if ranks <= 16 else 2


def powers(lo, hi, factor):
    p = lo
    while p <= hi:
        yield p
        p *= factor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="stop at 1,024 ranks")
    ap.add_argument("--max-ranks", type=int, default=None, help="largest rank count (default 4,096; --quick 1,024)")
    ap.add_argument("--min-strong", type=int, default=STRONG_BASE)
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--modes", default="weak,strong")
    ap.add_argument("--factor", type=int, default=4, help="ratio of successive rank counts (default 4)")
    ap.add_argument("--weak-size", type=int, default=None, help="per-rank size for every kernel (tests)")
    ap.add_argument("--strong-size", type=int, default=None, help="global size for every kernel (tests)")
    ap.add_argument("--binary")
    ap.add_argument("--out", help="directory of the results")
    ap.add_argument("--date", default=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--merge", nargs="+", metavar="DETAIL_JSON",
                    help="only join the -detail.json files of studies run apart (e.g. one per kernel, at once)")
    args = ap.parse_args()
    if args.merge:
        merge(args)
        return
    args.binary = os.path.abspath(args.binary)
    max_ranks = args.max_ranks or (1024 if args.quick else 4096)
    kernels = args.kernels.split(",")
    platform_xml = os.path.join(HERE, "platform.xml")
    platform = Platform(platform_xml)
    if max_ranks > platform.cores * platform.nodes:
        raise SystemExit(f"scale: the platform has {platform.cores * platform.nodes} cores")

    study = Study(args, platform)
    points = plan_points(kernels, args.modes.split(","), max_ranks, args)
    with tempfile.TemporaryDirectory(prefix="slab-scale-") as workdir:
        hostfile = os.path.join(workdir, "hosts")
        with open(hostfile, "w") as f:
            for n in range(platform.nodes):
                f.write(f"node-{n}\n" * platform.cores)

        def one_rank(kernel, local):
            """Runs the unit on one rank with `local` rows or nodes again; returns the least time of
            all such runs so far. A run on a machine shared with other jobs is sometimes 2x slower
            than one a minute later, so the 1-rank baseline is re-measured before every point of a
            curve and its minimum kept: the baseline and the many-rank runs (whose many ranks and
            repetitions pool their samples) both approach this machine's undisturbed speed."""
            seconds = run_kernel(args.binary, platform_xml, hostfile, workdir, kernel, 1, local, repetitions(1))[0]
            key = (kernel, local)
            study.compute[key] = min(seconds, study.compute.get(key, seconds))
            return study.compute[key]

        for kernel, mode, ranks, size in points:
            per_rank = size // ranks
            started = time.monotonic()
            one_rank(kernel, per_rank)
            seconds = None
            if ranks > 1:
                seconds = run_kernel(args.binary, platform_xml, hostfile, workdir, kernel, ranks, size,
                                     repetitions(ranks))[0]
            wall = time.monotonic() - started
            study.measured.append({"kernel": kernel, "mode": mode, "ranks": ranks, "seconds": seconds,
                                   "per_rank": per_rank, "wall": wall})
            print(f"  {kernel:8s} {mode:6s} {ranks:5d} ranks: "
                  + (f"{seconds * 1e3:9.3f} ms simulated" if ranks > 1 else "  1-rank baseline")
                  + f", {wall:6.1f} s wall", flush=True)
            # The results so far, after every point: an interrupted study leaves what it measured.
            study.write(final=False, plot=ranks >= 256)

        for kernel in kernels:
            base = study.rows_of(kernel, "strong")
            if base and base[0]["ranks"] == args.min_strong:
                study.beyond[kernel] = model_beyond(platform, kernel, base[0], base[-1]["ranks"],
                                                    args.strong_size or STRONG_SIZE[kernel], args.factor, one_rank)
    study.write(final=True, plot=True)


def model_beyond(platform, kernel, base, last_ranks, total, factor, one_rank):
    """The strong-scaling model past the last simulated rank count, up to the first rank count
    where its efficiency falls below 50 % (or the least share per rank): the compute term is a
    1-rank run of each smaller share, the communication the model's on the same network."""
    ranks, found = last_ranks, None
    while total // (ranks * factor) >= MIN_SHARE:
        ranks *= factor
        compute = one_rank(kernel, total // ranks)
        communication = model_communication(platform, kernel, ranks, total // ranks)
        efficiency = base["seconds"] * base["ranks"] / ((compute + communication) * ranks)
        found = {"ranks": ranks, "per_rank": total // ranks, "compute_seconds": compute,
                 "communication_seconds": communication, "model_efficiency": efficiency}
        if efficiency < 0.5:
            break
    return found


def plan_points(kernels, modes, max_ranks, args):
    """The points of the study, (kernel, mode, ranks, global size), in order of rank count, so that
    a study stopped early has every curve up to the same rank count (each curve's baseline, 1 rank
    for weak and --min-strong for strong scaling, comes first)."""
    points = []
    for kernel in kernels:
        for mode in modes:
            if mode == "weak":
                local = args.weak_size or WEAK_SIZE[kernel]
                points += [(kernel, mode, p, local * p) for p in powers(1, max_ranks, args.factor)]
            else:
                total = args.strong_size or STRONG_SIZE[kernel]
                points += [(kernel, mode, p, total) for p in powers(args.min_strong, max_ranks, args.factor)]
    return sorted(points, key=lambda q: (q[2], KERNELS.index(q[0]), q[1] != "weak"))


class Study:
    """The points measured so far and the 1-rank times; writes the results from them."""

    def __init__(self, args, platform):
        self.args, self.platform = args, platform
        self.measured = []  # {kernel, mode, ranks, seconds (None for the 1-rank baseline), per_rank, wall}
        self.compute = {}  # (kernel, per-rank size) -> least 1-rank time so far
        self.beyond = {}  # kernel -> the strong-scaling model past the last simulated rank count
        self.started = time.monotonic()

    def rows_of(self, kernel, mode):
        return [d for d in self.rows()[1] if d["kernel"] == kernel and d["mode"] == mode]

    def rows(self):
        """The result rows and their details, curve by curve, from the points measured so far: the
        1-rank runs' least time at this moment for the baseline and the model's compute term."""
        rows, detail = [], []
        for kernel in KERNELS:
            for mode in ("weak", "strong"):
                sel = sorted((m for m in self.measured if m["kernel"] == kernel and m["mode"] == mode),
                             key=lambda m: m["ranks"])
                if not sel:
                    continue
                curve = []
                for m in sel:
                    compute = self.compute[(kernel, m["per_rank"])]
                    seconds = compute if m["seconds"] is None else m["seconds"]
                    model = compute + model_communication(self.platform, kernel, m["ranks"], m["per_rank"])
                    curve.append((m["ranks"], seconds, compute, model, m["wall"]))
                base_ranks, base_t, _, base_m, _ = curve[0]
                for ranks, seconds, compute, model, wall in curve:
                    if mode == "weak":
                        eff, model_eff = base_t / seconds, base_m / model
                    else:
                        eff = base_t * base_ranks / (seconds * ranks)
                        model_eff = base_m * base_ranks / (model * ranks)
                    rows.append({"kernel": kernel, "mode": mode, "ranks": ranks, "seconds": seconds,
                                 "efficiency": eff})
                    detail.append({"kernel": kernel, "mode": mode, "ranks": ranks, "seconds": seconds,
                                   "compute_seconds": compute, "efficiency": eff, "model_seconds": model,
                                   "model_efficiency": model_eff, "gap": seconds / model - 1.0,
                                   "wall_seconds": wall})
        return rows, detail

    def write(self, final, plot):
        rows, detail = self.rows()
        write_results(self.args, rows, detail, self.platform, time.monotonic() - self.started,
                      final=final, plot=plot and not self.args.no_plot, beyond=self.beyond)


def merge(args):
    """Joins the -detail.json files of studies run apart; with --binary (bench/scale.sh passes it)
    also the strong-scaling model past their last rank count, from new 1-rank runs."""
    detail = [d for path in args.merge for d in json.load(open(path))]
    detail.sort(key=lambda d: (KERNELS.index(d["kernel"]), d["mode"] != "weak", d["ranks"]))
    rows = [{k: d[k] for k in ("kernel", "mode", "ranks", "seconds", "efficiency")} for d in detail]
    wall = sum(d["wall_seconds"] for d in detail)
    platform_xml = os.path.join(HERE, "platform.xml")
    platform = Platform(platform_xml)
    beyond = {}
    if args.binary:
        with tempfile.TemporaryDirectory(prefix="slab-scale-") as workdir:
            hostfile = os.path.join(workdir, "hosts")
            with open(hostfile, "w") as f:
                f.write("node-0\n")
            least = {}

            def one_rank(kernel, local):
                seconds = run_kernel(os.path.abspath(args.binary), platform_xml, hostfile, workdir, kernel, 1, local,
                                     repetitions(1))[0]
                least[(kernel, local)] = min(seconds, least.get((kernel, local), seconds))
                return least[(kernel, local)]

            for kernel in KERNELS:
                strong = [d for d in detail if d["kernel"] == kernel and d["mode"] == "strong"]
                if strong and strong[0]["ranks"] == args.min_strong:
                    beyond[kernel] = model_beyond(platform, kernel, strong[0], strong[-1]["ranks"],
                                                  args.strong_size or STRONG_SIZE[kernel], args.factor, one_rank)
    write_results(args, rows, detail, platform, wall, final=True, plot=not args.no_plot, beyond=beyond)


def replace_file(path, text):
    """Writes `path` whole or not at all (a temporary beside it, then a rename)."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_results(args, rows, detail, platform, study_wall, final, plot, beyond=None):
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"scale-{args.date}")
    replace_file(stem + ".json", json.dumps(rows, indent=1) + "\n")
    # The rows with the model and wall times.
    replace_file(stem + "-detail.json", json.dumps(detail, indent=1) + "\n")
    tables = render_tables(detail, platform, study_wall, args.quick, final, beyond or {})
    replace_file(stem + ".md", tables)
    if plot:
        draw(detail, stem + ".png")
    if final:
        print(tables)
        print(f"scale: wrote {stem}.json, {stem}.md" + (f", {stem}.png" if plot else "")
              + f" ({study_wall:.0f} s of wall time)")


def render_tables(detail, platform, study_wall, quick, final=True, beyond=None):
    out = [f"# slab scaling study (simulated{', quick' if quick else ''}{'' if final else ', in progress'})\n",
           f"SimGrid SMPI on bench/scale/platform.xml: {platform.nodes} nodes x {platform.cores} cores, "
           f"{platform.bw * 8 / 1e9:.0f} Gb/s links, {platform.lat * 4 * 1e6:.2f} us between leaf switches, "
           f"two-level fat tree. Simulated times; computation measured on the machine that ran the "
           f"simulation. Study wall time: {study_wall:.0f} s.\n"]
    for mode in ("weak", "strong"):
        for kernel in KERNELS:
            sel = [d for d in detail if d["kernel"] == kernel and d["mode"] == mode]
            if not sel:
                continue
            out.append(f"\n## {kernel}, {mode} scaling\n")
            out.append("| ranks | simulated ms | efficiency | model ms | model efficiency | gap | wall s |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|")
            for d in sel:
                out.append(f"| {d['ranks']} | {d['seconds'] * 1e3:.3f} | {d['efficiency']:.3f} | "
                           f"{d['model_seconds'] * 1e3:.3f} | {d['model_efficiency']:.3f} | "
                           f"{d['gap'] * 100:+.1f} % | {d['wall_seconds']:.1f} |")
            if mode == "strong":
                below = [d["ranks"] for d in sel if d["efficiency"] < 0.5]
                out.append(f"\nStrong-scaling efficiency below 50 % from: {below[0] if below else 'never (up to ' + str(sel[-1]['ranks']) + ')'} ranks.")
                b = (beyond or {}).get(kernel)
                if b:
                    verdict = "falls below 50 % at" if b["model_efficiency"] < 0.5 else "is still above 50 % at"
                    out.append(f"By the model beyond the simulated ranks (same network; compute: a 1-rank run of "
                               f"{b['per_rank']} rows or nodes), the efficiency {verdict} {b['ranks']} ranks: "
                               f"{b['model_efficiency']:.2f}, {b['compute_seconds'] * 1e6:.1f} us of compute and "
                               f"{b['communication_seconds'] * 1e6:.1f} us of communication per unit.")
    return "\n".join(out) + "\n"


def draw(detail, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"gd": "tab:blue", "qr": "tab:orange", "cn": "tab:green", "explicit": "tab:red"}
    for ax, mode in zip(axes, ("weak", "strong")):
        for kernel in KERNELS:
            sel = [d for d in detail if d["kernel"] == kernel and d["mode"] == mode]
            if not sel:
                continue
            x = [d["ranks"] for d in sel]
            ax.plot(x, [d["efficiency"] for d in sel], "o-", color=colours[kernel], label=f"{kernel} (simulated)")
            ax.plot(x, [d["model_efficiency"] for d in sel], "--", color=colours[kernel], alpha=0.6,
                    label=f"{kernel} (model)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks")
        ax.set_ylabel("efficiency")
        ax.set_ylim(0, 1.2)
        ax.axhline(0.9 if mode == "weak" else 0.5, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{mode} scaling (simulated: SimGrid SMPI, 128-core nodes, HDR100 fat tree)", fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
