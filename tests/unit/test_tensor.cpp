#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"

using slab::Shape;
using slab::Tensor;

TEST(Tensor, IsRowMajorLikeNumPy) {
  // np.arange(6.).reshape(2, 3)
  const Tensor t({2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.at({0, 2}), 2.0);
  EXPECT_EQ(t.at({1, 0}), 3.0);
  EXPECT_EQ(t.offset({1, 2}), 5u);
  EXPECT_EQ(t.to_vec(), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_THROW((void)t.at({2, 0}), slab::InputError);
  EXPECT_THROW((void)t.at({0}), slab::InputError);
}

TEST(Tensor, ShapeAndDataMustAgree) {
  EXPECT_THROW(Tensor({2, 2}, {1, 2, 3}), slab::InputError);
  EXPECT_EQ(slab::element_count({}), 1u);
  EXPECT_EQ(slab::to_string({4}), "(4,)");
  EXPECT_EQ(slab::to_string({2, 3}), "(2, 3)");
}

// Every position (the eight-value blocks and the tail), every kind of value that is not finite.
TEST(Tensor, AllFiniteFindsANaNOrInfinityAnywhere) {
  EXPECT_TRUE(slab::all_finite({}));
  for (const std::size_t n : {1u, 7u, 8u, 9u, 17u, 64u}) {
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i)
      values[i] = i % 3 == 0 ? -1.7e308 : i % 3 == 1 ? 1e-320 : static_cast<double>(i);  // huge, subnormal, plain
    ASSERT_TRUE(slab::all_finite(values)) << n;
    for (std::size_t at = 0; at < n; ++at)
      for (const double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
        std::vector<double> damaged = values;
        damaged[at] = bad;
        EXPECT_FALSE(slab::all_finite(damaged)) << "n " << n << " at " << at << " value " << bad;
      }
  }
}
