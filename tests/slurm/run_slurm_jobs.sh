#!/usr/bin/env bash
# Runs slab's Slurm job scripts on a real one-node Slurm cluster started here (as root):
# munged, slurmctld and slurmd with a config written into WORK. Installs slab with cmake --install
# into WORK/prefix and submits the installed scripts from a folder outside the checkout:
#   - heat.sbatch, regress.sbatch and sweep.sbatch run to the end; their outputs load with h5py;
#   - a heat job sent SIGUSR1 mid-run (scancel --signal=USR1 --batch) checkpoints, requeues itself,
#     resumes and finishes with the bits of an uninterrupted run of the same script;
#   - a gd job with --time=2 and more work than that completes through requeues without losing an
#     iteration.
# Stops only the daemons it started. Exits 77 (CTest: skipped) with the reason when Slurm cannot
# start here.
#
#   tests/slurm/run_slurm_jobs.sh SLAB_EXECUTABLE WORK_DIRECTORY
set -uo pipefail
SLAB=$(realpath "$1")
WORK=$(realpath -m "$2")
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; for log in "$WORK"/*.log; do echo "--- $log"; tail -20 "$log"; done; exit 1; }
source "$(dirname "$(realpath "$0")")/slurm_lib.sh"

[[ $(id -u) -eq 0 ]] || skip "starting slurmctld/slurmd needs root"
for tool in slurmctld slurmd sbatch sinfo munged; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (jobs/setup.sh --tests installs slurm-wlm and munge)"
done

rm -rf "$WORK" && mkdir -p "$WORK"/{state,spool,submit,tmpfs}
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}
trap cleanup EXIT

# start_daemon PID_FILE CMD...: CMD (a root daemon) in the foreground as this script's child, killed
# by the kernel if this script dies (SIGKILL included, when the trap cannot run): no Slurm daemon
# outlives the test. (munged runs as another user, which would clear the parent-death signal; a
# munged left running is one a later test reuses.)
start_daemon() {
  local pid_file=$1
  shift
  setpriv --pdeathsig KILL "$@" >/dev/null 2>&1 &
  started+=("$!")
  for _ in $(seq 50); do [[ -s "$pid_file" ]] && return 0; sleep 0.1; done
  skip "$1 does not start: $(tail -5 "$WORK/$1.log" 2>/dev/null)"
}

# munge: the key comes with the package; the daemon runs as the munge user. The one on the default
# socket is used when it answers (another munged, e.g. the cluster tests' own on its own socket,
# does not count); otherwise one is started, and stopped by the pid it writes.
if [[ ! -S /run/munge/munge.socket.2 ]] || ! munge -n </dev/null >/dev/null 2>&1; then
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null 2>&1 || skip "no munge key and mungekey failed"
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- munged --force || skip "munged does not start"
  for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  started+=("$(cat /run/munge/munged.pid)")
fi

# TmpFS: where Slurm's PMIx plugin makes each step's folder (spmix_appdir_UID_JOB.STEP, /tmp by
# default). A private one cannot collide with the folders of another Slurm on this machine or of an
# earlier run killed mid-step, which numbered its jobs from 1 too.
export SLURM_CONF="$WORK/slurm.conf"
{
  echo "ClusterName=slabtest"
  echo "SlurmctldHost=localhost"
  slurm_common_conf
  echo "AuthInfo=cred_expire=10"
  cat <<CONF
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
TmpFS=$WORK/tmpfs
SlurmctldPort=6917
SlurmdPort=6918
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
} >"$SLURM_CONF"
start_daemon "$WORK/slurmctld.pid" slurmctld -D -c -f "$SLURM_CONF"
start_daemon "$WORK/slurmd.pid" slurmd -D -f "$SLURM_CONF" -N localhost
for _ in $(seq 100); do
  [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && break
  sleep 0.2
done
[[ "$(sinfo -h -o %T)" == idle ]] || skip "the Slurm node did not become idle: $(sinfo -h -o '%T %E' 2>&1)"
echo "slurm: one-node cluster up ($(sinfo -h -o '%N %c CPUs %T'))"

# slab installed as a site would, and the scripts submitted from a scratch folder: they must find
# slab and their helpers themselves (nothing points at the checkout or the build).
PREFIX="$WORK/prefix"
slurm_install_slab "$SLAB" "$PREFIX"
JOBS="$PREFIX/share/slab/jobs"
cd "$WORK/submit" || fail "no $WORK/submit"
unset SLAB SLAB_JOBS
export PATH="$PREFIX/bin:$PATH"
OUT="$WORK/submit/out"

submit() {
  local script=$1
  shift
  echo "slurm: sbatch --wait $* $script (from $PWD)"
  setpriv --pdeathsig KILL sbatch --wait "$@" "$JOBS/$script" >/dev/null || fail "$script ended badly: $(tail -20 slurm-*.out 2>/dev/null)"
}
submit heat.sbatch --export=ALL,HEAT_ARGS="--nx 2001 --t-end 0.01 --scheme crank-nicolson --cfl 50 --quiet"
submit regress.sbatch --export=ALL,REGRESS_ARGS="--rows 5000 --cols 4 --iters 200 --quiet"
submit sweep.sbatch --array=0-1 --export=ALL,NX_VALUES="21 41"

/usr/bin/python3 - "$OUT" <<'PY' || fail "outputs did not load as expected"
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
# The recipe of docs/slurm.md: many outputs into one array.
u_final = [h5py.File(p)["heat/u"][-1] for p in sweep]
assert [len(u) for u in u_final] == [21, 41]
print("slurm: outputs load with h5py:", heat, reg, *sweep)
PY
rm -f "$OUT"/*.h5

# SIGUSR1 mid-run: stop, checkpoint, requeue, resume, finish; the same bits as without.
RESUMABLE="--nx 3001 --t-end 0.02 --snapshots 5"
submit heat.sbatch --export=ALL,HEAT_ARGS="$RESUMABLE --quiet"
reference=$(ls "$OUT"/heat-*.h5)
id=$(sbatch --parsable --export=ALL,HEAT_ARGS="$RESUMABLE" "$JOBS/heat.sbatch")
echo "slurm: job $id: heat.sbatch, to be sent SIGUSR1 once it reports progress"
until grep -q "^step " "slurm-$id.out" 2>/dev/null; do
  [[ "$(job_state "$id")" =~ ^(PENDING|RUNNING|CONFIGURING)$ ]] || fail "job $id ended before it reported progress"
  sleep 0.5
done
scancel --signal=USR1 --batch "$id"
wait_done "$id"
grep -q "slab: stopped by SIGUSR1 at step" "slurm-$id.out" || fail "job $id did not stop on SIGUSR1: $(cat "slurm-$id.out")"
grep -q "resume: from" "slurm-$id.out" || fail "job $id did not resume: $(cat "slurm-$id.out")"
/usr/bin/python3 - "$reference" "$OUT/heat-$id.h5" <<'PY' || fail "the resumed job's output differs from the uninterrupted one"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1]) as a, h5py.File(sys.argv[2]) as b:
    step = b["provenance"].attrs["restarted_from_step"]
    assert step > 0
    for name in ("heat/u", "heat/t", "heat/x"):
        assert np.array_equal(a[name][()], b[name][()]), name
print("slurm: SIGUSR1, requeued, resumed from step", step, "- bitwise equal to", sys.argv[1])
PY
[[ ! -e "$OUT/heat-$id.h5.ckpt.h5" ]] || fail "the checkpoint outlived the finished job"

# A time limit shorter than the work: the job completes through requeues, every iteration kept.
# SLAB_TIME_SAFETY=80 makes the recipe pass --time-limit 40 (the 120 s of --time=2 less 80 s), so the
# test waits 40 s rather than 105 s for the first stop. The work is sized to about 70 s at this
# machine's present speed (measured with 300 iterations), so that it outlasts the limit whatever the
# build and the load.
# A step so small that the loss keeps changing for millions of iterations: gd must not converge first.
GD_ARGS="--rows 200000 --cols 8 --lr 0.00001 --tol 0 --no-data --quiet"
start=$(date +%s%N)
# shellcheck disable=SC2086
(source "$JOBS/env.sh" && mpirun -np 2 slab regress $GD_ARGS --iters 300 --out "$WORK/probe.h5") || fail "the sizing run failed"
ITERS=$((300 * 70 * 1000000000 / ($(date +%s%N) - start)))
((ITERS > 300)) || ITERS=300
id=$(sbatch --parsable --time=2 --signal=B:USR1@20 --export=ALL,SLAB_TIME_SAFETY=80,REGRESS_ARGS="$GD_ARGS --iters $ITERS" \
  "$JOBS/regress.sbatch")
echo "slurm: job $id: regress.sbatch with --time=2 and more work than that"
wait_done "$id"
stops=$(grep -c "^stopped: requeueing" "slurm-$id.out")
((stops > 0)) || fail "job $id fitted in its time limit: give it more work ($(cat "slurm-$id.out"))"
/usr/bin/python3 - "$OUT/reg-$id.h5" "$ITERS" <<'PY' || fail "the time-limited job lost iterations"
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    r = f["regression"]
    assert r.attrs["iterations"] == int(sys.argv[2]) and len(r["history/loss"]) == int(sys.argv[2]), r.attrs["iterations"]
    assert f["provenance"].attrs["restarted_from_step"] > 0
PY
echo "slurm: --time=2 job completed through $stops requeue(s) with all $ITERS iterations"
echo "slurm: all jobs passed"
