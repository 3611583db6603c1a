#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include <cstdio>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/text.hpp"
#include "io/data_input.hpp"
#include "io/numpy_format.hpp"
#include "io/text_format.hpp"

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

TEST(Npy, TextIsAZeroDimensionalUnicodeArrayOfCodePoints) {
  // "aé€": three code points, stored as UTF-32LE after a '<U3' header padded to 64 bytes.
  const std::string bytes = io::npy_text_bytes("a\xc3\xa9\xe2\x82\xac");
  const std::size_t header = bytes.find('\n') + 1;
  EXPECT_EQ(header % 64, 0u);
  EXPECT_EQ(static_cast<std::size_t>(static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8),
            header - 10);
  EXPECT_NE(bytes.find("'descr': '<U3', 'fortran_order': False, 'shape': (), }"), std::string::npos) << bytes;
  ASSERT_EQ(bytes.size(), header + 12);
  const std::uint32_t expected[] = {0x61, 0xe9, 0x20ac};
  EXPECT_EQ(std::memcmp(bytes.data() + header, expected, sizeof expected), 0);
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
    const std::string s = format_number(v, round_trip_digits);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
  EXPECT_EQ(format_number(1.0 / 3.0), "0.333333");  // messages: six digits
}

TEST(Text, WellFormedUtf8IsKeptAndEveryOtherByteBecomesTheReplacementCharacter) {
  for (const std::string good : {"", "K", "degC", "m^2/s",
                                 "\xC2\xB0"
                                 "C",
                                 "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    EXPECT_TRUE(is_utf8(good)) << good;
    EXPECT_EQ(as_utf8(good), good);
  }
  const std::string fffd = "\xEF\xBF\xBD";
  // Latin-1 bytes, a lone continuation byte, a cut sequence, an overlong '/', a surrogate, past U+10FFFF.
  EXPECT_EQ(as_utf8("\xe9t\xe9"), fffd + "t" + fffd);
  EXPECT_EQ(as_utf8("\xff\xfe"), fffd + fffd);
  EXPECT_EQ(as_utf8("a\x80"), "a" + fffd);
  EXPECT_EQ(as_utf8("\xE2\x82"), fffd + fffd);
  EXPECT_EQ(as_utf8("\xC0\xAF"), fffd + fffd);
  EXPECT_EQ(as_utf8("\xED\xA0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(as_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  for (const std::string bad : {"\xe9", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
    EXPECT_FALSE(is_utf8(bad)) << io::printable(bad);
    EXPECT_TRUE(is_utf8(as_utf8(bad)));
  }
}

TEST(Text, JsonIsWellFormedUtf8WhateverTheStringsHold) {
  const Tensor x({1}, {1.0});
  const std::string json = io::json_metadata(
      {{"x", &x}}, {{"provenance", {{"command_line", std::string("slab --out \xe9t\xe9.json \x01")}}}}, {});
  EXPECT_TRUE(is_utf8(json));
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_NE(json.find("--out " + fffd + "t" + fffd + ".json \\u0001"), std::string::npos) << json;
}

namespace {
// The message parse_csv throws for `text` read as 'f', or "no error".
std::string csv_error(const std::string& text) {
  try {
    (void)io::parse_csv(text, "'f'");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Csv, ParsesHeadersCommentsAndRejectsRaggedRows) {
  const Tensor t = io::parse_csv("# a comment\nx1,x2,y\n1,2,3\n\n4, 5 ,6\r\n", "test");
  EXPECT_EQ(t, Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_THROW((void)io::parse_csv("1,2\n3\n", "test"), InputError);
  EXPECT_THROW((void)io::parse_csv("1,2\n3,abc\n", "test"), InputError);
}

TEST(Csv, ByteOrderMarkPlusSignsQuotesAndAnyLineEnding) {
  const Tensor want({2, 3}, {1, 2, 3, 4, 5, 9});
  EXPECT_EQ(io::parse_csv("\xEF\xBB\xBF"
                          "1,2,3\n4,5,9\n",
                          "t"),
            want);
  EXPECT_EQ(io::parse_csv("+1,2,+3\r\n4,+5,9\r\n", "t"), want);
  EXPECT_EQ(io::parse_csv("\"1\", 2 ,3\r4,5,\"9\"", "t"), want);
  EXPECT_EQ(io::parse_csv("\xEF\xBB\xBF# c\nx,\"y, z\",w\n\n1,2,3\n4,5,9\n", "t"), want);  // header after BOM
  EXPECT_EQ(io::parse_csv("1,2\n1e-400,3\n", "t"), Tensor({2, 2}, {1, 2, 0, 3}));          // underflow is 0
  EXPECT_EQ(io::parse_csv("x,y\n", "t").shape(), (Shape{0, 0}));
}

TEST(Csv, ErrorsNameTheLineAndColumn) {
  // A first line with a number is data, not a header: it fails where it is not a number.
  EXPECT_EQ(csv_error("1,a,3\n4,5,6\n").substr(0, 34), "'f' line 1, column 3: 'a' is not a");
  EXPECT_EQ(csv_error("# c\n1,2\n3, x\n"), "'f' line 3, column 3: 'x' is not a number");
  EXPECT_EQ(csv_error("1,2\n\n3,,4\n").substr(0, 32), "'f' line 3, column 3: empty fiel");
  EXPECT_EQ(csv_error("1,2\r\n3,4,5\r\n"), "'f' line 2: 3 fields, expected 2 as on line 1");
  EXPECT_EQ(csv_error("1,2\n1e400,3\n"), "'f' line 2, column 1: '1e400' is beyond the range of double");
  EXPECT_EQ(csv_error("++1,2\n"),
            "'f' line 1, column 1: '++1' is not a number (a header line holds no numbers at all)");
}

TEST(Csv, MalformedQuotesAreRefusedWhereTheyAre) {
  // A quote never closed: "" inside quotes is a quote, so "1"",2 runs to the end of its line.
  EXPECT_EQ(csv_error("\"1\"\",2\n3,4\n"),
            "'f' line 1, column 1: the quoted field '\"1\"\",2' has no closing quote on its line (a quoted field "
            "cannot hold a line break)");
  EXPECT_EQ(csv_error("1,2\n3,\"4\n"),
            "'f' line 2, column 3: the quoted field '\"4' has no closing quote on its line (a quoted field cannot "
            "hold a line break)");
  EXPECT_EQ(csv_error("\"a,y\n1,2\n"),  // a header is split like any line
            "'f' line 1, column 1: the quoted field '\"a,y' has no closing quote on its line (a quoted field "
            "cannot hold a line break)");
  // No line breaks inside quotes: the second half is a line of its own, with a stray quote.
  EXPECT_EQ(csv_error("1,\"2\n3\",4\n").substr(0, 34), "'f' line 1, column 3: the quoted f");
  EXPECT_EQ(csv_error("1,2\"\n"),
            "'f' line 1, column 4: a quote inside the unquoted field '2\"' (quote the whole field and double the "
            "quotes in it)");
  EXPECT_EQ(csv_error("x,y\n1, 2\"3 ,4\n"),
            "'f' line 2, column 5: a quote inside the unquoted field '2\"3 ' (quote the whole field and double the "
            "quotes in it)");
  EXPECT_EQ(csv_error("\"1\"x,2\n"),
            "'f' line 1, column 4: text after the closing quote in the field '\"1\"x' (a quote inside a quoted field "
            "is written \"\")");
  EXPECT_EQ(csv_error("1,2\n\"3, 4\" \"5\",6\n"),
            "'f' line 2, column 8: text after the closing quote in the field '\"3, 4\" \"5\"' (a quote inside a "
            "quoted field is written \"\")");
}

TEST(Csv, WellFormedQuotesAreRead) {
  EXPECT_EQ(io::parse_csv(" \"1\" ,\t\"2\"\t\n\"3\",\"+4\"\n", "t"), Tensor({2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(io::parse_csv("\"x \"\"a\"\", b\",\"\"\"y\"\"\"\n1,2\n", "t"),
            Tensor({1, 2}, {1, 2}));  // quotes in a header
  EXPECT_EQ(io::parse_csv("\"1\"\n\"-2.5\"\r\n", "t"), Tensor({2, 1}, {1, -2.5}));
}

TEST(Csv, FieldTextInErrorsIsPrintable) {
  EXPECT_EQ(csv_error(std::string("1,2\n3,\0\x01\n", 9)), "'f' line 2, column 3: '\\x00\\x01' is not a number");
  EXPECT_EQ(csv_error("1,2\n3,\xff\x1b[31m\n"), "'f' line 2, column 3: '\\xff\\x1b[31m' is not a number");
  EXPECT_EQ(csv_error("1,2\n3,a\\b\n"), "'f' line 2, column 3: 'a\\\\b' is not a number");
  EXPECT_EQ(csv_error("1,2\x7f\"\n"),
            "'f' line 1, column 5: a quote inside the unquoted field '2\\x7f\"' (quote the whole field and double "
            "the quotes in it)");
  EXPECT_EQ(io::printable("caf\xc3\xa9\t1"), "caf\\xc3\\xa9\\x091");
}

TEST(Npz, OnlyWantedMembersAreParsed) {
  const Tensor x({2}, {1, 2});
  std::string bytes;
  const std::string path = ::testing::TempDir() + "slab-test-extra.npz";
  std::filesystem::remove(path);  // write_npz creates its file exclusively
  io::write_npz(path, {{"X", &x}, {"junk", &x}});
  bytes = io::read_file(path);
  std::filesystem::remove(path);
  // Make "junk" unreadable (an int64 dtype): a filter that skips it still reads X.
  const auto junk = bytes.find("<f8", bytes.find("junk.npy"));
  bytes.replace(junk, 3, "<i8");
  EXPECT_THROW((void)io::parse_npz(bytes, "t"), InputError);
  const auto only = io::parse_npz(bytes, "t", [](const std::string& name) { return name == "X"; });
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only.at("X"), x);
}

namespace {
// The message `read` throws, or "no error".
std::string npz_error(const std::function<void()>& read) {
  try {
    read();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// The bytes write_npz gives for `members`.
std::string npz_bytes(const std::vector<std::pair<std::string, const Tensor*>>& members) {
  const std::string path = ::testing::TempDir() + "slab-test-bytes.npz";
  std::filesystem::remove(path);  // write_npz creates its file exclusively
  io::write_npz(path, members);
  std::string bytes = io::read_file(path);
  std::filesystem::remove(path);
  return bytes;
}
}  // namespace

TEST(Npz, TwoMembersOfOneNameAreRefused) {
  // zip allows it; numpy.load reads the last "X.npy", slab would read the first.
  const Tensor first({2}, {1, 2}), second({2}, {3, 4});
  const std::string bytes = npz_bytes({{"X", &first}, {"y", &first}, {"X", &second}});
  const std::string want = "'t': the archive holds two members named 'X.npy'; keep one of them";
  EXPECT_EQ(npz_error([&] { (void)io::parse_npz(bytes, "'t'"); }), want);
  // Even when the filter does not want it: the names are checked before any member is read.
  EXPECT_EQ(npz_error([&] { (void)io::parse_npz(bytes, "'t'", [](const std::string& n) { return n == "y"; }); }), want);
  // A member name from the archive is printable in the message.
  std::string odd = npz_bytes({{"a\x01", &first}, {"a\x01", &second}});
  EXPECT_EQ(npz_error([&] { (void)io::parse_npz(odd, "'t'"); }),
            "'t': the archive holds two members named 'a\\x01.npy'; keep one of them");
}

TEST(Npz, BothXAndRegressionXAreRefusedAsData) {
  const Tensor X({2, 1}, {1, 2}), y({2}, {3, 4});
  const std::string path = ::testing::TempDir() + "slab-test-both.npz";
  std::filesystem::remove(path);
  io::write_npz(path, {{"X", &X}, {"y", &y}, {"regression/X", &X}, {"regression/y", &y}});
  EXPECT_EQ(npz_error([&] { (void)io::read_xy(path, "'b.npz'"); }),
            "'b.npz' holds both 'X' and 'regression/X': slab will not guess which to read; keep one of them");
  std::filesystem::remove(path);
  io::write_npz(path, {{"X", &X}, {"regression/y", &y}, {"y", &y}});
  EXPECT_EQ(npz_error([&] { (void)io::read_xy(path, "'b.npz'"); }),
            "'b.npz' holds both 'y' and 'regression/y': slab will not guess which to read; keep one of them");
  std::filesystem::remove(path);
  io::write_npz(path, {{"regression/X", &X}, {"regression/y", &y}, {"other/X", &X}});
  EXPECT_EQ(io::read_xy(path, "'b.npz'").first, X);  // one form only: read
  std::filesystem::remove(path);
}
