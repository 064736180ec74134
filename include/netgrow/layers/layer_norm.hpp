/// \file
/// netgrow/layers/layer_norm.hpp: layer normalisation of (N, D) activations, per row over its features.
///
/// y = gamma (x - mu) / sqrt(var + eps) + beta with mu and var the mean and biased variance of each
/// row (PyTorch's LayerNorm over the last dimension). The same in training and evaluation mode (no
/// running statistics). Parameters: "weight" (gamma, init 1) and "bias" (beta, init 0), without weight
/// decay.
///
/// Growth. LayerNorm mixes its features (every output depends on the whole row), so it has no identity
/// growth (`grow_channels(k)`): a new feature would change the mean and variance seen by the old ones.
/// `mixes_channels` says so to growth code. It grows instead by LEMON's average expansion
/// (Wang et al., ICLR 2024), grow_channels_from(sources): the producer appends copies of its features
/// and features equal to the row mean (`average_source`), and LayerNorm rescales gamma and eps so its
/// output is unchanged on the old features, repeated on the copies and 0 on the averages (exactly 0
/// when the row mean is computed without rounding, else a rounding error of the mean).
/// The math is the op facade's ops::layer_norm_* (backend/cpu/layer_norm.hpp; backend/cuda/layer_norm.hpp
/// for Cuda).
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "netgrow/layers/fade_mask.hpp"
#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/layer_norm.hpp"
#include "netgrow/layers/parameter_growth.hpp"  // append_to_parameter, average_source
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class LayerNormLayer;

/// Layer kind: LayerNorm{.features = 64} (eps as in PyTorch's default).
struct LayerNorm {
  static constexpr std::string_view name = "LayerNorm";  ///< the kind's name (checkpoint configs, messages)
  Index features = 0;                                    ///< features D of each row
  double eps = 1e-5;                                     ///< added to the variance, > 0 (growth rescales it)

  /// The configuration fields (core/fields.hpp): growth changes both; eps (rescaled by
  /// grow_channels_from) shows in no parameter shape.
  static constexpr auto fields() {
    return std::tuple{field("features", &LayerNorm::features, FieldRole::width),
                      field("eps", &LayerNorm::eps, FieldRole::unshaped_width)};
  }

  /// The layer this kind names: LayerNormLayer<S, D>.
  template <class S, class D>
  using layer_type = LayerNormLayer<S, D>;
};

