#!/usr/bin/env bash
# Measures slab against its peers, side by side in one run: STREAM (this machine's bandwidth),
# NumPy doing the same math, idiomatic PETSc code, write(2) and h5py. Prints one Markdown table per
# case and writes bench/results/<date>.json and a PNG of the scaling cases.
#
#   bench/run.sh            full sizes (a few minutes on 2 cores)
#   bench/run.sh --quick    tiny sizes, one repetition: checks that everything runs
#   BUILD_DIR=build/debug bench/run.sh --quick     use an existing build
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1

if [[ -z "${BUILD_DIR:-}" ]]; then
  jobs/setup.sh --bench >/dev/null
  cmake --preset release -DSLAB_BUILD_BENCH=ON >/dev/null
  cmake --build --preset release -j "$(nproc)" --target slab_bench slab >/dev/null
  BUILD_DIR=build/release
fi
source jobs/env.sh
BENCH="$BUILD_DIR/slab_bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lines="$work/results.jsonl"

if ((quick)); then
  reps=1; stream_n=100000; heat_sizes="10000"; heat_steps=20; cn_n=10000; cn_steps=5
  gd_n=20000; gd_iters=5; write_n=1048576; lstsq_n=20000
else
  reps=3; stream_n=40000000; heat_sizes="1000000 10000000"; heat_steps=200; cn_n=1000000; cn_steps=50
  gd_n=2000000; gd_iters=50; write_n=134217728   # 1 GiB
  lstsq_n=2000000
fi
ranks_list="1 2"
# NumPy's OpenBLAS runs its own kernel for this CPU only without these overrides (see the README).
numpy() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/numpy_peers.py "$@"; }

for ranks in $ranks_list; do
  mpirun -np "$ranks" "$BENCH" stream --n "$stream_n" --reps "$reps" >>"$lines"
  for n in $heat_sizes; do
    mpirun -np "$ranks" "$BENCH" heat-explicit --n "$n" --steps "$heat_steps" --reps "$reps" >>"$lines"
  done
  mpirun -np "$ranks" "$BENCH" heat-cn --n "$cn_n" --steps "$cn_steps" --reps "$reps" >>"$lines"
  mpirun -np "$ranks" "$BENCH" gd --n "$gd_n" --cols 16 --steps "$gd_iters" --reps "$reps" >>"$lines"
  mpirun -np "$ranks" "$BENCH" lstsq --n "$lstsq_n" --cols 16 --reps "$reps" >>"$lines"
  mpirun -np "$ranks" "$BENCH" h5write --n "$write_n" --reps "$reps" --dir "$work" >>"$lines"
done
for n in $heat_sizes; do numpy heat-explicit "$n" "$heat_steps" "$reps" >>"$lines"; done
numpy heat-cn "$cn_n" "$cn_steps" "$reps" >>"$lines"
numpy gd "$gd_n" 16 "$gd_iters" "$reps" >>"$lines"
numpy lstsq "$lstsq_n" 16 "$reps" >>"$lines"
numpy h5write "$write_n" "$reps" "$work" >>"$lines"
/usr/bin/python3 bench/whole_run.py "$BUILD_DIR/slab" 2 "$reps" "$work" >>"$lines"

mkdir -p bench/results
out="bench/results/$(date +%Y-%m-%d)"
((quick)) && out="$work/quick"
/usr/bin/python3 bench/report.py "$lines" "$out"
