// The HDF5 layer under MPI: collective writes, gather mode, safe writes, parallel reads.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "comms.hpp"
#include "io/h5_reader.hpp"
#include "io/h5_writer.hpp"
#include "io/output.hpp"

using namespace slab;
using slab::test::world;
namespace fs = std::filesystem;

namespace {

// A fresh directory, the same path on every rank, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string path;
    if (world().is_root()) {
      char pattern[] = "/tmp/slab-io-XXXXXX";
      path = mkdtemp(pattern);
    }
    world().broadcast(path);
    path_ = path;
  }
  ~TempDir() {
    world().barrier();
    if (world().is_root()) fs::remove_all(path_);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A (rows, cols) tensor whose element (i, j) is 10 i + j, split by rows.
DistTensor sample(std::size_t rows, std::size_t cols) {
  DistTensor t(world(), {rows, cols});
  for (std::size_t i = 0; i < static_cast<std::size_t>(t.partition().count()); ++i)
    for (std::size_t j = 0; j < cols; ++j)
      t.local().data()[i * cols + j] =
          10.0 * static_cast<double>(t.partition().first() + static_cast<std::int64_t>(i)) + static_cast<double>(j);
  return t;
}

io::Block block_of(const DistTensor& t) {
  if (t.partition().count() == 0) return io::Block::none(2);
  return io::Block{{static_cast<std::uint64_t>(t.partition().first()), 0},
                   {static_cast<std::uint64_t>(t.partition().count()), t.global_shape()[1]},
                   t.local().data().data()};
}

void write_sample(io::Sink& sink, const DistTensor& t) {
  sink.create({"g/a", t.global_shape()});
  sink.write("g/a", block_of(t));
  sink.annotate("g", {{"answer", std::int64_t{42}}, {"name", std::string("slab")}, {"v", std::vector<double>{1, 2}}});
}

}  // namespace

// The parallel writer's transfers must really run as collective MPI-IO, also with ranks that own
// no rows (rows < ranks).
TEST(Io, ParallelWritesAreCollective) {
  const TempDir dir;
  for (const std::size_t rows : {1, 2, 7, 100}) {
    const DistTensor t = sample(rows, 3);
    io::H5Writer writer(dir.file("c.h5"), &world());
    write_sample(writer, t);
    writer.commit();
    EXPECT_TRUE(writer.every_transfer_collective()) << rows << " rows";
  }
}

TEST(Io, ParallelAndGatherModesWriteTheSameContent) {
  const TempDir dir;
  const DistTensor t = sample(9, 4);
  for (const auto mode : {io::IoMode::parallel, io::IoMode::gather}) {
    io::Output out(world(), {dir.file(mode == io::IoMode::parallel ? "p.h5" : "g.h5"), mode, false});
    write_sample(out.sink(), t);
    out.commit();
  }
  const DistTensor p = io::read_rows(world(), dir.file("p.h5"), "/g/a", {2, 9, 4}, "test");
  const DistTensor g = io::read_rows(world(), dir.file("g.h5"), "/g/a", {2, 9, 4}, "test");
  EXPECT_EQ(p.local(), t.local());
  EXPECT_EQ(g.local(), t.local());
}

// A checkpoint copies what the output already holds: each rank reads back its own rows (and a
// column box of an extendible dataset) from every kind of sink, before the output is committed.
TEST(Io, EverySinkReadsBackWhatItWasGiven) {
  const TempDir dir;
  const DistTensor t = sample(7, 3);
  for (const std::string name : {"p.h5", "g.h5", "a.npz", "a.csv"}) {
    const auto mode = name == "p.h5" ? io::IoMode::parallel : io::IoMode::gather;
    io::Output out(world(), {dir.file(name), mode, false});
    write_sample(out.sink(), t);
    out.sink().create({"u", {0, 7}, true});
    const auto first = static_cast<std::uint64_t>(t.partition().first());
    const auto count = static_cast<std::uint64_t>(t.partition().count());
    std::vector<double> record(count);
    for (std::uint64_t k = 0; k < 3; ++k) {
      for (std::size_t i = 0; i < count; ++i)
        record[i] = 100.0 * static_cast<double>(k) + static_cast<double>(first + i);
      out.sink().write("u", count > 0 ? io::Block{{k, first}, {1, count}, record.data()} : io::Block::none(2));
    }
    std::vector<double> back(t.local().size(), -1.0);
    io::Block rows = block_of(t);
    out.sink().read("g/a", rows, back.data());
    EXPECT_EQ(back, t.local().to_vec()) << name;
    std::vector<double> box(2 * count, -1.0);
    out.sink().read("u", count > 0 ? io::Block{{1, first}, {2, count}, nullptr} : io::Block::none(2), box.data());
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(box[i], 100.0 + static_cast<double>(first + i)) << name;
      EXPECT_EQ(box[count + i], 200.0 + static_cast<double>(first + i)) << name;
    }
    out.commit();
  }
}

