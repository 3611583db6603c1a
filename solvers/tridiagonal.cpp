#include "solvers/tridiagonal.hpp"

#include "solvers/reduced_system.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>

namespace slab::tridiag {

namespace {

// Spike entries at most this large are treated as zero in the correction (|spikes| <= 1).
constexpr double spike_cutoff = 1e-30;

}  // namespace

// ---- one block

BlockFactor::BlockFactor(const Operator& op, std::int64_t first, std::int64_t rows) {
  const auto m = static_cast<std::size_t>(rows);
  l_.resize(m), inv_u_.resize(m), c_.resize(m), rl_.resize(m), rd_.resize(m), rr_.resize(m), rc_.resize(m);
  double pivot = 0;
  for (std::size_t j = 0; j < m; ++j) {
    const Row r = op.row(first + static_cast<std::int64_t>(j));
    c_[j] = r.c, rl_[j] = r.rl, rd_[j] = r.rd, rr_[j] = r.rr, rc_[j] = r.rc;
    l_[j] = j == 0 ? 0.0 : r.a / pivot;
    pivot = j == 0 ? r.d : r.d - l_[j] * c_[j - 1];
    if (!(std::isfinite(pivot) && pivot != 0))
      throw SingularSystem("tridiagonal block has a " + std::string(pivot == 0 ? "zero" : "non-finite") +
                           " pivot at row " + std::to_string(first + static_cast<std::int64_t>(j)));
    inv_u_[j] = 1.0 / pivot;
  }
  const bool has_lower = op.periodic || first > 0;
  const bool has_upper = op.periodic || first + rows < op.n;
  v_.assign(m, 0.0);
  w_.assign(m, 0.0);
  v_.front() = has_lower ? op.row(first).a : 0.0;
  w_.back() = has_upper ? c_.back() : 0.0;
  solve(v_);
  solve(w_);
  v_end_ = 0;
  for (std::size_t j = 0; j < m; ++j)
    if (std::abs(v_[j]) > spike_cutoff) v_end_ = static_cast<std::int64_t>(j) + 1;
  w_begin_ = rows;
  for (std::size_t j = m; j-- > 0;)
    if (std::abs(w_[j]) > spike_cutoff) w_begin_ = static_cast<std::int64_t>(j);
}

void BlockFactor::solve(std::span<double> b) const {
  const std::size_t m = l_.size();
  double y = 0;
  for (std::size_t j = 0; j < m; ++j) b[j] = y = b[j] - l_[j] * y;
  double x = b[m - 1] * inv_u_[m - 1];
  b[m - 1] = x;
  for (std::size_t j = m - 1; j-- > 0;) b[j] = x = (b[j] - c_[j] * x) * inv_u_[j];
}

void BlockFactor::sweep(double* x, double um, double up, bool identity_rhs) const {
  const std::size_t m = l_.size();
  double before = um, here = x[0], y = 0;
  for (std::size_t j = 0; j < m; ++j) {
    const double after = j + 1 < m ? x[j + 1] : up;
    const double b =
        identity_rhs ? rd_[j] * here + rc_[j] : ((rl_[j] * before + rd_[j] * here) + rr_[j] * after) + rc_[j];
    x[j] = y = b - l_[j] * y;
    before = here;
    here = after;
  }
  double next = x[m - 1] * inv_u_[m - 1];
  x[m - 1] = next;
  for (std::size_t j = m - 1; j-- > 0;) x[j] = next = (x[j] - c_[j] * next) * inv_u_[j];
}

template <int G>
void BlockFactor::sweep_uniform(const Row& r, double* const* x, const double* um, const double* up,
                                bool identity_rhs) const {
  const std::size_t m = l_.size();
  const double* l = l_.data();
  const double* inv_u = inv_u_.data();
  std::array<double, G> before, here, after, y;
  for (int g = 0; g < G; ++g) before[g] = um[g], here[g] = x[g][0], y[g] = 0;
  for (std::size_t j = 0; j < m; ++j) {
    const bool last = j + 1 == m;
    for (int g = 0; g < G; ++g) {
      after[g] = last ? up[g] : x[g][j + 1];
      const double b = identity_rhs ? here[g] : (r.rl * before[g] + r.rd * here[g]) + r.rr * after[g];
      x[g][j] = y[g] = b - l[j] * y[g];
      before[g] = here[g];
      here[g] = after[g];
    }
  }
  for (int g = 0; g < G; ++g) x[g][m - 1] = y[g] = x[g][m - 1] * inv_u[m - 1];
  for (std::size_t j = m - 1; j-- > 0;)
    for (int g = 0; g < G; ++g) x[g][j] = y[g] = (x[g][j] - r.c * y[g]) * inv_u[j];
}

template void BlockFactor::sweep_uniform<1>(const Row&, double* const*, const double*, const double*, bool) const;
template void BlockFactor::sweep_uniform<2>(const Row&, double* const*, const double*, const double*, bool) const;
template void BlockFactor::sweep_uniform<3>(const Row&, double* const*, const double*, const double*, bool) const;
template void BlockFactor::sweep_uniform<4>(const Row&, double* const*, const double*, const double*, bool) const;

void BlockFactor::correct(double* x, double lower, double upper, double first, double last) const {
  const auto m = static_cast<std::int64_t>(l_.size());
  for (std::int64_t j = 0; j < v_end_; ++j) x[j] -= v_[static_cast<std::size_t>(j)] * lower;
  for (std::int64_t j = w_begin_; j < m; ++j) x[j] -= w_[static_cast<std::size_t>(j)] * upper;
  x[0] = first;
  x[m - 1] = last;
}

// ---- the fixed blocks

Blocks::Blocks(std::int64_t rows, std::int64_t block_rows)
    : n(rows), size(block_rows), count(std::max<std::int64_t>(1, rows / block_rows)) {
  if (rows < 2 || block_rows < 2) throw InputError("a tridiagonal system needs at least 2 rows and blocks of 2");
}

std::pair<std::int64_t, std::int64_t> Blocks::starting_in(std::int64_t lo, std::int64_t hi) const {
  auto first_at_or_after = [&](std::int64_t row) { return std::min(count, (row + size - 1) / size); };
  return {first_at_or_after(lo), first_at_or_after(hi)};
}

// ---- the distributed solver

namespace {

// Global rows [row, row + count), all on rank `owner`.
struct Segment {
  std::int64_t row, count;
  int owner;
};

// The rows of s within `data`, which holds global rows from `first` on.
template <class T>
std::span<T> rows_of(std::span<T> data, std::int64_t first, const Segment& s) {
  return data.subspan(static_cast<std::size_t>(s.row - first), static_cast<std::size_t>(s.count));
}

// The blocks whose first row is on rank q, their rows, and the rows of those past q's own rows
// (the tail of its last block), split by the ranks that hold them.
struct Span {
  std::int64_t lo = 0, hi = 0;      // q's blocks [lo, hi)
  std::int64_t begin = 0, end = 0;  // their rows
  std::vector<Segment> tail;
};

Span span_of(const RowPartition& part, const Blocks& blocks, int q) {
  Span span;
  const std::int64_t first = part.first_of(q), end = first + part.count_of(q);
  std::tie(span.lo, span.hi) = blocks.starting_in(first, end);
  if (span.lo == span.hi) return span;
  span.begin = blocks.first(span.lo);
  span.end = blocks.end(span.hi - 1);
  for (std::int64_t row = end; row < span.end;) {
    const int p = part.owner(row);
    const std::int64_t stop = std::min(span.end, part.first_of(p) + part.count_of(p));
    span.tail.push_back({row, stop - row, p});
    row = stop;
  }
  return span;
}

}  // namespace

// The solver keeps the state in its own layout: each rank holds the whole blocks that start on it,
// and the first and last value of each (`ends`). The neighbour values a block's right-hand side
// needs are the ends of the neighbouring blocks: of my own blocks in `ends`, of the block before my
// first and after my last in `halo`, which the reduced solve brings up to date every step.
struct Solver::Impl {
  const mpi::Comm& comm;
  RowPartition part;
  Operator op;
  Blocks blocks;
  std::vector<BlockFactor> factors;  // first block, last block, interior (as many as differ)
  Span mine;
  std::vector<std::pair<int, Segment>> lent;  // my rows in other ranks' blocks: (owner, rows)
  std::vector<double> x;                      // rows [mine.begin, mine.end)
  std::vector<double> ends;                   // (first, last) value of each of my blocks
  std::array<double, 2> halo{0, 0};           // last value of block mine.lo - 1, first of mine.hi
  std::unique_ptr<ReducedSystem> reduced;

