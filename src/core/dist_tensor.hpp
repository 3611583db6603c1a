// DistTensor: a row-major tensor whose rows (first axis) are split over a communicator by a
// RowPartition. Each rank holds its row block as a local Tensor of shape (count, rest...).
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "core/mpi.hpp"
#include "core/partition.hpp"
#include "core/tensor.hpp"

namespace slab {

class DistTensor {
 public:
  // A zero-filled tensor of the given global shape (at least one dimension), split by rows over comm.
  DistTensor(const mpi::Comm& comm, Shape global_shape);

  [[nodiscard]] const mpi::Comm& comm() const noexcept { return *comm_; }
  [[nodiscard]] const Shape& global_shape() const noexcept { return global_shape_; }
  [[nodiscard]] const RowPartition& partition() const noexcept { return partition_; }
  // Elements per row: the product of all dimensions after the first.
  [[nodiscard]] std::size_t row_length() const noexcept { return row_length_; }
  [[nodiscard]] Tensor& local() noexcept { return local_; }
  [[nodiscard]] const Tensor& local() const noexcept { return local_; }

  // Collective. The root receives the whole tensor; other ranks receive an empty Tensor.
  [[nodiscard]] Tensor gather_to_root(int root = 0) const;
  // Collective. `full` is read on the root only; the shape travels from there.
  [[nodiscard]] static DistTensor scatter_from_root(const mpi::Comm& comm, const Tensor& full, int root = 0);

 private:
  const mpi::Comm* comm_;
  Shape global_shape_;
  RowPartition partition_;
  std::size_t row_length_;
  Tensor local_;
};

// Row-block gather and scatter of flat buffers, in rows of `row_length` doubles. They use one
// MPI_Gatherv/MPI_Scatterv with a row datatype while the row counts and offsets fit an int and
// the per-rank element counts fit `max_message`; past that they move each block in messages of at
// most `max_message` doubles, so arrays beyond 2^31 elements work. Exposed for tests.
// The general form: rank r contributes counts[r] units of `unit` doubles, concatenated in rank
// order on the root.
void gather_units(const mpi::Comm& comm, std::span<const std::int64_t> counts, std::size_t unit, const double* local,
                  double* root_out, int root, std::int64_t max_message = std::numeric_limits<int>::max());
void scatter_units(const mpi::Comm& comm, std::span<const std::int64_t> counts, std::size_t unit, const double* root_in,
                   double* local, int root, std::int64_t max_message = std::numeric_limits<int>::max());
void gather_rows(const mpi::Comm& comm, const RowPartition& partition, std::size_t row_length, const double* local,
                 double* root_out, int root, std::int64_t max_message = std::numeric_limits<int>::max());
void scatter_rows(const mpi::Comm& comm, const RowPartition& partition, std::size_t row_length, const double* root_in,
                  double* local, int root, std::int64_t max_message = std::numeric_limits<int>::max());

}  // namespace slab
