#include "solvers/tridiagonal.hpp"

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
      throw RuntimeFailure("tridiagonal block has a " + std::string(pivot == 0 ? "zero" : "non-finite") +
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

// ---- the reduced system

namespace {

// A banded matrix (two sub- and two super-diagonals) plus entries in column 0 and column N-1
// outside the band (the wrap-around of a cyclic system), factored once without pivoting (the
// reduced system of a diagonally dominant matrix is diagonally dominant); the corner columns by
// the Sherman-Morrison-Woodbury formula.
class Reduced {
 public:
  explicit Reduced(std::size_t n) : n_(n), band_(n), lower_(n), corner0_(n, 0.0), corner1_(n, 0.0) {
    for (auto& row : band_) row = {0, 0, 1, 0, 0};
  }
  void add(std::size_t row, std::size_t col, double value) {
    if (row + 2 >= col && col + 2 >= row)
      band_[row][col + 2 - row] += value;
    else if (col == 0)
      corner0_[row] += value, cyclic_ = true;
    else
      corner1_[row] += value, cyclic_ = true;
  }
  void factor();
  void solve(std::vector<double>& x) const;

 private:
  void band_solve(std::vector<double>& x) const;
  std::size_t n_;
  std::vector<std::array<double, 5>> band_;   // band_[r][o]: column r + o - 2
  std::vector<std::array<double, 2>> lower_;  // elimination multipliers of columns r-2, r-1
  std::vector<double> corner0_, corner1_;     // become A_band^{-1} corner
  double s_[2][2] = {};                       // the Woodbury capacitance matrix
  bool cyclic_ = false;
};

void Reduced::factor() {
  for (std::size_t j = 0; j < n_; ++j) {
    const double pivot = band_[j][2];
    if (!(std::isfinite(pivot) && pivot != 0)) throw RuntimeFailure("the reduced tridiagonal system is singular");
    for (std::size_t r = j + 1; r < std::min(n_, j + 3); ++r) {
      const double f = band_[r][j + 2 - r] / pivot;
      lower_[r][j + 2 - r] = f;
      band_[r][j + 2 - r] = 0;
      for (std::size_t c = j + 1; c < std::min(n_, j + 3); ++c) band_[r][c + 2 - r] -= f * band_[j][c + 2 - j];
    }
  }
  if (!cyclic_) return;
  band_solve(corner0_);
  band_solve(corner1_);
  s_[0][0] = 1 + corner0_.front(), s_[0][1] = corner1_.front();
  s_[1][0] = corner0_.back(), s_[1][1] = 1 + corner1_.back();
}

void Reduced::band_solve(std::vector<double>& x) const {
  for (std::size_t r = 1; r < n_; ++r) {
    if (r >= 2) x[r] -= lower_[r][0] * x[r - 2];
    x[r] -= lower_[r][1] * x[r - 1];
  }
  for (std::size_t r = n_; r-- > 0;) {
    double s = x[r];
    if (r + 1 < n_) s -= band_[r][3] * x[r + 1];
    if (r + 2 < n_) s -= band_[r][4] * x[r + 2];
    x[r] = s / band_[r][2];
  }
}

void Reduced::solve(std::vector<double>& x) const {
  band_solve(x);
  if (!cyclic_) return;
  const double det = s_[0][0] * s_[1][1] - s_[0][1] * s_[1][0];
  const double t0 = (s_[1][1] * x.front() - s_[0][1] * x.back()) / det;
  const double t1 = (s_[0][0] * x.back() - s_[1][0] * x.front()) / det;
  for (std::size_t r = 0; r < n_; ++r) x[r] = (x[r] - corner0_[r] * t0) - corner1_[r] * t1;
}

}  // namespace

// ---- the distributed solver

namespace {

constexpr int to_blocks_tag = 1601;
constexpr int to_rows_tag = 1602;

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

// The solver keeps the state in its own layout: each rank holds the whole blocks that start on it.
// A step then needs no point-to-point message at all: the neighbour values a block's right-hand
// side needs are the first and last values of the neighbouring blocks, which every rank has from
// the previous step's reduced system. One allgather per step.
struct Solver::Impl {
  const mpi::Comm& comm;
  RowPartition part;
  Operator op;
  Blocks blocks;
  std::vector<BlockFactor> factors;  // first block, last block, interior (as many as differ)
  Reduced reduced;
  Span mine;
  std::vector<std::pair<int, Segment>> lent;  // my rows in other ranks' blocks: (owner, rows)
  std::vector<double> x;                      // rows [mine.begin, mine.end)
  std::vector<int> counts, displacements;     // of the reduced right-hand side, per rank
  std::vector<double> mine_ends, ends;        // first and last value of my blocks / of every block

  Impl(const mpi::Comm& c, const RowPartition& p, Operator o, std::int64_t block_rows);
  [[nodiscard]] const BlockFactor& factor(std::int64_t k) const;
  [[nodiscard]] double* block(std::int64_t k) { return x.data() + (blocks.first(k) - mine.begin); }
  void plan();
  void load(std::span<const double> u);
  void store(std::span<double> u);
  void gather_ends();
  void sweep();
  void sweep_interior(const std::vector<std::int64_t>& ks);
  void correct();
  void step();
};

Solver::Impl::Impl(const mpi::Comm& c, const RowPartition& p, Operator o, std::int64_t block_rows)
    : comm(c),
      part(p),
      op(std::move(o)),
      blocks(op.n, block_rows),
      reduced(2 * static_cast<std::size_t>(blocks.count)) {
  if (op.periodic && op.n < 3) throw InputError("a periodic tridiagonal system needs at least 3 rows");
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
  for (std::int64_t k = 0; k < nb; ++k) {
    const BlockFactor& f = factor(k);
    const auto F = static_cast<std::size_t>(2 * k), L = F + 1, N = 2 * static_cast<std::size_t>(nb);
    if (k > 0 || op.periodic) reduced.add(F, (F + N - 1) % N, f.v_first()), reduced.add(L, (F + N - 1) % N, f.v_last());
    if (k + 1 < nb || op.periodic) reduced.add(F, (F + 2) % N, f.w_first()), reduced.add(L, (F + 2) % N, f.w_last());
  }
  reduced.factor();
  plan();
}

const BlockFactor& Solver::Impl::factor(std::int64_t k) const {
  if (k == 0) return factors[0];
  return k + 1 == blocks.count ? factors[1] : factors[2];
}

}  // namespace slab::tridiag

namespace slab::tridiag {

void Solver::Impl::plan() {
  const int ranks = comm.size(), me = comm.rank();
  counts.assign(static_cast<std::size_t>(ranks), 0);
  displacements.assign(static_cast<std::size_t>(ranks), 0);
  for (int q = 0; q < ranks; ++q) {
    Span span = span_of(part, blocks, q);
    counts[static_cast<std::size_t>(q)] = static_cast<int>(2 * (span.hi - span.lo));
    displacements[static_cast<std::size_t>(q)] = static_cast<int>(2 * span.lo);
    for (const Segment& s : span.tail)
      if (s.owner == me) lent.emplace_back(q, s);
    if (q == me) mine = std::move(span);
  }
  ends.assign(2 * static_cast<std::size_t>(blocks.count), 0.0);
  mine_ends.assign(static_cast<std::size_t>(2 * (mine.hi - mine.lo)), 0.0);
  x.assign(static_cast<std::size_t>(mine.end - mine.begin), 0.0);
}

// Rows to blocks: my blocks' rows from my own rows and the tail from the ranks that hold it.
void Solver::Impl::load(std::span<const double> u) {
  mpi::RequestSet requests;
  for (const Segment& s : mine.tail)
    requests.add(comm.irecv(rows_of(std::span(x), mine.begin, s), s.owner, to_blocks_tag));
  for (const auto& [q, s] : lent) requests.add(comm.isend(rows_of(u, part.first(), s), q, to_blocks_tag));
  if (!x.empty()) std::copy(u.begin() + (mine.begin - part.first()), u.end(), x.begin());
  requests.wait_all();
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    const auto i = static_cast<std::size_t>(2 * (k - mine.lo));
    mine_ends[i] = block(k)[0];
    mine_ends[i + 1] = block(k)[factor(k).rows() - 1];
  }
  gather_ends();
}

// Blocks to rows.
void Solver::Impl::store(std::span<double> u) {
  mpi::RequestSet requests;
  for (const auto& [q, s] : lent) requests.add(comm.irecv(rows_of(u, part.first(), s), q, to_rows_tag));
  for (const Segment& s : mine.tail)
    requests.add(comm.isend(rows_of(std::span<const double>(x), mine.begin, s), s.owner, to_rows_tag));
  if (!x.empty()) std::copy(x.begin(), x.begin() + (part.end() - mine.begin), u.begin() + (mine.begin - part.first()));
  requests.wait_all();
}

void Solver::Impl::gather_ends() {
  SLAB_MPI(MPI_Allgatherv(mine_ends.data(), static_cast<int>(mine_ends.size()), MPI_DOUBLE, ends.data(), counts.data(),
                          displacements.data(), MPI_DOUBLE, comm.get()));
}

void Solver::Impl::sweep() {
  const std::int64_t nb = blocks.count;
  const auto value = [&](std::int64_t i) { return ends[static_cast<std::size_t>((i + 2 * nb) % (2 * nb))]; };
  std::vector<std::int64_t> interior;
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    if (k > 0 && k + 1 < nb) {
      interior.push_back(k);
      continue;
    }
    const double before = k > 0 || op.periodic ? value(2 * k - 1) : 0.0;
    const double after = k + 1 < nb || op.periodic ? value(2 * k + 2) : 0.0;
    factor(k).sweep(block(k), before, after, op.identity_rhs);
  }
  sweep_interior(interior);
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    const auto i = static_cast<std::size_t>(2 * (k - mine.lo));
    mine_ends[i] = block(k)[0];
    mine_ends[i + 1] = block(k)[factor(k).rows() - 1];
  }
}

