#include "io/output.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "io/archive_sink.hpp"
#include "io/file_format.hpp"
#include "io/gather_sink.hpp"
#include "io/h5.hpp"
#include "io/h5_writer.hpp"

namespace slab::io {
namespace fs = std::filesystem;

namespace {

using Format = FileFormat;

Format output_format(const std::string& out) {
  if (const auto format = format_of(out)) return *format;
  throw InputError("unknown output format '" + fs::path(out).extension().string() + "' (--out " + out +
                   "); use .h5, .npz, .json or .csv");
}

// Wraps a parallel sink so that every call is agreed on by all ranks.
class AgreeingSink final : public Sink {
 public:
  AgreeingSink(const mpi::Comm& comm, std::unique_ptr<Sink> inner) : comm_(comm), inner_(std::move(inner)) {}
  void create(const DatasetSpec& spec) override {
    agree([&] { inner_->create(spec); });
  }
  void write(const std::string& path, const Block& block) override {
    agree([&] { inner_->write(path, block); });
  }
  void annotate(const std::string& group, const Attributes& attributes) override {
    agree([&] { inner_->annotate(group, attributes); });
  }
  void read(const std::string& path, const Block& box, double* out) override {
    agree([&] { inner_->read(path, box, out); });
  }
  void commit() override {
    agree([&] { inner_->commit(); });
  }

 private:
  // A failed parallel HDF5 call leaves the file unclosable on every rank, not just the one that
  // saw the error.
  template <class F>
  void agree(F&& operation) {
    try {
      mpi::collectively(comm_, operation);
    } catch (const mpi::CollectiveError&) {
      h5::mark_library_unusable();
      throw;
    }
  }

  const mpi::Comm& comm_;
  std::unique_ptr<Sink> inner_;
};

std::string option_of(const OutputOptions& options) {
  return options.option.empty() ? "--out " + options.path : options.option;
}

// The hints a parallel file reports, as /provenance records them. A report that cannot be had is
// recorded as such: it is no reason to fail the run (nor to leave its temporary behind).
std::string reported_hints_text(const H5Writer& writer) {
  try {
    return hint_text(writer.reported_hints());
  } catch (const std::exception& e) {
    return std::string("unknown: ") + e.what();
  }
}

TargetKind kind_of(const std::string& out) {
  return format_of(out) == Format::csv ? TargetKind::folder : TargetKind::file;
}

}  // namespace

std::uint64_t expected_size(std::initializer_list<std::uint64_t> dims) {
  std::uint64_t n = 1;
  for (const auto d : dims) n *= d;
  return 8 * n + 4096;
}

std::string output_target(const std::string& out) {
  if (output_format(out) != Format::csv) return out;
  return (fs::path(out).parent_path() / fs::path(out).stem()).string();
}

Claim check_output(const mpi::Comm& comm, const OutputOptions& options) {
  Claim claim;
  mpi::collectively(comm, [&] {
    const std::string target = output_target(options.path);
    if (!comm.is_root()) return;
    const std::string option = option_of(options);
    fs::path directory = fs::path(target).parent_path();
    if (directory.empty()) directory = ".";
    std::error_code ec;
    if (!fs::is_directory(directory, ec))
      throw InputError("output directory '" + directory.string() + "' does not exist (" + option + ")");
    if (::access(directory.c_str(), W_OK | X_OK) != 0)
      throw InputError("output directory '" + directory.string() + "' is not writable (" + option + ")");
    claim = claim_target(target, option);
    check_replaceable(target, kind_of(options.path), options.overwrite, option);
    // Fail before computing, not halfway through writing (the old file stays until the rename).
    struct statvfs space {};
    if (options.expected_bytes > 0 && ::statvfs(directory.c_str(), &space) == 0) {
      const auto available = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
      if (available < options.expected_bytes)
        throw RuntimeFailure("not enough space in '" + directory.string() + "' for " + option + ": it needs about " +
                             std::to_string(options.expected_bytes >> 20) + " MiB, " + std::to_string(available >> 20) +
                             " MiB are free");
    }
  });
  return claim;
}

namespace {

// Runs `create` (collective; it makes the temporary exclusively on some ranks) and, if it fails,
// removes what it left at the temporary's name before passing the failure on (a full disk can fail
// an HDF5 create after the file was made). Nothing was there before (checked), and the name is
// random and reserved by this run's lock, so whatever is there now is this run's.
template <class F>
void create_or_clean(const mpi::Comm& comm, const std::string& temporary, F&& create) {
  const bool was_free = comm.is_root() && existing(temporary) == Existing::nothing;
  try {
    mpi::collectively(comm, create);
  } catch (...) {
    if (was_free) remove_temporary(temporary);
    throw;
  }
}

}  // namespace

Output::Output(const mpi::Comm& comm, const OutputOptions& options)
    : comm_(comm), options_(options), target_(output_target(options.path)) {
  claim_ = check_output(comm, options);
  partial_ = claim_.temporary();
  comm_.broadcast(partial_);  // the unique name rank 0's claim reserved
  const Format format = output_format(options.path);
  parallel_ = format == Format::hdf5 && options.mode == IoMode::parallel;
  if (parallel_) {
    std::unique_ptr<H5Writer> writer;
    create_or_clean(comm_, partial_,
                    [&] { writer = std::make_unique<H5Writer>(partial_, &comm_, /*exclusive=*/true, options.access); });
    created_ = true;
    // Every rank writes the same attribute values, so rank 0's report stands for all.
    if (comm_.is_root()) reported_hints_ = reported_hints_text(*writer);
    comm_.broadcast(reported_hints_);
    sink_ = std::make_unique<AgreeingSink>(comm_, std::move(writer));
    return;
  }
  std::unique_ptr<Sink> root_sink;
  create_or_clean(comm_, partial_, [&] {
    if (!comm_.is_root()) return;
    switch (format) {
      case Format::hdf5:
        root_sink = std::make_unique<H5Writer>(partial_, nullptr, /*exclusive=*/true, options.access);
        break;
      case Format::npz:
        root_sink = std::make_unique<ArchiveSink>(partial_, ArchiveFormat::npz);
        break;
      case Format::json:
        root_sink = std::make_unique<ArchiveSink>(partial_, ArchiveFormat::json);
        break;
      case Format::csv:
        root_sink = std::make_unique<ArchiveSink>(partial_, ArchiveFormat::csv);
        break;
    }
  });
  created_ = true;  // an archive's temporary appears at commit, created exclusively there
  sink_ = std::make_unique<GatherSink>(comm_, std::move(root_sink));
}

void Output::commit() {
  sink_->commit();
  mpi::collectively(comm_, [&] {
    if (comm_.is_root())
      commit_temporary(partial_, target_, kind_of(options_.path), options_.overwrite, option_of(options_));
  });
  committed_ = true;
}

Output::~Output() {
  if (committed_) return;
  sink_.reset();  // closes the file on every rank
  // Only a temporary this Output created: an exclusive create that failed left whatever was there.
  if (comm_.is_root() && created_) remove_temporary(partial_);
}

bool hdf5_unusable() noexcept { return h5::library_unusable(); }

}  // namespace slab::io
