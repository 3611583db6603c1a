#!/usr/bin/python3
"""How fast the reads people do come back from each layout of /heat/u: one point's time series
u[:, i] and one snapshot u[k, :], read with h5py from a file slab wrote (nx nodes, K snapshots).
Layouts: contiguous; extendible (chunks of about 1 MiB tiling both axes), plain and with
--compress 4 (shuffle + deflate); and, for comparison, the chunking slab used before (one chunk
per snapshot; plain, and deflate without shuffle), made by h5py from the same data. Each read opens the file
afresh (an empty HDF5 chunk cache); the operating system's page cache stays warm, so the times are
decompression and copying more than disk. Prints one JSON line per layout and read, like slab_bench.

  read_layouts.py SLAB RANKS NX SNAPSHOTS REPS DIR
"""
import json
import os
import subprocess
import sys
import time

import h5py


def timed_read(path, select, reps):
    seconds = []
    for _ in range(reps):
        with h5py.File(path, "r") as f:
            start = time.perf_counter()
            select(f["heat/u"])
            seconds.append(time.perf_counter() - start)
    return seconds


def write_files(slab, ranks, nx, snapshots, directory):
    files = {}
    common = ["heat", "--nx", str(nx), "--steps", str(snapshots - 1), "--snapshots", str(snapshots), "--quiet",
              "--overwrite"]
    for name, extra in (("contiguous", []), ("extendible", ["--layout", "extendible"]),
                        ("extendible+compress 4", ["--layout", "extendible", "--compress", "4"])):
        path = os.path.join(directory, name.replace(" ", "").replace("+", "-") + ".h5")
        subprocess.run(["mpirun", "-np", str(ranks), slab, *common, *extra, "--out", path], check=True)
        files[name] = path
    # The layout before: one chunk per snapshot, deflate without shuffle.
    with h5py.File(files["contiguous"], "r") as source:
        u = source["heat/u"]
        for name, options in (("per-snapshot chunks (before)", {}),
                              ("per-snapshot chunks+deflate 4 (before)", {"compression": "gzip",
                                                                          "compression_opts": 4})):
            path = os.path.join(directory, f"before-{len(files)}.h5")
            with h5py.File(path, "w") as f:
                copy = f.create_dataset("heat/u", shape=u.shape, maxshape=(None, nx), chunks=(1, nx), dtype="<f8",
                                        **options)
                for k in range(u.shape[0]):
                    copy[k] = u[k]
            files[name] = path
    return files


def main(slab, ranks, nx, snapshots, reps, directory):
    files = write_files(slab, ranks, nx, snapshots, directory)
    point, snapshot = nx // 2, snapshots // 2
    for name, path in files.items():
        with h5py.File(path, "r") as f:
            chunks = f["heat/u"].chunks
        size = os.path.getsize(path)
        for read, select in (("u[:, i]", lambda u: u[:, point]), ("u[k, :]", lambda u: u[snapshot, :])):
            print(json.dumps({"case": "read-layout", "impl": name, "read": read, "ranks": ranks, "n": nx,
                              "steps": snapshots, "cols": 0, "chunks": list(chunks) if chunks else None,
                              "bytes": size, "seconds": timed_read(path, select, reps)}), flush=True)
        os.remove(path)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
