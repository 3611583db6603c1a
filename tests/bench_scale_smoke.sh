#!/usr/bin/env bash
# Smoke test of bench/scale.sh: builds the SMPI driver from this checkout, simulates every kernel at
# 1, 4 and 16 ranks (weak) and 4 and 16 ranks (strong) on small sizes, and checks the JSON's shape.
# No timing limits: the numbers are for bench/scale.sh. Skipped (77) without smpicxx.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$1"
command -v smpicxx >/dev/null || { echo "smpicxx not found (libsimgrid-dev): skipped"; exit 77; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
SLAB_SCALE_BUILD="$build" "$root/bench/scale.sh" --max-ranks 16 --min-strong 4 --weak-size 65536 \
  --strong-size 1048576 --out "$out" --date smoke --no-plot >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
/usr/bin/python3 - "$out/scale-smoke.json" <<'PY'
import json, math, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and rows, "not a non-empty list"
keys = {"kernel", "mode", "ranks", "seconds", "efficiency"}
for r in rows:
    assert set(r) == keys, f"row keys {sorted(r)}"
    assert r["kernel"] in ("gd", "qr", "cn", "explicit") and r["mode"] in ("weak", "strong"), r
    assert isinstance(r["ranks"], int) and r["ranks"] >= 1, r
    assert isinstance(r["seconds"], float) and r["seconds"] > 0 and math.isfinite(r["seconds"]), r
    assert isinstance(r["efficiency"], float) and r["efficiency"] > 0 and math.isfinite(r["efficiency"]), r
for kernel in ("gd", "qr", "cn", "explicit"):
    for mode, ranks in (("weak", [1, 4, 16]), ("strong", [4, 16])):
        sel = [r for r in rows if r["kernel"] == kernel and r["mode"] == mode]
        assert [r["ranks"] for r in sel] == ranks, (kernel, mode, sel)
        assert sel[0]["efficiency"] == 1.0, sel[0]  # the baseline is its own reference
        base = sel[0]["seconds"] * (1 if mode == "weak" else sel[0]["ranks"])
        for r in sel:  # the efficiency is the defined ratio of the times in the file
            expect = base / (r["seconds"] * (1 if mode == "weak" else r["ranks"]))
            assert abs(r["efficiency"] - expect) <= 1e-12 * expect, (r, expect)
print(f"bench.scale_smoke: {len(rows)} rows of the expected shape")
PY
