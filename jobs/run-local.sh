#!/usr/bin/env bash
# The default job on this machine: installs what is missing, builds (Release) into build/release,
# runs the heat equation and a regression on 2 ranks into out/, and plots both.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
source jobs/env.sh

SLAB=build/release/slab
RANKS=2
mkdir -p out
# --overwrite: this script's own outputs from an earlier run are replaced on purpose.
mpirun -np "$RANKS" "$SLAB" heat --out out/heat.h5 --overwrite
mpirun -np "$RANKS" "$SLAB" regress --out out/reg.h5 --overwrite
/usr/bin/python3 jobs/plot.py out/heat.h5 out/reg.h5

cat <<'TEXT'

Load the results in Python:
  import xarray as xr
  ds = xr.open_dataset("out/heat.h5", group="heat")       # u(t, x) with coordinates t and x
  import h5py, numpy as np
  u = np.asarray(h5py.File("out/heat.h5")["heat/u"])      # (snapshots, nx): u[k, i] = u(x_i, t_k)
  w = h5py.File("out/reg.h5")["regression/w"][()]         # fitted weights
TEXT
