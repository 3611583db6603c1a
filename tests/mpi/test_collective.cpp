#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "comms.hpp"
#include "core/mpi.hpp"

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

// A receive whose owner goes out of scope before it completes (an exception between MPI_Irecv and
// the wait) is withdrawn: a message sent afterwards stays unmatched for the next receive, and the
// abandoned buffer is never written.
TEST(Requests, AnAbandonedReceiveIsCancelledNotLeftPending) {
  const auto& comm = slab::test::self();
  constexpr int tag = 11;
  std::vector<double> abandoned(1, -1.0);
  {
    slab::mpi::RequestSet requests;
    requests.add(comm.irecv(std::span<double>(abandoned), 0, tag));
  }
  const std::vector<double> message{42.0};
  slab::mpi::Request sent = comm.isend(std::span<const double>(message), 0, tag);
  int arrived = 0;
  for (int attempt = 0; attempt < 100000 && !arrived; ++attempt)
    SLAB_MPI(MPI_Iprobe(0, tag, comm.get(), &arrived, MPI_STATUS_IGNORE));
  ASSERT_TRUE(arrived) << "the message was taken by the abandoned receive";
  std::vector<double> received(1);
  comm.recv(std::span<double>(received), 0, tag);
  sent.wait();
  EXPECT_EQ(received[0], 42.0);
  EXPECT_EQ(abandoned[0], -1.0);
}

TEST(Requests, ASingleAbandonedRequestIsCancelledToo) {
  const auto& comm = slab::test::self();
  constexpr int tag = 12;
  std::vector<double> abandoned(1, -1.0);
  { const slab::mpi::Request pending = comm.irecv(std::span<double>(abandoned), 0, tag); }
  const std::vector<double> message{7.0};
  comm.send(std::span<const double>(message), 0, tag);  // small: buffered, returns at once
  int arrived = 0;
  for (int attempt = 0; attempt < 100000 && !arrived; ++attempt)
    SLAB_MPI(MPI_Iprobe(0, tag, comm.get(), &arrived, MPI_STATUS_IGNORE));
  ASSERT_TRUE(arrived);
  std::vector<double> received(1);
  comm.recv(std::span<double>(received), 0, tag);
  EXPECT_EQ(received[0], 7.0);
  EXPECT_EQ(abandoned[0], -1.0);
}

// Rank r contributes r + 1 copies of r: every rank sees 0, 1, 1, 2, 2, 2, ... in rank order.
TEST(TypedCalls, AllgathervConcatenatesUnevenContributionsInRankOrder) {
  const auto& comm = world();
  const std::vector<double> mine(static_cast<std::size_t>(comm.rank() + 1), comm.rank());
  const std::vector<double> all = comm.allgatherv(std::span<const double>(mine));
  const std::vector<double> expected_np4{0, 1, 1, 2, 2, 2, 3, 3, 3, 3};
  const std::size_t n = static_cast<std::size_t>(comm.size() * (comm.size() + 1) / 2);
  EXPECT_EQ(all, std::vector<double>(expected_np4.begin(), expected_np4.begin() + static_cast<std::ptrdiff_t>(n)));
}

TEST(TypedCalls, GatherReachesOnlyTheRoot) {
  const auto& comm = world();
  const int root = comm.size() - 1;
  const std::vector<std::uint64_t> mine{static_cast<std::uint64_t>(10 * comm.rank()),
                                        static_cast<std::uint64_t>(10 * comm.rank() + 1)};
  const auto all = comm.gather(std::span<const std::uint64_t>(mine), root);
  if (comm.rank() != root) {
    EXPECT_TRUE(all.empty());
    return;
  }
  const std::vector<std::uint64_t> expected_np4{0, 1, 10, 11, 20, 21, 30, 31};
  EXPECT_EQ(all, std::vector<std::uint64_t>(expected_np4.begin(), expected_np4.begin() + 2 * comm.size()));
}

