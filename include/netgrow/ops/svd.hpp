/// \file
/// netgrow/ops/svd.hpp: the top-k singular triplets of a matrix, or of a product a^T b without forming
/// it, on any device (GradMax's new directions). Paths (exact, randomized, automatic), the sign rule and
/// the options are described at backend/cpu/svd.hpp; backend/cuda/svd.hpp is the device twin.
///
/// Contract: 0 <= k <= min(m, n); singular values (on the host) descending; u (m, k) and v (n, k) on the
/// input's device, each u column's largest-magnitude entry positive. A matrix holding NaN or infinity
/// throws NumericError (its SVD is undefined; nothing is computed).
#pragma once

#include <algorithm>

#include "netgrow/backend/cpu/svd.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

using backend::SvdMethod;
using backend::SvdOptions;
using backend::TopSvd;

/// True when `automatic` picks the randomized path for an (m, n) matrix and k vectors.
inline bool prefers_randomized_svd(Index m, Index n, Index k, const SvdOptions& o) {
  return (k + o.oversampling) * 4 <= std::min(m, n);
}

namespace detail {

inline void check_svd_request(Index k, Index m, Index n, const SvdOptions& o, const char* who) {
  require(k >= 0 && k <= std::min(m, n), who, ": k = ", k, " outside [0, min(m, n) = ", std::min(m, n), "] for (", m,
          ", ", n, ")");
  require(o.oversampling >= 0 && o.power_iterations >= 0, who,
          ": oversampling and power_iterations must be non-negative");
}

inline bool randomized_path(Index m, Index n, Index k, const SvdOptions& o) {
  return k > 0 && (o.method == SvdMethod::randomized ||
                   (o.method == SvdMethod::automatic && prefers_randomized_svd(m, n, k, o)));
}

}  // namespace detail

/// Top-k singular triplets of a (m, n), 0 <= k <= min(m, n). want_v = false may skip the right
/// vectors (the Cuda back end does; the Cpu one computes them anyway).
template <class T, ReadableAs<T> V, class D = device_of<V>>
TopSvd<T, D> svd_topk(const V& matrix_values, Index k, const SvdOptions& options = {}, bool want_v = true) {
  const ConstView<T, D> a = matrix_values;
  require<ShapeError>(a.rank() == 2, "svd_topk: expects a matrix, got ", a.shape());
  const Index m = a.dim(0), n = a.dim(1);
  detail::check_svd_request(k, m, n, options, "svd_topk");
  require<NumericError>(all_finite<T>(a), "svd_topk: the ", a.shape(), " matrix holds NaN or infinity");
  return backend::SvdOps<D>::template svd_topk<T>(a, k, detail::randomized_path(m, n, k, options), options, want_v);
}

/// Top-k singular triplets of the product a^T b without forming it: a (N, m), b (N, n), N >= 1, a^T b
/// (m, n). This is GradMax's matrix dL/dz^T h for one batch; with N < min(m, n) each product with it
/// costs N (m + n) l instead of m n l, and the m n N product itself is never computed.
template <class T, ReadableAs<T> A, ReadableAs<T> B, class D = device_of<A>>
TopSvd<T, D> svd_topk_of_product(const A& a_values, const B& b_values, Index k, const SvdOptions& options = {},
                                 bool want_v = true) {
  const ConstView<T, D> a = a_values;
  const ConstView<T, D> b = b_values;
  require<ShapeError>(a.rank() == 2 && b.rank() == 2 && a.dim(0) == b.dim(0) && a.dim(0) >= 1,
                      "svd_topk_of_product: a ", a.shape(), " and b ", b.shape(), " must be (N, m) and (N, n), N >= 1");
  const Index m = a.dim(1), n = b.dim(1);
  detail::check_svd_request(k, m, n, options, "svd_topk_of_product");
  require<NumericError>(all_finite<T>(a) && all_finite<T>(b), "svd_topk_of_product: a ", a.shape(), " or b ",
                        b.shape(), " holds NaN or infinity");
  return backend::SvdOps<D>::template svd_topk_of_product<T>(a, b, k, detail::randomized_path(m, n, k, options),
                                                             options, want_v);
}

/// Cosine similarity of two k-dimensional subspaces given by orthonormal columns: the mean squared
/// cosine of their principal angles, ||U1^T U2||_F^2 / k (1 = the same subspace).
template <class T, ReadableAs<T> V, class D = device_of<V>>
double subspace_alignment(const V& u1_values, const V& u2_values) {
  const ConstView<T, D> u1 = u1_values, u2 = u2_values;
  require<ShapeError>(u1.shape() == u2.shape() && u1.rank() == 2, "subspace_alignment: ", u1.shape(), " vs ",
                      u2.shape());
  if (u1.dim(1) == 0) return 1.0;
  return backend::SvdOps<D>::template subspace_alignment<T>(u1, u2);
}

}  // namespace netgrow::ops
