// Bulk arrays shared between simulated ranks, so that thousands of ranks fit in one machine's memory.
//
// Under SMPI every rank is a context of one process. slab's kernels allocate their bulk arrays (the
// row blocks of X and y, the grid, the solver's blocks) through std::vector, whose allocations
// SMPI_SHARED_MALLOC cannot reach, so this file replaces operator new for this binary: an
// allocation of at least `shared_threshold` bytes made after MPI_Init is the same memory for the
// k-th live array of that size on every rank (SMPI_SHARED_MALLOC's idea with the call site replaced
// by (size, k)). Distinct arrays of one rank never alias. Ranks overwrite one another's values, so
// the numbers the kernels compute are meaningless, but every rank runs the same instructions on
// arrays of the true size with the true memory traffic, and every message has its true size: the
// times are those of the real kernels. Smaller allocations (messages, tree nodes, factors) stay
// private to their rank.
#include <mpi.h>

#include <cstdlib>
#include <map>
#include <new>
#include <set>
#include <utility>

namespace {

constexpr std::size_t shared_threshold = std::size_t{1} << 20;

struct Block {
  void* memory = nullptr;
  int users = 0;
};

// Function-local statics: constructed on first use, never destroyed (a late delete finds them).
std::map<std::pair<std::size_t, int>, Block>& blocks() {
  static auto* table = new (std::malloc(sizeof(std::map<std::pair<std::size_t, int>, Block>)))
      std::map<std::pair<std::size_t, int>, Block>();
  return *table;
}
std::map<void*, std::pair<std::size_t, int>>& addresses() {
  static auto* table = new (std::malloc(sizeof(std::map<void*, std::pair<std::size_t, int>>)))
      std::map<void*, std::pair<std::size_t, int>>();
  return *table;
}
// The slots (k) of each size that a rank holds.
std::map<std::pair<int, std::size_t>, std::set<int>>& held() {
  static auto* table = new (std::malloc(sizeof(std::map<std::pair<int, std::size_t>, std::set<int>>)))
      std::map<std::pair<int, std::size_t>, std::set<int>>();
  return *table;
}

int current_rank() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  if (initialized == 0) return -1;
  MPI_Finalized(&finalized);
  if (finalized != 0) return -1;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

void* allocate(std::size_t size) {
  if (size >= shared_threshold) {
    if (const int rank = current_rank(); rank >= 0) {
      std::set<int>& slots = held()[{rank, size}];
      int slot = 0;
      while (slots.count(slot) != 0) ++slot;
      slots.insert(slot);
      Block& block = blocks()[{size, slot}];
      if (block.memory == nullptr) {
        block.memory = std::aligned_alloc(64, (size + 63) / 64 * 64);
        if (block.memory == nullptr) throw std::bad_alloc();
        addresses()[block.memory] = {size, slot};
      }
      ++block.users;
      return block.memory;
    }
  }
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}

void release(void* memory) noexcept {
  if (memory == nullptr) return;
  const auto found = addresses().find(memory);
  if (found == addresses().end()) {
    std::free(memory);
    return;
  }
  const auto [size, slot] = found->second;
  if (const int rank = current_rank(); rank >= 0) held()[{rank, size}].erase(slot);
  // The block is kept when its last user lets it go: the next array of that size reuses it without
  // page faults, at any number of ranks (glibc's malloc keeps freed large blocks mapped likewise
  // once its mmap threshold has grown; otherwise one rank would pay page faults that 4,096 do not).
  --blocks()[{size, slot}].users;
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* memory) noexcept { release(memory); }
void operator delete[](void* memory) noexcept { release(memory); }
void operator delete(void* memory, std::size_t) noexcept { release(memory); }
void operator delete[](void* memory, std::size_t) noexcept { release(memory); }