// Gather mode sends blocks to rank 0 in 8 MiB pieces (2^20 values): blocks of several pieces, cut
// along rows (a matrix) and along the second axis (a record of shape (1, n)), arrive whole.
TEST(Io, GatherModeReassemblesBlocksSentInPieces) {
  const TempDir dir;
  const std::size_t rows = 1500001, cols = 3;  // 4.5 pieces in all
  const DistTensor t = sample(rows, cols);
  const std::size_t n = 3 * (std::size_t{1} << 20) + 5;  // record length
  const RowPartition part(static_cast<std::int64_t>(n), world().size(), world().rank());
  std::vector<double> record(static_cast<std::size_t>(part.count()));
  for (std::size_t i = 0; i < record.size(); ++i)
    record[i] = static_cast<double>(part.first()) + static_cast<double>(i);
  {
    io::Output out(world(), {dir.file("big.h5"), io::IoMode::gather, false});
    write_sample(out.sink(), t);
    out.sink().create({"r", {2, n}});
    for (std::uint64_t k = 0; k < 2; ++k)
      out.sink().write("r", part.count() > 0 ? io::Block{{k, static_cast<std::uint64_t>(part.first())},
                                                         {1, static_cast<std::uint64_t>(part.count())},
                                                         record.data()}
                                             : io::Block::none(2));
    out.commit();
  }
  EXPECT_EQ(io::read_rows(world(), dir.file("big.h5"), "/g/a", {2, rows, cols}, "test").local(), t.local());
  const DistTensor back = io::read_rows(world(), dir.file("big.h5"), "/r", {2, 2, n}, "test");
  for (std::size_t i = 0; i < back.local().size(); ++i)
    ASSERT_EQ(back.local().data()[i], static_cast<double>(i % n)) << i;
}

TEST(Io, ExtendibleDatasetsGrowOneRecordAtATime) {
  const TempDir dir;
  for (const auto mode : {io::IoMode::parallel, io::IoMode::gather}) {
    const std::string path = dir.file(mode == io::IoMode::parallel ? "ep.h5" : "eg.h5");
    const DistTensor t = sample(6, 1);  // one value per row: the "nodes" of one record
    {
      io::Output out(world(), {path, mode, false});
      out.sink().create({"u", {0, 6}, true, 4});
      std::vector<double> record(t.local().data().begin(), t.local().data().end());
      for (std::uint64_t k = 0; k < 3; ++k) {
        for (double& v : record) v += 1000.0;
        const auto first = static_cast<std::uint64_t>(t.partition().first());
        const auto count = static_cast<std::uint64_t>(t.partition().count());
        out.sink().write("u", count > 0 ? io::Block{{k, first}, {1, count}, record.data()} : io::Block::none(2));
      }
      out.commit();
    }
    const DistTensor back = io::read_rows(world(), path, "/u", {2, 3, 6}, "test");
    for (std::size_t i = 0; i < back.local().size(); ++i) {
      const auto row = static_cast<double>(back.partition().first()) + static_cast<double>(i / 6);
      EXPECT_EQ(back.local().data()[i], 10.0 * static_cast<double>(i % 6) + 1000.0 * (row + 1));
    }
  }
}

TEST(Io, AFailedRunLeavesNothingAndAnExistingFileIsNeverClobbered) {
  const TempDir dir;
  const std::string path = dir.file("out.h5");
  {
    io::Output out(world(), {path, io::IoMode::parallel, false});
    write_sample(out.sink(), sample(4, 2));
    // No commit: the run "failed".
  }
  world().barrier();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));
  world().barrier();  // everyone has looked before the file appears

  if (world().is_root()) std::ofstream(path) << "precious";
  world().barrier();
  try {
    io::Output out(world(), {path, io::IoMode::parallel, false});
    ADD_FAILURE() << "an existing output must be refused";
  } catch (const mpi::CollectiveError& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("--overwrite"), std::string::npos) << e.what();
  }
  {
    io::Output out(world(), {path, io::IoMode::gather, true});
    write_sample(out.sink(), sample(4, 2));
    // A failure before commit keeps the old file.
  }
  world().barrier();
  std::string text;
  std::getline(std::ifstream(path), text);
  EXPECT_EQ(text, "precious");
  {
    io::Output out(world(), {path, io::IoMode::parallel, true});
    write_sample(out.sink(), sample(4, 2));
    out.commit();
  }
  EXPECT_TRUE(io::is_hdf5(path));
}

TEST(Io, BadOutputPathsAreInputErrors) {
  const TempDir dir;
  for (const std::string& bad : {dir.file("missing-dir/out.h5"), dir.file("out.xyz")}) {
    try {
      (void)io::check_output(world(), {bad, io::IoMode::parallel, false});
      ADD_FAILURE() << bad;
    } catch (const mpi::CollectiveError& e) {
      EXPECT_EQ(e.code(), ExitCode::usage) << e.what();
    }
  }
}

