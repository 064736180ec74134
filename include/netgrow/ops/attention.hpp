/// \file
/// netgrow/ops/attention.hpp: scaled dot-product attention of h heads over a batch of sequences, the
/// core of multi-head attention (layers/multi_head_attention.hpp adds the projections).
///
/// ~~~{.unparsed}
///   q, k, v, out, dq, dk, dv   (N, T, h dh): head j owns columns [j dh, (j + 1) dh) of the last axis
///   probs                      (N, h, T, T): per sample and head, softmax over the key axis of
///                              q_j k_j^T / sqrt(dh); with `causal`, key positions after the query's
///                              position get probability 0 (computed as exp(-inf), never as a NaN)
///   out                        per head probs_j v_j
/// ~~~
/// Softmax is numerically stable (each row shifted by its maximum; sums in double). The backward pass
/// needs no mask: masked probabilities are 0, so their gradients are 0. Back end: backend/cpu/attention.hpp
/// (samples and heads in parallel).
#pragma once

#include "netgrow/backend/cpu/attention.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

/// Checks q, k, v and an output of one attention op named `who`; returns (N, T, h dh).
inline void check_attention_shapes(const Shape& q, const Shape& k, const Shape& v, const Shape& out, Index heads,
                                   const char* who) {
  require<ShapeError>(q.rank() == 3 && k == q && v == q && out == q, who, ": q, k, v and the output must be one (N, T, ",
                      "h dh) shape, got ", q, ", ", k, ", ", v, ", ", out);
  require<ShapeError>(heads >= 1 && q[2] % heads == 0, who, ": ", heads, " heads do not divide the ", q[2],
                      " features of ", q);
}

}  // namespace detail

/// out (N, T, h dh) and probs (N, h, T, T) assigned (see the file comment).
template <class T, class D>
void attention_forward(In<T, D> q, In<T, D> k, In<T, D> v, Index heads, bool causal, TensorView<T, D> probs,
                       TensorView<T, D> out) {
  detail::check_attention_shapes(q.shape(), k.shape(), v.shape(), out.shape(), heads, "attention_forward");
  require<ShapeError>(probs.shape() == Shape{q.dim(0), heads, q.dim(1), q.dim(1)}, "attention_forward: probs ",
                      probs.shape(), " should be (", q.dim(0), ", ", heads, ", ", q.dim(1), ", ", q.dim(1), ")");
  if (q.numel() > 0) backend::AttentionOps<D>::template forward<T>(q, k, v, heads, causal, probs, out);
}

/// dq, dk, dv (N, T, h dh) assigned from dout and the forward pass's q, k, v and probs.
template <class T, class D>
void attention_backward(In<T, D> q, In<T, D> k, In<T, D> v, In<T, D> probs, In<T, D> dout, Index heads,
                        TensorView<T, D> dq, TensorView<T, D> dk, TensorView<T, D> dv) {
  detail::check_attention_shapes(q.shape(), k.shape(), v.shape(), dout.shape(), heads, "attention_backward");
  require<ShapeError>(dq.shape() == q.shape() && dk.shape() == q.shape() && dv.shape() == q.shape(),
                      "attention_backward: gradients ", dq.shape(), ", ", dk.shape(), ", ", dv.shape(), " for ",
                      q.shape());
  require<ShapeError>(probs.shape() == Shape{q.dim(0), heads, q.dim(1), q.dim(1)}, "attention_backward: probs ",
                      probs.shape(), " for ", q.shape(), " and ", heads, " heads");
  if (q.numel() > 0) backend::AttentionOps<D>::template backward<T>(q, k, v, probs, dout, heads, dq, dk, dv);
}

}  // namespace netgrow::ops
