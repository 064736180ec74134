/// \file
/// netgrow/backend/host_route.hpp: the route of a new channel through pooling as index lists on the
/// host (ops::HostRoute), which GradMax's device pair data takes (ops/pair_data.hpp,
/// backend/cuda/pair_data.hpp), and the declaration of that op family's back end.
#pragma once

#include <cstdint>
#include <vector>

namespace netgrow::backend {

/// A route in compressed rows on the host: entries offsets[r] .. offsets[r + 1] of (index, weight) per
/// row r (see kernels/pair_data.cuh). Empty offsets: the identity.
template <class T>
struct HostRoute {
  std::vector<std::int32_t> offsets;  ///< rows + 1 entries, or empty for the identity
  std::vector<std::int32_t> index;    ///< the positions each row reads
  std::vector<T> weight;              ///< their weights
  bool identity() const { return offsets.empty(); }  ///< no route: positions pass through
};

/// GradMax's pair data of ops/pair_data.hpp on device D (specialised per device; Cuda only).
template <class D>
struct PairDataOps;

}  // namespace netgrow::backend
