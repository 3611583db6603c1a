// Two buffers, one filled while the other is used: the overlap of a streamed pass's reads with its
// arithmetic, with no library in it (io/row_stream.cpp gives it the HDF5 reads).
#pragma once

#include <cstdint>
#include <functional>

namespace slab {

// Items 0 to count - 1 (count >= 0): fill(k) on a second thread, use(k) on this one, each in order,
// through two buffers (item k in buffer k % 2). Item k + 1 is filled while item k is used, and item
// k + 2 only once item k has been. One thread for all the items, not one per item, so that the
// scheduler keeps it apart from this one.
// - While it runs, only the filling thread may call a library that is not thread safe (HDF5, MPI at
//   MPI_THREAD_SERIALIZED): use(k) must call none.
// - A failed fill(k) ends the filling thread, and its exception is rethrown here in place of use(k),
//   after use(0) to use(k - 1).
// - A failed use(k) stops the filling thread after the fill it is making (at most k + 1), and is
//   rethrown once that thread has ended.
// - If no thread can be started, it is single_buffered.
// Returns the seconds this thread waited for items after the first.
double double_buffered(std::int64_t count, const std::function<void(std::int64_t)>& fill,
                       const std::function<void(std::int64_t)>& use);

// The same with one buffer, on this thread alone: fill(0), use(0), fill(1), use(1), ... (where no
// second thread may call the library). Returns the seconds spent in fill(k) for k >= 1.
double single_buffered(std::int64_t count, const std::function<void(std::int64_t)>& fill,
                       const std::function<void(std::int64_t)>& use);

}  // namespace slab
