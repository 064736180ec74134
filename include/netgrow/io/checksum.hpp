/// \file
/// netgrow/io/checksum.hpp: a 64-bit checksum of the tensors of a safetensors file (their names,
/// dtypes, shapes and bytes), which checkpoints record ("netgrow.checksum", io/checkpoint.hpp) so that
/// damaged tensor data is refused instead of loaded.
///
/// ~~~
/// const std::uint64_t h = io::tensors_checksum(st);      // over st.tensors, in name order
/// st.metadata["netgrow.checksum"] = io::checksum_hex(h);  // 16 lowercase hex digits
/// io::parse_checksum_hex("00ff00ff00ff00ff");              // the inverse; nullopt when malformed
/// ~~~
///
/// hash64 reads the bytes 8 at a time (little-endian words) into four independent lanes, each step
/// `lane = rotl(lane ^ word * k2, 31) * k1` with odd multipliers, then folds the lanes, the leftover
/// words and the zero-padded tail into one word the same way and finishes with an avalanche (xor-shift,
/// multiply). For fixed other input every step is a bijection of the word it takes in, so changing any
/// one 8-byte word of the input always changes the hash; the length is hashed too. Four lanes keep
/// the multiplier busy: several GB/s on one core, a few tens of milliseconds for 100 MB. It detects
/// damage, not tampering (not a cryptographic hash).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netgrow/io/dtype.hpp"
#include "netgrow/io/safetensors.hpp"

namespace netgrow::io {

namespace detail {

inline constexpr std::uint64_t hash_k1 = 0x9E3779B97F4A7C15ULL;  // odd: multiplying by it is a bijection
inline constexpr std::uint64_t hash_k2 = 0xC2B2AE3D27D4EB4FULL;  // odd
inline constexpr std::uint64_t hash_k3 = 0x165667B19E3779F9ULL;

/// One word into a lane: a bijection of the word for a fixed lane and of the lane for a fixed word.
inline std::uint64_t hash_round(std::uint64_t lane, std::uint64_t word) {
  return std::rotl(lane ^ (word * hash_k2), 31) * hash_k1;
}

inline std::uint64_t load_word(const std::byte* p) {
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);  // little-endian (safetensors.hpp asserts the host is)
  return w;
}

/// The final avalanche (MurmurHash3's 64-bit finaliser, a bijection).
inline std::uint64_t hash_finish(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace detail

/// The 64-bit hash of `bytes`, continuing from `seed` (pass the previous hash to chain several
/// pieces). See the file comment.
inline std::uint64_t hash64(std::span<const std::byte> bytes, std::uint64_t seed = 0) {
  using namespace detail;
  const std::uint64_t n = bytes.size();
  const std::byte* p = bytes.data();
  std::size_t left = bytes.size();
  std::array<std::uint64_t, 4> lane = {seed + hash_k1 + hash_k2, seed + hash_k2, seed, seed - hash_k1};
  while (left >= 32) {
    for (std::size_t i = 0; i < 4; ++i) lane[i] = hash_round(lane[i], load_word(p + 8 * i));
    p += 32;
    left -= 32;
  }
  std::uint64_t h = hash_round(seed ^ hash_k3, n);
  for (const std::uint64_t l : lane) h = hash_round(h, l);
  for (; left >= 8; p += 8, left -= 8) h = hash_round(h, load_word(p));
  if (left > 0) {
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, left);
    h = hash_round(h, tail);
  }
  return hash_finish(h ^ n);
}

/// The checksum of st's tensors: for each tensor in name order its name, dtype name, rank and
/// dimensions (each length-prefixed, 64-bit little-endian) and then its bytes, chained through
/// hash64. The metadata is not covered.
inline std::uint64_t tensors_checksum(const Safetensors& st) {
  std::uint64_t h = 0;
  std::vector<std::byte> head;
  auto put_u64 = [&](std::uint64_t v) {
    const auto* b = reinterpret_cast<const std::byte*>(&v);
    head.insert(head.end(), b, b + sizeof v);
  };
  auto put_string = [&](std::string_view s) {
    put_u64(s.size());
    const auto* chars = reinterpret_cast<const std::byte*>(s.data());
    head.insert(head.end(), chars, chars + s.size());
  };
  for (const auto& [name, t] : st.tensors) {
    head.clear();
    put_string(name);
    put_string(dtype_name(t.dtype));  // the format's name, not the enum's value: stable across versions
    put_u64(t.shape.size());
    for (const std::int64_t d : t.shape) put_u64(static_cast<std::uint64_t>(d));
    h = hash64(head, h);
    h = hash64(t.data, h);
  }
  return h;
}

/// `h` as 16 lowercase hexadecimal digits, most significant first.
inline std::string checksum_hex(std::uint64_t h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[static_cast<std::size_t>(i)] = digits[h & 0xF];
  return s;
}

/// The inverse of checksum_hex (upper-case digits accepted); nullopt unless `text` is exactly 16
/// hexadecimal digits.
inline std::optional<std::uint64_t> parse_checksum_hex(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t h = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    if (v < 0) return std::nullopt;
    h = (h << 4) | static_cast<std::uint64_t>(v);
  }
  return h;
}

}  // namespace netgrow::io
