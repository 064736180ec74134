/// \file
/// netgrow/grow/initializer.hpp: what every width-growth initializer shares.
///
/// An initializer decides the weights of k new neurons of a pair (producer P -> ... -> consumer C). It
/// satisfies `Initializer` (checked by grow_width with a readable message):
///
/// ~~~
///   NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>& data, Rng& rng) const
/// ~~~
///
/// An initializer that works on every device is a template over it (Random, GradMax, VarianceTransfer);
/// one written for the Cpu only (Split, Lemon, GradMax-Opt) takes the Cpu types, and grow_width on a
/// device network runs it through the host (host_staged_growth: the pair and its data copied over, the
/// new neurons copied back; `runs_on<Init, S, D>` is the device trait). An initializer that refines its
/// neurons by training the grown network (FireflyOpt) does so on the network's device.
///
/// Vectors are per neuron: a new neuron's *incoming* weights are one row of the producer (fan_in
/// values: Dense in), its *outgoing* weights the flattened slice of the consumer it feeds (fan_out
/// values: Dense out). Initializers may also declare these traits; initializer_traits<Init> reads them
/// and gives the default (false) for those it does not declare:
/// ~~~{.unparsed}
///   static constexpr bool needs_data            it reads GrowthData (GradMax's matrix, the grow batch):
///                                               grow_pair and growth sites run the grow batch first
///   static constexpr bool needs_zero_at_zero    the activations between must have f(0) = 0 for the
///                                               growth to preserve the network's function
///   static constexpr bool needs_nonzero_slope   ... must have f'(0) != 0 (GradMax-style methods)
///   static constexpr bool copies_neurons        its new neurons copy (or average) existing ones, given in
///                                               NewNeurons::duplicate_of: the only way to grow a pair
///                                               with a LayerNorm between (Split, Lemon)
///   void refine(RefineContext<S, D>&) const     run after the new neurons are in place (Firefly)
/// ~~~
///
/// Norms. NormRule gives each new neuron's norm on one side: mean_norm(s) is s times the mean norm of
/// the existing neurons on that side, fixed(c) is c itself (the GradMax reference's two rules). The
/// "zero" side of a method gets the same rule with scale epsilon (default 0: exactly zero).
#pragma once

#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "netgrow/ops/blas.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::grow {

/// The weights of k new neurons, on the network's device D.
template <class S, class D = Cpu>
struct NewNeurons {
  Tensor<S, D> incoming;  ///< (k, fan_in): each new neuron's incoming weights
  Tensor<S, D> bias;      ///< (k) producer bias of the new neurons, or empty for zero
  Tensor<S, D> outgoing;  ///< (k, fan_out): each new neuron's outgoing weights
  /// (width) factors applied to the *existing* neurons' outgoing weights, or empty (Net2Net's split
  /// divides the outgoing weights of the neurons it duplicates). On the host for every device.
  Tensor<S, Cpu> existing_outgoing_scale;
  /// (width, fan_out) new outgoing weights of the *existing* neurons, replacing theirs, or empty (LEMON
  /// splits a neuron's outgoing weights unequally among its copies). On the host for every device.
  Tensor<S, Cpu> existing_outgoing;
  /// A factor c for the consumer's existing weights and bias (1: unchanged). Variance transfer rescales
  /// them to the new fan-in; grow_width then tells the BatchNorm right after the consumer
  /// (BatchNormLayer::rescale_input), which keeps the function exactly, and refuses c != 1 without one.
  double consumer_scale = 1.0;
  /// For copies of existing neurons (Split, Lemon): the neuron each new one copies, or average_source for a
  /// new neuron that is the mean of the existing ones. Layers between the pair then copy those channels
  /// (BatchNorm statistics, depthwise filters, LayerNorm's rule) instead of growing by identity.
  std::vector<Index> duplicate_of;
  std::vector<double> singular_values;  ///< diagnostics: GradMax's top singular values
};