  Impl(const mpi::Comm& c, const RowPartition& p, Operator o, std::int64_t block_rows);
  void factor_blocks();
  [[nodiscard]] const BlockFactor& factor(std::int64_t k) const;
  [[nodiscard]] double* block(std::int64_t k) { return x.data() + (blocks.first(k) - mine.begin); }
  // The last value of block k-1 and the first of block k+1 (0 where there is none).
  [[nodiscard]] double before(std::int64_t k) const;
  [[nodiscard]] double after(std::int64_t k) const;
  void plan();
  void load(std::span<const double> u);
  void store(std::span<double> u);
  void read_ends();
  void sweep();
  void sweep_interior(const std::vector<std::int64_t>& ks);
  void correct();
  void step();
};

Solver::Impl::Impl(const mpi::Comm& c, const RowPartition& p, Operator o, std::int64_t block_rows)
    : comm(c), part(p), op(std::move(o)), blocks(op.n, block_rows) {
  if (op.periodic && op.n < 3) throw InputError("a periodic tridiagonal system needs at least 3 rows");
  // The factors are the same on every rank, so a singular block is found alike everywhere; any
  // other failure here (memory) is agreed before the reduced system's first message.
  std::string singular;
  mpi::collectively(comm, [&] {
    try {
      factor_blocks();
    } catch (const SingularSystem& e) {
      singular = e.what();
    }
    plan();
  });
  if (!singular.empty()) throw SingularSystem(singular);
  reduced = std::make_unique<ReducedSystem>(
      comm, blocks.count, op.periodic, mine.lo, mine.hi, [&](std::int64_t k) { return part.owner(blocks.first(k)); },
      [&](std::int64_t k) {
        const BlockFactor& f = factor(k);
        return Spikes{f.v_first(), f.v_last(), f.w_first(), f.w_last()};
      });
}

void Solver::Impl::factor_blocks() {
  const std::int64_t nb = blocks.count;
  factors.emplace_back(op, 0, blocks.end(0));
  if (nb >= 2) factors.emplace_back(op, blocks.first(nb - 1), blocks.end(nb - 1) - blocks.first(nb - 1));
  if (nb >= 3) {
    for (std::int64_t i = blocks.first(1); i < blocks.end(1); ++i)
      if (!(op.row(i) == op.interior))
        throw RuntimeFailure("tridiagonal operator: row " + std::to_string(i) +
                             " of an interior block is not the interior row");
    factors.emplace_back(op, blocks.first(1), blocks.size);
  }
}

const BlockFactor& Solver::Impl::factor(std::int64_t k) const {
  if (k == 0) return factors[0];
  return k + 1 == blocks.count ? factors[1] : factors[2];
}

double Solver::Impl::before(std::int64_t k) const {
  if (k == 0 && !op.periodic) return 0.0;
  return k == mine.lo ? halo[0] : ends[static_cast<std::size_t>(2 * (k - 1 - mine.lo) + 1)];
}

double Solver::Impl::after(std::int64_t k) const {
  if (k + 1 == blocks.count && !op.periodic) return 0.0;
  return k + 1 == mine.hi ? halo[1] : ends[static_cast<std::size_t>(2 * (k + 1 - mine.lo))];
}

}  // namespace slab::tridiag

