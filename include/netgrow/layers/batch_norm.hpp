// netgrow/layers/batch_norm.hpp: batch normalisation of dense (N, C) or convolutional (N, C, H, W)
// activations, per channel.
//
// Training mode: y = gamma (x - mu) / sqrt(var + eps) + beta with mu, var the batch mean and (biased)
// variance over N (and H, W); the running statistics move as PyTorch's BatchNorm does:
//     running = (1 - momentum) running + momentum batch    (variance: the unbiased batch variance)
// so momentum 0.1 here is Keras' momentum 0.9. Evaluation mode uses the running statistics.
// Parameters: "weight" (gamma) and "bias" (beta), trainable without weight decay; "running_mean" and
// "running_var" are state, visited with trainable = false so checkpoints carry them and optimizers
// skip them (PyTorch's state-dict names).
// Identity growth between a grown pair: new channels get gamma 1, beta 0, mean 0, variance 1, and the
// momentum stays (the GradMax reference silently resets it; this does not). A new channel whose input
// is zero outputs zero in both modes.
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/grow/parameter_growth.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class BatchNormLayer;

struct BatchNorm {
  static constexpr std::string_view name = "BatchNorm";
  Index channels = 0;
  double momentum = 0.1;
  double eps = 1e-5;

  template <class S, class D>
  using layer_type = BatchNormLayer<S, D>;
};

