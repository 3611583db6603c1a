# Environment for running slab: sourced by jobs/run-local.sh and the Slurm scripts. A site edits
# this file (module loads, file-system settings), not the job scripts.

# On a cluster, load the stack slab was built with, e.g.:
#   module load openmpi hdf5/parallel petsc

# NFS and Lustre often lack the POSIX locks HDF5 takes by default.
export HDF5_USE_FILE_LOCKING="${HDF5_USE_FILE_LOCKING:-FALSE}"

# Single-node runs (this machine, or a one-node Slurm allocation): shared memory between ranks
# through Open MPI's ob1 layer (probing for UCX costs 0.2 s of every start and buys nothing within
# a node), and more ranks than cores allowed. Multi-node jobs keep the site's transport.
if [[ "${SLURM_NNODES:-1}" == 1 ]]; then
  export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
  export OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}"
  export OMPI_MCA_rmaps_base_oversubscribe="${OMPI_MCA_rmaps_base_oversubscribe:-1}"
fi

# Containers and CI run as root, which Open MPI refuses unless told.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