namespace slab::tridiag {

// My blocks, and my rows in the blocks of the ranks before me: a block has fewer than 2 block_rows
// rows, so only the ranks that own a row within that distance before my first can hold mine.
void Solver::Impl::plan() {
  const int me = comm.rank();
  mine = span_of(part, blocks, me);
  if (part.count() > 0)
    for (int q = part.owner(std::max<std::int64_t>(0, part.first() - 2 * blocks.size)); q < me; ++q)
      for (const Segment& s : span_of(part, blocks, q).tail)
        if (s.owner == me) lent.emplace_back(q, s);
  ends.assign(static_cast<std::size_t>(2 * (mine.hi - mine.lo)), 0.0);
  x.assign(static_cast<std::size_t>(mine.end - mine.begin), 0.0);
}

// Rows to blocks: my blocks' rows from my own rows and the tail from the ranks that hold it.
void Solver::Impl::load(std::span<const double> u) {
  mpi::RequestSet requests;
  for (const Segment& s : mine.tail)
    requests.add(comm.irecv(rows_of(std::span(x), mine.begin, s), s.owner, mpi::tag::rows_to_blocks));
  for (const auto& [q, s] : lent) requests.add(comm.isend(rows_of(u, part.first(), s), q, mpi::tag::rows_to_blocks));
  if (!x.empty()) std::copy(u.begin() + (mine.begin - part.first()), u.end(), x.begin());
  requests.wait_all();
  read_ends();
  halo = reduced->neighbour_ends(ends);
}

// Blocks to rows.
void Solver::Impl::store(std::span<double> u) {
  mpi::RequestSet requests;
  for (const auto& [q, s] : lent) requests.add(comm.irecv(rows_of(u, part.first(), s), q, mpi::tag::blocks_to_rows));
  for (const Segment& s : mine.tail)
    requests.add(comm.isend(rows_of(std::span<const double>(x), mine.begin, s), s.owner, mpi::tag::blocks_to_rows));
  if (!x.empty()) std::copy(x.begin(), x.begin() + (part.end() - mine.begin), u.begin() + (mine.begin - part.first()));
  requests.wait_all();
}

void Solver::Impl::read_ends() {
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    const auto i = static_cast<std::size_t>(2 * (k - mine.lo));
    ends[i] = block(k)[0];
    ends[i + 1] = block(k)[factor(k).rows() - 1];
  }
}

