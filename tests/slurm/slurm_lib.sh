# Pieces shared by the Slurm tests (tests/slurm/run_slurm_jobs.sh, one node; tests/cluster/, four
# nodes in network namespaces). Sourced; the caller sets WORK and defines fail().

# slurm_common_conf: the slurm.conf lines every test cluster shares (root daemons, no cgroups, PMIx,
# requeues in seconds rather than minutes). A requeued job waits for its credential to expire (120 s)
# and the next scheduler pass (60 s): shortened here so that requeues take about 15 s.
slurm_common_conf() {
  cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
SchedulerParameters=sched_interval=5
ReturnToService=2
JobCompType=jobcomp/none
CONF
}

# slurm_install_slab SLAB PREFIX: slab installed as a site would (cmake --install of SLAB's build);
# fails unless the job scripts, bin/slab and the module file are there.
slurm_install_slab() {
  cmake --install "$(dirname "$1")" --prefix "$2" >"$WORK/install.log" 2>&1 || fail "cmake --install: $(tail -5 "$WORK/install.log")"
  local f
  for f in heat.sbatch regress.sbatch sweep.sbatch env.sh launch.sh mpi.env; do
    [[ -f "$2/share/slab/jobs/$f" ]] || fail "cmake --install did not install share/slab/jobs/$f"
  done
  [[ -x "$2/bin/slab" && -f "$2/share/modulefiles/slab/0.1.0" ]] || fail "cmake --install did not install bin/slab and the module file"
}

# job_state ID: the job's state (COMPLETED, RUNNING, PENDING, ...).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
# job_field ID NAME: one field of scontrol show job (NodeList, Restarts, ExitCode, ...).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
# wait_done ID: waits for the job to end for good (through any requeues); fails unless COMPLETED,
# or when it has not ended within SLURM_TEST_WAIT seconds (default 1200), so that a test fails
# and tears its cluster down before CTest's TIMEOUT kills it.
wait_done() {
  local state deadline=$((SECONDS + ${SLURM_TEST_WAIT:-1200}))
  while true; do
    ((SECONDS < deadline)) || fail "job $1 still $(job_state "$1") after ${SLURM_TEST_WAIT:-1200} s: $(tail -30 "slurm-$1.out" 2>/dev/null)"
    state=$(job_state "$1")
    case "$state" in
      COMPLETED) return 0 ;;
      FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        fail "job $1 ended $state: $(tail -30 "slurm-$1.out" 2>/dev/null)" ;;
    esac
    sleep 1
  done
}
