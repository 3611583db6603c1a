#!/usr/bin/env bash
# Runs slab's Slurm job scripts on a real one-node Slurm cluster started here (as root):
# munged, slurmctld and slurmd with a config written into WORK, then sbatch --wait on
# jobs/heat.sbatch, jobs/regress.sbatch and jobs/sweep.sbatch, checks their exit states and loads
# the outputs with h5py. Stops only the daemons it started. Exits 77 (CTest: skipped) with the
# reason when Slurm cannot start here.
#
#   tests/slurm/run_slurm_jobs.sh SLAB_EXECUTABLE WORK_DIRECTORY
set -uo pipefail
SLAB=$(realpath "$1")
WORK=$(realpath -m "$2")
REPO=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; for log in "$WORK"/*.log; do echo "--- $log"; tail -20 "$log"; done; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "starting slurmctld/slurmd needs root"
for tool in slurmctld slurmd sbatch sinfo munged; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (jobs/setup.sh --tests installs slurm-wlm and munge)"
done

rm -rf "$WORK" && mkdir -p "$WORK"/{state,spool,out}
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}
trap cleanup EXIT

# munge: the key comes with the package; the daemon runs as the munge user.
if ! pgrep -x munged >/dev/null; then
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null 2>&1 || skip "no munge key and mungekey failed"
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- munged --force || skip "munged does not start"
  started+=("$(pgrep -x -n munged)")
fi

export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=slabtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -c -f "$SLURM_CONF" || skip "slurmctld does not start"
for _ in $(seq 50); do [[ -s "$WORK/slurmctld.pid" ]] && break; sleep 0.1; done
started+=("$(cat "$WORK/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N localhost || skip "slurmd does not start"
for _ in $(seq 50); do [[ -s "$WORK/slurmd.pid" ]] && break; sleep 0.1; done
started+=("$(cat "$WORK/slurmd.pid")")
for _ in $(seq 100); do
  [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && break
  sleep 0.2
done
[[ "$(sinfo -h -o %T)" == idle ]] || skip "the Slurm node did not become idle: $(sinfo -h -o '%T %E' 2>&1)"
echo "slurm: one-node cluster up ($(sinfo -h -o '%N %c CPUs %T'))"

submit() {
  local script=$1
  shift
  echo "slurm: sbatch --wait $script $*"
  # The scripts find jobs/env.sh through SLURM_SUBMIT_DIR: submit from the checkout, as users do.
  (cd "$REPO" && sbatch --wait --output="$WORK/out/slurm-%j.out" \
    --export=ALL,SLAB="$SLAB",OUT_DIR="$WORK/out" "$@" "jobs/$script") ||
    fail "$script ended badly: $(cat "$WORK"/out/slurm-*.out 2>/dev/null | tail -20)"
}
submit heat.sbatch --export=ALL,SLAB="$SLAB",OUT_DIR="$WORK/out",HEAT_ARGS="--nx 2001 --t-end 0.01 --scheme crank-nicolson --cfl 50 --quiet"
submit regress.sbatch --export=ALL,SLAB="$SLAB",OUT_DIR="$WORK/out",REGRESS_ARGS="--rows 5000 --cols 4 --iters 200 --quiet"
submit sweep.sbatch --array=0-1 --export=ALL,SLAB="$SLAB",OUT_DIR="$WORK/out",NX_VALUES="21 41"

/usr/bin/python3 - "$WORK/out" <<'PY' || fail "outputs did not load as expected"
import glob, sys
import h5py, numpy as np
out = sys.argv[1]
heat, = glob.glob(out + "/heat-*.h5")
reg, = glob.glob(out + "/reg-*.h5")
sweep = sorted(glob.glob(out + "/sweep-*.h5"), key=lambda p: h5py.File(p)["heat"].attrs["nx"])
with h5py.File(heat) as f:
    assert f["heat/u"].shape == (11, 2001), f["heat/u"].shape
    assert f["provenance"].attrs["nranks"] == 2 and f["heat"].attrs["scheme"] == "crank-nicolson"
    assert f.attrs["complete"] == 1
with h5py.File(reg) as f:
    r = f["regression"]
    assert r["X"].shape == (5000, 4) and f["provenance"].attrs["nranks"] == 2
    assert np.allclose(r["w"][()], r["w_true"][()], atol=0.01)
# The README recipe: many outputs into one array.
u_final = [h5py.File(p)["heat/u"][-1] for p in sweep]
assert [len(u) for u in u_final] == [21, 41]
print("slurm: outputs load with h5py:", heat, reg, *sweep)
PY
echo "slurm: all jobs passed"
