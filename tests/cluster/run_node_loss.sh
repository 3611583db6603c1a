#!/usr/bin/env bash
# A node lost mid-run, on the four-node cluster of cluster.sh (as root). Two heat jobs with
# --checkpoint-every run side by side, each on 2 nodes x 2 ranks (shared memory within a node, TCP
# between); once each has a checkpoint on disk, the second node of each (not the one running the
# job script) goes away: every process in it is SIGKILLed (slurmd, slurmstepd, the ranks). Then:
#   - the surviving ranks end by themselves (the progress watchdog, SLAB_PROGRESS_TIMEOUT=10 s,
#     exit 75) well before Slurm declares the node down (SlurmdTimeout=30 s here);
#   - job A (--requeue) is requeued by its recipe (or by Slurm, when it declares the node down
#     before srun gives up on the lost ranks), resumes from its last whole checkpoint on the
#     remaining nodes and ends with the bits of an uninterrupted run;
#   - job B (--no-requeue, SLAB_RUN_NAME=byhand) fails, saying how to resume (or ends NODE_FAIL
#     when Slurm declares the node down before its recipe could say so); submitted again by
#     hand with the same SLAB_RUN_NAME (a new job id) once Slurm marks the lost node down (a job
#     submitted before may be given the dead node, and then fails to launch, without "wrote"), it
#     resumes and ends with the same bits;
#   - no temporary, lock or checkpoint is left beside the outputs.
# Prints the times from the loss to the survivors' exit, to the requeue, to the resumed run's
# start and to its end.
#
#   tests/cluster/run_node_loss.sh SLAB_EXECUTABLE WORK_DIRECTORY
set -uo pipefail
HERE=$(dirname "$(realpath "$0")")
SLAB=$(realpath "$1")
WORK=$(realpath -m "$2")
source "$HERE/../slurm/slurm_lib.sh"
CLUSTER_SLURMD_TIMEOUT=30 CLUSTER_KILL_WAIT=10
source "$HERE/cluster.sh"
cluster_up "$WORK"
cluster_prepare_jobs "$SLAB"
export SLAB_PROGRESS_TIMEOUT=10

# 4000 Crank-Nicolson steps, a checkpoint every 400: about 15 s of work here.
ARGS="--nx 2001 --t-end 0.05 --scheme crank-nicolson --cfl 50 --checkpoint-every 400"
# The uninterrupted run: one node (this machine), two ranks, meanwhile.
mkdir -p "$OUT"
(source "$JOBS/env.sh" && SLAB_MPI_TRANSPORT=node exec mpirun -np 2 slab heat $ARGS --quiet --out "$OUT/heat-reference.h5") \
  >"$WORK/reference.log" 2>&1 &
reference=$!
CLUSTER_PIDS+=("$reference")  # stopped with the cluster when the test ends before it does
submit() { sbatch --parsable "$@" "$JOBS/heat.sbatch" || fail "sbatch $*"; }
a=$(submit --nodes=2 --ntasks-per-node=2 --ntasks=4 --requeue --export=ALL,HEAT_ARGS="$ARGS") || fail "$a"
b=$(submit --nodes=2 --ntasks-per-node=2 --ntasks=4 --no-requeue --export=ALL,SLAB_RUN_NAME=byhand,HEAT_ARGS="$ARGS") || fail "$b"
for _ in $(seq 100); do [[ "$(job_state "$a")$(job_state "$b")" == RUNNINGRUNNING ]] && break; sleep 0.1; done
echo "node-loss: job $a (--requeue) on $(job_field "$a" NodeList); job $b (--no-requeue, SLAB_RUN_NAME=byhand) on $(job_field "$b" NodeList)"
[[ "$(job_field "$a" NodeList)" == "node[1-2]" && "$(job_field "$b" NodeList)" == "node[3-4]" ]] || fail "unexpected placement"

# Both past a checkpoint (the progress line of step 1600 follows the checkpoint of step 1600).
for _ in $(seq 600); do
  grep -q "^step 1600/" "slurm-$a.out" 2>/dev/null && grep -q "^step 1600/" "slurm-$b.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "^step 1600/" "slurm-$a.out" && grep -q "^step 1600/" "slurm-$b.out" || fail "the jobs did not reach step 1600"
[[ "$(job_field "$a" BatchHost)" == node1 && "$(job_field "$b" BatchHost)" == node3 ]] || fail "unexpected batch hosts"
loss=$(date +%s%N)
cluster_kill_node 2
cluster_kill_node 4
echo "node-loss: node2 and node4 killed (every process in them) at step $(grep -o '^step [0-9]*' "slurm-$a.out" | tail -1 | cut -d' ' -f2) of job $a"
since() { awk -v ns=$(($(date +%s%N) - loss)) 'BEGIN { printf "%.1f", ns / 1e9 }'; }

