// Tensor: a dense, row-major (C order) array of doubles with any number of dimensions — exactly the
// layout NumPy uses by default, so the flat buffer and the shape are all that crosses to Python.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace slab {

using Shape = std::vector<std::size_t>;

// Number of elements of a shape (1 for a scalar, the empty shape).
[[nodiscard]] std::size_t element_count(const Shape& shape);
[[nodiscard]] std::string to_string(const Shape& shape);
// No NaN and no infinity among the values; costs little next to reading them from memory.
[[nodiscard]] bool all_finite(std::span<const double> values) noexcept;

class Tensor {
 public:
  Tensor() = default;  // a scalar 0.0 with the empty shape would be surprising: this is shape {0}
  explicit Tensor(Shape shape, double fill = 0.0);
  Tensor(Shape shape, std::vector<double> data);

  [[nodiscard]] const Shape& shape() const noexcept { return shape_; }
  // The number of dimensions (NumPy's ndim); "rank" in slab always means an MPI rank.
  [[nodiscard]] std::size_t ndim() const noexcept { return shape_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
  [[nodiscard]] std::size_t dim(std::size_t axis) const;

  [[nodiscard]] std::span<double> data() noexcept { return data_; }
  [[nodiscard]] std::span<const double> data() const noexcept { return data_; }
  [[nodiscard]] std::vector<double> to_vec() const { return data_; }

  // Element access by multi-index; the index count must equal ndim().
  [[nodiscard]] double& at(std::initializer_list<std::size_t> index);
  [[nodiscard]] double at(std::initializer_list<std::size_t> index) const;
  // Flat row-major offset of a multi-index, with bounds checks.
  [[nodiscard]] std::size_t offset(std::initializer_list<std::size_t> index) const;

  friend bool operator==(const Tensor&, const Tensor&) = default;

 private:
  Shape shape_{0};
  std::vector<double> data_;
};

}  // namespace slab
