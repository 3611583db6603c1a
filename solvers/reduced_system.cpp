#include "solvers/reduced_system.hpp"

#include <algorithm>
#include <cmath>
#include <compare>
#include <optional>
#include <string>
#include <vector>

namespace slab::tridiag {

namespace {

// The two reduced unknowns of a block, as indices into (F, L) pairs.
constexpr std::size_t F = 0, L = 1;

using Vec2 = std::array<double, 2>;
using Mat2 = std::array<Vec2, 2>;  // [row][column], rows and columns (F, L)

// What a transfer is called on both sides of it, so that sender and receiver order the values of
// one message alike: the block that uses the value, the block that holds it, and which of its two.
struct Key {
  std::int64_t user = 0, holder = 0;
  std::size_t part = 0;
  auto operator<=>(const Key&) const = default;
};

// One round of values between ranks: entries of a source array (`width` doubles each, numbered by
// slots) into entries of an inbox. Each peer gets one message, its values ordered by Key.
class Exchange {
 public:
  explicit Exchange(int tag) : tag_(tag) {}

  // Source entry `slot` goes to rank `to` (another rank), where it is known by `key`.
  void send(int to, const Key& key, std::size_t slot) { peer(sends_, to).items.push_back({key, slot}); }
  // The value known by `key` comes from rank `from` into inbox entry `inbox`; from this rank itself
  // it is a copy of source entry `slot`.
  void receive(int from, int me, const Key& key, std::size_t inbox, std::size_t slot) {
    if (from == me)
      copies_.emplace_back(slot, inbox);
    else
      peer(receives_, from).items.push_back({key, inbox});
  }
  [[nodiscard]] std::size_t values_sent() const noexcept {
    std::size_t count = 0;
    for (const Peer& p : sends_) count += p.items.size();
    return count;
  }
  // After the last send and receive.
  void seal() {
    for (auto* peers : {&sends_, &receives_}) {
      std::ranges::sort(*peers, {}, &Peer::rank);
      for (Peer& p : *peers) std::ranges::sort(p.items, {}, &Item::key);
    }
  }

  void run(const mpi::Comm& comm, std::span<const double> source, std::span<double> inbox, std::size_t width) {
    for (const auto& [slot, to] : copies_)
      std::copy_n(source.begin() + static_cast<std::ptrdiff_t>(slot * width), width,
                  inbox.begin() + static_cast<std::ptrdiff_t>(to * width));
    if (sends_.empty() && receives_.empty()) return;
    mpi::RequestSet requests;
    for (Peer& p : receives_) {
      p.buffer.resize(p.items.size() * width);
      requests.add(comm.irecv(std::span(p.buffer), p.rank, tag_));
    }
    for (Peer& p : sends_) {
      p.buffer.resize(p.items.size() * width);
      for (std::size_t i = 0; i < p.items.size(); ++i)
        std::copy_n(source.begin() + static_cast<std::ptrdiff_t>(p.items[i].slot * width), width,
                    p.buffer.begin() + static_cast<std::ptrdiff_t>(i * width));
      requests.add(comm.isend(std::span<const double>(p.buffer), p.rank, tag_));
    }
    requests.wait_all();
    for (const Peer& p : receives_)
      for (std::size_t i = 0; i < p.items.size(); ++i)
        std::copy_n(p.buffer.begin() + static_cast<std::ptrdiff_t>(i * width), width,
                    inbox.begin() + static_cast<std::ptrdiff_t>(p.items[i].slot * width));
  }

