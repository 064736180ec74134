/// \file
/// netgrow/backend/cpu/attention.hpp: the CPU back end of ops/attention.hpp: per (sample, head) Eigen
/// products over strided maps of the head's columns, in parallel over samples and heads (each writes
/// only its own slices, so results do not depend on the thread count).
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The attention ops of ops/attention.hpp on device D (specialised per device).
template <class D>
struct AttentionOps;

/// Attention on the CPU.
template <>
struct AttentionOps<Cpu> {
  template <class T>
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  template <class T>
  using Head = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;  // (T, dh) columns of one head, row stride h dh
  template <class T>
  using ConstHead = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;

  template <class T>
  static void forward(ConstView<T, Cpu> q, ConstView<T, Cpu> k, ConstView<T, Cpu> v, Index heads, bool causal,
                      TensorView<T, Cpu> probs, TensorView<T, Cpu> out) {
    const Index n = q.dim(0), t = q.dim(1), width = q.dim(2), dh = width / heads;
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dh)));
    ops::parallel_for(n * heads, [&](Index nh, int) {
      const Index i = nh / heads, j = nh % heads, offset = i * t * width + j * dh;
      const ConstHead<T> qh(q.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const ConstHead<T> kh(k.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const ConstHead<T> vh(v.data() + offset, t, dh, Eigen::OuterStride<>(width));
      Eigen::Map<Matrix<T>> p(probs.data() + nh * t * t, t, t);
      p.noalias() = scale * (qh * kh.transpose());
      for (Index r = 0; r < t; ++r) {  // softmax over the row's visible keys (vectorised exp)
        const Index keys = causal ? r + 1 : t;  // masked keys get probability 0
        auto row = p.row(r).head(keys).array();
        const T top = row.maxCoeff();
        row = (row - top).exp();
        row /= row.sum();
        p.row(r).tail(t - keys).setZero();
      }
      Head<T>(out.data() + offset, t, dh, Eigen::OuterStride<>(width)).noalias() = p * vh;
    });
  }

  template <class T>
  static void backward(ConstView<T, Cpu> q, ConstView<T, Cpu> k, ConstView<T, Cpu> v, ConstView<T, Cpu> probs,
                       ConstView<T, Cpu> dout, Index heads, TensorView<T, Cpu> dq, TensorView<T, Cpu> dk,
                       TensorView<T, Cpu> dv) {
    const Index n = q.dim(0), t = q.dim(1), width = q.dim(2), dh = width / heads;
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dh)));
    std::vector<Matrix<T>> scratch(static_cast<std::size_t>(ops::max_threads()));
    ops::parallel_for(n * heads, [&](Index nh, int thread) {
      const Index i = nh / heads, j = nh % heads, offset = i * t * width + j * dh;
      const ConstHead<T> qh(q.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const ConstHead<T> kh(k.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const ConstHead<T> vh(v.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const ConstHead<T> doh(dout.data() + offset, t, dh, Eigen::OuterStride<>(width));
      const Eigen::Map<const Matrix<T>> p(probs.data() + nh * t * t, t, t);
      Matrix<T>& ds = scratch[static_cast<std::size_t>(thread)];
      ds.noalias() = doh * vh.transpose();  // dP (T, T)
      for (Index r = 0; r < t; ++r) {       // dS = P (dP - rowsum(P dP)), times the scale
        const T dot = (p.row(r).array() * ds.row(r).array()).sum();
        ds.row(r).array() = scale * p.row(r).array() * (ds.row(r).array() - dot);
      }
      Head<T>(dv.data() + offset, t, dh, Eigen::OuterStride<>(width)).noalias() = p.transpose() * doh;
      Head<T>(dq.data() + offset, t, dh, Eigen::OuterStride<>(width)).noalias() = ds * kh;
      Head<T>(dk.data() + offset, t, dh, Eigen::OuterStride<>(width)).noalias() = ds.transpose() * qh;
    });
  }
};

}  // namespace netgrow::backend