/// What an initializer may read about the pair before it grows; tensors on the network's device D.
template <class S, class D = Cpu>
struct PairView {
  ConstView<S, D> incoming;        ///< (width, fan_in): existing incoming weights, a row per neuron
  ConstView<S, D> bias;            ///< (width) producer bias, or empty without bias
  double mean_incoming_norm = 0;   ///< mean over existing neurons of their incoming vector's norm
  double mean_outgoing_norm = 0;   ///< mean over existing neurons of their outgoing vector's norm
  Index fan_out_size = 0;          ///< values per outgoing vector
  /// (width, fan_out): existing outgoing weights, a row per neuron; gathered from the consumer on
  /// demand (a copy), for initializers that need more than their norms (Split).
  std::function<Tensor<S, D>()> outgoing;
  double slope_at_zero = 1;        ///< product of f'(0) over the activations between the pair
  bool zero_at_zero = true;        ///< every activation between the pair has f(0) = 0
  /// Inputs per output unit of the consumer before growth (Dense: in; Conv2d: in k k); each new neuron
  /// adds fan_out / consumer_outputs of them.
  Index consumer_fan_in = 0;
  Index consumer_outputs = 0;      ///< the consumer's output units (Dense: out; Conv2d: out channels)
  bool mixing_between = false;     ///< a layer between mixes channels (LayerNorm): only copies keep the function
  /// A BatchNorm follows the consumer directly, so a factor on the consumer's output is absorbed exactly
  /// (NewNeurons::consumer_scale).
  bool normalized_after_consumer = false;
  /// Applies the layers between the pair to new neurons' pre-activations z (N, k) -> h (N, k), and
  /// back-propagates dh -> dz (for methods that optimise incoming weights through the activation).
  /// Host values on every device (a device network's layers run on the device, the values copied over).
  ///@{
  std::function<void(ConstView<S, Cpu> z, TensorView<S, Cpu> h)> between_forward;
  std::function<void(ConstView<S, Cpu> z, ConstView<S, Cpu> h, ConstView<S, Cpu> dh, TensorView<S, Cpu> dz)>
      between_backward;
  ///@}

  Index width() const { return incoming.dim(0); }   ///< existing neurons
  Index fan_in() const { return incoming.dim(1); }  ///< values per incoming vector
  Index fan_out() const { return fan_out_size; }    ///< values per outgoing vector
};

/// Replaces values by their mean over the processes of a data-parallel group (empty: a single process).
/// Set from a communicator by dist::growth_options; grow/ knows no communicator.
struct CrossProcessMean {
  std::function<void(std::span<float>)> f32;   ///< in place, float values
  std::function<void(std::span<double>)> f64;  ///< in place, double values
  explicit operator bool() const { return f32 && f64; }  ///< set
  /// Replaces x by its mean over the processes.
  template <class S>
  void operator()(std::span<S> x) const {
    if constexpr (std::same_as<S, float>) f32(x);
    else f64(x);
  }
};

/// The data a data-driven initializer uses, all optional:
/// ~~~{.unparsed}
///   matrix        M = dL/dW_aux (fan_out, fan_in), the gradient of the loss with respect to a zero
///                 weight matrix from the producer's input h to the consumer's pre-activation z
///                 (GradMax's E[dL/dz h^T]); estimated over one or many batches
///   inputs        h (N, fan_in) and output_grads dL/dz (N, fan_out) of a batch, from which M = dz^T h
///   recompute     runs forward, loss and backward on the grow batch for the network as it is now
/// ~~~
/// Tensors live on the network's device D; M is formed there (ops::gemm) when asked for.
template <class S, class D = Cpu>
class GrowthData {
 public:
  GrowthData() = default;  ///< no data: for initializers that need none