# The surviving ranks: slab processes of job A or B still alive on node1 or node3.
survivors() {
  local pid
  for pid in $(cluster_node_pids 1) $(cluster_node_pids 3); do
    { [[ "$(cat "/proc/$pid/comm")" == slab ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE "heat-($a|byhand)\.h5( |$)" && echo "$pid"; } 2>/dev/null
  done
}
# node_down K: slurmctld has marked node K down (after SlurmdTimeout without an answer).
node_down() { [[ "$(sinfo -h -N -n "node$1" -o %T)" == down* ]]; }
exited="" requeued_a="" failed_b="" resumed_a="" byhand="" down=""
for _ in $(seq 1800); do
  [[ -z "$exited" && -z "$(survivors)" ]] && exited=$(since) && echo "node-loss: the surviving ranks ended ${exited} s after the loss"
  # Job A is requeued by its recipe once srun returns 75 (KillWait + 2 s after the survivors' exit),
  # or by Slurm (--requeue) when it declares the node down before srun gave up on the lost ranks.
  if [[ -z "$requeued_a" ]]; then
    if grep -q "^stopped: requeueing" "slurm-$a.out"; then
      requeued_a=$(since) && echo "node-loss: job $a's srun returned 75 and the recipe requeued the job ${requeued_a} s after the loss"
    elif grep -q "CANCELLED AT .* DUE TO NODE FAILURE" "slurm-$a.out"; then
      requeued_a=$(since) && echo "node-loss: Slurm declared the node down before job $a's srun returned, and requeued the job ${requeued_a} s after the loss"
    fi
  fi
  # Job B ends either by its recipe (FAILED, saying how to resume) or, when Slurm declares the node
  # down first, by Slurm (NODE_FAIL); either way it is not requeued.
  if [[ -z "$failed_b" && "$(job_state "$b")" =~ ^(FAILED|NODE_FAIL)$ ]]; then
    failed_b=$(since)
    echo "node-loss: job $b (--no-requeue) ended $(job_state "$b") ${failed_b} s after the loss:" \
      "$(grep "cannot be requeued" "slurm-$b.out" || echo "Slurm declared the node down first")"
  fi
  [[ -z "$down" ]] && node_down 2 && node_down 4 && down=$(since) && echo "node-loss: Slurm marked node2 and node4 down ${down} s after the loss"
  if [[ -z "$byhand" && -n "$failed_b" && -n "$down" ]]; then
    byhand=$(submit --nodes=2 --ntasks-per-node=2 --ntasks=4 --export=ALL,SLAB_RUN_NAME=byhand,HEAT_ARGS="$ARGS") || fail "$byhand"
    echo "node-loss: job $byhand: job $b submitted again by hand with SLAB_RUN_NAME=byhand"
  fi
  [[ -z "$resumed_a" ]] && grep -q "^resume: from" "slurm-$a.out" && resumed_a=$(since) &&
    echo "node-loss: job $a resumed on $(job_field "$a" NodeList) ${resumed_a} s after the loss"
  [[ -n "$resumed_a" && -n "$byhand" && "$(job_state "$a")" == COMPLETED && "$(job_state "$byhand")" == COMPLETED ]] && break
  [[ -n "$exited" ]] || (($(date +%s%N) - loss < 60 * 1000000000)) || fail "the surviving ranks still run 60 s after the loss: $(survivors)"
  sleep 0.1
done
wait "$reference"
code=$?
cluster_forget_pid "$reference"
((code == 0)) || fail "the uninterrupted run failed: $(cat "$WORK/reference.log")"
wait_done "$a"
[[ -n "$byhand" ]] || fail "job $b did not end"
[[ "$(job_state "$b")" == NODE_FAIL ]] || grep -q "cannot be requeued" "slurm-$b.out" || fail "job $b failed without saying how to resume"
wait_done "$byhand"
echo "node-loss: jobs $a and $byhand completed $(since) s after the loss"
[[ -n "$exited" && -n "$requeued_a" && -n "$resumed_a" ]] || fail "the loss was not followed by exit, requeue and resume"
grep -q "slab: error: no progress for" "slurm-$a.out" || fail "job $a's survivor did not say why it ended"
grep -q "^resume: from" "slurm-$byhand.out" || fail "job $byhand did not resume from job $b's checkpoint"
[[ "$(job_field "$a" NodeList)" != *node2* ]] || fail "job $a resumed on the lost node"
grep -q "^wrote " "slurm-$b.out" && fail "job $b said it wrote its output"

/usr/bin/python3 - "$OUT/heat-reference.h5" "$OUT/heat-$a.h5" "$OUT/heat-byhand.h5" <<'PY' || fail "a resumed output differs from the uninterrupted one"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1]) as ref:
    assert ref.attrs["complete"] == 1
    for other in sys.argv[2:]:
        with h5py.File(other) as f:
            assert f.attrs["complete"] == 1, other
            step = f["provenance"].attrs["restarted_from_step"]
            assert 0 < step < 4000 and step % 400 == 0, (other, step)
            for name in ("heat/u", "heat/t", "heat/x"):
                assert np.array_equal(ref[name][()], f[name][()]), (other, name)
            print("node-loss:", other, "resumed from step", step, "- bitwise equal to the uninterrupted run")
PY
left=$(ls -A "$OUT" | grep -vxE "heat-(reference|$a|byhand)\.h5")
[[ -z "$left" ]] || fail "left beside the outputs: $left"
echo "node-loss: passed (survivors' exit ${exited} s, requeued ${requeued_a} s, resumed ${resumed_a} s after the loss; cluster set-up ${CLUSTER_SETUP_SECONDS} s)"
