/// \file
/// netgrow/grow/pair_data.hpp: GradMax's data for a pair (P, C), from the network's last forward and
/// backward pass on a grow batch, exactly, for dense and convolutional pairs.
///
/// GradMax needs M = dL/dW_aux (fan_out, fan_in): the gradient of the loss with respect to a zero
/// auxiliary weight that adds the new neurons' path to the consumer's pre-activation. With zero
/// incoming weights, the gradient of the new incoming weights is  slope * scale * O M  for outgoing
/// weights O (k, fan_out). netgrow computes M exactly from the stored tensors:
///
/// ~~~{.unparsed}
///   Dense -> ... -> Dense     M = dz^T h: h (N, fan_in) the producer's input, dz (N, fan_out) the
///                             consumer's output gradient (kept factored: the SVD never forms M).
///   Conv -> ... -> Conv       M = sum_n D_n P_n (the DESIGN's D^T P): P_n (Y1, C0 k1 k1) the producer's
///                             im2col patches of sample n at its Y1 output positions, D_n (C2 k2 k2, Y1)
///                             the consumer's output gradient gathered per producer position through each
///                             consumer tap (zero where no consumer output reads that position through
///                             that tap). Exact for any stride and padding, borders included.
///   Conv -> ... -> Flatten -> Dense      each channel feeds Y' inputs (its flattened map): M has one
///                             (out, fan_in) block per position, M[(o, y')] = sum_n dz[n, o] P_n[y'].
///   Conv -> ... -> GlobalAvgPool -> Dense    M = dz^T mean_y P_n[y].
/// ~~~
/// Layers between the pair act on a new channel as they do at zero input: activations multiply by
/// f'(0) (the `slope`, applied by the initializers); max pooling routes each window to its first
/// element (its tie rule); average pooling averages its window; a depthwise convolution with the
/// identity filter (stride 1, padding k / 2) is the identity; BatchNorm is discussed below.
///
/// BatchNorm between the pair. In training mode a new channel (zero input, zero variance) leaves
/// BatchNorm through  (1 / sqrt(eps)) (I - 1 1^T / R): the gradient is scaled by about 316 (eps 1e-5)
/// and centred over the R = N Y values of the channel. Options:
/// ~~~{.unparsed}
///   BatchNormJacobian::train_mode (default)  the exact Jacobian: P is centred over the batch and
///                                            positions, and GrowthData::gradient_scale is 1 / sqrt(eps);
///   BatchNormJacobian::ignore                the GradMax reference's choice: BatchNorm is skipped.
/// ~~~
/// In evaluation mode BatchNorm scales a new channel by 1 / sqrt(1 + eps) (no centring). The paper's
/// appendix C warns that the 1 / sqrt(eps) jump can disrupt training after growth and suggests small
/// outgoing weights (NormRule with a small scale) or the inverse formulation (InverseGradMaxOpt, whose
/// outgoing weights start at zero).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/ops/pair_data.hpp"
#include "netgrow/grow/initializer.hpp"
#include "netgrow/grow/traits.hpp"
#include "netgrow/layers/channel_route.hpp"

