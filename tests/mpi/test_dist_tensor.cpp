#include <gtest/gtest.h>

#include "comms.hpp"
#include "core/dist_tensor.hpp"

using slab::DistTensor;
using slab::Shape;
using slab::Tensor;
using slab::test::world;

namespace {

// A tensor whose every element encodes its own flat index.
Tensor iota(const Shape& shape) {
  Tensor t(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<double>(i) + 0.25;
  return t;
}

}  // namespace

// Includes row counts below the rank count, so some ranks own zero rows.
TEST(DistTensor, ScatterThenGatherRoundTripsAnyShape) {
  for (const Shape& shape : {Shape{0}, Shape{1}, Shape{2, 3}, Shape{3, 1}, Shape{7}, Shape{10, 4}, Shape{5, 2, 3}}) {
    SCOPED_TRACE(slab::to_string(shape));
    const Tensor full = iota(shape);
    const DistTensor d = DistTensor::scatter_from_root(world(), world().is_root() ? full : Tensor());
    EXPECT_EQ(d.global_shape(), shape);
    EXPECT_EQ(d.local().shape()[0], static_cast<std::size_t>(d.partition().count()));
    // Each rank holds exactly its rows.
    for (std::size_t i = 0; i < d.local().size(); ++i)
      EXPECT_EQ(d.local().data()[i], full.data()[static_cast<std::size_t>(d.partition().first()) * d.row_length() + i]);
    const Tensor back = d.gather_to_root();
    if (world().is_root()) {
      EXPECT_EQ(back, full);
    } else {
      EXPECT_EQ(back.size(), 0u);
    }
  }
}

TEST(DistTensor, GatherToAnotherRoot) {
  const int root = world().size() - 1;
  const Tensor full = iota({9, 2});
  const DistTensor d = DistTensor::scatter_from_root(world(), full, root);
  const Tensor back = d.gather_to_root(root);
  if (world().rank() == root) {
    EXPECT_EQ(back, full);
  }
}

// The path for blocks past 2^31 elements, exercised with a tiny message limit.
TEST(DistTensor, ChunkedPathMatchesTheCollectivePath) {
  const Tensor full = iota({11, 3});
  const slab::RowPartition p(11, world().size(), world().rank());
  std::vector<double> local(static_cast<std::size_t>(p.count()) * 3);
  slab::scatter_rows(world(), p, 3, full.data().data(), local.data(), 0, /*max_message=*/2);
  for (std::size_t i = 0; i < local.size(); ++i)
    EXPECT_EQ(local[i], full.data()[static_cast<std::size_t>(p.first()) * 3 + i]);
  std::vector<double> gathered(world().is_root() ? full.size() : 0);
  slab::gather_rows(world(), p, 3, local.data(), gathered.data(), 0, /*max_message=*/2);
  if (world().is_root()) {
    EXPECT_EQ(gathered, full.to_vec());
  }
}
