// Overflow-checked unsigned 64-bit arithmetic for sizes computed from user parameters (bytes,
// values, steps). A result that does not fit in 64 bits never wraps: it becomes "overflowed",
// stays so through later arithmetic, and compares greater than every representable count, so
// that "--nx 4611686018427387904" is refused as too large instead of wrapping to a small size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace slab {

class Checked {
 public:
  constexpr Checked() = default;
  constexpr Checked(std::uint64_t value) : value_(value) {}  // NOLINT: implicit by design
  [[nodiscard]] static constexpr Checked overflow() {
    Checked c;
    c.overflowed_ = true;
    return c;
  }
  // A signed parameter: negative values count as overflowed (they are refused elsewhere).
  [[nodiscard]] static constexpr Checked of(std::int64_t value) {
    return value < 0 ? overflow() : Checked(static_cast<std::uint64_t>(value));
  }

  [[nodiscard]] constexpr bool overflowed() const noexcept { return overflowed_; }
  // The value; UINT64_MAX when overflowed.
  [[nodiscard]] constexpr std::uint64_t value() const noexcept { return overflowed_ ? UINT64_MAX : value_; }

  friend constexpr Checked operator+(Checked a, Checked b) {
    std::uint64_t r = 0;
    if (a.overflowed_ || b.overflowed_ || __builtin_add_overflow(a.value_, b.value_, &r)) return overflow();
    return r;
  }
  friend constexpr Checked operator*(Checked a, Checked b) {
    std::uint64_t r = 0;
    if (a.overflowed_ || b.overflowed_ || __builtin_mul_overflow(a.value_, b.value_, &r)) return overflow();
    return r;
  }
  // Rounded up; division by zero overflows.
  [[nodiscard]] constexpr Checked divide_up(std::uint64_t d) const {
    if (overflowed_ || d == 0) return overflow();
    return value_ / d + (value_ % d != 0 ? 1 : 0);
  }
  Checked& operator+=(Checked b) { return *this = *this + b; }
  friend constexpr bool operator==(Checked a, Checked b) {
    return a.overflowed_ == b.overflowed_ && (a.overflowed_ || a.value_ == b.value_);
  }
  friend constexpr bool operator<(Checked a, Checked b) {
    if (a.overflowed_) return false;
    return b.overflowed_ || a.value_ < b.value_;
  }
  friend constexpr bool operator>(Checked a, Checked b) { return b < a; }
  friend constexpr bool operator<=(Checked a, Checked b) { return !(b < a); }
  friend constexpr bool operator>=(Checked a, Checked b) { return !(a < b); }

 private:
  std::uint64_t value_ = 0;
  bool overflowed_ = false;
};

// Bytes in words a person reads: "812 B", "1.5 GiB", "more than 16 EiB" when overflowed.
[[nodiscard]] std::string format_bytes(Checked bytes);

// A size a person writes, in bytes: digits, optionally followed by a unit: B, KiB, MiB, GiB, TiB,
// or K, M, G, T, also read as powers of 1024 (as `lfs setstripe -S 4M` and dd read them); "4MiB",
// "4M" and "4194304" are the same. Nullopt for anything else (a sign, a fraction, "MB", more than
// 2^64-1 bytes).
[[nodiscard]] std::optional<std::uint64_t> parse_bytes(const std::string& text);

}  // namespace slab
