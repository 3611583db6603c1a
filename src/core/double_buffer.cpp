#include "core/double_buffer.hpp"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace slab {
namespace {

// What the two threads share, under one lock.
struct Progress {
  std::mutex mutex;
  std::condition_variable changed;
  std::int64_t filled = 0, used = 0;  // items 0 to filled - 1 are filled; 0 to used - 1 used
  bool stop = false;                  // the user failed: fill nothing more
  std::exception_ptr failure;         // the filler failed at item `filled`

  template <class Update>
  void update(Update&& change) {
    const std::lock_guard lock(mutex);
    change();
    changed.notify_all();
  }
};

void fill_all(Progress& p, std::int64_t count, const std::function<void(std::int64_t)>& fill) {
  for (std::int64_t k = 0; k < count; ++k) {
    {
      std::unique_lock lock(p.mutex);
      p.changed.wait(lock, [&] { return p.stop || k < p.used + 2; });  // buffer k % 2 is free
      if (p.stop) return;
    }
    try {
      fill(k);
    } catch (...) {
      p.update([&] { p.failure = std::current_exception(); });
      return;
    }
    p.update([&] { p.filled = k + 1; });
  }
}

}  // namespace

double double_buffered(std::int64_t count, const std::function<void(std::int64_t)>& fill,
                       const std::function<void(std::int64_t)>& use) {
  Progress p;
  std::thread filler;
  try {
    filler = std::thread([&] { fill_all(p, count, fill); });
  } catch (const std::system_error&) {
    // No thread to be had (EAGAIN): the items are filled here, in turn with their use. Every fill
    // still happens, in order, so no other rank is left waiting in a collective read.
    return single_buffered(count, fill, use);
  }
  double waited = 0;
  try {
    for (std::int64_t k = 0; k < count; ++k) {
      const auto start = std::chrono::steady_clock::now();
      {
        std::unique_lock lock(p.mutex);
        p.changed.wait(lock, [&] { return p.filled > k || p.failure; });
        if (p.filled <= k) std::rethrow_exception(p.failure);
      }
      if (k > 0) waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      use(k);
      p.update([&] { p.used = k + 1; });
    }
  } catch (...) {
    p.update([&] { p.stop = true; });
    filler.join();
    throw;
  }
  filler.join();
  return waited;
}

double single_buffered(std::int64_t count, const std::function<void(std::int64_t)>& fill,
                       const std::function<void(std::int64_t)>& use) {
  double waited = 0;
  for (std::int64_t k = 0; k < count; ++k) {
    const auto start = std::chrono::steady_clock::now();
    fill(k);
    if (k > 0) waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    use(k);
  }
  return waited;
}

}  // namespace slab
