/// \file
/// netgrow/backend/cpu/parallel.hpp: parallel loops of the CPU back end, with OpenMP when the build has
/// it and plain loops otherwise: a loop over independent items (samples of a batch) and the
/// NETGROW_PARALLEL_FOR_IF pragma for element-wise loops. Eigen calls made inside run single-threaded
/// (Eigen does not nest its own threads inside an OpenMP team).
#pragma once

#include "netgrow/core/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

/// \def NETGROW_PARALLEL_FOR_IF(cond)
/// Runs the loop that follows as an OpenMP `parallel for simd` when `cond` holds; nothing without OpenMP.
#if defined(_OPENMP)
#define NETGROW_PRAGMA(text) _Pragma(#text)
#define NETGROW_PARALLEL_FOR_IF(cond) NETGROW_PRAGMA(omp parallel for simd schedule(static) if (cond))
#else
#define NETGROW_PARALLEL_FOR_IF(cond)
#endif

namespace netgrow::ops {

/// Element counts above which element-wise CPU loops use all OpenMP threads.
inline constexpr Index parallel_threshold = Index{1} << 15;

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