// Rank r holds {r, -r, big - r}: the element-wise min and max are fixed by the rank count.
TEST(TypedCalls, MinAndMaxOfArraysAreElementWise) {
  const auto& comm = world();
  const std::int64_t r = comm.rank(), last = comm.size() - 1;
  constexpr std::int64_t big = std::int64_t{1} << 62;
  std::vector<std::int64_t> high{r, -r, big - r};
  comm.allreduce_max(std::span<std::int64_t>(high));
  EXPECT_EQ(high, (std::vector<std::int64_t>{last, 0, big}));
  std::vector<std::uint64_t> low{static_cast<std::uint64_t>(r) + 5, UINT64_MAX - static_cast<std::uint64_t>(r)};
  comm.allreduce_min(std::span<std::uint64_t>(low));
  EXPECT_EQ(low, (std::vector<std::uint64_t>{5, UINT64_MAX - static_cast<std::uint64_t>(last)}));
  EXPECT_EQ(comm.allreduce_min(static_cast<int>(last - r)), 0);
  EXPECT_EQ(comm.allreduce_min(static_cast<std::uint64_t>(r) + 3), std::uint64_t{3});
}

TEST(TypedCalls, BroadcastValueComesFromTheRoot) {
  const auto& comm = world();
  const int root = comm.size() - 1;
  const std::uint64_t mine = UINT64_MAX - static_cast<std::uint64_t>(comm.rank());
  EXPECT_EQ(comm.broadcast_value(mine, root), UINT64_MAX - static_cast<std::uint64_t>(root));
  EXPECT_EQ(comm.broadcast_value(mine), UINT64_MAX);
}

// The lengths known to all: rank r's r + 1 values land at r (r + 1) / 2, as the other allgatherv.
TEST(TypedCalls, AllgathervWithKnownCountsPlacesEachRankAtItsDisplacement) {
  const auto& comm = world();
  std::vector<int> counts, displs;
  for (int q = 0, at = 0; q < comm.size(); at += ++q) {
    counts.push_back(q + 1);
    displs.push_back(at);
  }
  const std::vector<double> mine(static_cast<std::size_t>(comm.rank() + 1), comm.rank());
  std::vector<double> all(static_cast<std::size_t>(displs.back() + counts.back()), -1.0);
  comm.allgatherv(std::span<const double>(mine), std::span<double>(all), counts, displs);
  EXPECT_EQ(all, comm.allgatherv(std::span<const double>(mine)));
}

// The nonblocking max: completed by wait(), or by the Request's destructor (which must complete a
// collective, never cancel it: MPI cannot cancel one). Either way every rank gets the same answer.
TEST(Requests, ANonblockingMaxCompletesByWaitOrByDestruction) {
  const auto& comm = world();
  const int mine = 10 * comm.rank() + 1;
  int agreed = -1;
  slab::mpi::Request request = comm.iallreduce_max(std::span<const int>(&mine, 1), std::span<int>(&agreed, 1));
  EXPECT_TRUE(request.pending());
  request.wait();
  EXPECT_FALSE(request.pending());
  EXPECT_EQ(agreed, 10 * (comm.size() - 1) + 1);
  int dropped = -1;
  {
    const slab::mpi::Request abandoned =
        comm.iallreduce_max(std::span<const int>(&mine, 1), std::span<int>(&dropped, 1));
  }
  EXPECT_EQ(dropped, 10 * (comm.size() - 1) + 1);
  int in_set = -1;
  {
    slab::mpi::RequestSet requests;
    requests.add(comm.iallreduce_max(std::span<const int>(&mine, 1), std::span<int>(&in_set, 1)));
  }
  EXPECT_EQ(in_set, 10 * (comm.size() - 1) + 1);
}

TEST(Info, HintsAreSetAndAnEmptyInfoIsNull) {
  slab::mpi::Info none;
  EXPECT_EQ(none.get(), MPI_INFO_NULL);
  slab::mpi::Info hints;
  hints.set("romio_cb_write", "enable");
  ASSERT_NE(hints.get(), MPI_INFO_NULL);
  char value[64] = {};
  int found = 0;
  SLAB_MPI(MPI_Info_get(hints.get(), "romio_cb_write", sizeof value - 1, value, &found));
  EXPECT_TRUE(found);
  EXPECT_STREQ(value, "enable");
  slab::mpi::Info moved = std::move(hints);
  EXPECT_EQ(hints.get(), MPI_INFO_NULL);
  EXPECT_NE(moved.get(), MPI_INFO_NULL);
}
