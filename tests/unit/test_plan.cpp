// The resource plan and its checked arithmetic: sizes from parameters alone, never wrapping.
#include <gtest/gtest.h>

#include <cstdint>

#include "app/plan.hpp"
#include "core/checked.hpp"
#include "core/error.hpp"

using namespace slab;

namespace {

app::Config heat_config(const std::string& out) {
  app::Config c;
  c.command = app::Command::heat;
  c.output.out = out;
  return c;
}

heat::Problem problem(std::int64_t nx, std::int64_t snapshots, heat::Scheme scheme = heat::Scheme::explicit_euler) {
  heat::Problem p{};
  p.nx = nx;
  p.snapshots = snapshots;
  p.steps = 10;
  p.scheme = scheme;
  return p;
}

app::Available room(std::uint64_t memory, std::uint64_t disk) {
  return {Checked(memory), "MemAvailable (test)", Checked(disk), "."};
}

}  // namespace

TEST(Checked, OverflowNeverWrapsAndStays) {
  const Checked big(std::uint64_t{1} << 62);
  EXPECT_FALSE((big * 3).overflowed());
  EXPECT_TRUE((big * 4).overflowed());
  EXPECT_TRUE((big * 4 + 1).overflowed());
  EXPECT_TRUE((Checked(UINT64_MAX) + 1).overflowed());
  EXPECT_TRUE(Checked::of(-1).overflowed());
  EXPECT_LT(Checked(UINT64_MAX), Checked::overflow());
  EXPECT_FALSE(Checked::overflow() < Checked(5));
  EXPECT_EQ(Checked(10).divide_up(4), Checked(3));
  EXPECT_TRUE(Checked(10).divide_up(0).overflowed());
  EXPECT_EQ(format_bytes(Checked(1536)), "1.5 KiB");
  EXPECT_EQ(format_bytes(Checked(1000 * 1024)), "1000 KiB");
  EXPECT_NE(format_bytes(Checked::overflow()).find("more than 16 EiB"), std::string::npos);
}

TEST(Plan, HeatCountsEveryValueOnTheBusiestRank) {
  // 1001 nodes on 2 ranks: rank 0 has 501; 11 snapshots.
  const auto plan = app::resource_plan_heat(heat_config("h.h5"), problem(1001, 11), 2);
  EXPECT_EQ(plan.memory_per_rank(), Checked(501 * 3 * 8 + 501 * 11 * 8 + 11 * 8));
  EXPECT_EQ(plan.disk_bytes(), Checked((11 * 1001 + 1001 + 11) * 8 + (64 << 10)));
  // Text formats take their real bytes per value; an archive is gathered on rank 0.
  const auto json = app::resource_plan_heat(heat_config("h.json"), problem(1001, 11), 2);
  EXPECT_EQ(json.disk_bytes(), Checked((11 * 1001 + 1001 + 11) * 26 + (64 << 10)));
  EXPECT_GT(json.memory_per_rank(), plan.memory_per_rank());
}

TEST(Plan, AnOverflowingGridIsRefusedNotWrapped) {
  const auto plan = app::resource_plan_heat(heat_config("h.h5"), problem(4611686018427387904, 11), 2);
  EXPECT_TRUE(plan.memory_per_rank().overflowed());
  try {
    app::check_plan(plan, room(std::uint64_t{8} << 30, std::uint64_t{1} << 40));
    FAIL() << "an overflowing plan passed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 16 EiB"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8 GiB is available per rank"), std::string::npos) << e.what();
  }
}

TEST(Plan, RegressionRefusesWhatCannotBeAllocatedAndAcceptsWhatFits) {
  app::Config c;
  c.command = app::Command::regress;
  c.output.out = "r.h5";
  const auto huge = app::resource_plan_regress(c, {Checked(1000000000000), Checked(1000)}, 2);
  // 5e11 rows of 1001 values on the busiest rank.
  EXPECT_GE(huge.memory_per_rank(), Checked(std::uint64_t{500000000000} * 1001 * 8));
  EXPECT_THROW(app::check_plan(huge, room(std::uint64_t{64} << 30, std::uint64_t{1} << 50)), InputError);
  const auto small = app::resource_plan_regress(c, {Checked(100000), Checked(8)}, 2);
  EXPECT_NO_THROW(app::check_plan(small, room(std::uint64_t{1} << 30, std::uint64_t{1} << 30)));
  // The disk check names the folder and both sizes.
  try {
    app::check_plan(small, room(std::uint64_t{1} << 30, 1000));
    FAIL() << "a plan larger than the free disk passed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'.' has 1000 B free"), std::string::npos) << e.what();
  }
}

// ulimit -f bounds each file, not their sum: the two checkpoints are two files of half the bytes.
TEST(Plan, EachFileMustFitUlimitF) {
  app::Config c = heat_config("h.h5");
  c.output.checkpoint_every = 5;
  const auto plan = app::resource_plan_heat(c, problem(1001, 11), 2);
  const Checked output = plan.disk.front().bytes;
  const Checked checkpoint = plan.disk.back().bytes.divide_up(2);
  ASSERT_EQ(plan.disk.back().files, 2u);
  app::Available limited = room(std::uint64_t{1} << 30, std::uint64_t{1} << 30);
  limited.file_size = output > checkpoint ? output : checkpoint;
  EXPECT_NO_THROW(app::check_plan(plan, limited));
  limited.file_size = Checked(output.value() - 1);
  try {
    app::check_plan(plan, limited);
    FAIL() << "a file larger than ulimit -f allows passed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ulimit -f (RLIMIT_FSIZE) allows files of"), std::string::npos) << e.what();
  }
}

// The default direct solver holds the state once more in whole blocks and O(block) factors; only
// --solver petsc needs PETSc's vectors. Snapshots are copied in pieces, never held whole.
TEST(Plan, ImplicitMemoryFollowsTheSolver) {
  const std::uint64_t nx = 4000001;
  heat::Problem p = problem(static_cast<std::int64_t>(nx), 101, heat::Scheme::implicit_euler);
  const auto direct = app::resource_plan_heat(heat_config("h.h5"), p, 1);
  // 3 values per node for the grid, 1 for the blocks, 1 row of snapshots per piece, and 2.5 MiB
  // (the block factors, 1.8 MiB, and 44 values per block of the reduced system, 0.3 MiB here).
  EXPECT_LE(direct.memory_per_rank(), Checked(nx * 5 * 8 + (std::uint64_t{5} << 19)));
  EXPECT_GE(direct.memory_per_rank(), Checked(nx * 5 * 8));
  p.solver = heat::Solver::petsc;
  const auto petsc = app::resource_plan_heat(heat_config("h.h5"), p, 1);
  EXPECT_GE(petsc.memory_per_rank(), Checked(nx * (3 + 33) * 8));
}
