#!/usr/bin/env bash
# Smoke test of bench/run.sh --quick: it runs, and every table has every column. No timing limits.
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(BUILD_DIR="$1" bench/run.sh --quick)
echo "$report"
for header in "| kernel | processes | GB/s |" \
              "| implementation | ranks | nx | min s | median s | cell updates/s | of bandwidth bound | speed-up vs 1 rank | × NumPy |" \
              "| implementation | ranks | nx | steps | min s | median s | time / PETSc idiom | time / NumPy+SciPy |" \
              "| implementation | ranks | N × D | min s/iteration | median s/iteration | of copy bound | of read bound | × NumPy |" \
              "| implementation | ranks | N × D | min s | median s | min CPU s | speed-up vs 1 rank (CPU) | × numpy.linalg.lstsq (CPU) | time / slab normal (CPU) |" \
              "| implementation | ranks | size | min s | GB/s | of write(2) |" \
              "| command | ranks | min s | median s | solve s | inside slab s | start-up + shut-down s |"; do
  grep -qF -- "$header" <<<"$report" || { echo "missing table: $header"; exit 1; }
done
for impl in "| slab | 2 |" "| petsc-dmda | 2 |" "| numpy | 1 |" "| petsc-dmda-ksp | 2 |" "| numpy-scipy | 1 |" \
            "| read | 2 |" "| slab-parallel | 2 |" "| slab-gather | 2 |" "| write(2) | 1 |" "| h5py | 1 |" \
            "| slab heat | 2 |" "| slab regress | 2 |" "| mpirun /bin/true | 2 |" \
            "| slab-qr | 2 |" "| slab-normal | 2 |"; do
  grep -qF -- "$impl" <<<"$report" || { echo "missing row: $impl"; exit 1; }
done
echo "bench --quick: every table and row present"