namespace netgrow::grow {

/// How BatchNorm between a pair enters M: its exact training-mode Jacobian, or skipped like the GradMax
/// reference (see the file comment).
enum class BatchNormJacobian { train_mode, ignore };

/// Options of the pair-data functions below.
struct PairDataOptions {
  BatchNormJacobian batch_norm = BatchNormJacobian::train_mode;  ///< BatchNorm between the pair
  /// Conv -> Conv pairs: also keep the per-position rows (P (N Y1, fan_in) patches, centred like M's;
  /// D (N Y1, fan_out) consumer-side gradients at the producer's positions) instead of only
  /// M = D^T P / N. Initializers that evaluate new neurons on the batch need them (InverseGradMaxOpt);
  /// they cost (N Y1) (fan_in + fan_out) values. Only for pairs whose in-between layers keep positions
  /// (activations, BatchNorm, identity depthwise convolutions).
  bool rows = false;
  /// Data parallelism (dist/growth.hpp sets it): replaces a statistic by its mean over the processes that
  /// train the same network. When set, data_from_last_backward forms this process's M, passes it here,
  /// and returns the mean M (batch rows stay this process's), so every process grows the same neurons;
  /// PairSite::measure passes its activations' Gram matrix too. Empty: one process.
  CrossProcessMean mean_over_processes{};
};

namespace detail {

// A layer whose products run over im2col patches (a convolution): it has a geometry. Other weight
// layers of a pair are dense (one position).
template <class L>
concept PatchLayer = requires(const L& l, const Shape& s) {
  { l.geometry(s) } -> std::same_as<ConvGeometry>;
};

// Follows a new channel from the producer's h1 x w1 output grid through the layers between the pair,
// each of which says how it passes (route_new_channel, layers/channel_route.hpp).
template <std::size_t P, std::size_t C, class Net>
ChannelRoute channel_path(Net& net, Index h1, Index w1, const PairDataOptions& o) {
  ChannelRoute path = ChannelRoute::start(h1, w1, o.batch_norm == BatchNormJacobian::train_mode);
  auto visit = [&](auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    static_assert(requires(const L& l, ChannelRoute& r) { l.route_new_channel(r); },
                  "GradMax data: a layer between the pair declares no route_new_channel(ChannelRoute&), so how a "
                  "new channel passes through it is unknown (layers/channel_route.hpp)");
    layer.route_new_channel(path);
  };
  [&]<std::size_t... Is>(std::index_sequence<Is...>) {
    (visit(net.template layer<P + 1 + Is>()), ...);
  }(std::make_index_sequence<C - P - 1>{});
  return path;
}

template <class S>
using RowMajor = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace detail

namespace detail {

/// data_from_last_backward on this process's batch alone.
template <std::size_t P, std::size_t C, class Net>
GrowthData<typename Net::scalar_type, typename Net::device_type> local_data_from_last_backward(
    Net& net, const PairDataOptions& options) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  using Traits = PairTraits<Net, P, C>;
  using Producer = typename Traits::Producer;
  using Consumer = typename Traits::Consumer;
  [[maybe_unused]] constexpr PairCheck<Net, P, C> pair_check{};
  ConstView<S, D> h;
  if constexpr (P == 0) h = net.input();
  else h = net.template output<P - 1>();
  const ConstView<S, D> dz = net.template output_grad<C>();
  require<StateError>(!h.empty() && !dz.empty(), "data_from_last_backward: run forward() and backward() on the "
                                                "grow batch first");

