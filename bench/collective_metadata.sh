#!/usr/bin/env bash
# Does collective HDF5 metadata (H5Pset_all_coll_metadata_ops, H5Pset_coll_metadata_write) slow a
# run on one node? Builds slab twice in Release from one revision, "on" as it is and "off" with
# those two calls deleted, then times a small heat run that writes many snapshots (each snapshot is
# a collective write of one row, so metadata is a large share of its I/O) at 1, 2 and 4 ranks,
# the two builds interleaved, and prints the median I/O and total wall time of each. With strace
# installed it also counts the file reads and writes (pread/pwrite system calls, all ranks) of one
# run of each: a number that, unlike time, does not depend on what else the machine is doing.
#
#   bench/collective_metadata.sh [REVISION] [REPETITIONS]     (defaults: HEAD, 7)
#   NX=1000 STEPS=2000 SNAPSHOTS=2000 RANKS="1 2 4" bench/collective_metadata.sh
set -euo pipefail
cd "$(dirname "$0")/.."
revision=${1:-HEAD}
reps=${2:-7}
nx=${NX:-1000} steps=${STEPS:-2000} snapshots=${SNAPSHOTS:-2000}
ranks_list=${RANKS:-"1 2 4"}
root=build/collective-metadata
tree=$(git rev-parse "$revision^{tree}")
for variant in on off; do
  src="$root/src-$variant" build="$root/build-$variant"
  [[ -x $build/slab && $(cat "$build/source-tree" 2>/dev/null) == "$tree" ]] && continue  # built from this source
  rm -rf "$src" && mkdir -p "$src"
  git archive "$revision" | tar -x -C "$src"
  [[ $variant == off ]] && sed -i '/H5Pset_all_coll_metadata_ops\|H5Pset_coll_metadata_write/d' "$src"/io/*.cpp
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLAB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target slab -j "$(nproc)" >/dev/null
  echo "$tree" >"$build/source-tree"
done
grep -q H5Pset_coll_metadata_write "$root"/src-on/io/*.cpp
! grep -q H5Pset_coll_metadata_write "$root"/src-off/io/*.cpp
source jobs/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((rep = 0; rep < reps; ++rep)); do
  for ranks in $ranks_list; do
    for variant in on off; do
      mpirun -n "$ranks" "$root/build-$variant/slab" heat --nx "$nx" --steps "$steps" --snapshots "$snapshots" -q \
        --out "$work/$variant.h5" --overwrite
      /usr/bin/python3 -c 'import h5py, sys
a = h5py.File(sys.argv[1])["provenance"].attrs
print(sys.argv[2], sys.argv[3], a["wall_time_io"], a["wall_time_total"])' "$work/$variant.h5" "$variant" "$ranks"
    done
  done
done | tee "$work/times" >&2
/usr/bin/python3 - "$work/times" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print("| ranks | collective metadata | median I/O s | median total s | runs |")
print("|---|---|---|---|---|")
for ranks in sorted({int(r[1]) for r in rows}):
    for variant in ("off", "on"):
        sel = [r for r in rows if r[0] == variant and int(r[1]) == ranks]
        io = statistics.median(float(r[2]) for r in sel)
        total = statistics.median(float(r[3]) for r in sel)
        print(f"| {ranks} | {variant} | {io:.3f} | {total:.3f} | {len(sel)} |")
PY

command -v strace >/dev/null || exit 0
echo
echo "| ranks | collective metadata | pwrite/pwritev calls | pread/preadv calls |"
echo "|---|---|---|---|"
for ranks in $ranks_list; do
  for variant in off on; do
    rm -f "$work"/strace.*
    mpirun -n "$ranks" sh -c 'exec strace -f -c -o "$0/strace.$$" -e trace=pread64,pwrite64,preadv,pwritev,preadv2,pwritev2 "$@"' \
      "$work" "$root/build-$variant/slab" heat --nx "$nx" --steps "$steps" --snapshots "$snapshots" -q \
      --out "$work/$variant.h5" --overwrite
    awk -v ranks="$ranks" -v variant="$variant" '
      $NF ~ /^pwrite/ { writes += NF == 6 ? $(NF - 2) : $(NF - 1) }  # a column of errors, or none
      $NF ~ /^pread/ { reads += NF == 6 ? $(NF - 2) : $(NF - 1) }
      END { printf "| %d | %s | %d | %d |\n", ranks, variant, writes, reads }' "$work"/strace.*
  done
done
