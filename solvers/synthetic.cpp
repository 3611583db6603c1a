#include "solvers/synthetic.hpp"

#include <cmath>
#include <numbers>

namespace slab::regression {

std::uint64_t mix(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + (stream + 1) * 0xD1B54A32D192ED03ULL + index * 0x9E3779B97F4A7C15ULL;
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace {
// A uniform deviate in (0, 1]: 53 random bits.
double uniform(std::uint64_t bits) { return (static_cast<double>(bits >> 11) + 1.0) * 0x1.0p-53; }
}  // namespace

double normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const double u1 = uniform(mix(seed, 2 * stream, index));
  const double u2 = uniform(mix(seed, 2 * stream + 1, index));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

namespace stream {
constexpr std::uint64_t features = 0;
constexpr std::uint64_t model = 1;
constexpr std::uint64_t noise = 2;
}  // namespace stream

Truth true_model(std::uint64_t seed, std::size_t cols) {
  Truth t;
  t.w.resize(cols);
  for (std::size_t j = 0; j < cols; ++j) t.w[j] = normal(seed, stream::model, j);
  t.b = normal(seed, stream::model, cols);
  return t;
}

void generate(std::uint64_t seed, double noise, const Truth& truth, DistTensor& X, DistTensor& y) {
  const std::size_t cols = X.row_length();
  const auto first = static_cast<std::uint64_t>(X.partition().first());
  const auto rows = static_cast<std::size_t>(X.partition().count());
  double* x = X.local().data().data();
  double* out = y.local().data().data();
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint64_t row = first + i;
    double value = truth.b;
    for (std::size_t j = 0; j < cols; ++j) {
      const double xij = normal(seed, stream::features, row * cols + j);
      x[i * cols + j] = xij;
      value += truth.w[j] * xij;
    }
    out[i] = value + noise * normal(seed, stream::noise, row);
  }
}

}  // namespace slab::regression
