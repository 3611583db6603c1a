// The signal side of src/core/stop.hpp, in child processes (death tests) so that the handlers and the
// recorded signal never leak into other tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGHUP);   // the terminal went away: stop with a checkpoint as for SIGTERM
        std::raise(SIGPIPE);  // ignored: a write to a closed pipe fails instead
        std::_Exit(stop::received() == SIGHUP ? 0 : 2);
      },
      testing::ExitedWithCode(0), "");
  EXPECT_EQ(stop::describe(SIGTERM), "SIGTERM");
  EXPECT_EQ(stop::describe(SIGHUP), "SIGHUP");
  EXPECT_EQ(stop::describe(stop::time_limit), "the time limit");
}

// A second signal removes the tracked temporaries and then their locks, and nothing else: not the
// previous checkpoint, not a file that merely looks like slab's, and not the lock of a temporary
// folder it cannot unlink (the next run on that target removes the folder through the lock).
TEST(StopSignals, ASignalDuringTheFinalCheckpointEndsAtOnceAndRemovesOnlyItsTrackedFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("slab-stop-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string temporary = dir / "run.h5.ckpt.h5.1f2e.partial", lock = dir / "run.h5.ckpt.h5.lock";
  const std::string folder = dir / "run.5a6b.partial", folder_lock = dir / "run.lock";
  const std::string kept = dir / "run.h5.ckpt.h5", lookalike = dir / "run.h5.partial";
  // Open MPI's shared-file-pointer files of the temporary, one pair per rank.
  const std::string companions[] = {temporary + ".data.0", temporary + ".metadata.0", temporary + ".data.1",
                                    temporary + ".metadata.1"};
  for (const auto& path : {temporary, lock, folder_lock, kept, lookalike}) std::ofstream(path) << "x";
  for (const auto& path : companions) std::ofstream(path) << "x";
  std::filesystem::create_directory(folder);
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGTERM);
        const int a = stop::track_scratch(temporary, lock);
        const int b = stop::track_scratch(folder, folder_lock);
        const int c = stop::track_scratch(dir / "gone.partial", dir / "gone.lock");
        stop::forget_scratch(c);
        if (a < 0 || b < 0 || c < 0) std::_Exit(1);
        stop::end_on_next_signal();
        std::raise(SIGUSR1);
        std::_Exit(0);  // not reached
      },
      testing::KilledBySignal(SIGUSR1), "");
  EXPECT_FALSE(std::filesystem::exists(temporary));
  EXPECT_FALSE(std::filesystem::exists(lock));
  for (const auto& path : companions) EXPECT_FALSE(std::filesystem::exists(path)) << path;
  EXPECT_TRUE(std::filesystem::is_directory(folder));
  EXPECT_TRUE(std::filesystem::exists(folder_lock));
  EXPECT_TRUE(std::filesystem::exists(kept));
  EXPECT_TRUE(std::filesystem::exists(lookalike));
  std::filesystem::remove_all(dir);
}

// Once the checkpoint is whole a signal is recorded again, not fatal: the run still ends with 75.
TEST(StopSignals, ASignalAfterTheFinalCheckpointIsOnlyRecorded) {
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGUSR1);
        stop::end_on_next_signal();
        stop::record_signals_only();
        std::raise(SIGTERM);
        std::_Exit(stop::received() == SIGUSR1 ? 75 : 1);
      },
      testing::ExitedWithCode(75), "");
}

TEST(StopSignals, ACopyOfTheFirstSignalDuringTheFinalCheckpointIsNotTheUserInsisting) {
  EXPECT_EXIT(
      {
        stop::install_handlers();
        std::raise(SIGTERM);
        stop::end_on_next_signal();
        std::raise(SIGTERM);  // srun's copy of slurmstepd's SIGTERM
        std::_Exit(stop::received() == SIGTERM ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

// The copy window is a second of a clock with sub-second resolution: the same signal 1.3 s after
// the first is the user insisting, even when both fall in consecutive whole seconds (the first
// just after a whole second of CLOCK_MONOTONIC, the second 1.3 s later).
TEST(StopSignals, TheSameSignalMoreThanASecondAfterTheFirstIsTheUserInsisting) {
  EXPECT_EXIT(
      {
        stop::install_handlers();
        timespec now{};
        do clock_gettime(CLOCK_MONOTONIC, &now);
        while (now.tv_nsec > 50'000'000);
        std::raise(SIGTERM);
        stop::end_on_next_signal();
        timespec later{};
        later.tv_sec = 1;
        later.tv_nsec = 300'000'000;
        nanosleep(&later, nullptr);
        std::raise(SIGTERM);
        std::_Exit(0);  // not reached
      },
      testing::KilledBySignal(SIGTERM), "");
}

TEST(StopSignals, TheMarginCoversTwoStepsTwoCheckpointsAndASecond) {
  EXPECT_DOUBLE_EQ(stop::margin(0.5), 2 * 0.5 + 2 * 0.5 + 1.0);  // no checkpoint measured yet: 0.5 s
}
