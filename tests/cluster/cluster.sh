#!/usr/bin/env bash
# A Slurm cluster of four nodes on this one machine, made of Linux namespaces (as root):
#
#   host:   munged (its own socket), slurmctld, a bridge slabbr0 with NET.1
#   nodeK:  a network namespace slab-nodeK joined to the bridge by a veth pair (slab0 inside, with
#           NET.(10+K)), its own hostname (UTS namespace), its own /tmp (a tmpfs in a private mount
#           namespace: PMIx keeps per-step folders there, which collide when nodes share /tmp), and
#           `slurmd -N nodeK` with NodeAddr NET.(10+K)
#
# NET is SLAB_CLUSTER_NET (default 10.213.7, a /24 that must be unused here: the script refuses
# otherwise). Only the namespaces it creates carry that range. Each node is entered with
# `nsenter --net=` (not `ip netns exec`, which remounts /sys and so breaks slurmd's cgroup plugin),
# then `unshare -u -m --propagation private`.
#
# Sourced by the cluster tests:  source cluster.sh; cluster_up WORK; ...; (cluster_down runs on exit)
# Run by hand:
#   tests/cluster/cluster.sh up WORK     starts it and waits (Ctrl-C, or SIGTERM to the script, tears it down);
#                                        in another shell: export SLURM_CONF=WORK/slurm.conf
#   tests/cluster/cluster.sh down [WORK] removes a cluster left behind (e.g. by a SIGKILLed test)
#
# cluster_down stops the daemons by pid (every process inside a node's network namespace, then
# slurmctld and munged), deletes the namespaces, the links and the bridge, and removes WORK; it runs
# on EXIT, INT and TERM, so also when a test fails or is interrupted.

CLUSTER_NET="${SLAB_CLUSTER_NET:-10.213.7}"
CLUSTER_NODES=4
CLUSTER_BRIDGE=slabbr0
CLUSTER_CTLD_PORT=6947
CLUSTER_SLURMD_PORT=6948
# How long slurmctld waits for a silent slurmd before declaring its node down (Slurm's default: 300 s).
CLUSTER_SLURMD_TIMEOUT="${CLUSTER_SLURMD_TIMEOUT:-300}"
# How long srun waits for a step's tasks after killing them (Slurm's KillWait, default 30 s; srun
# waits KillWait + 2 s for the tasks of a lost node, which never answer).
CLUSTER_KILL_WAIT="${CLUSTER_KILL_WAIT:-30}"
# The longest a test waits for one job (tests/slurm/slurm_lib.sh): well inside the tests' CTest TIMEOUT.
SLURM_TEST_WAIT="${SLURM_TEST_WAIT:-240}"
CLUSTER_WORK=""
CLUSTER_PIDS=()
CLUSTER_TIMER=""
# The file that marks WORK as made by cluster_up (only such a folder is removed).
CLUSTER_MARKER=.slab-cluster