  if constexpr (!detail::PatchLayer<Producer>) {
    const ChannelRoute path = detail::channel_path<P, C>(net, 1, 1, options);
    require(path.identity && path.terminal_multiplier <= 1, "data_from_last_backward: unsupported layers between "
                                                            "two Dense layers");
    // Dense layers act on the last axis: (N, in) or (N, T, in) are (rows, in) with N or N T rows.
    const auto last_axis_rows = [](auto v) { return v.reshape(Shape{v.numel() / v.shape()[-1], v.shape()[-1]}); };
    const ConstView<S, D> rows = last_axis_rows(h);
    const ConstView<S, D> grad_rows = last_axis_rows(dz);
    if (!path.centre) return GrowthData<S, D>::from_batch(rows, grad_rows).with_gradient_scale(path.scale);
    Tensor<S, D> centred;
    centred.copy_from(rows);
    if constexpr (std::same_as<D, Cpu>) {
      matrix(centred).rowwise() -= matrix(rows).colwise().mean();
    } else {  // centred -= (1 / N) 1 (column sums)^T
      const Index n = rows.dim(0), f = rows.dim(1);
      Tensor<S, D> sums(Shape{1, f}), ones(Shape{n, 1});
      ops::sum_rows<S>(rows, S(0), sums.view());
      ops::fill<S>(ones.view(), S(1));
      ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(-1) / static_cast<S>(n), ones.cview(), sums.cview(), S(1),
                   centred.view());
    }
    Tensor<S, D> grads;
    grads.copy_from(grad_rows);
    return GrowthData<S, D>::from_owned_batch(std::move(centred), std::move(grads)).with_gradient_scale(path.scale);
  } else if constexpr (!std::same_as<D, Cpu>) {
    // On the device (ops/pair_data.hpp): the same M, from the same channel path built here.
    require(!options.rows, "data_from_last_backward: PairDataOptions::rows (per-position rows for "
                           "InverseGradMaxOpt) is for Cpu networks only");
    auto& producer = net.template layer<P>();
    const ops::ConvGeometry g1 = producer.geometry(h.shape());
    const Index n = h.dim(0), y1 = g1.positions(), fan_in = g1.patch_size();
    const ChannelRoute path = detail::channel_path<P, C>(net, g1.out_height(), g1.out_width(), options);
    const Index yp = path.height * path.width;
    (void)fan_in;  // each branch below uses some of these
    (void)y1;
    if constexpr (detail::PatchLayer<Consumer>) {
      require(path.terminal_multiplier == 0, "data_from_last_backward: Flatten/GlobalAvgPool before a Conv2d");
      auto& consumer = net.template layer<C>();
      const ops::ConvGeometry g2 = consumer.geometry(Shape{n, consumer.in_channels(), path.height, path.width});
      require<ShapeError>(dz.dim(2) == g2.out_height() && dz.dim(3) == g2.out_width(), "data_from_last_backward: "
                          "consumer output ", dz.shape(), " does not match its geometry");
      ops::HostRoute<S> back;  // the route transposed: per producer position, the consumer-grid positions reading it
      if (!path.identity) {
        std::vector<std::vector<std::pair<Index, double>>> readers(static_cast<std::size_t>(y1));
        for (Index yy = 0; yy < yp; ++yy)
          for (auto [y, w] : path.route[static_cast<std::size_t>(yy)]) readers[static_cast<std::size_t>(y)].emplace_back(yy, w);
        back.offsets.push_back(0);
        for (const auto& r : readers) {
          for (auto [yy, w] : r) {
            back.index.push_back(static_cast<std::int32_t>(yy));
            back.weight.push_back(static_cast<S>(w));
          }
          back.offsets.push_back(static_cast<std::int32_t>(back.index.size()));
        }
      }
      Tensor<S, D> m = ops::conv_pair_matrix<S>(h, g1, dz, g2.kernel, g2.stride, g2.padding, path.height, path.width,
                                                back, path.centre);
      return GrowthData<S, D>::from_matrix(std::move(m)).with_gradient_scale(path.scale);
    } else {
      require(path.terminal_multiplier > 0, "data_from_last_backward: a Conv2d feeds a Dense layer only through "
                                            "Flatten or GlobalAvgPool");
      ops::HostRoute<S> route;
      if (!path.identity) {
        route.offsets.push_back(0);
        for (const auto& r : path.route) {
          for (auto [y, w] : r) {
            route.index.push_back(static_cast<std::int32_t>(y));
            route.weight.push_back(static_cast<S>(w));
          }
          route.offsets.push_back(static_cast<std::int32_t>(route.index.size()));
        }
      }
      Tensor<S, D> q = ops::conv_pair_patches<S>(h, g1, route, yp, path.averaged, path.centre);
      Tensor<S, D> grads;
      grads.copy_from(dz.as_matrix());
      if (path.averaged)
        return GrowthData<S, D>::from_owned_batch(std::move(q), std::move(grads)).with_gradient_scale(path.scale);
      // M (out Yp, fan_in) = dz^T Q viewed (out, Yp fan_in), as on the Cpu.
      const Index out = dz.dim(1);
      Tensor<S, D> m(Shape{out * yp, fan_in});
      ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), grads.cview(), q.cview(), S(0),
                   m.view().reshape(Shape{out, yp * fan_in}));
      return GrowthData<S, D>::from_matrix(std::move(m)).with_gradient_scale(path.scale);
    }
  } else {
    auto& producer = net.template layer<P>();
    const ops::ConvGeometry g1 = producer.geometry(h.shape());
    const Index n = h.dim(0), in_size = h.shape().inner_numel(), y1 = g1.positions(), fan_in = g1.patch_size();
    const ChannelRoute path = detail::channel_path<P, C>(net, g1.out_height(), g1.out_width(), options);
    // Mean patch over batch and producer positions, for BatchNorm centring.
    std::vector<Tensor<S, Cpu>> cols(static_cast<std::size_t>(ops::max_threads()));
    EigenVector<double> mean = EigenVector<double>::Zero(fan_in);
    if (path.centre) {
      std::vector<EigenVector<double>> partial(cols.size(), EigenVector<double>::Zero(fan_in));
      ops::parallel_for(n, [&](Index i, int t) {
        Tensor<S, Cpu>& c = cols[static_cast<std::size_t>(t)];
        c.resize(Shape{fan_in, y1});
        ops::im2col(h.data() + i * in_size, g1, c.data());
        partial[static_cast<std::size_t>(t)] += matrix(c).rowwise().sum().template cast<double>();
      });
      for (const auto& p : partial) mean += p;
      mean /= static_cast<double>(n * y1);
    }

    if constexpr (detail::PatchLayer<Consumer>) {
      require(path.terminal_multiplier == 0, "data_from_last_backward: Flatten/GlobalAvgPool before a Conv2d");
      require(!options.rows || path.identity, "data_from_last_backward: PairDataOptions::rows needs in-between "
                                              "layers that keep positions (no pooling)");
      auto& consumer = net.template layer<C>();
      const ops::ConvGeometry g2 =
          consumer.geometry(Shape{n, consumer.in_channels(), path.height, path.width});
      const Index c2 = dz.dim(1), k2 = g2.kernel, yp = path.height * path.width, fan_out = c2 * k2 * k2;
      const Index out_size = dz.shape().inner_numel(), ho2 = g2.out_height(), wo2 = g2.out_width();
      require<ShapeError>(dz.dim(2) == ho2 && dz.dim(3) == wo2, "data_from_last_backward: consumer output ",
                          dz.shape(), " does not match its geometry");
      std::vector<Tensor<S, Cpu>> dmat(cols.size()), droute(cols.size()), partial_m(cols.size());
      Tensor<S, Cpu> p_rows, d_rows;  // options.rows: (N Y1, fan_in) and (N Y1, fan_out)
      if (options.rows) {
        p_rows = Tensor<S, Cpu>(Shape{n * y1, fan_in});
        d_rows = Tensor<S, Cpu>(Shape{n * y1, fan_out});
      }
      ops::parallel_for(n, [&](Index i, int t) {
        const auto ts = static_cast<std::size_t>(t);
        Tensor<S, Cpu>& c = cols[ts];
        c.resize(Shape{fan_in, y1});
        ops::im2col(h.data() + i * in_size, g1, c.data());
        // D at the consumer's input grid: (fan_out, Yp)
        Tensor<S, Cpu>& d = dmat[ts];
        d.resize(Shape{fan_out, yp});
        d.fill_zero();
        const S* g = dz.data() + i * out_size;
        for (Index oc = 0; oc < c2; ++oc)
          for (Index a = 0; a < k2; ++a)
            for (Index b = 0; b < k2; ++b) {
              S* row = d.data() + ((oc * k2 + a) * k2 + b) * yp;
              for (Index oy = 0; oy < ho2; ++oy) {
                const Index iy = oy * g2.stride - g2.padding + a;
                if (iy < 0 || iy >= path.height) continue;
                for (Index ox = 0; ox < wo2; ++ox) {
                  const Index ix = ox * g2.stride - g2.padding + b;
                  if (ix >= 0 && ix < path.width) row[iy * path.width + ix] = g[(oc * ho2 + oy) * wo2 + ox];
                }
              }
            }
        // Back along the channel path to the producer's grid: (fan_out, Y1).
        const S* d_at_producer = d.data();
        if (!path.identity) {
          Tensor<S, Cpu>& r = droute[ts];
          r.resize(Shape{fan_out, y1});
          r.fill_zero();
          for (Index yy = 0; yy < yp; ++yy)
            for (auto [y, w] : path.route[static_cast<std::size_t>(yy)])
              for (Index f = 0; f < fan_out; ++f) r.data()[f * y1 + y] += static_cast<S>(w) * d.data()[f * yp + yy];
          d_at_producer = r.data();
        }
        if (options.rows) {
          auto p_block = Eigen::Map<detail::RowMajor<S>>(p_rows.data() + i * y1 * fan_in, y1, fan_in);
          p_block = matrix(c).transpose();
          if (path.centre) p_block.rowwise() -= mean.transpose().template cast<S>();
          Eigen::Map<detail::RowMajor<S>>(d_rows.data() + i * y1 * fan_out, y1, fan_out) =
              Eigen::Map<const detail::RowMajor<S>>(d_at_producer, fan_out, y1).transpose();
          return;  // M = D^T P is formed from the rows when an initializer asks for it
        }
        Tensor<S, Cpu>& m = partial_m[ts];
        if (m.empty()) m = Tensor<S, Cpu>(Shape{fan_out, fan_in});
        matrix(m).noalias() += Eigen::Map<const detail::RowMajor<S>>(d_at_producer, fan_out, y1) * matrix(c).transpose();
        if (path.centre) {
          auto row_sums = Eigen::Map<const detail::RowMajor<S>>(d_at_producer, fan_out, y1).rowwise().sum();
          matrix(m).noalias() -= (row_sums.template cast<double>() * mean.transpose()).template cast<S>();
        }
      });
      if (options.rows)
        return GrowthData<S>::from_owned_batch(std::move(p_rows), std::move(d_rows)).with_gradient_scale(path.scale);
      Tensor<S, Cpu> m(Shape{fan_out, fan_in});
      for (const auto& p : partial_m)
        if (!p.empty()) matrix(m) += matrix(p);
      return GrowthData<S>::from_matrix(std::move(m)).with_gradient_scale(path.scale);
    } else {
      require(path.terminal_multiplier > 0, "data_from_last_backward: a Conv2d feeds a Dense layer only through "
                                            "Flatten or GlobalAvgPool");
      const Index yp = path.height * path.width, out = dz.dim(1);
      // Pooled patches per sample and position: Q (N, Yp fan_in) for Flatten, or their mean (N, fan_in).
      const Index q_cols = path.averaged ? fan_in : yp * fan_in;
      Tensor<S, Cpu> q(Shape{n, q_cols});
      ops::parallel_for(n, [&](Index i, int t) {
        Tensor<S, Cpu>& c = cols[static_cast<std::size_t>(t)];
        c.resize(Shape{fan_in, y1});
        ops::im2col(h.data() + i * in_size, g1, c.data());
        const auto ci = matrix(c);  // (fan_in, Y1)
        S* qi = q.data() + i * q_cols;
        double weight_sum = 0;  // of the routes into this sample's row(s), for centring
        for (Index yy = 0; yy < yp; ++yy) {
          Eigen::Map<EigenVector<S>> dst(qi + (path.averaged ? 0 : yy * fan_in), fan_in);
          if (!path.averaged || yy == 0) dst.setZero();
          if (!path.averaged) weight_sum = 0;
          const double w_avg = path.averaged ? 1.0 / static_cast<double>(yp) : 1.0;
          for (auto [y, w] : path.route[static_cast<std::size_t>(yy)]) {
            dst += static_cast<S>(w * w_avg) * ci.col(y);
            weight_sum += w * w_avg;
          }
          // Centred patches: each routed patch is P[y] - mean, so subtract (sum of weights) x mean.
          if (path.centre && !path.averaged) dst -= static_cast<S>(weight_sum) * mean.template cast<S>();
        }
        if (path.centre && path.averaged)
          Eigen::Map<EigenVector<S>>(qi, fan_in) -= static_cast<S>(weight_sum) * mean.template cast<S>();
      });
      Tensor<S, Cpu> grads;
      grads.copy_from(dz.as_matrix());
      if (path.averaged) return GrowthData<S>::from_owned_batch(std::move(q), std::move(grads)).with_gradient_scale(path.scale);
      // M (out Yp, fan_in) = dz^T Q viewed (out, Yp fan_in): row o Yp + y' is position y' of output o.
      Tensor<S, Cpu> m(Shape{out * yp, fan_in});
      Eigen::Map<detail::RowMajor<S>>(m.data(), out, yp * fan_in).noalias() = matrix(grads).transpose() * matrix(q);
      return GrowthData<S>::from_matrix(std::move(m)).with_gradient_scale(path.scale);
    }
  }
}

}  // namespace detail