  /// Data holding M (fan_out, fan_in) itself (estimated elsewhere, e.g. over many batches).
  static GrowthData from_matrix(Tensor<S, D> m) {
    require<ShapeError>(m.rank() == 2, "GrowthData::from_matrix: M must be a matrix, got ", m.shape());
    GrowthData d;
    d.matrix_ = std::move(m);
    return d;
  }
  /// Data from one batch's h (N, fan_in) and dL/dz (N, fan_out), viewed (they must outlive the data);
  /// M = dz^T h is formed when first asked for.
  static GrowthData from_batch(ConstView<S, D> inputs, ConstView<S, D> output_grads) {
    require<ShapeError>(inputs.rank() == 2 && output_grads.rank() == 2 && inputs.dim(0) == output_grads.dim(0),
                        "GrowthData::from_batch: inputs ", inputs.shape(), " and output gradients ",
                        output_grads.shape(), " must be (N, fan_in) and (N, fan_out)");
    GrowthData d;
    d.inputs_ = inputs;
    d.output_grads_ = output_grads;
    return d;
  }
  /// The same from tensors the data then owns (rows built for the purpose, e.g. centred inputs).
  static GrowthData from_owned_batch(Tensor<S, D> inputs, Tensor<S, D> output_grads) {
    GrowthData d = from_batch(inputs.cview(), output_grads.cview());
    d.owned_inputs_ = std::move(inputs);
    d.owned_output_grads_ = std::move(output_grads);
    return d;
  }
  /// A factor the gradient of the new incoming weights carries besides the activations' slopes and M:
  /// BatchNorm between the pair scales a new channel's gradient by 1 / sqrt(eps) in training mode.
  double gradient_scale() const { return gradient_scale_; }
  /// Sets gradient_scale() (default 1); chainable.
  ///@{
  GrowthData& with_gradient_scale(double s) & {
    gradient_scale_ = s;
    return *this;
  }
  GrowthData&& with_gradient_scale(double s) && { return std::move(with_gradient_scale(s)); }
  ///@}
  /// Replaces M by `m` (fan_out, fan_in), keeping the batch if any: initializers that read M then use
  /// `m` (data parallelism: the mean over the processes), those that read the batch use the batch;
  /// chainable.
  ///@{
  GrowthData& with_matrix(Tensor<S, D> m) & {
    require<ShapeError>(m.rank() == 2, "GrowthData::with_matrix: M must be a matrix, got ", m.shape());
    if (has_batch())
      require<ShapeError>(m.dim(0) == output_grads_.dim(1) && m.dim(1) == inputs_.dim(1), "GrowthData::with_matrix: M ",
                          m.shape(), " does not fit the batch's (", output_grads_.dim(1), ", ", inputs_.dim(1), ")");
    matrix_ = std::move(m);
    return *this;
  }
  GrowthData&& with_matrix(Tensor<S, D> m) && { return std::move(with_matrix(std::move(m))); }
  ///@}
  /// Data parallelism: the mean over the processes that train the network (set by data_from_last_backward
  /// with PairDataOptions::mean_over_processes), for initializers that reduce statistics of the batch rows
  /// so that every process decides alike; empty for one process. Chainable setter.
  ///@{
  const CrossProcessMean& process_mean() const { return process_mean_; }
  GrowthData& with_process_mean(CrossProcessMean mean) & {
    process_mean_ = std::move(mean);
    return *this;
  }
  GrowthData&& with_process_mean(CrossProcessMean mean) && { return std::move(with_process_mean(std::move(mean))); }
  ///@}
  /// Sets the function recompute() runs (forward, loss and backward on the grow batch); chainable.
  ///@{
  GrowthData& with_recompute(std::function<void()> recompute) & {
    recompute_ = std::move(recompute);
    return *this;
  }
  GrowthData&& with_recompute(std::function<void()> recompute) && { return std::move(with_recompute(std::move(recompute))); }
  ///@}

  /// True when every value held (M, or the batch's h and dL/dz) is finite; true for empty data.
  bool all_finite() const {
    return ops::all_finite<S>(matrix_) && ops::all_finite<S>(inputs_) && ops::all_finite<S>(output_grads_);
  }
  bool has_matrix() const { return !matrix_.empty(); }                  ///< M was given or already formed
  bool has_batch() const { return !inputs_.empty(); }                   ///< a batch's h and dL/dz are held
  bool can_recompute() const { return static_cast<bool>(recompute_); }  ///< with_recompute() was set

  /// M (fan_out, fan_in): the given matrix, or dz^T h of the batch (computed once).
  const Tensor<S, D>& matrix() const {
    if (matrix_.empty()) {
      require(has_batch(), "GrowthData: this initializer needs GradMax's gradient matrix; pass "
                           "GrowthData::from_matrix(M) or GrowthData::from_batch(h, dL/dz)");
      matrix_ = Tensor<S, D>(Shape{output_grads_.dim(1), inputs_.dim(1)});
      ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), output_grads_, inputs_, S(0), matrix_.view());
    }
    return matrix_;
  }
  /// The batch's h (N, fan_in); throws without a batch.
  ConstView<S, D> inputs() const {
    require(has_batch(), "GrowthData: this initializer needs a batch (GrowthData::from_batch(h, dL/dz))");
    return inputs_;
  }
  /// The batch's dL/dz (N, fan_out); throws without a batch.
  ConstView<S, D> output_grads() const {
    require(has_batch(), "GrowthData: this initializer needs a batch (GrowthData::from_batch(h, dL/dz))");
    return output_grads_;
  }
  /// Re-runs forward, loss and backward on the grow batch for the network as it is now; throws when
  /// with_recompute() was not set.
  void recompute() const {
    require(can_recompute(), "GrowthData: this initializer needs to re-run the grow batch; set with_recompute()");
    recompute_();
  }

 private:
  mutable Tensor<S, D> matrix_;
  ConstView<S, D> inputs_;
  ConstView<S, D> output_grads_;
  Tensor<S, D> owned_inputs_, owned_output_grads_;
  std::function<void()> recompute_;
  CrossProcessMean process_mean_;
  double gradient_scale_ = 1.0;
};

