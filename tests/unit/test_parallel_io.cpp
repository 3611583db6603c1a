// The parallel I/O settings as the command line reads them (sizes, MPI-IO hints) and the host map
// of /provenance: pure functions, no MPI started.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/hosts.hpp"
#include "core/checked.hpp"
#include "core/error.hpp"
#include "io/parallel_io.hpp"

using namespace slab;

TEST(ParseBytes, ReadsDigitsWithOrWithoutABinaryUnit) {
  EXPECT_EQ(parse_bytes("0"), 0u);
  EXPECT_EQ(parse_bytes("4194304"), 4194304u);
  EXPECT_EQ(parse_bytes("512B"), 512u);
  EXPECT_EQ(parse_bytes("64KiB"), 65536u);
  EXPECT_EQ(parse_bytes("64K"), 65536u);
  EXPECT_EQ(parse_bytes("4MiB"), parse_bytes("4M"));
  EXPECT_EQ(parse_bytes("4M"), 4u << 20);
  EXPECT_EQ(parse_bytes("2GiB"), std::uint64_t{2} << 30);
  EXPECT_EQ(parse_bytes("16777215TiB"), ~std::uint64_t{0} - ((std::uint64_t{1} << 40) - 1));  // 2^64 - 2^40
}

TEST(ParseBytes, RefusesAnythingElse) {
  for (const char* bad :
       {"", "M", "-1", "+4", "1.5M", "4MB", "4 MiB", "4mib", "0x10", "16777216TiB", "18446744073709551616"})
    EXPECT_FALSE(parse_bytes(bad).has_value()) << bad;
}

TEST(ParseHint, SplitsAtTheFirstEqualsSign) {
  EXPECT_EQ(io::parse_hint("cb_buffer_size=16777216", "--io-hint"),
            (std::pair<std::string, std::string>{"cb_buffer_size", "16777216"}));
  EXPECT_EQ(io::parse_hint("cb_config_list=*:1=x", "--io-hint").second, "*:1=x");
}

TEST(ParseHint, RefusesWhatMpiWouldNotTake) {
  const std::string longest_key(mpi::Info::max_key_length, 'k'), longest_value(mpi::Info::max_value_length, 'v');
  EXPECT_NO_THROW((void)io::parse_hint(longest_key + "=" + longest_value, "--io-hint"));
  for (const std::string& bad : {std::string("striping_factor"), std::string("=4"), std::string("a="),
                                 longest_key + "k=1", "a=" + longest_value + "v"}) {
    try {
      (void)io::parse_hint(bad, "--io-hint");
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--io-hint ", 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

TEST(ParseHintList, ReadsTheSitesListAndALaterValueWins) {
  EXPECT_TRUE(io::parse_hint_list("", "SLAB_IO_HINTS").empty());
  EXPECT_TRUE(io::parse_hint_list(" ; ;", "SLAB_IO_HINTS").empty());
  mpi::Hints hints = io::parse_hint_list(" a=1 ;b=2;a=3;", "SLAB_IO_HINTS");
  EXPECT_EQ(hints, (mpi::Hints{{"a", "3"}, {"b", "2"}}));
  io::set_hint(hints, {"c", "4"});
  io::set_hint(hints, {"b", "5"});
  EXPECT_EQ(io::hint_text(hints), "a=3;b=5;c=4");
  EXPECT_THROW((void)io::parse_hint_list("a=1;b", "SLAB_IO_HINTS"), InputError);
}

TEST(FileAccess, ThresholdIsTheAlignmentUpToOneMiB) {
  io::FileAccess access;
  EXPECT_TRUE(access.aligned());
  EXPECT_EQ(access.threshold(), std::uint64_t{1} << 20);
  access.alignment = 4 << 20;
  EXPECT_EQ(access.threshold(), std::uint64_t{1} << 20);
  access.alignment = 64 << 10;
  EXPECT_EQ(access.threshold(), std::uint64_t{64} << 10);
  access.alignment = 1;
  EXPECT_FALSE(access.aligned());
}

TEST(RankRanges, RunsOfConsecutiveRanksBecomeRanges) {
  const auto ranges = [](std::vector<int> ranks) { return app::rank_ranges(ranks); };
  EXPECT_EQ(ranges({}), "");
  EXPECT_EQ(ranges({0}), "0");
  EXPECT_EQ(ranges({0, 1}), "0-1");
  EXPECT_EQ(ranges({0, 2}), "0+2");
  EXPECT_EQ(ranges({0, 1, 2, 5, 7, 8}), "0-2+5+7-8");
}
