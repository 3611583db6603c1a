#include "io/gather_sink.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace slab::io {

GatherSink::GatherSink(const mpi::Comm& comm, std::unique_ptr<Sink> root_sink)
    : comm_(comm), root_sink_(std::move(root_sink)) {}

void GatherSink::create(const DatasetSpec& spec) {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->create(spec);
  });
}

namespace {

// How a block is sent in pieces: slices along its first axis of count > 1 (every axis before it
// has count 1, so each slice is contiguous in the row-major data), `per_piece` slices at a time.
struct Slicing {
  std::size_t axis = 0;
  std::uint64_t slice_elements = 1;  // elements of one slice
  std::uint64_t per_piece = 1;

  Slicing(const Block& block, std::uint64_t piece_elements) {
    const std::size_t dims = block.count.size();
    while (axis + 1 < dims && block.count[axis] == 1) ++axis;
    for (std::size_t d = axis + 1; d < dims; ++d) slice_elements *= block.count[d];
    per_piece = std::max<std::uint64_t>(1, piece_elements / std::max<std::uint64_t>(1, slice_elements));
  }
  [[nodiscard]] std::uint64_t slices(const Block& block) const { return block.count.empty() ? 1 : block.count[axis]; }
  // Piece k of the block: a sub-block and its data.
  [[nodiscard]] Block piece(const Block& block, std::uint64_t k, const double* data) const {
    Block part = block;
    part.data = data;
    if (block.count.empty()) return part;
    const std::uint64_t first = k * per_piece;
    part.start[axis] += first;
    part.count[axis] = std::min(per_piece, block.count[axis] - first);
    return part;
  }
  [[nodiscard]] std::uint64_t pieces(const Block& block) const { return (slices(block) + per_piece - 1) / per_piece; }
};

// 8 MiB pieces: large enough for full-speed messages and writes, small enough that rank 0 holds
// two of them, not the whole dataset.
constexpr std::uint64_t piece_elements = std::uint64_t{1} << 20;

// A block's start, count and size, as one record for rank 0.
std::vector<std::uint64_t> header_of(const Block& block) {
  std::vector<std::uint64_t> header(block.start.begin(), block.start.end());
  header.insert(header.end(), block.count.begin(), block.count.end());
  header.push_back(block.size());
  return header;
}

// A piece another rank will send: where it goes in the dataset (no data yet) and who sends it.
struct RemotePiece {
  Block block;
  int source;
};

// Every piece ranks 1, 2, ... will send, in order, from the headers gathered on rank 0.
std::vector<RemotePiece> remote_pieces(const std::vector<std::uint64_t>& headers, int ranks, std::size_t ndim) {
  std::vector<RemotePiece> pieces;
  const std::size_t record = 2 * ndim + 1;
  for (int r = 1; r < ranks; ++r) {
    const auto* h = headers.data() + static_cast<std::size_t>(r) * record;
    if (h[2 * ndim] == 0) continue;
    Block theirs;
    theirs.start.assign(h, h + ndim);
    theirs.count.assign(h + ndim, h + 2 * ndim);
    const Slicing slicing(theirs, piece_elements);
    for (std::uint64_t k = 0; k < slicing.pieces(theirs); ++k) pieces.push_back({slicing.piece(theirs, k, nullptr), r});
  }
  return pieces;
}

}  // namespace

