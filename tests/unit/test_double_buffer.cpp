// The double buffer of streamed reads (core/double_buffer.hpp): order, overlap, and what a failure
// on either side does.
#include "core/double_buffer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace slab {
namespace {

// A flag one thread raises and another waits for: at most a minute, so that a test that would wait
// forever fails instead.
class Flag {
 public:
  void raise() {
    const std::lock_guard lock(mutex_);
    raised_ = true;
    changed_.notify_all();
  }
  [[nodiscard]] bool wait() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::minutes(1), [&] { return raised_; });
  }
  [[nodiscard]] bool raised() {
    const std::lock_guard lock(mutex_);
    return raised_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool raised_ = false;
};

TEST(DoubleBuffer, UsesEveryItemInOrderFromTheBufferItWasFilledInto) {
  for (const std::int64_t count : {0, 1, 2, 3, 8}) {
    std::array<std::int64_t, 2> buffers{-1, -1};
    std::atomic<std::int64_t> used{0};
    std::vector<std::int64_t> seen;
    (void)double_buffered(
        count,
        [&](std::int64_t k) {
          EXPECT_LT(k, used.load() + 2) << "item " << k << " would overwrite an item not yet used";
          buffers[static_cast<std::size_t>(k % 2)] = k;
        },
        [&](std::int64_t k) {
          seen.push_back(buffers[static_cast<std::size_t>(k % 2)]);
          used = k + 1;
        });
    std::vector<std::int64_t> expected;
    for (std::int64_t k = 0; k < count; ++k) expected.push_back(k);
    EXPECT_EQ(seen, expected) << count << " items";
  }
}

// Item 1 is filled while item 0 is in use: use(0) returns only once fill(1) has begun. (A filler
// that waited for use(0) would never begin it; the wait ends after a minute, and the test fails.)
TEST(DoubleBuffer, FillsTheNextItemWhileThisOneIsUsed) {
  Flag second_filling;
  bool overlapped = false;
  (void)double_buffered(
      2,
      [&](std::int64_t k) {
        if (k == 1) second_filling.raise();
      },
      [&](std::int64_t k) {
        if (k == 0) overlapped = second_filling.wait();
      });
  EXPECT_TRUE(overlapped);
}

TEST(DoubleBuffer, AFailedFillIsRethrownInPlaceOfItsUse) {
  std::vector<std::int64_t> filled, used;
  EXPECT_THROW((void)double_buffered(
                   6,
                   [&](std::int64_t k) {
                     filled.push_back(k);
                     if (k == 3) throw std::runtime_error("read 3 failed");
                   },
                   [&](std::int64_t k) { used.push_back(k); }),
               std::runtime_error);
  EXPECT_EQ(filled, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(used, (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(DoubleBuffer, AFailedUseStopsTheFillingAfterTheNextItem) {
  for (const std::int64_t failing : {0, 2, 5}) {
    std::atomic<std::int64_t> fills{0};
    try {
      (void)double_buffered(
          6, [&](std::int64_t) { ++fills; },
          [&](std::int64_t k) {
            if (k == failing) throw std::invalid_argument("use failed");
          });
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument&) {
    }
    const std::int64_t after = fills.load();  // the filler has ended: nothing is filled any more
    EXPECT_GE(after, failing + 1);
    EXPECT_LE(after, std::min<std::int64_t>(failing + 2, 6));
  }
}

// Both sides fail at once: use(0) fails after fill(1) has failed beside it. use(0)'s failure is
// the one rethrown (it came first in the order of items), the filler's is dropped, and nothing
// ends the process (an exception left in the filling thread would be std::terminate).
TEST(DoubleBuffer, AFailedUseWinsOverTheFailedFillBesideIt) {
  Flag second_failed;
  std::vector<std::int64_t> used;
  try {
    (void)double_buffered(
        4,
        [&](std::int64_t k) {
          if (k != 1) return;
          second_failed.raise();
          throw std::runtime_error("read 1 failed");
        },
        [&](std::int64_t k) {
          used.push_back(k);
          (void)second_failed.wait();
          throw std::invalid_argument("use " + std::to_string(k) + " failed");
        });
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "use 0 failed");
  }
  EXPECT_TRUE(second_failed.raised());
  EXPECT_EQ(used, (std::vector<std::int64_t>{0}));
}

TEST(SingleBuffer, FillsAndUsesEachItemInTurn) {
  std::vector<std::string> calls;
  (void)single_buffered(
      3, [&](std::int64_t k) { calls.push_back("fill " + std::to_string(k)); },
      [&](std::int64_t k) { calls.push_back("use " + std::to_string(k)); });
  EXPECT_EQ(calls, (std::vector<std::string>{"fill 0", "use 0", "fill 1", "use 1", "fill 2", "use 2"}));
}

}  // namespace
}  // namespace slab
