/// \file
/// netgrow/core/counter_hash.hpp: random bits as a pure function of integer coordinates (a counter-based
/// generator), the same on the host and in CUDA kernels. Where a sequential generator (core/rng.hpp)
/// gives each value a place in one stream, these give each value a key: layers that need randomness per
/// element (Dropout) draw it independently of the tensor's layout and of the device, so a width growth
/// leaves the old elements' draws unchanged and a GPU kernel reproduces the CPU's bits.
///
/// The mixer is SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014; the 64-bit variant of
/// MurmurHash3's fmix with Stafford's constants "Mix13"), a bijection on 64-bit words.
#pragma once

#include <cstdint>

#include "netgrow/core/config.hpp"

namespace netgrow {

/// SplitMix64's finaliser: a bijection of 64-bit words whose output bits each depend on every input bit.
NETGROW_HOST_DEVICE constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The key of coordinate `c` under key `k`: distinct for distinct c (given k), well mixed; chain it to key
/// tuples: hash_key(hash_key(seed, a), b).
NETGROW_HOST_DEVICE constexpr std::uint64_t hash_key(std::uint64_t k, std::uint64_t c) {
  return mix64(k + 0x9e3779b97f4a7c15ULL * (c + 1));
}

}  // namespace netgrow