void GatherSink::write(const std::string& path, const Block& block) {
  // Every rank's start and count to rank 0, which then knows the shape of every piece to come.
  const std::vector<std::uint64_t> header = header_of(block);
  const std::vector<std::uint64_t> headers = comm_.gather(std::span<const std::uint64_t>(header), 0);

  const Slicing mine(block, piece_elements);
  mpi::collectively(comm_, [&] {
    if (block.size() > 0 && mine.slice_elements > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
      throw RuntimeFailure("gather mode cannot send " + path + ": one slice of it holds " +
                           std::to_string(mine.slice_elements) +
                           " values, more than one MPI message; use --io parallel");
  });
  if (!comm_.is_root()) {
    for (std::uint64_t k = 0; block.size() > 0 && k < mine.pieces(block); ++k) {
      const Block part = mine.piece(block, k, block.data + k * mine.per_piece * mine.slice_elements);
      comm_.send(std::span<const double>(part.data, part.size()), 0, mpi::tag::gather_piece);
    }
    mpi::raise_if_any(comm_, std::nullopt);  // rank 0's verdict on the write
    return;
  }

  // Rank 0 writes its own block in place, then every other rank's pieces in order, the receive of
  // the next piece posted before the current one is written. After a failed write it still receives every
  // piece (the senders must not be left blocked) and reports the failure once all have arrived.
  std::optional<mpi::LocalFailure> failure;
  auto write_part = [&](const Block& part) {
    if (failure || !root_sink_) return;
    try {
      root_sink_->write(path, part);
    } catch (const std::exception&) {
      failure = mpi::failure_of(std::current_exception(), comm_.rank());
    }
  };
  if (block.size() > 0) write_part(block);

  std::vector<RemotePiece> order = remote_pieces(headers, comm_.size(), block.start.size());
  std::vector<double> buffers[2];
  mpi::Request request;  // declared after the buffers: cancelled before they are freed
  auto post = [&](std::size_t i) {
    auto& buffer = buffers[i % 2];
    std::uint64_t elements = 1;  // order[i].size() is 0 until it has data
    for (const auto c : order[i].block.count) elements *= c;
    buffer.resize(elements);
    order[i].block.data = buffer.data();
    request = comm_.irecv(std::span<double>(buffer), order[i].source, mpi::tag::gather_piece);
  };
  if (!order.empty()) post(0);
  for (std::size_t i = 0; i < order.size(); ++i) {
    request.wait();
    if (i + 1 < order.size()) post(i + 1);
    write_part(order[i].block);
  }
  mpi::raise_if_any(comm_, failure);
}

// The reverse of write: rank 0 reads every rank's box from its sink and sends it back. Boxes are
// small (the caller's pieces), so rank 0 reads them all before sending: a failed read is agreed on
// before any message, and nobody waits for a reply that never comes.
void GatherSink::read(const std::string& path, const Block& requested, double* out) {
  Block box = requested;
  box.data = out;  // the box is empty only if out is null or a count is 0
  const std::size_t rank = box.start.size();
  std::vector<std::uint64_t> header(2 * rank + 1);
  std::copy(box.start.begin(), box.start.end(), header.begin());
  std::copy(box.count.begin(), box.count.end(), header.begin() + static_cast<std::ptrdiff_t>(rank));
  header[2 * rank] = box.size();
  const std::vector<std::uint64_t> headers = comm_.gather(std::span<const std::uint64_t>(header), 0);
  std::vector<std::vector<double>> replies(comm_.is_root() ? comm_.size() : 0);
  mpi::collectively(comm_, [&] {
    if (box.size() > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
      throw RuntimeFailure("gather mode cannot read back " + path + " in one message");
    if (!comm_.is_root()) return;
    if (box.size() > 0) root_sink_->read(path, box, out);
    for (int r = 1; r < comm_.size(); ++r) {
      const auto* h = headers.data() + static_cast<std::size_t>(r) * header.size();
      if (h[2 * rank] == 0) continue;
      Block theirs;
      theirs.start.assign(h, h + rank);
      theirs.count.assign(h + rank, h + 2 * rank);
      replies[static_cast<std::size_t>(r)].resize(h[2 * rank]);
      root_sink_->read(path, theirs, replies[static_cast<std::size_t>(r)].data());
    }
  });
  if (comm_.is_root()) {
    for (int r = 1; r < comm_.size(); ++r) {
      const auto& reply = replies[static_cast<std::size_t>(r)];
      if (!reply.empty()) comm_.send(std::span<const double>(reply), r, mpi::tag::gather_piece);
    }
  } else if (box.size() > 0) {
    comm_.recv(std::span<double>(out, box.size()), 0, mpi::tag::gather_piece);
  }
}

void GatherSink::annotate(const std::string& group, const Attributes& attributes) {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->annotate(group, attributes);
  });
}

void GatherSink::commit() {
  mpi::collectively(comm_, [&] {
    if (root_sink_) root_sink_->commit();
  });
}

}  // namespace slab::io
