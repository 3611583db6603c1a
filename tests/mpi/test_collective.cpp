#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "comms.hpp"
#include "mpi.hpp"

using slab::mpi::CollectiveError;
using slab::mpi::Comm;
using slab::test::world;

TEST(Collective, NothingHappensWhenNoRankFails) {
  EXPECT_NO_THROW(slab::mpi::collectively(world(), [] {}));
}

// One rank fails alone; every rank must throw the same error and nobody may hang.
TEST(Collective, OneRankFailingFailsEveryRankWithTheSameError) {
  const int failing = world().size() - 1;
  try {
    slab::mpi::collectively(world(), [&] {
      if (world().rank() == failing) throw slab::InputError("bad value on one rank");
    });
    ADD_FAILURE() << "expected a CollectiveError on rank " << world().rank();
  } catch (const CollectiveError& e) {
    EXPECT_EQ(e.code(), slab::ExitCode::usage);
    EXPECT_EQ(std::string(e.what()), "bad value on one rank");
    EXPECT_EQ(e.failed_rank(), failing);
  }
}

TEST(Collective, TheLowestFailingRankIsReported) {
  try {
    slab::mpi::collectively(world(),
                            [&] { throw slab::RuntimeFailure("failure on rank " + std::to_string(world().rank())); });
    ADD_FAILURE() << "expected a CollectiveError";
  } catch (const CollectiveError& e) {
    EXPECT_EQ(e.code(), slab::ExitCode::runtime);
    EXPECT_EQ(std::string(e.what()), "failure on rank 0");
  }
}

TEST(Collective, InjectedFaultsHitOnlyTheNamedPhaseAndRank) {
  const int target = world().size() / 2;
  const std::string spec = "solve:" + std::to_string(target);
  setenv("SLAB_FAULT", spec.c_str(), 1);
  EXPECT_NO_THROW(slab::mpi::inject_fault(world(), "write"));
  if (world().rank() == target) {
    EXPECT_THROW(slab::mpi::inject_fault(world(), "solve"), slab::RuntimeFailure);
  } else {
    EXPECT_NO_THROW(slab::mpi::inject_fault(world(), "solve"));
  }
  unsetenv("SLAB_FAULT");
}

TEST(Collective, CheckedCallsThrowWithTheCallName) {
  // An invalid root is an MPI error that MPI_ERRORS_RETURN turns into a return code.
  int value = 0;
  try {
    SLAB_MPI(MPI_Bcast(&value, 1, MPI_INT, world().size() + 5, world().get()));
    ADD_FAILURE() << "expected an exception";
  } catch (const slab::RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find("MPI_Bcast"), std::string::npos) << e.what();
  }
}
