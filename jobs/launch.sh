# launch CMD ARGS...: starts an MPI program inside a Slurm allocation. srun with PMIx where this
# Slurm and Open MPI support it (Debian's do; their PMI-2 does not work), mpirun inside the
# allocation otherwise (Open MPI reads the allocation from Slurm's environment).
launch() {
  if srun --mpi=list 2>&1 | grep -q pmix; then
    echo "launch: srun --mpi=pmix -n ${SLURM_NTASKS:-?} $*"
    srun --mpi=pmix "$@"
  else
    echo "launch: mpirun -np ${SLURM_NTASKS:-?} $*"
    mpirun "$@"
  fi
}
