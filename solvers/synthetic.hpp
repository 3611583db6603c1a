// Synthetic regression data from a counter-based generator: every value depends only on (seed,
// stream, index), never on which rank computes it or in what order, so the data set is the same
// for any rank count and each rank generates only its own rows.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dist_tensor.hpp"

namespace slab::regression {

// SplitMix64's finaliser applied to a combined counter: a well-mixed 64-bit value.
[[nodiscard]] std::uint64_t mix(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);
// A standard normal deviate (Box-Muller on two independent counters).
[[nodiscard]] double normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

struct Truth {
  std::vector<double> w;  // (D,)
  double b = 0;
};

// w_true and b_true drawn from the seed.
[[nodiscard]] Truth true_model(std::uint64_t seed, std::size_t cols);

// X (N, D) with standard normal entries; y = X w_true + b_true + noise * N(0, 1). Collective only
// in that X and y are DistTensors over comm; no communication happens.
void generate(std::uint64_t seed, double noise, const Truth& truth, DistTensor& X, DistTensor& y);

}  // namespace slab::regression
