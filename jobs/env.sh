# Environment for running slab: sourced by jobs/run-local.sh and the Slurm scripts. A site edits
# this file (module loads, file-system settings), not the job scripts.

# On a cluster, load the stack slab was built with, e.g.:
#   module load openmpi hdf5/parallel petsc

# NFS and Lustre often lack the POSIX locks HDF5 takes by default.
export HDF5_USE_FILE_LOCKING="${HDF5_USE_FILE_LOCKING:-FALSE}"

# MPI settings come from mpi.env next to this file (one list for jobs and tests). The transport:
#   SLAB_MPI_TRANSPORT=node  shared memory within one node (the default for a one-node run)
#   SLAB_MPI_TRANSPORT=tcp   TCP on loopback, as between nodes (testing multi-node behaviour)
#   SLAB_MPI_TRANSPORT=nodes shared memory within a node, TCP between nodes (set
#                            OMPI_MCA_btl_tcp_if_include to the nodes' network)
#   SLAB_MPI_TRANSPORT=site  the site's own choice (the default for a multi-node Slurm job)
# slab_mpi_env SCOPE...: exports the mpi.env lines of those scopes that are not already set.
slab_mpi_env() {
  local scope assignment wanted name
  while read -r scope assignment; do
    [[ -z "$scope" || "$scope" == \#* ]] && continue
    name=${assignment%%=*}
    for wanted in "$@"; do
      if [[ "$scope" == "$wanted" && -z "${!name:-}" ]]; then export "${assignment?}"; fi
    done
  done <"$(dirname "${BASH_SOURCE[0]}")/mpi.env"
}
if [[ -z "${SLAB_MPI_TRANSPORT:-}" ]]; then
  if [[ "${SLURM_NNODES:-1}" == 1 ]]; then SLAB_MPI_TRANSPORT=node; else SLAB_MPI_TRANSPORT=site; fi
fi
if [[ "$SLAB_MPI_TRANSPORT" != site ]]; then slab_mpi_env "$SLAB_MPI_TRANSPORT"; fi
if [[ $(id -u) -eq 0 ]]; then slab_mpi_env root; fi

# In a Slurm job, a rank that waits on a lost node ends after this many seconds without a step
# (docs/multinode.md; 0: never), so that the job requeues and resumes rather than hangs until
# Slurm declares the node down (SlurmdTimeout).
if [[ -n "${SLURM_JOB_ID:-}" ]]; then export SLAB_PROGRESS_TIMEOUT="${SLAB_PROGRESS_TIMEOUT:-120}"; fi
