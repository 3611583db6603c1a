#include "tensor.hpp"

#include <functional>
#include <numeric>

#include "error.hpp"

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
    throw InputError("index of rank " + std::to_string(index.size()) + " for tensor of shape " + to_string(shape_));
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

Tensor Tensor::reshape(Shape shape) const {
  if (element_count(shape) != data_.size())
    throw InputError("cannot reshape " + to_string(shape_) + " into " + to_string(shape));
  return Tensor(std::move(shape), data_);
}

Tensor Tensor::matmul(const Tensor& other) const {
  if (rank() != 2 || (other.rank() != 1 && other.rank() != 2) || other.shape_[0] != shape_[1])
    throw InputError("matmul of shapes " + to_string(shape_) + " and " + to_string(other.shape_));
  const std::size_t m = shape_[0], k = shape_[1];
  const std::size_t n = other.rank() == 2 ? other.shape_[1] : 1;
  Tensor out(other.rank() == 2 ? Shape{m, n} : Shape{m});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      const double a = data_[i * k + p];
      for (std::size_t j = 0; j < n; ++j) out.data_[i * n + j] += a * other.data_[p * n + j];
    }
  return out;
}

Tensor Tensor::transpose() const {
  if (rank() != 2) throw InputError("transpose needs a rank-2 tensor, got shape " + to_string(shape_));
  const std::size_t m = shape_[0], n = shape_[1];
  Tensor out(Shape{n, m});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out.data_[j * m + i] = data_[i * n + j];
  return out;
}

Tensor Tensor::sum(std::size_t axis) const {
  (void)dim(axis);  // validates the axis
  // View the tensor as (outer, extent, inner) around the reduced axis.
  std::size_t outer = 1, inner = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= shape_[a];
  for (std::size_t a = axis + 1; a < shape_.size(); ++a) inner *= shape_[a];
  const std::size_t extent = shape_[axis];
  Shape reduced = shape_;
  reduced.erase(reduced.begin() + static_cast<std::ptrdiff_t>(axis));
  Tensor out(reduced);
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t e = 0; e < extent; ++e)
      for (std::size_t i = 0; i < inner; ++i) out.data_[o * inner + i] += data_[(o * extent + e) * inner + i];
  return out;
}

Tensor Tensor::mean(std::size_t axis) const {
  Tensor out = sum(axis);
  const auto extent = static_cast<double>(shape_[axis]);
  for (double& v : out.data_) v /= extent;
  return out;
}

}  // namespace slab
