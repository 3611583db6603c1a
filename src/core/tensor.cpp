#include "core/tensor.hpp"

#include <cstring>
#include <functional>
#include <numeric>

#include "core/error.hpp"

namespace slab {

std::size_t element_count(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

std::string to_string(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// x * 0 is 0 for every finite x and NaN otherwise, and a NaN stays in the sum. Four independent sums
// of two lanes (SSE2 registers) and no early exit, so that the check costs little next to reading the
// values (std::isfinite value by value cost as much as a read from the page cache).
bool all_finite(std::span<const double> values) noexcept {
  using v2d = double __attribute__((vector_size(16)));
  const double* p = values.data();
  const std::size_t n = values.size();
  v2d lanes[4] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t c = 0; c < 4; ++c) {
      v2d x;
      std::memcpy(&x, p + i + 2 * c, sizeof x);
      lanes[c] += x * 0.0;
    }
  const v2d all = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  double sum = all[0] + all[1];
  for (; i < n; ++i) sum += p[i] * 0.0;
  return sum == 0.0;
}

Tensor::Tensor(Shape shape, double fill) : shape_(std::move(shape)), data_(element_count(shape_), fill) {}

Tensor::Tensor(Shape shape, std::vector<double> data) : shape_(std::move(shape)), data_(std::move(data)) {
  if (data_.size() != element_count(shape_))
    throw InputError("tensor of shape " + to_string(shape_) + " needs " + std::to_string(element_count(shape_)) +
                     " values, got " + std::to_string(data_.size()));
}

std::size_t Tensor::dim(std::size_t axis) const {
  if (axis >= shape_.size())
    throw InputError("axis " + std::to_string(axis) + " is out of range for shape " + to_string(shape_));
  return shape_[axis];
}

std::size_t Tensor::offset(std::initializer_list<std::size_t> index) const {
  if (index.size() != shape_.size())
    throw InputError("index of " + std::to_string(index.size()) + " dimensions for tensor of shape " +
                     to_string(shape_));
  std::size_t flat = 0;
  std::size_t axis = 0;
  for (const std::size_t i : index) {
    if (i >= shape_[axis])
      throw InputError("index " + std::to_string(i) + " out of range on axis " + std::to_string(axis) + " of shape " +
                       to_string(shape_));
    flat = flat * shape_[axis] + i;
    ++axis;
  }
  return flat;
}

double& Tensor::at(std::initializer_list<std::size_t> index) { return data_[offset(index)]; }
double Tensor::at(std::initializer_list<std::size_t> index) const { return data_[offset(index)]; }

}  // namespace slab
