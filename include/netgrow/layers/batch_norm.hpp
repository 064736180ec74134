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
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <tuple>

#include "netgrow/ops/batch_norm.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/core/fields.hpp"
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
    if (mode == Mode::train)
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
    ops::batch_norm_backward<S>(x, dy, gamma_.value.cview(), batch_mean_.cview(), inv_std_.cview(),
                                mode_ == Mode::train ? ops::NormStatistics::batch : ops::NormStatistics::running,
                                gamma_.grad.view(), beta_.grad.view(), accumulate, dx);
  }

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
  /// running statistics (Net2Net's split through BatchNorm).
  void grow_channels_from(std::span<const Index> sources)
    requires std::same_as<D, Cpu>
  {
    const Index k = static_cast<Index>(sources.size());
    for (Parameter<S, D>* p : {&gamma_, &beta_, &mean_, &var_}) {
      Tensor<S, D> copies(Shape{k});
      for (Index i = 0; i < k; ++i) {
        const Index s = sources[static_cast<std::size_t>(i)];
        require(s != average_source, "BatchNorm::grow_channels_from: a new channel that averages the others has no "
                                     "BatchNorm statistics to copy (average expansion is for LayerNorm)");
        require(s >= 0 && s < channels(), "BatchNorm::grow_channels_from: channel ", s, " does not exist");
        copies[i] = p->value[s];
      }
      grow::append_to_parameter(*p, 0, copies.cview());
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
  Parameter<S, D> gamma_, beta_, mean_, var_;
  double momentum_, eps_;
  Mode mode_ = Mode::train;
  Tensor<double, D> batch_mean_, inv_std_;  // (C): the statistics the last forward used
};

static_assert(Layer<BatchNormLayer<float, Cpu>> && LayerKind<BatchNorm>);

}  // namespace netgrow
