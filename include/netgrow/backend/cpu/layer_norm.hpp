/// \file
/// netgrow/backend/cpu/layer_norm.hpp: the CPU back end of ops/layer_norm.hpp. Rows (forward, input
/// gradient) and features (parameter gradients, summed over rows in row order) are processed in
/// parallel (ops::parallel_for); arguments arrive checked.
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// (N, D) of a layer-norm input.
struct LayerNormExtent {
  Index rows, features;
};

/// The layer-norm ops of ops/layer_norm.hpp on device D (specialised per device).
template <class D>
struct LayerNormOps;

/// Layer normalisation on the CPU.
template <>
struct LayerNormOps<Cpu> {
  template <class T>
  static void forward(ConstView<T, Cpu> x, const LayerNormExtent& e, ConstView<T, Cpu> gamma, ConstView<T, Cpu> beta,
                      double eps, TensorView<double, Cpu> mean, TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y,
                      ConstView<T, Cpu> gains) {
    if (!gains.empty()) return forward_weighted(x, e, gamma, beta, eps, mean, inv_std, y, gains.data());
    const Index d = e.features;
    const double count = static_cast<double>(d);
    ops::parallel_for(e.rows, [&](Index i, int) {
      const T* p = x.data() + i * d;
      T* q = y.data() + i * d;
      double sum = 0, sq = 0;
      for (Index j = 0; j < d; ++j) sum += p[j];
      const double mu = sum / count;
      for (Index j = 0; j < d; ++j) sq += (p[j] - mu) * (p[j] - mu);
      const double inv = 1.0 / std::sqrt(sq / count + eps);
      mean[i] = mu;
      inv_std[i] = inv;
      for (Index j = 0; j < d; ++j) {
        const double xhat = (p[j] - mu) * inv;
        q[j] = static_cast<T>(static_cast<double>(gamma[j]) * xhat + static_cast<double>(beta[j]));
      }
    });
  }

