/// \file
/// netgrow/layers/batch_norm.hpp: batch normalisation of dense (N, C) or convolutional (N, C, H, W)
/// activations, per channel.
///
/// Training mode: y = gamma (x - mu) / sqrt(var + eps) + beta with mu, var the batch mean and (biased)
/// variance over N (and H, W); the running statistics move as PyTorch's BatchNorm does:
///     running = (1 - momentum) running + momentum batch    (variance: the unbiased batch variance)
/// so momentum 0.1 here is Keras' momentum 0.9. Evaluation mode uses the running statistics.
/// Parameters: "weight" (gamma) and "bias" (beta), trainable without weight decay; "running_mean" and
/// "running_var" are state, visited with trainable = false so checkpoints carry them and optimizers
/// skip them (PyTorch's state-dict names).
/// Identity growth between a grown pair: new channels get gamma 1, beta 0, mean 0, variance 1, and the
/// momentum stays (the GradMax reference silently resets it; this does not). A new channel whose input
/// is zero outputs zero in both modes.
/// The math is the op facade's ops::batch_norm_* (backend/cpu/batch_norm.hpp; backend/cuda/batch_norm.hpp
/// for Cuda).
///
/// Synchronised (data parallelism, layers/batch_norm_sync.hpp): inside a dist::SyncBatchNorm scope the
/// training-mode statistics are those of the global batch. Forward: the local mean and variance (the
/// training op on scratch running statistics), summed over the processes as count, sum x and sum x^2 in
/// double, then y from the evaluation op with the global mean and biased variance (rounded to S), and the
/// running statistics moved with the global ones (unbiased variance over the global count). Backward:
/// the local sums dbeta = sum dy and dgamma = sum dy xhat (assigned or accumulated into the gradients,
/// which the gradient averager then averages), their sums over the processes S0 and S1, and
///     dx = gamma inv_std (dy - S0 / N - xhat S1 / N)        N: the global count per channel
/// which is the gradient one process computes on the concatenated batch, times the number of processes
/// (each process's loss is the mean over its share; the averager divides by the number of processes).
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "netgrow/ops/batch_norm.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/batch_norm_sync.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class BatchNormLayer;

/// Layer kind: BatchNorm{.channels = 64} (momentum and eps as in PyTorch's defaults).
struct BatchNorm {
  static constexpr std::string_view name = "BatchNorm";  ///< the kind's name (checkpoint configs, messages)
  Index channels = 0;                                    ///< channels C
  double momentum = 0.1;                                 ///< running-statistics momentum, in [0, 1]
  double eps = 1e-5;                                     ///< added to the variance, > 0

  /// The configuration fields (core/fields.hpp): growth changes channels, and eps when variance transfer
  /// rescales the input (no parameter shape shows it).
  static constexpr auto fields() {
    return std::tuple{field("channels", &BatchNorm::channels, FieldRole::width), field("momentum", &BatchNorm::momentum),
                      field("eps", &BatchNorm::eps, FieldRole::unshaped_width)};
  }

  /// The layer this kind names: BatchNormLayer<S, D>.
  template <class S, class D>
  using layer_type = BatchNormLayer<S, D>;
};

