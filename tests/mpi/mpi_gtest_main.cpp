// GoogleTest main for MPI tests: MPI and PETSc are started once for the whole executable; only
// rank 0 prints GoogleTest's report; other ranks print their failures prefixed with their rank;
// the process exit code is the same on every rank and non-zero when any rank failed.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/mpi.hpp"
#include "core/petsc.hpp"

namespace {

class RankFailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  slab::mpi::Environment environment(argc, argv);
  int status = 0;
  {
    const auto world = slab::mpi::Comm::view(MPI_COMM_WORLD);
    slab::petsc::Session petsc(world);
    testing::InitGoogleTest(&argc, argv);
    if (world.rank() != 0) {
      auto& listeners = testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new RankFailurePrinter(world.rank()));
    }
    status = RUN_ALL_TESTS();
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  }
  return status;
}
