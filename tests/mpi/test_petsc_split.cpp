#include <gtest/gtest.h>

#include <petscsys.h>

#include "core/partition.hpp"

// RowPartition is the split PETSc makes with PETSC_DECIDE, so a PETSc Vec and a slab row block
// coincide; checked against PETSc itself for every row count 0..50 at this run's rank count.
TEST(PetscSplit, RowPartitionEqualsPetscSplitOwnership) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (PetscInt rows = 0; rows <= 50; ++rows) {
    PetscInt local = PETSC_DECIDE;
    PetscInt global = rows;
    ASSERT_EQ(PetscSplitOwnership(MPI_COMM_WORLD, &local, &global), 0);
    const slab::RowPartition p(rows, size, rank);
    EXPECT_EQ(p.count(), local) << "rows " << rows;
    PetscInt first = 0;
    MPI_Exscan(&local, &first, 1, MPIU_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) first = 0;
    EXPECT_EQ(p.first(), first) << "rows " << rows;
  }
}
