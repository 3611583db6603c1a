// The progress watchdog (core/watchdog.hpp): its setting, and a stalled loop ended with exit code 75.
#include "core/watchdog.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "core/stop.hpp"

namespace slab {
namespace {

struct Setting {
  explicit Setting(const char* value) {
    if (value != nullptr)
      ::setenv(watchdog::variable, value, 1);
    else
      ::unsetenv(watchdog::variable);
  }
  ~Setting() { ::unsetenv(watchdog::variable); }
};

TEST(Watchdog, OffUnlessSet) {
  for (const char* value : {static_cast<const char*>(nullptr), "", "0"}) {
    const Setting s(value);
    EXPECT_EQ(watchdog::configured_limit(), 0.0) << (value ? value : "(unset)");
  }
}

TEST(Watchdog, ReadsSeconds) {
  const Setting s("2.5");
  EXPECT_EQ(watchdog::configured_limit(), 2.5);
}

TEST(Watchdog, RefusesWhatIsNotSeconds) {
  for (const char* value : {"abc", "10s", "-1", "nan", "inf", "1e10"}) {
    const Setting s(value);
    EXPECT_THROW((void)watchdog::configured_limit(), InputError) << value;
  }
}

// A loop that stops reaching its step boundaries: the process ends with stop::exit_code and one line
// that names the step and the rank.
TEST(WatchdogDeathTest, EndsAStalledLoop) {
  const Setting s("0.5");
  EXPECT_EXIT(
      {
        watchdog::Guard guard(3, "step");
        guard.progress(7);
        std::this_thread::sleep_for(std::chrono::seconds(30));
        std::exit(0);
      },
      testing::ExitedWithCode(stop::exit_code), "slab: error: no progress for [0-9]+ s after step 7 \\(rank 3\\)");
}

// Without the setting the same stall is left alone: the loop ends as it would have.
TEST(WatchdogDeathTest, LeavesALoopAloneWhenOff) {
  const Setting s(nullptr);
  EXPECT_EXIT(
      {
        watchdog::Guard guard(3, "step");
        guard.progress(7);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // three times the 0.5 s that ends the loop above
        watchdog::tick();
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace slab
