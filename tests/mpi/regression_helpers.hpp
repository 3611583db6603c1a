// Helpers for the regression tests: synthetic data split over a communicator, and a distributed
// tensor gathered onto every rank.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "comms.hpp"
#include "core/dist_tensor.hpp"
#include "solvers/synthetic.hpp"

namespace slab::test {

struct Data {
  DistTensor X, y;
};

// X (rows, cols) and y from the counter-based generator: the same values on any rank count.
inline Data synthetic(const mpi::Comm& comm, std::size_t rows, std::size_t cols, std::uint64_t seed, double noise) {
  Data d{DistTensor(comm, {rows, cols}), DistTensor(comm, {rows})};
  regression::generate(seed, noise, regression::true_model(seed, cols), d.X, d.y);
  return d;
}

// The whole tensor on every rank of its communicator.
inline Tensor gathered(const DistTensor& t) {
  Tensor full = t.gather_to_root();
  std::vector<double> data = full.to_vec();
  t.comm().broadcast(data);
  return Tensor(t.global_shape(), data);
}

// Bitwise equality, which == is not (0.0 == -0.0, NaN != NaN).
inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  // memcmp may not be given the null data of an empty vector, even for zero bytes.
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}
inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace slab::test