/// GrowthData for pair (P, C) from the network's last forward/backward (see the header comment).
/// The result may view the network's stored tensors: use it before the next forward(). With
/// options.mean_over_processes set (data parallelism), M is the mean of every process's M.
///
/// On a device network (Cuda) everything stays on the device: Dense -> ... -> Dense pairs as the batch
/// (BatchNorm centring included), convolutional pairs through ops/pair_data.hpp (the same M;
/// PairDataOptions::rows is Cpu-only); the mean over processes goes through the host.
template <std::size_t P, std::size_t C, class Net>
GrowthData<typename Net::scalar_type, typename Net::device_type> data_from_last_backward(
    Net& net, const PairDataOptions& options = {}) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  GrowthData<S, D> data = detail::local_data_from_last_backward<P, C>(net, options);
  if (!options.mean_over_processes) return data;
  Tensor<S, D> m = data.matrix().clone();
  if constexpr (std::same_as<D, Cpu>) {
    options.mean_over_processes(std::span<S>(m.data(), static_cast<std::size_t>(m.numel())));
  } else {
    Tensor<S, Cpu> host(m.shape());
    copy(m.cview(), host.view());  // backend/cuda/transfer.hpp, by argument lookup
    options.mean_over_processes(std::span<S>(host.data(), static_cast<std::size_t>(host.numel())));
    copy(host.cview(), m.view());
  }
  return std::move(data).with_matrix(std::move(m)).with_process_mean(options.mean_over_processes);
}

