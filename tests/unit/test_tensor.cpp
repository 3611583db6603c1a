#include <gtest/gtest.h>

#include "error.hpp"
#include "tensor.hpp"

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

TEST(Tensor, ReshapeKeepsTheFlatOrder) {
  const Tensor t({2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor r = t.reshape({3, 2});
  EXPECT_EQ(r.at({2, 1}), 5.0);
  EXPECT_EQ(r.at({1, 0}), 2.0);
  EXPECT_THROW((void)t.reshape({4, 2}), slab::InputError);
}

TEST(Tensor, MatmulMatchesHandComputedProducts) {
  const Tensor a({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b({3, 2}, {7, 8, 9, 10, 11, 12});
  // [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]]
  EXPECT_EQ(a.matmul(b), Tensor({2, 2}, {58, 64, 139, 154}));
  const Tensor v({3}, {1, 0, -1});
  EXPECT_EQ(a.matmul(v), Tensor({2}, {-2, -2}));
  EXPECT_THROW((void)a.matmul(a), slab::InputError);
  EXPECT_EQ(a.transpose(), Tensor({3, 2}, {1, 4, 2, 5, 3, 6}));
}

TEST(Tensor, AxisReductionsDropTheAxis) {
  const Tensor t({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(t.sum(0), Tensor({3}, {5, 7, 9}));
  EXPECT_EQ(t.sum(1), Tensor({2}, {6, 15}));
  EXPECT_EQ(t.mean(0), Tensor({3}, {2.5, 3.5, 4.5}));
  EXPECT_EQ(t.mean(1), Tensor({2}, {2, 5}));
  const Tensor cube({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(cube.sum(1), Tensor({2, 2}, {4, 6, 12, 14}));
  EXPECT_THROW((void)t.sum(2), slab::InputError);
}