/// Init can grow pairs of scalar S on device D: it has initialize() for PairView<S, D> (the device trait).
template <class Init, class S, class D>
concept runs_on = requires(const Init& init, const PairView<S, D>& pair, Index k, const GrowthData<S, D>& data,
                           Rng& rng) {
  { init.initialize(pair, k, data, rng) } -> std::same_as<NewNeurons<S, D>>;
};

/// A width-growth initializer: initialize() for float or double Cpu networks at least (see the file
/// comment). Whether it also runs on a device is runs_on<Init, S, Cuda>, asked only where the CUDA back
/// end is included.
template <class Init>
concept Initializer = runs_on<Init, float, Cpu> || runs_on<Init, double, Cpu>;

/// Init grows pairs of a device-D network through the host (grow_width stages it): it is written for
/// the Cpu only, and D is another device. Its pair, data and new neurons cross in host_staged_growth.
template <class Init, class S, class D>
concept runs_host_staged = !std::same_as<D, Cpu> && !runs_on<Init, S, D> && runs_on<Init, S, Cpu>;

/// Runs a Cpu initializer for a pair of a device-D network: the pair's weights and the grow data
/// (M when formed, the batch's h and dL/dz when held) are copied to the host, the initializer runs
/// there, and its new neurons are copied to D. Costs one copy of the pair and its data each way: for
/// initializers whose work is small next to a training step (Split, Lemon: index copies; GradMax-Opt:
/// a few hundred Adam steps on a (k, fan_in) matrix). The in-between layers' functions (between_forward,
/// between_backward) take host values and run the layers on the device. The copies need the device's
/// transfer functions (backend/cuda/transfer.hpp, included by netgrow/cuda.hpp).
template <class Init, class S, class D>
NewNeurons<S, D> host_staged_growth(const Init& init, const PairView<S, D>& pair, Index k, const GrowthData<S, D>& data,
                                    Rng& rng) {
  const Tensor<S, Cpu> incoming = host_copy(pair.incoming);
  const Tensor<S, Cpu> bias = pair.bias.empty() ? Tensor<S, Cpu>() : host_copy(pair.bias);
  PairView<S, Cpu> host{.incoming = incoming.cview(),
                        .bias = bias.cview(),
                        .mean_incoming_norm = pair.mean_incoming_norm,
                        .mean_outgoing_norm = pair.mean_outgoing_norm,
                        .fan_out_size = pair.fan_out_size,
                        .outgoing = [&pair] { return host_copy(pair.outgoing().cview()); },
                        .slope_at_zero = pair.slope_at_zero,
                        .zero_at_zero = pair.zero_at_zero,
                        .consumer_fan_in = pair.consumer_fan_in,
                        .consumer_outputs = pair.consumer_outputs,
                        .mixing_between = pair.mixing_between,
                        .normalized_after_consumer = pair.normalized_after_consumer,
                        .between_forward = pair.between_forward,
                        .between_backward = pair.between_backward};
  GrowthData<S, Cpu> host_data;
  if (data.has_batch())
    host_data = GrowthData<S, Cpu>::from_owned_batch(host_copy(data.inputs()), host_copy(data.output_grads()));
  if (data.has_matrix()) host_data.with_matrix(host_copy(data.matrix().cview()));
  host_data.with_gradient_scale(data.gradient_scale()).with_process_mean(data.process_mean());
  if (data.can_recompute()) host_data.with_recompute([&data] { data.recompute(); });

  NewNeurons<S, Cpu> h = init.initialize(host, k, host_data, rng);
  NewNeurons<S, D> n;
  n.incoming = host_to<D>(std::move(h.incoming));
  if (!h.bias.empty()) n.bias = host_to<D>(std::move(h.bias));
  n.outgoing = host_to<D>(std::move(h.outgoing));
  n.existing_outgoing_scale = std::move(h.existing_outgoing_scale);
  n.existing_outgoing = std::move(h.existing_outgoing);
  n.consumer_scale = h.consumer_scale;
  n.duplicate_of = std::move(h.duplicate_of);
  n.singular_values = std::move(h.singular_values);
  return n;
}

