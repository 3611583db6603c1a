# Helpers for the Slurm scripts, sourced after env.sh:
#   launch CMD ARGS...            starts an MPI program inside the allocation
#   launch_resumable OUT CMD ARGS...   the same, for a slab run that may stop and come back
#   slab_executable DIR           the slab to run

# The launcher: srun with PMIx where this Slurm and Open MPI support it (Debian's do; their PMI-2
# does not work), mpirun inside the allocation otherwise (Open MPI reads the allocation from
# Slurm's environment).
if srun --mpi=list 2>&1 | grep -q pmix; then
  LAUNCHER=(srun --mpi=pmix)
else
  LAUNCHER=(mpirun)
fi

launch() {
  echo "launch: ${LAUNCHER[*]} (${SLURM_NTASKS:-?} ranks) $*"
  "${LAUNCHER[@]}" "$@"
}

# slab_executable JOBS_DIR: $SLAB when set, else the slab installed with these scripts
# (PREFIX/bin next to PREFIX/share/slab/jobs), the checkout's build/release/slab, or slab on PATH.
slab_executable() {
  if [[ -n "${SLAB:-}" ]]; then echo "$SLAB"; return; fi
  local candidate
  for candidate in "$1/../../../bin/slab" "$1/../build/release/slab"; do
    if [[ -x "$candidate" ]]; then realpath "$candidate"; return; fi
  done
  command -v slab || { echo "slab: not found next to $1 nor on PATH; set SLAB=/path/to/slab" >&2; return 1; }
}

# The seconds left before this job's time limit (nothing when it has none or it is unknown).
seconds_left() {
  local end
  end=$(squeue -h -j "${SLURM_JOB_ID:-}" -o %e 2>/dev/null) || return 1
  end=$(date -d "$end" +%s 2>/dev/null) || return 1
  echo $((end - $(date +%s)))
}

# launch_resumable OUT CMD ARGS...: runs `launch CMD ARGS... --out OUT` so that it can stop and
# resume (docs/slurm.md, "Requeue and resume"):
# - it resumes from OUT's checkpoint when there is one (a requeued job, or a rerun);
# - it passes the time left in the allocation, less SLAB_TIME_SAFETY seconds (default 15) for
#   start-up and shutdown, as --time-limit: slab stops itself with a checkpoint before the limit;
# - it forwards SIGUSR1 (sbatch --signal=B:USR1@SECONDS, or scancel --signal=USR1 --batch) and
#   SIGTERM to the launcher, whose ranks then stop at the next step with a checkpoint (bash's own
#   action for SIGUSR1 would end this script and leave the ranks running);
# - on slab's "stopped, resumable" exit (75) it requeues the job (sbatch --requeue), which runs
#   this script again with the same job id, so the same OUT, and resumes.
launch_resumable() {
  local out=$1
  shift
  local extra=() left code pid
  if [[ -f "$out.ckpt.h5" ]]; then
    extra+=(--restart "$out.ckpt.h5")
    echo "resume: from $out.ckpt.h5 (restart ${SLURM_RESTART_COUNT:-0} of job ${SLURM_JOB_ID:-?})"
  fi
  if left=$(seconds_left) && ((left > 0)); then
    extra+=(--time-limit $((left > ${SLAB_TIME_SAFETY:-15} ? left - ${SLAB_TIME_SAFETY:-15} : 1)))
  fi
  echo "launch: ${LAUNCHER[*]} (${SLURM_NTASKS:-?} ranks) $* ${extra[*]} --out $out"
  "${LAUNCHER[@]}" "$@" "${extra[@]}" --out "$out" &
  pid=$!
  # shellcheck disable=SC2064
  trap "echo 'signal: SIGUSR1 passed to the launcher'; kill -USR1 $pid 2>/dev/null" USR1
  # shellcheck disable=SC2064
  trap "echo 'signal: SIGTERM passed to the launcher'; kill -TERM $pid 2>/dev/null" TERM
  # wait returns early (above 128) when a trapped signal arrives: wait again until the launcher ends.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
  code=0
  wait "$pid" || code=$?
  trap - USR1 TERM
  if ((code == 75)); then
    echo "stopped: requeueing job ${SLURM_JOB_ID:-?} to resume from $out.ckpt.h5"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  return "$code"
}
