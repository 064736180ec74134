/// \file
/// netgrow/backend/cpu/parallel.hpp: a parallel loop over independent items (samples of a batch) for
/// CPU layers, with OpenMP when the build has it and a plain loop otherwise. Eigen calls made inside
/// run single-threaded (Eigen does not nest its own threads inside an OpenMP team).
#pragma once

#include "netgrow/core/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace netgrow::ops {

/// Threads parallel_for may use.
inline int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Calls f(i, thread) for i in [0, n), thread in [0, max_threads()), with each thread handling a
/// contiguous block of items (static schedule: the same split every call, so results are
/// reproducible for a given thread count).
template <class F>
void parallel_for(Index n, F&& f) {
#if defined(_OPENMP)
  if (n > 1 && max_threads() > 1) {
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < n; ++i) f(i, omp_get_thread_num());
    return;
  }
#endif
  for (Index i = 0; i < n; ++i) f(i, 0);
}

}  // namespace netgrow::ops
