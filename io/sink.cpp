#include "io/sink.hpp"

namespace slab::io {

std::uint64_t Block::size() const {
  if (data == nullptr) return 0;
  std::uint64_t n = 1;
  for (const auto c : count) n *= c;
  return n;
}

Block Block::none(std::size_t ndim) {
  return Block{std::vector<std::uint64_t>(ndim, 0), std::vector<std::uint64_t>(ndim, 0), nullptr};
}

}  // namespace slab::io