// Interior blocks four at a time: independent dependency chains that the core overlaps. Their
// neighbour values are the ends of the neighbouring blocks (read before the reduced solve).
void Solver::Impl::sweep_interior(const std::vector<std::int64_t>& ks) {
  std::array<double*, 4> data{};
  std::array<double, 4> before{}, after{};
  for (std::size_t i = 0; i < ks.size(); i += 4) {
    const auto g = static_cast<int>(std::min<std::size_t>(4, ks.size() - i));
    for (int j = 0; j < g; ++j) {
      const std::int64_t k = ks[i + static_cast<std::size_t>(j)];
      data[static_cast<std::size_t>(j)] = block(k);
      before[static_cast<std::size_t>(j)] = ends[static_cast<std::size_t>(2 * k - 1)];
      after[static_cast<std::size_t>(j)] = ends[static_cast<std::size_t>(2 * k + 2)];
    }
    const BlockFactor& f = factors[2];
    if (g == 4) f.sweep_uniform<4>(op.interior, data.data(), before.data(), after.data(), op.identity_rhs);
    if (g == 3) f.sweep_uniform<3>(op.interior, data.data(), before.data(), after.data(), op.identity_rhs);
    if (g == 2) f.sweep_uniform<2>(op.interior, data.data(), before.data(), after.data(), op.identity_rhs);
    if (g == 1) f.sweep_uniform<1>(op.interior, data.data(), before.data(), after.data(), op.identity_rhs);
  }
}

void Solver::Impl::correct() {
  const std::int64_t nb = blocks.count;
  const auto value = [&](std::int64_t i) { return ends[static_cast<std::size_t>((i + 2 * nb) % (2 * nb))]; };
  for (std::int64_t k = mine.lo; k < mine.hi; ++k) {
    const double lower = k > 0 || op.periodic ? value(2 * k - 1) : 0.0;
    const double upper = k + 1 < nb || op.periodic ? value(2 * k + 2) : 0.0;
    factor(k).correct(block(k), lower, upper, value(2 * k), value(2 * k + 1));
  }
}

void Solver::Impl::step() {
  sweep();
  gather_ends();
  reduced.solve(ends);
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
