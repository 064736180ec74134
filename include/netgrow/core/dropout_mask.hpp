/// \file
/// netgrow/core/dropout_mask.hpp: which elements a dropout mask keeps, as a pure function of each
/// element's coordinates (core/counter_hash.hpp). Host and kernel code share it, so the CPU and the GPU
/// drop the same elements.
///
/// A tensor (d0, d1, ..., dk) is seen as (rows, middle, last) = (d0, d1 ... d(k-1), dk) (a rank-1 tensor
/// as (d0, 1, 1)): rows are samples, `last` is the feature axis of a row-major (N, F) or (N, T, d) tensor,
/// `middle` the positions between. The draw of element (n, m, j) depends on (seed, draw, n, m, j) only,
/// never on the sizes, so widening any axis (width growth adds features at the end of the last axis, or
/// channels at the end of the middle one for (N, C, H, W); a longer context adds positions) keeps every
/// old element's decision. `feature_keys` renames the features of the last axis: LEMON's copies of a
/// transformer's stream features take their sources' keys, so a copy is dropped exactly where its source is.
#pragma once

#include <cstdint>

#include "netgrow/core/config.hpp"
#include "netgrow/core/counter_hash.hpp"

namespace netgrow {

/// One dropout mask: element (n, m, j) is kept when the top 32 bits of its hash are at least `threshold`,
/// so it is dropped with probability threshold / 2^32.
struct DropoutMask {
  std::uint64_t seed = 0;                      ///< the stream (one per layer)
  std::uint64_t draw = 0;                      ///< which mask of the stream
  std::uint32_t threshold = 0;                 ///< floor(p 2^32) for a drop probability p in [0, 1)
  std::uint64_t row_offset = 0;                ///< added to n: a rank holding rows r0 .. of a global batch passes r0
  const std::int32_t* feature_keys = nullptr;  ///< the key of each feature j of the last axis (null: j), in the
                                               ///< memory of the device that applies the mask

  /// The key shared by the elements of row (n, m): hashed once per row.
  NETGROW_HOST_DEVICE constexpr std::uint64_t row_key(Index n, Index m) const {
    return hash_key(hash_key(hash_key(seed, draw), static_cast<std::uint64_t>(n) + row_offset),
                    static_cast<std::uint64_t>(m));
  }
  /// Whether element j of the row with key `row` is kept.
  NETGROW_HOST_DEVICE constexpr bool keep(std::uint64_t row, Index j) const {
    const std::uint64_t c = static_cast<std::uint64_t>(feature_keys ? Index{feature_keys[j]} : j);
    return static_cast<std::uint32_t>(hash_key(row, c) >> 32) >= threshold;
  }
};

}  // namespace netgrow
