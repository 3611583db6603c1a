// How slab's HDF5 files meet a parallel file system (docs/parallel-io.md): where large datasets
// start (aligned to a stripe), the MPI-IO hints the files are opened with, and metadata done
// collectively. One value for a run, built by the command line and handed to every file it opens.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/mpi.hpp"

namespace slab::io {

// 1 MiB: Lustre's default stripe size, and a divisor of every GPFS block size from 1 MiB up, so a
// dataset that starts on a multiple of it starts on a stripe (or block) boundary on either.
inline constexpr std::uint64_t default_alignment = std::uint64_t{1} << 20;
// Objects smaller than this (or than the alignment, if smaller) are not aligned: a small dataset
// or an attribute table would waste most of a stripe.
inline constexpr std::uint64_t largest_alignment_threshold = std::uint64_t{1} << 20;

struct FileAccess {
  // Objects of at least threshold() bytes start on a multiple of this many bytes
  // (H5Pset_alignment); 0 or 1: none.
  std::uint64_t alignment = default_alignment;
  // MPI-IO hints for every file opened with MPI-IO (H5Pset_fapl_mpio), in the order given.
  mpi::Hints hints = {};

  [[nodiscard]] bool aligned() const noexcept { return alignment > 1; }
  [[nodiscard]] std::uint64_t threshold() const noexcept {
    return alignment < largest_alignment_threshold ? alignment : largest_alignment_threshold;
  }
};

// One hint "key=value" (split at the first '='). Throws InputError naming `origin` (e.g.
// "--io-hint") for an empty key, no '=', an empty value, or a key or value longer than MPI takes.
[[nodiscard]] std::pair<std::string, std::string> parse_hint(const std::string& text, const std::string& origin);

// Hints separated by ';' ("key=value;key=value", as SLAB_IO_HINTS holds them); blanks around an
// entry and empty entries are ignored.
[[nodiscard]] mpi::Hints parse_hint_list(const std::string& text, const std::string& origin);

// Adds a hint, replacing an earlier value of the same key in its place (a later setting wins).
void set_hint(mpi::Hints& hints, std::pair<std::string, std::string> hint);

// "key=value;key=value" (empty for none): how /provenance records hints.
[[nodiscard]] std::string hint_text(const mpi::Hints& hints);

}  // namespace slab::io
