/// \file
/// netgrow/backend/cpu/batch_norm.hpp: the CPU back end of ops/batch_norm.hpp (channels processed in
/// parallel with ops::parallel_for; arguments arrive checked).
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// (N, C, M) of a (N, C) or (N, C, H, W) batch-norm input.
struct NormExtent {
  Index batch, channels, spatial;
  double count() const { return static_cast<double>(batch * spatial); }  ///< values per channel
};

/// The batch-norm ops of ops/batch_norm.hpp on device D (specialised per device).
template <class D>
struct BatchNormOps;

/// Batch normalisation on the CPU.
template <>
struct BatchNormOps<Cpu> {
  /// Channel ch of y = scale x + shift with scale = gamma inv_std and shift = beta - gamma inv_std mu, both
  /// rounded to T; records mu and inv_std as the statistics used.
  template <class T>
  static void normalize_channel(ConstView<T, Cpu> x, const NormExtent& e, ConstView<T, Cpu> gamma,
                                ConstView<T, Cpu> beta, Index ch, double mu, double inv, TensorView<double, Cpu> mean,
                                TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
    mean[ch] = mu;
    inv_std[ch] = inv;
    const T scale = static_cast<T>(gamma[ch] * inv);
    const T shift = static_cast<T>(beta[ch] - gamma[ch] * inv * mu);
    for (Index i = 0; i < e.batch; ++i) {
      const T* p = x.data() + (i * e.channels + ch) * e.spatial;
      T* q = y.data() + (i * e.channels + ch) * e.spatial;
      for (Index j = 0; j < e.spatial; ++j) q[j] = scale * p[j] + shift;
    }
  }

  template <class T>
  static void forward_train(ConstView<T, Cpu> x, const NormExtent& e, ConstView<T, Cpu> gamma, ConstView<T, Cpu> beta,
                            double momentum, double eps, TensorView<T, Cpu> running_mean,
                            TensorView<T, Cpu> running_var, TensorView<double, Cpu> mean,
                            TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
    const Index c = e.channels, m = e.spatial, n = e.batch;
    const double count = e.count();
    ops::parallel_for(c, [&](Index ch, int) {
      double sum = 0, sq = 0;
      for (Index i = 0; i < n; ++i) {
        const T* p = x.data() + (i * c + ch) * m;
        for (Index j = 0; j < m; ++j) sum += p[j];
      }
      const double mu = sum / count;
      for (Index i = 0; i < n; ++i) {
        const T* p = x.data() + (i * c + ch) * m;
        for (Index j = 0; j < m; ++j) sq += (p[j] - mu) * (p[j] - mu);
      }
      const double var = sq / count;
      running_mean[ch] = static_cast<T>((1 - momentum) * running_mean[ch] + momentum * mu);
      running_var[ch] = static_cast<T>((1 - momentum) * running_var[ch] + momentum * var * count / (count - 1));
      normalize_channel(x, e, gamma, beta, ch, mu, 1.0 / std::sqrt(var + eps), mean, inv_std, y);
    });
  }

  template <class T>
  static void forward_eval(ConstView<T, Cpu> x, const NormExtent& e, ConstView<T, Cpu> gamma, ConstView<T, Cpu> beta,
                           ConstView<T, Cpu> running_mean, ConstView<T, Cpu> running_var, double eps,
                           TensorView<double, Cpu> mean, TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
    ops::parallel_for(e.channels, [&](Index ch, int) {
      const double mu = running_mean[ch], var = running_var[ch];
      normalize_channel(x, e, gamma, beta, ch, mu, 1.0 / std::sqrt(var + eps), mean, inv_std, y);
    });
  }

  template <class T>
  static void backward(ConstView<T, Cpu> x, ConstView<T, Cpu> dy, const NormExtent& e, ConstView<T, Cpu> gamma,
                       ConstView<double, Cpu> mean, ConstView<double, Cpu> inv_std, bool batch_statistics,
                       TensorView<T, Cpu> dgamma, TensorView<T, Cpu> dbeta, bool accumulate, TensorView<T, Cpu> dx) {
    const Index c = e.channels, m = e.spatial, n = e.batch;
    const double count = e.count();
    ops::parallel_for(c, [&](Index ch, int) {
      const double mu = mean[ch], inv = inv_std[ch];
      double sum_dy = 0, sum_dy_xhat = 0;
      for (Index i = 0; i < n; ++i) {
        const T* p = x.data() + (i * c + ch) * m;
        const T* g = dy.data() + (i * c + ch) * m;
        for (Index j = 0; j < m; ++j) {
          sum_dy += g[j];
          sum_dy_xhat += g[j] * (p[j] - mu) * inv;
        }
      }
      dgamma[ch] = static_cast<T>(sum_dy_xhat + (accumulate ? dgamma[ch] : T(0)));
      dbeta[ch] = static_cast<T>(sum_dy + (accumulate ? dbeta[ch] : T(0)));
      if (dx.empty()) return;
      const double gi = gamma[ch] * inv;
      for (Index i = 0; i < n; ++i) {
        const T* p = x.data() + (i * c + ch) * m;
        const T* g = dy.data() + (i * c + ch) * m;
        T* q = dx.data() + (i * c + ch) * m;
        if (batch_statistics) {
          for (Index j = 0; j < m; ++j) {
            const double xhat = (p[j] - mu) * inv;
            q[j] = static_cast<T>(gi * (g[j] - sum_dy / count - xhat * sum_dy_xhat / count));
          }
        } else {
          for (Index j = 0; j < m; ++j) q[j] = static_cast<T>(gi * g[j]);
        }
      }
    });
  }
};

}  // namespace netgrow::backend