/// An initializer's traits (see the file comment), false where it declares none.
template <class Init>
struct initializer_traits {
  static constexpr bool needs_data = [] {
    if constexpr (requires { Init::needs_data; }) return static_cast<bool>(Init::needs_data);
    else return false;
  }();  ///< reads GrowthData
  static constexpr bool needs_zero_at_zero = [] {
    if constexpr (requires { Init::needs_zero_at_zero; }) return static_cast<bool>(Init::needs_zero_at_zero);
    else return false;
  }();  ///< the activations between must have f(0) = 0
  static constexpr bool needs_nonzero_slope = [] {
    if constexpr (requires { Init::needs_nonzero_slope; }) return static_cast<bool>(Init::needs_nonzero_slope);
    else return false;
  }();  ///< the activations between must have f'(0) != 0
  static constexpr bool copies_neurons = [] {
    if constexpr (requires { Init::copies_neurons; }) return static_cast<bool>(Init::copies_neurons);
    else return false;
  }();  ///< new neurons copy or average existing ones
};

/// Access to the grown pair after growth, for initializers that refine their neurons by training.
/// New neurons are indices [old_width, old_width + k) of the producer weight along its output axis,
/// and [old_width m, (old_width + k) m) along the consumer weight's input axis (m consumer inputs per
/// neuron: the spatial size after a Flatten, else 1). Parameters on the network's device D.
template <class S, class D = Cpu>
struct RefineContext {
  Parameter<S, D>& producer_weight;  ///< the producer's weight, grown
  int producer_axis;                 ///< the producer weight's output axis
  Parameter<S, D>& consumer_weight;  ///< the consumer's weight, grown
  int consumer_axis;                 ///< the consumer weight's input axis
  Index consumer_multiplier;         ///< m: consumer inputs per neuron
  Index old_width;                   ///< the producer's width before growth
  Index k;                           ///< new neurons
  const GrowthData<S, D>& data;      ///< the data the initializer was given
};

/// Norm of each new neuron on one side.
struct NormRule {
  /// mean_norm: scale times the existing neurons' mean norm; fixed: scale itself.
  enum class Kind { mean_norm, fixed };
  Kind kind = Kind::mean_norm;  ///< which rule
  double scale = 1.0;           ///< the factor (mean_norm) or the norm itself (fixed); finite, >= 0

  /// s times the mean norm of the existing neurons on that side.
  static NormRule mean_norm(double scale = 1.0) { return {Kind::mean_norm, scale}; }
  /// `norm` itself, whatever the existing neurons' norms.
  static NormRule fixed(double norm) { return {Kind::fixed, norm}; }
  /// The same rule with another scale (the "zero" side of a method uses epsilon).
  NormRule with_scale(double s) const { return {kind, s}; }

  /// Norm for new neurons next to existing neurons whose vectors have mean norm `mean_existing_norm`.
  double magnitude(double mean_existing_norm) const {
    require(std::isfinite(scale) && scale >= 0, "NormRule: scale must be finite and non-negative, got ", scale);
    return kind == Kind::fixed ? scale : scale * mean_existing_norm;
  }
  /// Norm for new neurons next to existing per-neuron rows `existing` (width, fan).
  template <class S>
  double magnitude(ConstView<S, Cpu> existing) const {
    return magnitude(existing.numel() == 0 ? 0.0 : matrix(existing).template cast<double>().rowwise().norm().mean());
  }
};

/// How random directions are drawn.
enum class RandomDirection {
  sphere,                ///< uniform on the unit sphere (normalised Gaussian)
  nonnegative_uniform,   ///< U[0, 1) entries, normalised: the GradMax reference's choice
};

/// (k, fan) rows of unit norm drawn from `direction`.
template <class S>
Tensor<S, Cpu> random_unit_rows(Index k, Index fan, RandomDirection direction, Rng& rng) {
  Tensor<S, Cpu> t(Shape{k, fan});
  if (direction == RandomDirection::sphere) fill_normal(t.view(), 0.0, 1.0, rng);
  else fill_uniform(t.view(), 0.0, 1.0, rng);
  auto m = matrix(t);
  for (Index i = 0; i < k; ++i) {
    const S n = m.row(i).norm();
    if (n > S(0)) m.row(i) /= n;
  }
  return t;
}

/// Scales every row of t to norm `norm` (rows of zero norm stay zero).
template <class S>
void set_row_norms(Tensor<S, Cpu>& t, double norm) {
  auto m = matrix(t);
  for (Index i = 0; i < m.rows(); ++i) {
    const double n = static_cast<double>(m.row(i).norm());
    if (n > 0) m.row(i) *= static_cast<S>(norm / n);
  }
}

}  // namespace netgrow::grow