 private:
  struct Item {
    Key key;
    std::size_t slot;
  };
  struct Peer {
    int rank;
    std::vector<Item> items;
    std::vector<double> buffer;
  };
  static Peer& peer(std::vector<Peer>& peers, int rank) {
    for (Peer& p : peers)
      if (p.rank == rank) return p;
    return peers.emplace_back(Peer{rank, {}, {}});
  }
  std::vector<Peer> sends_, receives_;
  std::vector<std::pair<std::size_t, std::size_t>> copies_;  // (source slot, inbox entry)
  int tag_;
};

constexpr std::size_t none = static_cast<std::size_t>(-1);

// A kept equation of one level: its couplings (applied to the values its eliminated neighbours
// send) and where those values land in the inbox (none: that neighbour is not eliminated here).
struct Kept {
  std::size_t at;  // local block index
  Vec2 a, c;
  std::size_t from_prev = none, from_next = none;
};

// An eliminated equation of one level: D^{-1}, alpha = D^{-1} a, gamma = D^{-1} c, and where the
// values of its neighbours land in back-substitution (none: no next neighbour).
struct Eliminated {
  std::size_t at;
  Mat2 inverse;
  Vec2 alpha, gamma;
  std::size_t x_prev = none, x_next = none;
};

struct Level {
  std::vector<Kept> kept;
  std::vector<Eliminated> eliminated;
  Exchange down, up;
  explicit Level(int j) : down(mpi::tag::reduced_levels + 2 * j), up(mpi::tag::reduced_levels + 2 * j + 1) {}
};

Vec2 times(const Mat2& m, const Vec2& v) { return {m[F][F] * v[F] + m[F][L] * v[L], m[L][F] * v[F] + m[L][L] * v[L]}; }

// The inverse of a 2x2 matrix by its adjugate; nullopt when singular in double precision.
std::optional<Mat2> inverse_of(const Mat2& m) {
  const double det = m[F][F] * m[L][L] - m[F][L] * m[L][F];
  if (!(std::isfinite(det) && det != 0)) return std::nullopt;
  const Mat2 inv{{{m[L][L] / det, -m[F][L] / det}, {-m[L][F] / det, m[F][F] / det}}};
  for (const Vec2& row : inv)
    for (const double v : row)
      if (!std::isfinite(v)) return std::nullopt;
  return inv;
}

std::size_t slot(std::size_t at, std::size_t part) { return 2 * at + part; }

}  // namespace

struct ReducedSystem::Impl {
  const mpi::Comm& comm;
  std::int64_t n;
  bool periodic;
  std::int64_t lo, hi;
  std::function<int(std::int64_t)> owner;
  std::vector<Level> levels;
  std::optional<Mat2> root_inverse;  // of block 0's last equation, on its owner
  std::vector<double> inbox;
  Exchange neighbours{mpi::tag::reduced_neighbours};

  Impl(const mpi::Comm& c, std::int64_t count, bool cyclic, std::int64_t first, std::int64_t end,
       std::function<int(std::int64_t)> owner_of)
      : comm(c), n(count), periodic(cyclic), lo(first), hi(end), owner(std::move(owner_of)) {}

  // The neighbours of multiple-of-h index i at the level of step h.
  [[nodiscard]] std::optional<std::int64_t> prev(std::int64_t i, std::int64_t h) const {
    if (i >= h) return i - h;
    if (!periodic) return std::nullopt;
    return (n - 1) / h * h;
  }
  [[nodiscard]] std::optional<std::int64_t> next(std::int64_t i, std::int64_t h) const {
    if (i + h < n) return i + h;
    if (!periodic) return std::nullopt;
    return 0;
  }
  [[nodiscard]] static bool odd(std::int64_t i, std::int64_t h) { return i / h % 2 == 1; }
  [[nodiscard]] std::size_t local(std::int64_t k) const { return static_cast<std::size_t>(k - lo); }
  [[nodiscard]] std::size_t new_inbox_entry() {
    inbox.push_back(0);
    return inbox.size() - 1;
  }