/// The GradMax reference code's matrix for a Conv -> ... -> Conv pair, for side-by-side comparison:
/// the gradient G (C2, C0, K, K) of a zero auxiliary convolution with kernel K = k1 + k2 - 1, stride
/// S = s1 + s2 if both strides exceed 1 else s1 + s2 - 1, and TensorFlow 'SAME' padding, from the
/// producer's input to the consumer's output; then VALID k2 x k2 patch extraction:
///     M_ref[(c2, i2, j2), (c0, i1, j1)] = G[c2, c0, i1 + i2, j1 + j2]      (fan_out, fan_in)
/// Layers between the pair are ignored (BatchNorm's Jacobian included), as in the reference. It equals
/// the exact matrix for stride-1 producers when the signals vanish near the borders; at 'same'-padding
/// borders and for producers with stride > 1 it is an approximation (the composite kernel is then
/// k1 + (k2 - 1) s1 wide with dilated taps). Throws when the auxiliary convolution's output grid does
/// not match the consumer's.
template <std::size_t P, std::size_t C, class Net>
Tensor<typename Net::scalar_type, Cpu> reference_conv_gradmax_matrix(Net& net) {
  using S = typename Net::scalar_type;
  using Traits = PairTraits<Net, P, C>;
  static_assert(detail::PatchLayer<typename Traits::Producer> && detail::PatchLayer<typename Traits::Consumer>,
                "reference_conv_gradmax_matrix: the reference formulation covers Conv2d -> ... -> Conv2d pairs");
  auto& producer = net.template layer<P>();
  auto& consumer = net.template layer<C>();
  ConstView<S, Cpu> h;
  if constexpr (P == 0) h = net.input();
  else h = net.template output<P - 1>();
  const ConstView<S, Cpu> dz = net.template output_grad<C>();
  require<StateError>(!h.empty() && !dz.empty(), "reference_conv_gradmax_matrix: run forward() and backward() first");
  const Index k1 = producer.kernel(), k2 = consumer.kernel(), s1 = producer.stride(), s2 = consumer.stride();
  const Index kk = k1 + k2 - 1, ss = (s1 > 1 && s2 > 1) ? s1 + s2 : s1 + s2 - 1;
  const Index n = h.dim(0), c0 = h.dim(1), hh = h.dim(2), ww = h.dim(3), c2 = dz.dim(1), ho = dz.dim(2), wo = dz.dim(3);
  const Index out_h = (hh + ss - 1) / ss, out_w = (ww + ss - 1) / ss;  // TensorFlow SAME: ceil(H / S)
  require<ShapeError>(out_h == ho && out_w == wo, "reference_conv_gradmax_matrix: the auxiliary convolution (kernel ",
                      kk, ", stride ", ss, ", SAME) gives ", out_h, "x", out_w, " outputs but the consumer has ", ho,
                      "x", wo, " (the reference assumes 'same' padding in both layers)");
  const Index pad_top = std::max<Index>((out_h - 1) * ss + kk - hh, 0) / 2;
  const Index pad_left = std::max<Index>((out_w - 1) * ss + kk - ww, 0) / 2;
  std::vector<double> g(static_cast<std::size_t>(c2 * c0 * kk * kk), 0.0);  // (C2, C0, K, K)
  for (Index i = 0; i < n; ++i)
    for (Index b = 0; b < c2; ++b)
      for (Index oy = 0; oy < ho; ++oy)
        for (Index ox = 0; ox < wo; ++ox) {
          const double d = dz.at(i, b, oy, ox);
          if (d == 0) continue;
          for (Index a = 0; a < c0; ++a)
            for (Index u = 0; u < kk; ++u) {
              const Index iy = oy * ss - pad_top + u;
              if (iy < 0 || iy >= hh) continue;
              for (Index v = 0; v < kk; ++v) {
                const Index ix = ox * ss - pad_left + v;
                if (ix >= 0 && ix < ww) g[static_cast<std::size_t>(((b * c0 + a) * kk + u) * kk + v)] += d * h.at(i, a, iy, ix);
              }
            }
        }
  Tensor<S, Cpu> m(Shape{c2 * k2 * k2, c0 * k1 * k1});
  for (Index b = 0; b < c2; ++b)
    for (Index i2 = 0; i2 < k2; ++i2)
      for (Index j2 = 0; j2 < k2; ++j2)
        for (Index a = 0; a < c0; ++a)
          for (Index i1 = 0; i1 < k1; ++i1)
            for (Index j1 = 0; j1 < k1; ++j1)
              m.at((b * k2 + i2) * k2 + j2, (a * k1 + i1) * k1 + j1) =
                  static_cast<S>(g[static_cast<std::size_t>(((b * c0 + a) * kk + i1 + i2) * kk + j1 + j2)]);
  return m;
}

}  // namespace netgrow::grow