TEST(Io, ReadsCheckTheFileAndTheShape) {
  const TempDir dir;
  {
    io::Output out(world(), {dir.file("in.h5"), io::IoMode::parallel, false});
    write_sample(out.sink(), sample(5, 2));
    out.commit();
  }
  if (world().is_root()) std::ofstream(dir.file("text.h5")) << "not hdf5";
  world().barrier();
  auto expect_input_error = [&](const std::string& file, const std::string& dataset, const io::ExpectedShape& shape,
                                const std::string& words) {
    try {
      (void)io::read_rows(world(), file, dataset, shape, "--data");
      ADD_FAILURE() << "expected an error for " << file << dataset;
    } catch (const mpi::CollectiveError& e) {
      EXPECT_EQ(e.code(), ExitCode::usage);
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_input_error(dir.file("absent.h5"), "/g/a", {2, {}, {}}, "no such file");
  expect_input_error(dir.file("text.h5"), "/g/a", {2, {}, {}}, "not an HDF5 file");
  expect_input_error(dir.file("in.h5"), "/g/b", {2, {}, {}}, "no dataset '/g/b'");
  expect_input_error(dir.file("in.h5"), "/g/a", {1, {}, {}}, "has shape (5, 2)");
  expect_input_error(dir.file("in.h5"), "/g/a", {2, 6, {}}, "expected a 2-D dataset of 6 rows");
  const DistTensor ok = io::read_rows(world(), dir.file("in.h5"), "/g/a", {2, 5, 2}, "--data");
  EXPECT_EQ(ok.local(), sample(5, 2).local());
}

// A file access property list with collective metadata reads and writes and the given alignment.
void expect_collective_metadata_aligned(const h5::PropertyList& fapl, hsize_t alignment, hsize_t threshold) {
  hbool_t reads = false, writes = false;
  ASSERT_GE(H5Pget_all_coll_metadata_ops(fapl.get(), &reads), 0);
  ASSERT_GE(H5Pget_coll_metadata_write(fapl.get(), &writes), 0);
  EXPECT_TRUE(reads);
  EXPECT_TRUE(writes);
  hsize_t got_threshold = 0, got_alignment = 0;
  ASSERT_GE(H5Pget_alignment(fapl.get(), &got_threshold, &got_alignment), 0);
  EXPECT_EQ(got_alignment, alignment);
  EXPECT_EQ(got_threshold, threshold);
}

// The file access property list a parallel writer's file is open with (H5Fget_access_plist):
// collective metadata reads and writes, the alignment asked for, and the MPI-IO hints reported
// back by the file (Open MPI 4.1 reports every hint it was given, under OMPIO and ROMIO alike).
TEST(Io, ParallelWriterOpensWithCollectiveMetadataAlignmentAndHints) {
  TempDir dir;
  io::FileAccess access;
  access.alignment = 64 << 10;
  access.hints = {{"cb_buffer_size", "8388608"}, {"romio_cb_write", "enable"}};
  io::H5Writer writer(dir.file("fapl.h5"), &world(), /*exclusive=*/true, access);
  expect_collective_metadata_aligned(writer.access_plist(), 64 << 10, 64 << 10);  // threshold min(alignment, 1 MiB)
  const mpi::Hints reported = writer.reported_hints();
  for (const auto& hint : access.hints)
    EXPECT_NE(std::find(reported.begin(), reported.end(), hint), reported.end()) << hint.first;
  writer.commit();
}

// The reader opens with the same list (h5::file_access): collective metadata reads too.
TEST(Io, ReadersOpenWithCollectiveMetadata) {
  const io::FileAccess defaults;
  expect_collective_metadata_aligned(h5::file_access(&world(), defaults, "test"), io::default_alignment,
                                     defaults.threshold());
}

// A serial writer (gather mode, rank 0) aligns too; it has no MPI-IO file to report hints.
TEST(Io, SerialWriterAlignsAndReportsNoHints) {
  TempDir dir;
  if (!world().is_root()) return;
  io::FileAccess access;
  access.alignment = 0;  // none
  access.hints = {{"cb_nodes", "1"}};
  io::H5Writer writer(dir.file("serial.h5"), nullptr, /*exclusive=*/true, access);
  hsize_t threshold = 0, alignment = 0;
  const h5::PropertyList fapl = writer.access_plist();
  ASSERT_GE(H5Pget_alignment(fapl.get(), &threshold, &alignment), 0);
  EXPECT_EQ(alignment, hsize_t{1});  // HDF5's "no alignment"
  EXPECT_TRUE(writer.reported_hints().empty());
  writer.commit();
}