  template <class T>
  static void backward(ConstView<T, Cpu> x, ConstView<T, Cpu> dy, const LayerNormExtent& e, ConstView<T, Cpu> gamma,
                       ConstView<double, Cpu> mean, ConstView<double, Cpu> inv_std, TensorView<T, Cpu> dgamma,
                       TensorView<T, Cpu> dbeta, bool accumulate, TensorView<T, Cpu> dx, ConstView<T, Cpu> gains) {
    if (!gains.empty())
      return backward_weighted(x, dy, e, gamma, mean, inv_std, dgamma, dbeta, accumulate, dx, gains.data());
    const Index n = e.rows, d = e.features;
    ops::parallel_for(d, [&](Index j, int) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (Index i = 0; i < n; ++i) {
        const double g = dy[i * d + j];
        sum_dy += g;
        sum_dy_xhat += g * ((x[i * d + j] - mean[i]) * inv_std[i]);
      }
      dgamma[j] = static_cast<T>(sum_dy_xhat + (accumulate ? static_cast<double>(dgamma[j]) : 0.0));
      dbeta[j] = static_cast<T>(sum_dy + (accumulate ? static_cast<double>(dbeta[j]) : 0.0));
    });
    if (dx.empty()) return;
    const double count = static_cast<double>(d);
    ops::parallel_for(n, [&](Index i, int) {
      const T* p = x.data() + i * d;
      const T* q = dy.data() + i * d;
      T* r = dx.data() + i * d;
      const double mu = mean[i], inv = inv_std[i];
      double sum_g = 0, sum_g_xhat = 0;
      for (Index j = 0; j < d; ++j) {
        const double g = static_cast<double>(gamma[j]) * q[j];
        sum_g += g;
        sum_g_xhat += g * ((p[j] - mu) * inv);
      }
      const double mean_g = sum_g / count, mean_g_xhat = sum_g_xhat / count;
      for (Index j = 0; j < d; ++j) {
        const double g = static_cast<double>(gamma[j]) * q[j];
        const double xhat = (p[j] - mu) * inv;
        r[j] = static_cast<T>(inv * (g - mean_g - xhat * mean_g_xhat));
      }
    });
  }

 private:
  template <class T>
  static double gain_total(const T* w, Index d) {
    double total = 0;
    for (Index j = 0; j < d; ++j) total += static_cast<double>(w[j]);
    return total;
  }

  // The weighted forms of ops/layer_norm.hpp (gains w).
  template <class T>
  static void forward_weighted(ConstView<T, Cpu> x, const LayerNormExtent& e, ConstView<T, Cpu> gamma,
                               ConstView<T, Cpu> beta, double eps, TensorView<double, Cpu> mean,
                               TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y, const T* w) {
    const Index d = e.features;
    const double total = gain_total(w, d);
    ops::parallel_for(e.rows, [&](Index i, int) {
      const T* p = x.data() + i * d;
      T* q = y.data() + i * d;
      double sum = 0, sq = 0;
      for (Index j = 0; j < d; ++j) sum += static_cast<double>(w[j]) * p[j];
      const double mu = sum / total;
      for (Index j = 0; j < d; ++j) sq += static_cast<double>(w[j]) * (p[j] - mu) * (p[j] - mu);
      const double inv = 1.0 / std::sqrt(sq / total + eps);
      mean[i] = mu;
      inv_std[i] = inv;
      for (Index j = 0; j < d; ++j) {
        const double xhat = (p[j] - mu) * inv;
        q[j] = static_cast<T>(static_cast<double>(w[j]) *
                              (static_cast<double>(gamma[j]) * xhat + static_cast<double>(beta[j])));
      }
    });
  }

  template <class T>
  static void backward_weighted(ConstView<T, Cpu> x, ConstView<T, Cpu> dy, const LayerNormExtent& e,
                                ConstView<T, Cpu> gamma, ConstView<double, Cpu> mean, ConstView<double, Cpu> inv_std,
                                TensorView<T, Cpu> dgamma, TensorView<T, Cpu> dbeta, bool accumulate,
                                TensorView<T, Cpu> dx, const T* w) {
    const Index n = e.rows, d = e.features;
    ops::parallel_for(d, [&](Index j, int) {
      double sum_gy = 0, sum_gy_xhat = 0;
      for (Index i = 0; i < n; ++i) {
        const double gy = static_cast<double>(w[j]) * dy[i * d + j];
        sum_gy += gy;
        sum_gy_xhat += gy * ((x[i * d + j] - mean[i]) * inv_std[i]);
      }
      dgamma[j] = static_cast<T>(sum_gy_xhat + (accumulate ? static_cast<double>(dgamma[j]) : 0.0));
      dbeta[j] = static_cast<T>(sum_gy + (accumulate ? static_cast<double>(dbeta[j]) : 0.0));
    });
    if (dx.empty()) return;
    const double total = gain_total(w, d);
    ops::parallel_for(n, [&](Index i, int) {
      const T* p = x.data() + i * d;
      const T* q = dy.data() + i * d;
      T* r = dx.data() + i * d;
      const double mu = mean[i], inv = inv_std[i];
      double sum_h = 0, sum_h_xhat = 0;
      for (Index j = 0; j < d; ++j) {
        const double h = static_cast<double>(gamma[j]) * static_cast<double>(w[j]) * q[j];
        sum_h += h;
        sum_h_xhat += h * ((p[j] - mu) * inv);
      }
      for (Index j = 0; j < d; ++j) {
        const double h = static_cast<double>(gamma[j]) * static_cast<double>(w[j]) * q[j];
        const double xhat = (p[j] - mu) * inv;
        r[j] = static_cast<T>(inv * (h - static_cast<double>(w[j]) / total * (sum_h + xhat * sum_h_xhat)));
      }
    });
  }
};

}  // namespace netgrow::backend