// Every block of mine with the previous step's ends as its neighbour values; then `ends` takes the
// block-local solutions' ends, the reduced right-hand side.
void Solver::Impl::sweep() {
  const std::int64_t nb = blocks.count;
  // sweep_uniform leaves out rc (and rd when identity_rhs): it serves only the operators without them.
  const bool uniform = op.interior.rc == 0 && (!op.identity_rhs || op.interior.rd == 1);
  std::vector<std::int64_t> interior;
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    if (uniform && k > 0 && k + 1 < nb) {
      interior.push_back(k);
      continue;
    }
    factor(k).sweep(block(k), before(k), after(k), op.identity_rhs);
  }
  sweep_interior(interior);
  read_ends();
}

// Interior blocks four at a time: independent dependency chains that the core overlaps. Their
// neighbour values are the ends of the neighbouring blocks (read before `ends` is overwritten).
void Solver::Impl::sweep_interior(const std::vector<std::int64_t>& ks) {
  std::array<double*, 4> data{};
  std::array<double, 4> lower{}, upper{};
  for (std::size_t i = 0; i < ks.size(); i += 4) {
    const auto g = static_cast<int>(std::min<std::size_t>(4, ks.size() - i));
    for (int j = 0; j < g; ++j) {
      const std::int64_t k = ks[i + static_cast<std::size_t>(j)];
      data[static_cast<std::size_t>(j)] = block(k);
      lower[static_cast<std::size_t>(j)] = before(k);
      upper[static_cast<std::size_t>(j)] = after(k);
    }
    const BlockFactor& f = factors[2];
    if (g == 4) f.sweep_uniform<4>(op.interior, data.data(), lower.data(), upper.data(), op.identity_rhs);
    if (g == 3) f.sweep_uniform<3>(op.interior, data.data(), lower.data(), upper.data(), op.identity_rhs);
    if (g == 2) f.sweep_uniform<2>(op.interior, data.data(), lower.data(), upper.data(), op.identity_rhs);
    if (g == 1) f.sweep_uniform<1>(op.interior, data.data(), lower.data(), upper.data(), op.identity_rhs);
  }
}

void Solver::Impl::correct() {
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    const auto i = static_cast<std::size_t>(2 * (k - mine.lo));
    factor(k).correct(block(k), before(k), after(k), ends[i], ends[i + 1]);
  }
}

void Solver::Impl::step() {
  sweep();
  reduced->solve(ends);
  halo = reduced->neighbour_ends(ends);
  correct();
}

Solver::Solver(const mpi::Comm& comm, const RowPartition& part, Operator op, std::int64_t block_rows)
    : impl_(std::make_unique<Impl>(comm, part, std::move(op), block_rows)) {}

Solver::~Solver() = default;

void Solver::load(std::span<const double> u) { impl_->load(u); }

void Solver::advance(std::int64_t steps) {
  for (std::int64_t k = 0; k < steps; ++k) impl_->step();
}

void Solver::store(std::span<double> u) { impl_->store(u); }

void Solver::step(std::span<double> u) {
  load(u);
  advance(1);
  store(u);
}

}  // namespace slab::tridiag