cluster_log() { echo "cluster: $*"; }
# skip (CTest: skipped) and fail for the scripts that use the cluster; fail shows the jobs' outputs
# and the daemons' logs before the cluster is torn down.
skip() { echo "SKIPPED: $*"; exit 77; }
fail() {
  echo "FAILED: $*"
  local log
  for log in "${CLUSTER_WORK:-/nonexistent}"/submit/slurm-*.out "${CLUSTER_WORK:-/nonexistent}"/*.log; do
    [[ -f "$log" ]] && { echo "--- $log"; tail -25 "$log"; }
  done
  exit 1
}
cluster_node_address() { echo "$CLUSTER_NET.$((10 + $1))"; }

# cluster_in_use: prints what already uses the range or the names (nothing when all is free).
cluster_in_use() {
  local net=${CLUSTER_NET//./\\.} k
  ip -4 -o addr show | grep -E "inet $net\.[0-9]+/" | awk '{print "address " $4 " on " $2}'
  ip -4 route show | grep -E "^$net\.[0-9]+" | sed 's/^/route /'
  ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1 && echo "link $CLUSTER_BRIDGE"
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    [[ -e /run/netns/slab-node$k ]] && echo "network namespace slab-node$k"
    ip link show "slabv$k" >/dev/null 2>&1 && echo "link slabv$k"
  done
  return 0
}

# cluster_check_free: refuses (exit 1) when the range or the names are in use here.
cluster_check_free() {
  local used
  used=$(cluster_in_use)
  if [[ -n "$used" ]]; then
    echo "cluster: REFUSED: $CLUSTER_NET.0/24 or this cluster's names are already in use here:"
    echo "$used" | sed 's/^/cluster:   /'
    echo "cluster: another run of this script is up, or left these behind (remove them with:" \
      "$(realpath "${BASH_SOURCE[0]}") down), or the range is used here by something else (set SLAB_CLUSTER_NET" \
      "to a free /24, e.g. SLAB_CLUSTER_NET=10.213.8)"
    exit 1
  fi
}

# cluster_write_conf: WORK/slurm.conf for the host and the four nodes.
cluster_write_conf() {
  local k nodes
  nodes=$(seq -s, -f 'node%.0f' 1 "$CLUSTER_NODES")
  {
    echo "ClusterName=slabnodes"
    # The controller is this machine, reached by the nodes over the bridge.
    echo "SlurmctldHost=$(hostname)($CLUSTER_NET.1)"
    slurm_common_conf
    echo "AuthInfo=socket=$CLUSTER_WORK/munge/munge.socket,cred_expire=10"
    echo "SlurmdTimeout=$CLUSTER_SLURMD_TIMEOUT"
    echo "KillWait=$CLUSTER_KILL_WAIT"
    echo "StateSaveLocation=$CLUSTER_WORK/state"
    echo "SlurmdSpoolDir=$CLUSTER_WORK/spool/%n"
    echo "SlurmctldPidFile=$CLUSTER_WORK/slurmctld.pid"
    echo "SlurmdPidFile=$CLUSTER_WORK/slurmd-%n.pid"
    echo "SlurmctldLogFile=$CLUSTER_WORK/slurmctld.log"
    echo "SlurmdLogFile=$CLUSTER_WORK/slurmd-%n.log"
    echo "SlurmctldPort=$CLUSTER_CTLD_PORT"
    echo "SlurmdPort=$CLUSTER_SLURMD_PORT"
    for ((k = 1; k <= CLUSTER_NODES; k++)); do
      echo "NodeName=node$k NodeAddr=$(cluster_node_address "$k") CPUs=2 State=UNKNOWN"
    done
    echo "PartitionName=nodes Nodes=$nodes Default=YES MaxTime=INFINITE State=UP"
  } >"$CLUSTER_WORK/slurm.conf"
}

# cluster_wait_file FILE: waits up to 10 s for FILE to be non-empty.
cluster_wait_file() {
  local _
  for _ in $(seq 100); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  return 1
}

# cluster_start_munge: a munged of this cluster's own (socket, pid, log and seed in WORK/munge), so
# that it neither depends on nor disturbs a munged already running here.
cluster_start_munge() {
  local dir=$CLUSTER_WORK/munge
  mkdir -p "$dir" && chown munge:munge "$dir" && chmod 700 "$dir"
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null 2>&1 || fail "no munge key and mungekey failed"
  runuser -u munge -- munged --force --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" || fail "munged does not start"
  cluster_wait_file "$dir/munged.pid" || fail "munged wrote no pid file"
  CLUSTER_PIDS+=("$(cat "$dir/munged.pid")")
}

# cluster_make_node K: the namespace, the link and the address of node K.
cluster_make_node() {
  local k=$1 ns=slab-node$1
  ip netns add "$ns" || fail "ip netns add $ns"
  ip link add "slabv$k" type veth peer name slab0 netns "$ns" || fail "veth for $ns"
  ip link set "slabv$k" master "$CLUSTER_BRIDGE" up || fail "slabv$k on $CLUSTER_BRIDGE"
  nsenter --net="/run/netns/$ns" sh -ec "ip link set lo up; ip addr add $(cluster_node_address "$k")/24 dev slab0; ip link set slab0 up" ||
    fail "addresses in $ns"
}

# cluster_start_slurmd K: slurmd -N nodeK inside node K's namespaces, with its own hostname and /tmp.
cluster_start_slurmd() {
  local k=$1
  nsenter --net="/run/netns/slab-node$k" unshare -u -m --propagation private \
    sh -ec "hostname node$k; mount -t tmpfs -o size=256m slab-node$k-tmp /tmp; exec slurmd -f '$SLURM_CONF' -N node$k" ||
    fail "slurmd does not start on node$k"
  cluster_wait_file "$CLUSTER_WORK/slurmd-node$k.pid" || fail "slurmd of node$k wrote no pid file"
}

# cluster_on_node K CMD...: runs CMD inside node K (its network, hostname and /tmp).
cluster_on_node() {
  local k=$1
  shift
  nsenter -t "$(cat "$CLUSTER_WORK/slurmd-node$k.pid")" -n -u -m "$@"
}

# cluster_node_pids K: every process of node K (all processes in its network namespace).
cluster_node_pids() { ip netns pids "slab-node$1" 2>/dev/null; }

# cluster_kill_node K: node K goes away: SIGKILL to every process in it (slurmd, slurmstepd, ranks).
cluster_kill_node() {
  local pids
  pids=$(cluster_node_pids "$1")
  # shellcheck disable=SC2086
  [[ -z "$pids" ]] || kill -9 $pids 2>/dev/null
}

# cluster_idle_nodes: how many nodes slurmctld sees idle.
cluster_idle_nodes() { sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | grep -c .; }

# cluster_up WORK: builds the cluster and waits until its four nodes are idle.
cluster_up() {
  CLUSTER_WORK=$(realpath -m "$1")
  local started k
  started=$(date +%s%N)
  [[ $(id -u) -eq 0 ]] || skip "the cluster's namespaces, links and daemons need root"
  for tool in slurmctld slurmd sbatch sinfo munged nsenter unshare ip; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (jobs/setup.sh --tests installs slurm-wlm and munge)"
  done
  cluster_check_free
  # WORK is removed with the cluster: only a folder this script made (its marker), or a new one.
  if [[ -e "$CLUSTER_WORK" && ! -e "$CLUSTER_WORK/$CLUSTER_MARKER" ]]; then
    if [[ ! -d "$CLUSTER_WORK" || -n "$(ls -A "$CLUSTER_WORK")" ]]; then
      local given=$CLUSTER_WORK
      CLUSTER_WORK=""  # not ours: fail shows none of its files
      fail "$given exists and is not a folder cluster.sh made; give a new or empty folder"
    fi
  fi
  trap cluster_down EXIT
  trap 'cluster_log "interrupted"; exit 130' INT
  trap 'cluster_log "terminated"; exit 143' TERM
  { [[ ! -e "$CLUSTER_WORK/$CLUSTER_MARKER" ]] || rm -rf "$CLUSTER_WORK"; } &&
    mkdir -p "$CLUSTER_WORK"/{state,spool,submit} && touch "$CLUSTER_WORK/$CLUSTER_MARKER" || fail "cannot make $CLUSTER_WORK"
  # CTest's TIMEOUT ends a test with SIGKILL, which no trap sees: a test that runs too long ends
  # itself first, by SIGTERM to this shell, so that cluster_down still runs.
  if [[ "${CLUSTER_TEST_SECONDS:-0}" -gt 0 ]]; then
    (sleep "$CLUSTER_TEST_SECONDS" && cluster_log "still running after $CLUSTER_TEST_SECONDS s: stopping" && kill -TERM $$) &
    CLUSTER_TIMER=$!
  fi
  export SLURM_CONF="$CLUSTER_WORK/slurm.conf"
  cluster_write_conf
  cluster_start_munge
  ip link add "$CLUSTER_BRIDGE" type bridge || fail "ip link add $CLUSTER_BRIDGE (namespaces unavailable?)"
  ip addr add "$CLUSTER_NET.1/24" dev "$CLUSTER_BRIDGE" && ip link set "$CLUSTER_BRIDGE" up || fail "address of $CLUSTER_BRIDGE"
  for ((k = 1; k <= CLUSTER_NODES; k++)); do cluster_make_node "$k"; done
  slurmctld -c -f "$SLURM_CONF" || fail "slurmctld does not start"
  cluster_wait_file "$CLUSTER_WORK/slurmctld.pid" || fail "slurmctld wrote no pid file"
  CLUSTER_PIDS+=("$(cat "$CLUSTER_WORK/slurmctld.pid")")
  for ((k = 1; k <= CLUSTER_NODES; k++)); do cluster_start_slurmd "$k"; done
  for _ in $(seq 150); do
    (($(cluster_idle_nodes) == CLUSTER_NODES)) && break
    sleep 0.2
  done
  (($(cluster_idle_nodes) == CLUSTER_NODES)) || fail "the nodes did not become idle: $(sinfo -N -h -o '%N %T %E' 2>&1)"
  CLUSTER_SETUP_SECONDS=$(awk -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  cluster_log "up in ${CLUSTER_SETUP_SECONDS} s: $(sinfo -h -o '%D nodes (%N), %c CPUs each, %T') on $CLUSTER_NET.0/24"
}

# cluster_alive PID: the process exists and is not a zombie.
cluster_alive() { [[ -r /proc/$1/stat ]] && ! awk '{ exit $3 == "Z" ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null; }

# cluster_prepare_jobs SLAB: installs SLAB's build into WORK/prefix as a site would and prepares
# this shell to submit the installed recipes from WORK/submit (outputs in OUT=WORK/submit/out), with
# shared memory within a node and TCP between nodes over the cluster's network (jobs/mpi.env, nodes).
cluster_prepare_jobs() {
  PREFIX="$CLUSTER_WORK/prefix"
  slurm_install_slab "$1" "$PREFIX"
  JOBS="$PREFIX/share/slab/jobs"
  OUT="$CLUSTER_WORK/submit/out"
  cd "$CLUSTER_WORK/submit" || fail "no $CLUSTER_WORK/submit"
  unset SLAB SLAB_JOBS
  export PATH="$PREFIX/bin:$PATH"
  export SLAB_MPI_TRANSPORT=nodes OMPI_MCA_btl_tcp_if_include="$CLUSTER_NET.0/24"
}

# cluster_forget_pid PID: a process of CLUSTER_PIDS that has ended and been waited for (its pid may
# be another process's by the time the cluster goes down).
cluster_forget_pid() {
  local pid keep=()
  for pid in "${CLUSTER_PIDS[@]}"; do [[ "$pid" == "$1" ]] || keep+=("$pid"); done
  CLUSTER_PIDS=("${keep[@]}")
}

# cluster_stop_pids PID...: SIGTERM, up to 5 s, then SIGKILL.
cluster_stop_pids() {
  local pid _
  for pid in "$@"; do kill "$pid" 2>/dev/null; done
  for pid in "$@"; do
    for _ in $(seq 50); do cluster_alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  return 0
}

# cluster_down: removes everything cluster_up made (also what a killed earlier run left behind).
cluster_down() {
  local k pids
  trap - EXIT INT TERM
  if [[ -n "$CLUSTER_TIMER" ]]; then
    # shellcheck disable=SC2046
    kill $(ps -o pid= --ppid "$CLUSTER_TIMER") "$CLUSTER_TIMER" 2>/dev/null  # the timer's sleep, then the timer
  fi
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    # shellcheck disable=SC2046
    [[ -e /run/netns/slab-node$k ]] && cluster_stop_pids $(cluster_node_pids "$k")
  done
  ((${#CLUSTER_PIDS[@]} == 0)) || cluster_stop_pids "${CLUSTER_PIDS[@]}"
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    [[ -e /run/netns/slab-node$k ]] && ip netns del "slab-node$k"
    # The host's end of the pair goes with the namespace, at once or a moment later.
    ip link show "slabv$k" >/dev/null 2>&1 && ip link del "slabv$k" 2>/dev/null
  done
  ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1 && ip link del "$CLUSTER_BRIDGE"
  if [[ -n "$CLUSTER_WORK" && -e "$CLUSTER_WORK/$CLUSTER_MARKER" && -z "${SLAB_CLUSTER_KEEP:-}" ]]; then rm -rf "$CLUSTER_WORK"; fi
  local left
  left=$(cluster_in_use)
  if [[ -n "$left" ]]; then cluster_log "teardown left: $left"; else cluster_log "torn down (namespaces, links, daemons, files)"; fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -uo pipefail
  source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../slurm/slurm_lib.sh"
  case "${1:-}" in
    up)
      [[ -n "${2:-}" ]] || fail "usage: $0 up WORK"
      cluster_up "$2"
      cluster_log "export SLURM_CONF=$SLURM_CONF; Ctrl-C tears it down"
      while true; do sleep 3600 & wait $!; done
      ;;
    down)
      # Daemons found by their pid files in WORK, if given; the namespaces' processes in any case.
      CLUSTER_WORK=${2:+$(realpath -m "$2")}
      for f in "${CLUSTER_WORK:-/nonexistent}/slurmctld.pid" "${CLUSTER_WORK:-/nonexistent}/munge/munged.pid"; do
        # Only a pid that is still that daemon (a pid file may outlive its process).
        [[ -s "$f" ]] && grep -qxE 'slurmctld|munged' "/proc/$(cat "$f")/comm" 2>/dev/null && CLUSTER_PIDS+=("$(cat "$f")")
      done
      cluster_down
      ;;
    *) fail "usage: $0 up WORK | down [WORK]" ;;
  esac
fi
