/// \file
/// netgrow/core/rng.hpp: the seedable random number generator used everywhere in netgrow.
///
/// xoshiro256** (Blackman & Vigna) seeded through splitmix64, with its own uniform, normal and integer
/// transforms, so the same seed gives bitwise-identical numbers on every platform and standard library
/// (std::normal_distribution is implementation-defined, so it is not used). The full state is four
/// 64-bit words (`state()` / `set_state()`) so checkpoints can record and restore it.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

/// xoshiro256** generator (see the file comment). A copy continues with the same numbers as the original.
class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;  ///< the four 64-bit state words

  /// Seeded through splitmix64: the same seed gives the same numbers everywhere.
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  /// Restarts the generator as Rng(seed) would.
  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  /// Raw 64 random bits.
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Standard normal via the Box-Muller transform. Each call consumes two uniforms; normal_pair()
  /// returns both values when a caller needs many.
  ///@{
  double normal() { return normal_pair()[0]; }
  std::array<double, 2> normal_pair() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();  // log(0) guard; probability 2^-53 per draw
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 2.0 * std::numbers::pi * u2;
    return {r * std::cos(a), r * std::sin(a)};
  }
  ///@}

  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).
  std::uint64_t uniform_int(std::uint64_t n) {
    require(n > 0, "Rng::uniform_int: n must be positive");
    __extension__ using u128 = unsigned __int128;
    u128 m = static_cast<u128>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<u128>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// An independent generator derived from this one's next output (advances this one by one step).
  Rng split() { return Rng(next_u64()); }

  /// The full state, for checkpoints.
  const State& state() const { return s_; }
  /// Continues from a state() of any Rng; ArgumentError for the all-zero state, which xoshiro cannot leave.
  void set_state(const State& s) {
    require(s[0] | s[1] | s[2] | s[3], "Rng::set_state: the all-zero state is invalid for xoshiro256**");
    s_ = s;
  }

  /// Same state: both produce the same numbers from here on.
  friend bool operator==(const Rng& a, const Rng& b) { return a.s_ == b.s_; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  State s_{};
};

}  // namespace netgrow
