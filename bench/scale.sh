#!/usr/bin/env bash
# The scaling study by simulation (docs/scaling.md): slab's kernels built with SimGrid's SMPI from
# this checkout's sources, run on bench/scale/platform.xml (32 nodes x 128 cores, HDR100 fat tree),
# weak scaling from 1 rank and strong scaling from 64, up to 4,096 simulated ranks.
#
#   bench/scale.sh            the full study (up to 4,096 ranks)
#   bench/scale.sh --quick    up to 1,024 ranks (under 10 minutes on a 2-core machine)
#   extra options go to bench/scale/run.py (--kernels gd,qr --max-ranks 256 --out DIR ...)
#
# Needs smpicxx/smpirun (Debian: libsimgrid-dev), pkg-config's petsc (headers only), LAPACK and
# python3 with matplotlib (Debian's /usr/bin/python3 unless PYTHON is set). Writes bench/results/scale-<date>[-quick].{json,md,png}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${SLAB_SCALE_BUILD:-$root/build/scale}"
command -v smpicxx >/dev/null || { echo "scale.sh: smpicxx not found (apt-get install libsimgrid-dev)" >&2; exit 2; }
make -s -C "$root/bench/scale" BUILD="$build" -j"$(nproc)" >/dev/null
exec "${PYTHON:-/usr/bin/python3}" "$root/bench/scale/run.py" --binary "$build/scale_kernels" --out "$root/bench/results" "$@"
