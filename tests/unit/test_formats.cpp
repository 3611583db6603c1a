#include <gtest/gtest.h>

#include <cstdio>

#include <cmath>
#include <cstring>
#include <limits>

#include "error.hpp"
#include "numpy_format.hpp"
#include "text_format.hpp"

using namespace slab;

TEST(Npy, HeaderIsVersion1AlignedTo64BytesWithTheShape) {
  const std::string h = io::npy_header({3, 4});
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(h[6], 1);
  EXPECT_NE(h.find("'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"), std::string::npos) << h;
  EXPECT_EQ(h.back(), '\n');
  EXPECT_NE(io::npy_header({5}).find("(5,)"), std::string::npos);
  EXPECT_NE(io::npy_header({}).find("()"), std::string::npos);
}

TEST(Npy, RoundTripsEveryBit) {
  const Tensor t({2, 3}, {0.1, -0.0, std::numeric_limits<double>::denorm_min(), 1e308, -2.5,
                          std::numeric_limits<double>::infinity()});
  const Tensor back = io::parse_npy(io::npy_bytes(t), "test");
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(std::memcmp(back.data().data(), t.data().data(), t.size() * sizeof(double)), 0);
}

TEST(Npy, FortranOrderIsConvertedToCOrder) {
  // np.asfortranarray(np.arange(6.).reshape(2, 3)) stores 0 3 1 4 2 5.
  std::string bytes = io::npy_header({2, 3});
  const auto at = bytes.find("False");
  bytes.replace(at, 5, "True ");
  const double stored[] = {0, 3, 1, 4, 2, 5};
  bytes.append(reinterpret_cast<const char*>(stored), sizeof stored);
  EXPECT_EQ(io::parse_npy(bytes, "test"), Tensor({2, 3}, {0, 1, 2, 3, 4, 5}));
}

TEST(Npy, RejectsWhatItCannotRead) {
  std::string good = io::npy_bytes(Tensor({2}, {1, 2}));
  EXPECT_THROW((void)io::parse_npy("hello", "test"), InputError);
  EXPECT_THROW((void)io::parse_npy(good.substr(0, good.size() - 3), "test"), InputError);  // truncated data
  EXPECT_THROW((void)io::parse_npy(good.substr(0, 20), "test"), InputError);               // truncated header
  std::string ints = good;
  ints.replace(ints.find("<f8"), 3, "<i8");
  EXPECT_THROW((void)io::parse_npy(ints, "test"), InputError);
}

TEST(Npz, RoundTripsNamedMembers) {
  const Tensor u({2, 2}, {1, 2, 3, 4});
  const Tensor x({3}, {0.5, 1.5, 2.5});
  const std::string path = ::testing::TempDir() + "slab-test.npz";
  std::remove(path.c_str());  // writers create their file exclusively: never over an old one
  io::write_npz(path, {{"heat/u", &u}, {"heat/x", &x}});
  EXPECT_THROW(io::write_npz(path, {{"heat/u", &u}}), RuntimeFailure);
  const auto back = io::read_npz(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back.at("heat/u"), u);
  EXPECT_EQ(back.at("heat/x"), x);
  std::string bytes = io::read_file(path);
  bytes[bytes.find("\x93NUMPY") + 64 + 8] ^= 1;  // flip a bit of heat/u's data: the CRC must catch it
  EXPECT_THROW((void)io::parse_npz(bytes, "test"), InputError);
  EXPECT_THROW((void)io::parse_npz("PK not really", "test"), InputError);
}

TEST(Text, SeventeenDigitsRoundTripEveryDouble) {
  for (const double v : {0.1, 1.0 / 3.0, 1e-300, 123456789.123456789, -2.0e-17, 5e-324}) {
    const std::string s = io::format_double(v);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
}

TEST(Csv, ParsesHeadersCommentsAndRejectsRaggedRows) {
  const Tensor t = io::parse_csv("# a comment\nx1,x2,y\n1,2,3\n\n4, 5 ,6\r\n", "test");
  EXPECT_EQ(t, Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_THROW((void)io::parse_csv("1,2\n3\n", "test"), InputError);
  EXPECT_THROW((void)io::parse_csv("1,2\n3,abc\n", "test"), InputError);
}