template <class S, class D>
class BatchNormLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = BatchNorm;

  BatchNormLayer(const BatchNorm& kind, Rng&) : momentum_(kind.momentum), eps_(kind.eps) {
    require(kind.channels > 0, "BatchNorm: channels must be positive, got ", kind.channels);
    require(kind.momentum >= 0 && kind.momentum <= 1, "BatchNorm: momentum must be in [0, 1], got ", kind.momentum);
    require(kind.eps > 0, "BatchNorm: eps must be positive, got ", kind.eps);
    const Shape c{kind.channels};
    gamma_ = Parameter<S, D>(c);
    beta_ = Parameter<S, D>(c);
    mean_ = Parameter<S, D>(c);
    var_ = Parameter<S, D>(c);
    gamma_.value.fill(S(1));
    var_.value.fill(S(1));
    gamma_.weight_decay = beta_.weight_decay = false;
    mean_.trainable = var_.trainable = false;
  }

  Index channels() const { return gamma_.value.numel(); }
  Parameter<S, D>& gamma() { return gamma_; }
  Parameter<S, D>& beta() { return beta_; }
  Parameter<S, D>& running_mean() { return mean_; }
  Parameter<S, D>& running_var() { return var_; }
  double momentum() const { return momentum_; }
  double eps() const { return eps_; }
  Mode last_mode() const { return mode_; }  // the mode of the last forward()

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 4, "BatchNorm expects (N, C) or (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == channels(), describe(), " expects ", channels(), " channels, got input ", in);
    return in;
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    const Index n = x.dim(0), c = channels(), m = x.rank() == 4 ? x.dim(2) * x.dim(3) : 1;
    mode_ = mode;
    batch_mean_.resize(static_cast<std::size_t>(c));
    inv_std_.resize(static_cast<std::size_t>(c));
    const double count = static_cast<double>(n * m);
    if (mode == Mode::train)
      require<ShapeError>(n * m > 1, "BatchNorm in training mode needs more than one value per channel, got input ",
                          x.shape());
    ops::parallel_for(c, [&](Index ch, int) {
      double mean, var;
      if (mode == Mode::train) {
        double sum = 0, sq = 0;
        for (Index i = 0; i < n; ++i) {
          const S* p = x.data() + (i * c + ch) * m;
          for (Index j = 0; j < m; ++j) sum += p[j];
        }
        mean = sum / count;
        for (Index i = 0; i < n; ++i) {
          const S* p = x.data() + (i * c + ch) * m;
          for (Index j = 0; j < m; ++j) sq += (p[j] - mean) * (p[j] - mean);
        }
        var = sq / count;
        mean_.value[ch] = static_cast<S>((1 - momentum_) * mean_.value[ch] + momentum_ * mean);
        var_.value[ch] = static_cast<S>((1 - momentum_) * var_.value[ch] + momentum_ * var * count / (count - 1));
      } else {
        mean = mean_.value[ch];
        var = var_.value[ch];
      }
      const double inv = 1.0 / std::sqrt(var + eps_);
      batch_mean_[static_cast<std::size_t>(ch)] = mean;
      inv_std_[static_cast<std::size_t>(ch)] = inv;
      const S scale = static_cast<S>(gamma_.value[ch] * inv);
      const S shift = static_cast<S>(beta_.value[ch] - gamma_.value[ch] * inv * mean);
      for (Index i = 0; i < n; ++i) {
        const S* p = x.data() + (i * c + ch) * m;
        S* q = y.data() + (i * c + ch) * m;
        for (Index j = 0; j < m; ++j) q[j] = scale * p[j] + shift;
      }
    });
  }

  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const Index n = x.dim(0), c = channels(), m = x.rank() == 4 ? x.dim(2) * x.dim(3) : 1;
    require<StateError>(static_cast<Index>(inv_std_.size()) == c, "BatchNorm::backward: run forward first");
    const double count = static_cast<double>(n * m);
    ops::parallel_for(c, [&](Index ch, int) {
      const double mean = batch_mean_[static_cast<std::size_t>(ch)], inv = inv_std_[static_cast<std::size_t>(ch)];
      double sum_dy = 0, sum_dy_xhat = 0;
      for (Index i = 0; i < n; ++i) {
        const S* p = x.data() + (i * c + ch) * m;
        const S* g = dy.data() + (i * c + ch) * m;
        for (Index j = 0; j < m; ++j) {
          sum_dy += g[j];
          sum_dy_xhat += g[j] * (p[j] - mean) * inv;
        }
      }
      gamma_.grad[ch] = static_cast<S>(sum_dy_xhat + (accumulate ? gamma_.grad[ch] : S(0)));
      beta_.grad[ch] = static_cast<S>(sum_dy + (accumulate ? beta_.grad[ch] : S(0)));
      if (dx.empty()) return;
      const double gi = gamma_.value[ch] * inv;
      for (Index i = 0; i < n; ++i) {
        const S* p = x.data() + (i * c + ch) * m;
        const S* g = dy.data() + (i * c + ch) * m;
        S* q = dx.data() + (i * c + ch) * m;
        if (mode_ == Mode::train) {
          for (Index j = 0; j < m; ++j) {
            const double xhat = (p[j] - mean) * inv;
            q[j] = static_cast<S>(gi * (g[j] - sum_dy / count - xhat * sum_dy_xhat / count));
          }
        } else {
          for (Index j = 0; j < m; ++j) q[j] = static_cast<S>(gi * g[j]);
        }
      }
    });
  }

  // Identity growth: k channels with gamma 1, beta 0, running mean 0, running variance 1.
  void grow_channels(Index k)
    requires std::same_as<D, Cpu>
  {
    Tensor<S, D> ones(Shape{k}), zeros(Shape{k});
    ones.fill(S(1));
    grow::append_to_parameter(gamma_, 0, ones.cview());
    grow::append_to_parameter(beta_, 0, zeros.cview());
    grow::append_to_parameter(mean_, 0, zeros.cview());
    grow::append_to_parameter(var_, 0, ones.cview());
  }

  // Growth by copying: one new channel per entry of `sources`, with that channel's gamma, beta and
  // running statistics (Net2Net's split through BatchNorm).
  void grow_channels_from(std::span<const Index> sources)
    requires std::same_as<D, Cpu>
  {
    const Index k = static_cast<Index>(sources.size());
    for (Parameter<S, D>* p : {&gamma_, &beta_, &mean_, &var_}) {
      Tensor<S, D> copies(Shape{k});
      for (Index i = 0; i < k; ++i) {
        const Index s = sources[static_cast<std::size_t>(i)];
        require(s >= 0 && s < channels(), "BatchNorm::grow_channels_from: channel ", s, " does not exist");
        copies[i] = p->value[s];
      }
      grow::append_to_parameter(*p, 0, copies.cview());
    }
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), gamma_);
    f(std::string_view("bias"), beta_);
    f(std::string_view("running_mean"), mean_);
    f(std::string_view("running_var"), var_);
  }

  BatchNorm kind() const { return {channels(), momentum_, eps_}; }
  std::string describe() const { return "BatchNorm(" + std::to_string(channels()) + ")"; }

 private:
  Parameter<S, D> gamma_, beta_, mean_, var_;
  double momentum_, eps_;
  Mode mode_ = Mode::train;
  std::vector<double> batch_mean_, inv_std_;  // per channel, from the last forward
};

static_assert(Layer<BatchNormLayer<float, Cpu>> && LayerKind<BatchNorm>);

}  // namespace netgrow
