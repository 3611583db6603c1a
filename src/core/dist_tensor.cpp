#include "core/dist_tensor.hpp"

#include <algorithm>
#include <span>
#include <vector>

namespace slab {
namespace {

Shape local_shape_of(const Shape& global, std::int64_t rows) {
  Shape local = global;
  local[0] = static_cast<std::size_t>(rows);
  return local;
}

std::size_t row_length_of(const Shape& shape) { return element_count(Shape(shape.begin() + 1, shape.end())); }

bool fits_collective(std::span<const std::int64_t> counts, std::size_t unit, std::int64_t max_message) {
  constexpr auto int_max = std::numeric_limits<int>::max();
  if (unit == 0 || unit > static_cast<std::size_t>(int_max)) return false;
  std::int64_t offset = 0;
  for (const std::int64_t c : counts) {
    if (c > int_max || offset > int_max || c * static_cast<std::int64_t>(unit) > max_message) return false;
    offset += c;
  }
  return true;
}

// Sends or receives `count` doubles in messages of at most max_message.
void send_chunked(const mpi::Comm& comm, const double* data, std::int64_t count, int dest, std::int64_t max_message) {
  for (std::int64_t done = 0; done < count; done += max_message) {
    const auto n = static_cast<std::size_t>(std::min(max_message, count - done));
    comm.send(std::span<const double>(data + done, n), dest, mpi::tag::rows_chunked);
  }
}

void recv_chunked(const mpi::Comm& comm, double* data, std::int64_t count, int source, std::int64_t max_message) {
  for (std::int64_t done = 0; done < count; done += max_message) {
    const auto n = static_cast<std::size_t>(std::min(max_message, count - done));
    comm.recv(std::span<double>(data + done, n), source, mpi::tag::rows_chunked);
  }
}

struct Displacements {
  std::vector<int> counts, displs;
  explicit Displacements(std::span<const std::int64_t> units) : counts(units.size()), displs(units.size()) {
    int offset = 0;
    for (std::size_t r = 0; r < units.size(); ++r) {
      counts[r] = static_cast<int>(units[r]);
      displs[r] = offset;
      offset += counts[r];
    }
  }
};

}  // namespace

void gather_units(const mpi::Comm& comm, std::span<const std::int64_t> counts, std::size_t unit, const double* local,
                  double* root_out, int root, std::int64_t max_message) {
  const auto len = static_cast<std::int64_t>(unit);
  if (fits_collective(counts, unit, max_message)) {
    const mpi::ContiguousType type(static_cast<int>(unit), mpi::datatype_of<double>());
    const Displacements d(counts);
    comm.gatherv(local, root_out, d.counts, d.displs, type.get(), root);
    return;
  }
  if (comm.rank() != root) {
    send_chunked(comm, local, counts[comm.rank()] * len, root, max_message);
    return;
  }
  double* dest = root_out;
  for (int r = 0; r < comm.size(); ++r) {
    if (r == root)
      std::copy_n(local, counts[r] * len, dest);
    else
      recv_chunked(comm, dest, counts[r] * len, r, max_message);
    dest += counts[r] * len;
  }
}

void scatter_units(const mpi::Comm& comm, std::span<const std::int64_t> counts, std::size_t unit, const double* root_in,
                   double* local, int root, std::int64_t max_message) {
  const auto len = static_cast<std::int64_t>(unit);
  if (fits_collective(counts, unit, max_message)) {
    const mpi::ContiguousType type(static_cast<int>(unit), mpi::datatype_of<double>());
    const Displacements d(counts);
    comm.scatterv(root_in, local, d.counts, d.displs, type.get(), root);
    return;
  }
  if (comm.rank() != root) {
    recv_chunked(comm, local, counts[comm.rank()] * len, root, max_message);
    return;
  }
  const double* src = root_in;
  for (int r = 0; r < comm.size(); ++r) {
    if (r == root)
      std::copy_n(src, counts[r] * len, local);
    else
      send_chunked(comm, src, counts[r] * len, r, max_message);
    src += counts[r] * len;
  }
}

void gather_rows(const mpi::Comm& comm, const RowPartition& p, std::size_t row_length, const double* local,
                 double* root_out, int root, std::int64_t max_message) {
  gather_units(comm, p.counts(), row_length, local, root_out, root, max_message);
}

void scatter_rows(const mpi::Comm& comm, const RowPartition& p, std::size_t row_length, const double* root_in,
                  double* local, int root, std::int64_t max_message) {
  scatter_units(comm, p.counts(), row_length, root_in, local, root, max_message);
}

DistTensor::DistTensor(const mpi::Comm& comm, Shape global_shape)
    : comm_(&comm),
      global_shape_(global_shape.empty() ? throw InputError("a distributed tensor needs at least one axis")
                                         : std::move(global_shape)),
      partition_(static_cast<std::int64_t>(global_shape_[0]), comm.size(), comm.rank()),
      row_length_(row_length_of(global_shape_)),
      local_(local_shape_of(global_shape_, partition_.count())) {}

Tensor DistTensor::gather_to_root(int root) const {
  Tensor full = comm_->rank() == root ? Tensor(global_shape_) : Tensor();
  gather_rows(*comm_, partition_, row_length_, local_.data().data(), full.data().data(), root);
  return full;
}

DistTensor DistTensor::scatter_from_root(const mpi::Comm& comm, const Tensor& full, int root) {
  std::vector<double> dims;
  if (comm.rank() == root) dims.assign(full.shape().begin(), full.shape().end());
  comm.broadcast(dims, root);
  Shape shape(dims.begin(), dims.end());
  DistTensor out(comm, shape);
  scatter_rows(comm, out.partition_, out.row_length_, full.data().data(), out.local_.data().data(), root);
  return out;
}

}  // namespace slab