  void plan_level(int j);
  void plan_neighbours();
  [[nodiscard]] bool factor(const std::function<Spikes(std::int64_t)>& spikes);
  void solve(std::span<double> ends);
};

// Who sends what to whom at level j, as seen from this rank's blocks.
void ReducedSystem::Impl::plan_level(int j) {
  const std::int64_t h = std::int64_t{1} << j;
  const int me = comm.rank();
  Level& level = levels.emplace_back(j);
  for (std::int64_t i = (lo + h - 1) / h * h; i < hi; i += h) {
    const std::size_t at = local(i);
    const std::optional<std::int64_t> p = prev(i, h), q = next(i, h);
    if (odd(i, h)) {
      // Eliminated: g goes down to both neighbours (its F row to the previous, L to the next);
      // x of both comes back up (L of the previous, F of the next).
      Eliminated e{at, {}, {}, {}, new_inbox_entry(), none};
      if (owner(*p) != me) level.down.send(owner(*p), {*p, i, F}, slot(at, F));
      level.up.receive(owner(*p), me, {i, *p, L}, e.x_prev, *p >= lo && *p < hi ? slot(local(*p), L) : none);
      if (q) {
        if (owner(*q) != me) level.down.send(owner(*q), {*q, i, L}, slot(at, L));
        e.x_next = new_inbox_entry();
        level.up.receive(owner(*q), me, {i, *q, F}, e.x_next, *q >= lo && *q < hi ? slot(local(*q), F) : none);
      }
      level.eliminated.push_back(e);
    } else {
      // Kept: the mirror image.
      Kept k{at, {}, {}, none, none};
      if (p && odd(*p, h)) {
        k.from_prev = new_inbox_entry();
        level.down.receive(owner(*p), me, {i, *p, L}, k.from_prev, *p >= lo && *p < hi ? slot(local(*p), L) : none);
        if (owner(*p) != me) level.up.send(owner(*p), {*p, i, F}, slot(at, F));
      }
      if (q && odd(*q, h)) {
        k.from_next = new_inbox_entry();
        level.down.receive(owner(*q), me, {i, *q, F}, k.from_next, *q >= lo && *q < hi ? slot(local(*q), F) : none);
        if (owner(*q) != me) level.up.send(owner(*q), {*q, i, L}, slot(at, L));
      }
      level.kept.push_back(k);
    }
  }
  level.down.seal();
  level.up.seal();
}

// The halo of the solver's sweep and correction: L of the block before mine, F of the one after.
void ReducedSystem::Impl::plan_neighbours() {
  if (lo == hi) return;
  const int me = comm.rank();
  const bool has_before = lo > 0 || periodic, has_after = hi < n || periodic;
  const std::int64_t before = (lo - 1 + n) % n, after = hi % n;
  if (has_before) {
    neighbours.receive(owner(before), me, {0, before, L}, 0, before >= lo ? slot(local(before), L) : none);
    if (owner(before) != me) neighbours.send(owner(before), {0, lo, F}, slot(0, F));
  }
  if (has_after) {
    neighbours.receive(owner(after), me, {0, after, F}, 1, after < hi ? slot(local(after), F) : none);
    if (owner(after) != me) neighbours.send(owner(after), {0, hi - 1, L}, slot(local(hi - 1), L));
  }
  neighbours.seal();
}

// The level matrices, by the levels themselves: each eliminated equation sends (alpha, gamma) of
// the row its neighbour needs; each kept one folds them into its D and couplings. A coupling to
// itself (block 0 alone, periodic) joins D.
// Returns whether a pivot of this rank was singular.
bool ReducedSystem::Impl::factor(const std::function<Spikes(std::int64_t)>& spikes) {
  const auto m = static_cast<std::size_t>(hi - lo);
  std::vector<Mat2> d(m, Mat2{{{1, 0}, {0, 1}}});
  std::vector<Vec2> a(m), c(m);
  auto fold_self = [&](std::int64_t i, std::int64_t h) {
    const std::size_t at = local(i);
    if (prev(i, h) == i) d[at][F][L] += a[at][F], d[at][L][L] += a[at][L], a[at] = {0, 0};
    if (next(i, h) == i) d[at][F][F] += c[at][F], d[at][L][F] += c[at][L], c[at] = {0, 0};
  };
  for (std::int64_t k = lo; k < hi; ++k) {
    const Spikes s = spikes(k);
    if (prev(k, 1)) a[local(k)] = {s.v_first, s.v_last};
    if (next(k, 1)) c[local(k)] = {s.w_first, s.w_last};
    fold_self(k, 1);
  }
  bool singular = false;
  std::vector<double> sent(2 * m * 2), received(2 * inbox.size());
  for (std::size_t j = 0; j < levels.size(); ++j) {
    Level& level = levels[j];
    const std::int64_t h = std::int64_t{1} << j;
    for (Eliminated& e : level.eliminated) {
      const std::optional<Mat2> inv = inverse_of(d[e.at]);
      singular = singular || !inv;
      e.inverse = inv.value_or(Mat2{});
      e.alpha = times(e.inverse, a[e.at]);
      e.gamma = times(e.inverse, c[e.at]);
      for (const std::size_t part : {F, L})
        sent[2 * slot(e.at, part)] = e.alpha[part], sent[2 * slot(e.at, part) + 1] = e.gamma[part];
    }
    level.down.run(comm, sent, received, 2);
    for (Kept& k : level.kept) {
      k.a = a[k.at], k.c = c[k.at];
      Mat2& dk = d[k.at];
      if (k.from_prev != none) {  // D -= a gammaL e_F^T;  a <- -a alphaL
        const double alpha = received[2 * k.from_prev], gamma = received[2 * k.from_prev + 1];
        dk[F][F] -= k.a[F] * gamma, dk[L][F] -= k.a[L] * gamma;
        a[k.at] = {-(k.a[F] * alpha), -(k.a[L] * alpha)};
      }
      if (k.from_next != none) {  // D -= c alphaF e_L^T;  c <- -c gammaF
        const double alpha = received[2 * k.from_next], gamma = received[2 * k.from_next + 1];
        dk[F][L] -= k.c[F] * alpha, dk[L][L] -= k.c[L] * alpha;
        c[k.at] = {-(k.c[F] * gamma), -(k.c[L] * gamma)};
      }
      fold_self(lo + static_cast<std::int64_t>(k.at), 2 * h);
    }
  }
  if (lo == 0 && hi > 0) {
    root_inverse = inverse_of(d[0]);
    singular = singular || !root_inverse;
  }
  return singular;
}

void ReducedSystem::Impl::solve(std::span<double> ends) {
  auto pair = [&](std::size_t at) { return Vec2{ends[slot(at, F)], ends[slot(at, L)]}; };
  auto set = [&](std::size_t at, const Vec2& v) { ends[slot(at, F)] = v[F], ends[slot(at, L)] = v[L]; };
  for (Level& level : levels) {
    for (const Eliminated& e : level.eliminated) set(e.at, times(e.inverse, pair(e.at)));
    level.down.run(comm, ends, inbox, 1);
    for (const Kept& k : level.kept)
      for (const std::size_t part : {F, L}) {
        double& y = ends[slot(k.at, part)];
        if (k.from_prev != none) y -= k.a[part] * inbox[k.from_prev];
        if (k.from_next != none) y -= k.c[part] * inbox[k.from_next];
      }
  }
  if (root_inverse) set(0, times(*root_inverse, pair(0)));
  for (auto level = levels.rbegin(); level != levels.rend(); ++level) {
    level->up.run(comm, ends, inbox, 1);
    for (const Eliminated& e : level->eliminated)
      for (const std::size_t part : {F, L}) {
        double& x = ends[slot(e.at, part)];
        x -= e.alpha[part] * inbox[e.x_prev];
        if (e.x_next != none) x -= e.gamma[part] * inbox[e.x_next];
      }
  }
}

ReducedSystem::ReducedSystem(const mpi::Comm& comm, std::int64_t count, bool periodic, std::int64_t lo, std::int64_t hi,
                             const std::function<int(std::int64_t)>& owner,
                             const std::function<Spikes(std::int64_t)>& spikes)
    : impl_(std::make_unique<Impl>(comm, count, periodic, lo, hi, owner)) {
  if (count < 1 || lo < 0 || hi < lo || hi > count)
    throw std::logic_error("ReducedSystem: blocks [" + std::to_string(lo) + ", " + std::to_string(hi) + ") of " +
                           std::to_string(count));
  mpi::collectively(comm, [&] {
    for (int j = 0; (std::int64_t{1} << j) < count; ++j) impl_->plan_level(j);
    impl_->plan_neighbours();
  });
  if (comm.any(impl_->factor(spikes))) throw SingularSystem("the reduced tridiagonal system is singular");
}

ReducedSystem::~ReducedSystem() = default;

void ReducedSystem::solve(std::span<double> ends) { impl_->solve(ends); }

std::array<double, 2> ReducedSystem::neighbour_ends(std::span<const double> ends) {
  std::array<double, 2> halo{0, 0};
  impl_->neighbours.run(impl_->comm, ends, halo, 1);
  return halo;
}

int ReducedSystem::levels() const noexcept { return static_cast<int>(impl_->levels.size()); }

std::size_t ReducedSystem::values_sent_per_step() const noexcept {
  std::size_t count = impl_->neighbours.values_sent();
  for (const Level& level : impl_->levels) count += level.down.values_sent() + level.up.values_sent();
  return count;
}

}  // namespace slab::tridiag