/// The BatchNorm layer for scalar S on device D: per-channel normalisation of (N, C) or (N, C, H, W)
/// inputs with gamma, beta and running statistics of shape (C) (see the file comment).
template <class S, class D>
class BatchNormLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = BatchNorm;
  ///@}

  /// gamma 1, beta 0, running mean 0, running variance 1 (no random draws); throws for non-positive
  /// channels or eps, or a momentum outside [0, 1].
  BatchNormLayer(const BatchNorm& kind, Rng&) : momentum_(kind.momentum), eps_(kind.eps) {
    require(kind.channels > 0, "BatchNorm: channels must be positive, got ", kind.channels);
    require(kind.momentum >= 0 && kind.momentum <= 1, "BatchNorm: momentum must be in [0, 1], got ", kind.momentum);
    require(kind.eps > 0, "BatchNorm: eps must be positive, got ", kind.eps);
    const Shape c{kind.channels};
    gamma_ = Parameter<S, D>(c);
    beta_ = Parameter<S, D>(c);
    mean_ = Parameter<S, D>(c);
    var_ = Parameter<S, D>(c);
    ops::fill<S>(gamma_.value.view(), S(1));
    ops::fill<S>(var_.value.view(), S(1));
    gamma_.weight_decay = beta_.weight_decay = false;
    mean_.trainable = var_.trainable = false;
  }

  Index channels() const { return gamma_.value.numel(); }  ///< current C
  Parameter<S, D>& gamma() { return gamma_; }              ///< scale (C), visited as "weight"
  Parameter<S, D>& beta() { return beta_; }                ///< shift (C), visited as "bias"
  Parameter<S, D>& running_mean() { return mean_; }        ///< (C), state (trainable = false)
  Parameter<S, D>& running_var() { return var_; }          ///< (C), state (trainable = false)
  double momentum() const { return momentum_; }            ///< running-statistics momentum
  double eps() const { return eps_; }                      ///< added to the variance
  Mode last_mode() const { return mode_; }                 ///< the mode of the last forward()

  /// The input shape, (N, C) or (N, C, H, W); throws ShapeError for any other rank or channel count.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 4, "BatchNorm expects (N, C) or (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == channels(), describe(), " expects ", channels(), " channels, got input ", in);
    return in;
  }

  /// y = gamma (x - mean) / sqrt(var + eps) + beta with the batch statistics (train, which also moves
  /// the running ones) or the running statistics (eval).
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    mode_ = mode;
    const Shape c{channels()};
    batch_mean_.resize(c);
    inv_std_.resize(c);
    synchronised_count_ = 0;
    if (mode == Mode::train && batch_norm_process_sum() != nullptr)
      forward_synchronised(x, y, *batch_norm_process_sum());
    else if (mode == Mode::train)
      ops::batch_norm_forward_train<S>(x, gamma_.value.cview(), beta_.value.cview(), momentum_, eps_,
                                       mean_.value.view(), var_.value.view(), batch_mean_.view(), inv_std_.view(), y);
    else
      ops::batch_norm_forward_eval<S>(x, gamma_.value.cview(), beta_.value.cview(), mean_.value.cview(),
                                      var_.value.cview(), eps_, batch_mean_.view(), inv_std_.view(), y);
  }

  /// dgamma, dbeta (C) assigned or accumulated, dx assigned (skipped when empty), for the statistics the
  /// last forward() used; throws StateError before any forward().
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    require<StateError>(inv_std_.numel() == channels(), "BatchNorm::backward: run forward first");
    if (synchronised_count_ > 0) return backward_synchronised(x, dy, dx, accumulate);
    ops::batch_norm_backward<S>(x, dy, gamma_.value.cview(), batch_mean_.cview(), inv_std_.cview(),
                                mode_ == Mode::train ? ops::NormStatistics::batch : ops::NormStatistics::running,
                                gamma_.grad.view(), beta_.grad.view(), accumulate, dx);
  }

  /// Whether the last forward() used the global batch's statistics (inside a dist::SyncBatchNorm scope).
  bool synchronised() const { return synchronised_count_ > 0; }

  /// Identity growth: k channels with gamma 1, beta 0, running mean 0, running variance 1.
  void grow_channels(Index k) {
    Tensor<S, D> ones(Shape{k}), zeros(Shape{k});
    ops::fill<S>(ones.view(), S(1));
    grow::append_to_parameter(gamma_, 0, ones.cview());
    grow::append_to_parameter(beta_, 0, zeros.cview());
    grow::append_to_parameter(mean_, 0, zeros.cview());
    grow::append_to_parameter(var_, 0, ones.cview());
  }

  /// Width growth between a grown pair (layers/layer.hpp): a new channel is normalised on its own
  /// (training mode: scaled by 1 / sqrt(eps) and centred; evaluation: scaled by 1 / sqrt(1 + eps)), and
  /// seen alone it meets a fresh BatchNorm over the new channels.
  ///@{
  static constexpr bool keeps_layout = true;
  void route_new_channel(ChannelRoute& route) const { route.normalize(eps_, mode_ == Mode::train); }
  BatchNormLayer new_channels_layer(Index k) const {
    Rng unused(0);
    return BatchNormLayer(BatchNorm{.channels = k, .momentum = momentum_, .eps = eps_}, unused);
  }
  ///@}

  /// Growth by copying: one new channel per entry of `sources`, with that channel's gamma, beta and
  /// running statistics (Net2Net's split through BatchNorm). Any device (the per-channel values are
  /// gathered on the host). Throws, the layer unchanged, for a source that is not a channel.
  void grow_channels_from(std::span<const Index> sources) {
    const Index k = static_cast<Index>(sources.size());
    for (const Index s : sources) {
      require(s != average_source, "BatchNorm::grow_channels_from: a new channel that averages the others has no "
                                   "BatchNorm statistics to copy (average expansion is for LayerNorm)");
      require(s >= 0 && s < channels(), "BatchNorm::grow_channels_from: channel ", s, " does not exist");
    }
    for (Parameter<S, D>* p : {&gamma_, &beta_, &mean_, &var_}) {
      Tensor<S, Cpu> staging;
      const ConstView<S, Cpu> old = host_view(p->value, staging);
      Tensor<S, Cpu> copies(Shape{k});
      for (Index i = 0; i < k; ++i) copies[i] = old.data()[sources[static_cast<std::size_t>(i)]];
      grow::append_to_parameter(*p, 0, grow::host_to<D>(std::move(copies)).cview());
    }
  }

  /// The layer's input is about to become c times what it was (c > 0; variance transfer rescales the
  /// weights before it): running mean x c, running variance x c^2 and eps x c^2, so that both modes
  /// compute exactly what they did, (c x - c mu) / sqrt(c^2 var + c^2 eps) = (x - mu) / sqrt(var + eps).
  /// Throws for a non-positive or non-finite c.
  void rescale_input(double c) {
    require(c > 0 && std::isfinite(c), "BatchNorm::rescale_input: the factor must be positive and finite, got ", c);
    ops::scale<S>(mean_.value.view(), static_cast<S>(c));
    ops::scale<S>(var_.value.view(), static_cast<S>(c * c));
    eps_ *= c * c;
  }

  /// Normalisation has no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Calls f for "weight" (gamma), "bias" (beta), "running_mean" and "running_var", in that order.
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), gamma_);
    f(std::string_view("bias"), beta_);
    f(std::string_view("running_mean"), mean_);
    f(std::string_view("running_var"), var_);
  }

  /// The current configuration (channels after growth).
  BatchNorm kind() const { return {channels(), momentum_, eps_}; }
  /// "BatchNorm(C)".
  std::string describe() const { return "BatchNorm(" + std::to_string(channels()) + ")"; }

 private:
  // Training-mode forward with the global batch's statistics (see the file comment).
  void forward_synchronised(ConstView<S, D> x, TensorView<S, D> y, const ProcessSum& sum) {
    const Index c = channels();
    const double n = static_cast<double>(x.numel() / std::max<Index>(c, 1));
    Tensor<S, D> scratch_mean(Shape{c}), scratch_var(Shape{c});
    ops::batch_norm_forward_train<S>(x, gamma_.value.cview(), beta_.value.cview(), momentum_, eps_, scratch_mean.view(),
                                     scratch_var.view(), batch_mean_.view(), inv_std_.view(), y);
    const std::vector<double> m = detail::host_doubles<double, D>(batch_mean_.cview());
    const std::vector<double> is = detail::host_doubles<double, D>(inv_std_.cview());
    const auto cs = static_cast<std::size_t>(c);
    std::vector<double> sums(2 * cs + 1);  // sum x per channel, sum x^2 per channel, count
    for (std::size_t i = 0; i < cs; ++i) {
      const double variance = std::max(0.0, 1.0 / (is[i] * is[i]) - eps_);
      sums[i] = n * m[i];
      sums[cs + i] = n * (variance + m[i] * m[i]);
    }
    sums[2 * cs] = n;
    sum(std::span<double>(sums));
    const double total = sums[2 * cs];
    require<StateError>(total > 1, "BatchNorm (synchronised) needs more than one value per channel over all processes");
    std::vector<double> mean(cs), variance(cs), running_mean = detail::host_doubles<S, D>(mean_.value.cview()),
                                                running_var = detail::host_doubles<S, D>(var_.value.cview());
    for (std::size_t i = 0; i < cs; ++i) {
      mean[i] = sums[i] / total;
      variance[i] = std::max(0.0, sums[cs + i] / total - mean[i] * mean[i]);
      running_mean[i] = (1 - momentum_) * running_mean[i] + momentum_ * mean[i];
      running_var[i] = (1 - momentum_) * running_var[i] + momentum_ * variance[i] * total / (total - 1);
    }
    Tensor<S, D> global_mean(Shape{c}), global_var(Shape{c});
    detail::set_from_host<S, D>(mean, global_mean.view());
    detail::set_from_host<S, D>(variance, global_var.view());
    ops::batch_norm_forward_eval<S>(x, gamma_.value.cview(), beta_.value.cview(), global_mean.cview(), global_var.cview(),
                                    eps_, batch_mean_.view(), inv_std_.view(), y);
    detail::set_from_host<S, D>(running_mean, mean_.value.view());
    detail::set_from_host<S, D>(running_var, var_.value.view());
    synchronised_count_ = total;
  }

  // Backward of forward_synchronised (see the file comment).
  void backward_synchronised(ConstView<S, D> x, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const ProcessSum* sum = batch_norm_process_sum();
    require<StateError>(sum != nullptr, "BatchNorm::backward: the forward pass synchronised its statistics over the "
                                        "processes, so the backward pass must too (run it inside the same "
                                        "dist::SyncBatchNorm scope)");
    const Index c = channels();
    Tensor<S, D> dgamma(Shape{c}), dbeta(Shape{c});
    // dgamma = sum dy xhat, dbeta = sum dy (local), dx = gamma inv_std dy.
    ops::batch_norm_backward<S>(x, dy, gamma_.value.cview(), batch_mean_.cview(), inv_std_.cview(),
                                ops::NormStatistics::running, dgamma.view(), dbeta.view(), false, dx);
    if (accumulate) {
      ops::axpy<S>(S(1), dgamma.cview(), gamma_.grad.view());
      ops::axpy<S>(S(1), dbeta.cview(), beta_.grad.view());
    } else {
      ops::copy<S>(dgamma.cview(), gamma_.grad.view());
      ops::copy<S>(dbeta.cview(), beta_.grad.view());
    }
    if (dx.empty()) return;
    const auto cs = static_cast<std::size_t>(c);
    std::vector<double> sums = detail::host_doubles<S, D>(dgamma.cview());  // S1, then S0
    const std::vector<double> s0 = detail::host_doubles<S, D>(dbeta.cview());
    sums.insert(sums.end(), s0.begin(), s0.end());
    (*sum)(std::span<double>(sums));
    // dx -= beta_c x + alpha_c, with beta_c = gamma inv_std^2 S1 / N and
    // alpha_c = gamma inv_std (S0 / N - mean inv_std S1 / N): the evaluation op computes
    // gamma' (x - 0) / sqrt(1 + 0) + beta' = -(beta_c x + alpha_c) on any device.
    const std::vector<double> gamma = detail::host_doubles<S, D>(gamma_.value.cview());
    const std::vector<double> mean = detail::host_doubles<double, D>(batch_mean_.cview());
    const std::vector<double> inv_std = detail::host_doubles<double, D>(inv_std_.cview());
    std::vector<double> slope(cs), offset(cs), zeros(cs, 0.0), ones(cs, 1.0);
    for (std::size_t i = 0; i < cs; ++i) {
      const double s1 = sums[i] / synchronised_count_, s0_mean = sums[cs + i] / synchronised_count_;
      slope[i] = -gamma[i] * inv_std[i] * inv_std[i] * s1;
      offset[i] = -gamma[i] * inv_std[i] * (s0_mean - mean[i] * inv_std[i] * s1);
    }
    Tensor<S, D> g(Shape{c}), b(Shape{c}), m0(Shape{c}), v1(Shape{c}), correction = Tensor<S, D>::uninitialized(x.shape());
    Tensor<double, D> unused_mean(Shape{c}), unused_inv_std(Shape{c});
    detail::set_from_host<S, D>(slope, g.view());
    detail::set_from_host<S, D>(offset, b.view());
    detail::set_from_host<S, D>(zeros, m0.view());
    detail::set_from_host<S, D>(ones, v1.view());
    ops::batch_norm_forward_eval<S>(x, g.cview(), b.cview(), m0.cview(), v1.cview(), 0.0, unused_mean.view(),
                                    unused_inv_std.view(), correction.view());
    ops::axpy<S>(S(1), correction.cview(), dx);
  }

  Parameter<S, D> gamma_, beta_, mean_, var_;
  double momentum_, eps_;
  Mode mode_ = Mode::train;
  Tensor<double, D> batch_mean_, inv_std_;  // (C): the statistics the last forward used
  double synchronised_count_ = 0;           // > 0: the last forward was synchronised over this many values per channel
};

static_assert(Layer<BatchNormLayer<float, Cpu>> && LayerKind<BatchNorm>);

}  // namespace netgrow
