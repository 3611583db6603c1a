// The signal side of src/stop.hpp, in child processes (death tests) so that the handlers and the
// recorded signal never leak into other tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/stop.hpp"

using namespace slab;

TEST(StopSignals, TheFirstSignalIsRecordedAndTheRunGoesOn) {
  EXPECT_EXIT(
      {
        stop::install_handlers();
        if (stop::received() != 0) std::_Exit(1);
        std::raise(SIGUSR2);
        std::raise(SIGTERM);  // a later one does not replace the first
        std::raise(SIGINT);
        std::_Exit(stop::received() == SIGUSR2 ? 0 : 2);
      },
      testing::ExitedWithCode(0), "");
  EXPECT_EQ(stop::describe(SIGTERM), "SIGTERM");
  EXPECT_EQ(stop::describe(stop::time_limit), "the time limit");
}

TEST(StopSignals, ASignalDuringTheFinalCheckpointEndsAtOnceAndRemovesItsFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("slab-stop-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string scratch = dir / "run.h5.ckpt.h5.partial", output = dir / "run.h5.partial";
  const std::string kept = dir / "run.h5.ckpt.h5";
  for (const auto& path : {scratch, output, kept}) std::ofstream(path) << "x";
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGTERM);
        stop::end_on_next_signal(scratch, output);
        std::raise(SIGUSR1);
        std::_Exit(0);  // not reached
      },
      testing::KilledBySignal(SIGUSR1), "");
  EXPECT_FALSE(std::filesystem::exists(scratch));
  EXPECT_FALSE(std::filesystem::exists(output));
  EXPECT_TRUE(std::filesystem::exists(kept));
  std::filesystem::remove_all(dir);
}

TEST(StopSignals, ACopyOfTheFirstSignalDuringTheFinalCheckpointIsNotTheUserInsisting) {
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGTERM);
        stop::end_on_next_signal("", "");
        std::raise(SIGTERM);  // srun's copy of slurmstepd's SIGTERM
        std::_Exit(stop::received() == SIGTERM ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

TEST(StopSignals, TheMarginCoversTwoStepsTwoCheckpointsAndASecond) {
  EXPECT_DOUBLE_EQ(stop::margin(0.5), 2 * 0.5 + 2 * 0.5 + 1.0);  // no checkpoint measured yet: 0.5 s
}