/// The LayerNorm layer for scalar S on device D: per-row normalisation of (N, D) inputs with gamma and
/// beta of shape (D) (see the file comment).
template <class S, class D>
class LayerNormLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = LayerNorm;
  ///@}

  /// Every output depends on every input feature of its row: identity growth is impossible (see the
  /// file comment); grow with grow_channels_from.
  static constexpr bool mixes_channels = true;

  /// gamma 1, beta 0 (no random draws); throws ArgumentError for non-positive features or eps.
  LayerNormLayer(const LayerNorm& kind, Rng&) : eps_(kind.eps) {
    require(kind.features > 0, "LayerNorm: features must be positive, got ", kind.features);
    require(kind.eps > 0, "LayerNorm: eps must be positive, got ", kind.eps);
    const Shape f{kind.features};
    gamma_ = Parameter<S, D>(f);
    beta_ = Parameter<S, D>(f);
    ops::fill<S>(gamma_.value.view(), S(1));
    gamma_.weight_decay = beta_.weight_decay = false;
  }

  Index features() const { return gamma_.value.numel(); }  ///< current D
  Parameter<S, D>& gamma() { return gamma_; }              ///< scale (D), visited as "weight"
  Parameter<S, D>& beta() { return beta_; }                ///< shift (D), visited as "bias"
  double eps() const { return eps_; }                      ///< added to the variance

  /// The input shape, (N, D) or a sequence (N, T, D) (each token normalised on its own); throws
  /// ShapeError for another rank or feature count.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 3, describe(), " expects (N, D) or (N, T, D) input, got ", in);
    require<ShapeError>(in[-1] == features(), describe(), " expects ", features(), " features, got input ", in);
    return in;
  }

  /// y = gamma (x - mu) / sqrt(var + eps) + beta per row; keeps the row statistics for backward. The
  /// mode does not matter.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    (void)output_shape(x.shape());
    const Shape rows{x.numel() / features()};
    mean_.resize(rows);
    inv_std_.resize(rows);
    statistics_of_ = Shape{};
    if (fade_.active()) {
      const ConstView<S, Cpu> g = fade_.host_gains();
      require<NumericError>(std::any_of(g.data(), g.data() + g.numel(), [](S v) { return v > S(0); }), describe(),
                            ": every feature is faded out (no statistics)");
    }
    ops::layer_norm_forward<S>(as_rows(x), gamma_.value.cview(), beta_.value.cview(), eps_, mean_.view(),
                               inv_std_.view(), as_rows(y), gains());
    statistics_of_ = x.shape();
  }

  /// dgamma, dbeta (D) assigned or accumulated (sums over rows), dx (N, D) assigned (skipped when
  /// empty), with the row statistics of the last forward(); throws StateError when there was none for
  /// an input of x's shape (no forward yet, or growth since).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const bool fresh = statistics_of_.rank() >= 2 && statistics_of_ == x.shape() && x.dim(-1) == features();
    require<StateError>(fresh, describe(), "::backward: run forward first (no row statistics for input ", x.shape(),
                        ")");
    ops::layer_norm_backward<S>(as_rows(x), as_rows(dy), gamma_.value.cview(), mean_.cview(), inv_std_.cview(),
                                gamma_.grad.view(), beta_.grad.view(), accumulate, dx.empty() ? dx : as_rows(dx),
                                gains());
  }

  /// LEMON's lossless expansion by average features: one new feature per entry of `sources`. An entry
  /// sources[i] >= 0 makes new feature i a copy of that existing feature; average_source (-1) makes it
  /// the mean of the existing features (as the producer made them). Needs every existing feature
  /// copied the same number n >= 0 of times, so sources.size() = n D_S + r with r averages (otherwise
  /// ArgumentError, the layer unchanged). Then the input's row mean stays and its variance becomes
  /// c = (n + 1) D_S / D_T times the old one (D_T = D_S + sources.size()), and
  /// ~~~{.unparsed}
  ///   gamma_j <- sqrt(c) gamma_j (existing);  copies: sqrt(c) gamma_src, beta_src;
  ///   averages: gamma sqrt(c) (any value would do: their normalised input is 0), beta 0;  eps <- c eps
  /// ~~~
  /// keep the output on the existing features, repeat it on the copies and give 0 on the averages.
  /// Appends go through grow::append_to_parameter (gradients and optimizer state grow with zeros,
  /// lr_scale with 1); the existing gamma is rescaled in place in its value only: its gradient and
  /// optimizer state are left as they are. Any device (the per-feature values are computed on the host).
  void grow_channels_from(std::span<const Index> sources) {
    const Index old = features();
    const Index k = static_cast<Index>(sources.size());
    const Index n = check_sources(sources);
    if (k == 0) return;
    const double c = static_cast<double>((n + 1) * old) / static_cast<double>(old + k);
    const double root = std::sqrt(c);
    auto rescaled = [&](S g) { return static_cast<S>(static_cast<double>(g) * root); };
    Tensor<S, Cpu> gamma_staging, beta_staging;
    const S* gamma = host_view(gamma_.value, gamma_staging).data();
    const S* beta = host_view(beta_.value, beta_staging).data();
    Tensor<S, Cpu> new_gamma(Shape{k}), new_beta(Shape{k}), all_gamma(Shape{old + k});
    for (Index i = 0; i < k; ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      new_gamma[i] = s == average_source ? static_cast<S>(root) : rescaled(gamma[s]);
      new_beta[i] = s == average_source ? S(0) : beta[s];
    }
    for (Index j = 0; j < old; ++j) all_gamma[j] = rescaled(gamma[j]);
    std::copy_n(new_gamma.data(), k, all_gamma.data() + old);
    grow::append_to_parameter(gamma_, 0, grow::host_to<D>(std::move(new_gamma)).cview());
    grow::append_to_parameter(beta_, 0, grow::host_to<D>(std::move(new_beta)).cview());
    fade_.grow(k);
    grow::copy_between<S>(all_gamma.cview(), gamma_.value.view());  // the existing ones rescaled
    eps_ *= c;
  }

  /// Model-width growth (layers/stream_expansion.hpp): grow_channels_from(e.sources) (LEMON), or with
  /// e.fade_steps > 0 masked growth (MSG): k new features with gamma 1 and beta 0, the existing ones
  /// untouched, faded in by fade_features.
  void grow_stream(const StreamExpansion<S>& e) {
    require<ShapeError>(features() == e.old_width, describe(), "::grow_stream: a stream of ", e.old_width, " features");
    if (e.fade_steps == 0) return grow_channels_from(std::span<const Index>(e.sources));
    const Index k = e.added();
    if (k == 0) return;
    Tensor<S, D> ones(Shape{k}), zeros(Shape{k});
    ops::fill<S>(ones.view(), S(1));
    grow::append_to_parameter(gamma_, 0, ones.cview());
    grow::append_to_parameter(beta_, 0, zeros.cview());
    fade_.grow(k);
    fade_features(e.old_width, e.new_width(), e.fade_steps);
  }

  /// Masked growth (MSG; layers/fade_mask.hpp): features [begin, end) get a gain g rising from 0 to 1
  /// over `steps` calls of advance_fades(). While it rises the row statistics are weighted by g (mean
  /// sum(g x) / sum(g), variance likewise) and the output is g * (gamma xhat + beta): at g = 0 the
  /// layer computes on the other features exactly as before them and outputs 0 on these, whatever the
  /// stream holds there (MSG's masked LayerNorm).
  void fade_features(Index begin, Index end, std::int64_t steps) {
    fade_.start(features(), begin, end, steps);
  }
  /// Moves the fade `steps` steps on; returns whether it is still in progress.
  bool advance_fades(std::int64_t steps = 1) { return fade_.active() && fade_.advance(steps); }
  /// True while a fade is in progress.
  bool fading() const { return fade_.active(); }

  /// Checks that grow_channels_from(sources) can keep the function (see there) and returns the number of
  /// copies n of each feature; ArgumentError otherwise. grow::grow_width calls it before changing anything.
  Index check_sources(std::span<const Index> sources) const {
    const Index old = features();
    std::vector<Index> copies(static_cast<std::size_t>(old), 0);
    for (const Index s : sources) {
      require(s == average_source || (s >= 0 && s < old), "LayerNorm::grow_channels_from: feature ", s,
              " does not exist (", old, " features; ", average_source, " for an average feature)");
      if (s != average_source) ++copies[static_cast<std::size_t>(s)];
    }
    const Index n = copies[0];
    for (Index j = 0; j < old; ++j)
      require(copies[static_cast<std::size_t>(j)] == n, "LayerNorm::grow_channels_from: feature ", j, " is copied ",
              copies[static_cast<std::size_t>(j)], " times, feature 0 ", n,
              " times; LayerNorm's lossless expansion needs every feature replicated equally, plus features "
              "equal to the mean of the existing ones (LEMON's average expansion)");
    return n;
  }

  /// Normalisation has no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// The output has the input's shape (depth growth may take widths through it).
  static constexpr bool keeps_layout = true;

  /// Calls f for "weight" (gamma) and "bias" (beta), in that order.
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), gamma_);
    f(std::string_view("bias"), beta_);
  }

  /// The current configuration (features and eps after growth).
  LayerNorm kind() const { return {features(), eps_}; }
  /// "LayerNorm(D)".
  std::string describe() const { return "LayerNorm(" + std::to_string(features()) + ")"; }

 private:
  // A (N, D) or (N, T, D) view as (rows, D).
  template <class T>
  static TensorView<T, D> as_rows(TensorView<T, D> v) {
    return v.rank() == 3 ? v.reshape(Shape{v.dim(0) * v.dim(1), v.dim(2)}) : v;
  }

  // The gains while fading, else empty (the plain statistics).
  ConstView<S, D> gains() const { return fade_.active() ? fade_.gains() : ConstView<S, D>(); }

  Parameter<S, D> gamma_, beta_;
  FadeMask<S, D> fade_;  // MSG gains on the features (inactive: none)
  double eps_;
  Tensor<double, D> mean_, inv_std_;  // (N): the row statistics of the last forward
  Shape statistics_of_;               // the input shape they belong to (empty: none)
};

static_assert(Layer<LayerNormLayer<float, Cpu>> && LayerKind<LayerNorm>);

}  // namespace netgrow
