/// \file
/// netgrow/grow/depth.hpp: depth growth. A new block goes into a Stack (or a new layer into a
/// Sequential) without changing what the network computes.
///
/// ~~~
///   // after a forward/backward of the whole network on a grow batch:
///   auto& stack = net.layer<1>();                                        // a StackLayer<WideBlock, ...>
///   auto data = grow::depth_data_from_last_backward(stack, 2);          // x and dL/dx before block 2
///   grow::grow_depth(stack, 2, grow::DepthGradMax{}, rng, data);        // a new block 2
///
///   // a plain MLP: an identity Dense + Relu after layer 1 (a new network type)
///   auto deeper = grow::insert_identity_layer<1>(std::move(mlp));       // Dense, Relu, Dense, Relu, Dense
/// ~~~
///
/// Residual blocks (WideBlock, WideBlockBN; any ResidualBlock below): the new block has an identity skip
/// (in == out, stride 1) and a branch that outputs exactly zero, in training and evaluation mode:
/// ~~~{.unparsed}
///   DepthZero      the branch's last weight layer zero, the others as the block's kind draws them
///                  (He-normal): keeps the function for any activation
///   DepthRandom    incoming weights (the branch's first weight layer) zero, outgoing weights (its last)
///                  random unit directions x norm rule: needs f(0) = 0 between them
///   DepthGradMax   incoming weights zero, outgoing weights the top-k left singular vectors of
///                  M = E[dL/dz_out h_in^T] x norm rule, k = the block's inner width (the GradMax
///                  paper's appendix A, "Growing Layers"): needs f(0) = 0 and f'(0) != 0 between them
/// ~~~
/// GradMax's M. With zero incoming weights the new branch is GradMax's pair seen from a new layer: h_in
/// is what the block's first layers make of the insertion point's x (Relu(BatchNorm(x)) with a fresh
/// BatchNorm for WideBlock), and dL/dz_out, the gradient at the branch output, equals dL/dx at the
/// insertion point (the identity skip passes the output gradient through unchanged; the layers after
/// the insertion point see the same values as before). grow_depth runs the new block forward on x and
/// backward on dL/dx, then takes M from its branch with data_from_last_backward<P, C> (exact for
/// convolutions at every border and stride, with BatchNorm's training-mode Jacobian between the pair:
/// DepthReport::gradient_scale is then 1 / sqrt(eps)), and restores the block's parameters (BatchNorm
/// running statistics included) to their fresh values. The first step after growth gives the new
/// incoming weights the gradient  slope * gradient_scale * O M  (O: the new outgoing rows), of norm
/// |slope| * gradient_scale * c * sqrt(sigma_1^2 + ... + sigma_k^2) for per-neuron norm c.
///
/// Norm rules. A new block has no trained neighbours inside itself, so NormRule::mean_norm(s) is s times
/// the mean per-neuron norm of the block's own default draw (He-normal) on that side; fixed(c) is c. The
/// incoming side uses the same rule with scale epsilon (default 0: exactly zero; epsilon > 0 no longer
/// preserves the function exactly).
///
/// Plain stacks of weight layers (Stack<Dense>, Stack<Conv2d>): DepthIdentity inserts an identity layer
/// (identity weights, zero bias; a convolution's centre tap). Plain Sequentials (Net2DeeperNet):
/// `insert_identity_layer<I>` returns a network of a new type with an identity Dense or Conv2d and a copy
/// of activation I inserted after layer I, the existing layers (parameters, optimizer state) moved over.
/// That keeps the function only if the activation satisfies f(f(z)) = f(z): Relu, Relu1 and Identity
/// (their outputs are non-negative or unchanged); other activations (Tanh, Gelu, LeakyRelu, ...) are a
/// compile-time error.
///
/// Every growth creates the new block's optimizer state (zero, owned by the optimizer that owns its
/// neighbours' state) and zero gradients, so the next optimizer step and a checkpoint see a consistent
/// network; StackLayer::size() is the depth a checkpoint records.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/ops/layout.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/core/clock.hpp"
#include "netgrow/grow/initializer.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/traits.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/blocks/stack.hpp"

namespace netgrow::grow {

/// A residual block depth growth can insert with a zero-output branch: a Layer with an identity or
/// projection skip (has_projection()), a residual branch() that is a Sequential, and the indices of the
/// branch's incoming (producer_index) and outgoing (consumer_index) weight layers. WideBlockLayer is one.
/// A block with more residual branches (TransformerBlockLayer: attention and MLP) names the one the
/// initializers shape as branch() and silences the others in zero_side_branches(), which growth calls.
template <class L>
concept ResidualBlock = Layer<L> && requires(L& block, const L& cblock) {
  typename L::Branch;
  { block.branch() } -> std::same_as<typename L::Branch&>;
  { cblock.has_projection() } -> std::convertible_to<bool>;
  { L::producer_index } -> std::convertible_to<std::size_t>;
  { L::consumer_index } -> std::convertible_to<std::size_t>;
};

/// A layer that can be inserted as an identity map (Dense, Conv2d): set_identity(), and a kind that
/// names a shape-keeping layer of a given width (layers/layer.hpp). A stack of them grows by an identity
/// layer (DepthIdentity).
template <class L>
concept IdentityLayer = Layer<L> && requires(L& layer, const typename L::kind_type& kind, Index width) {
  layer.set_identity();
  { kind.shape_keeping(width) } -> std::same_as<typename L::kind_type>;
};

/// f(f(z)) = f(z) for every z: an identity layer followed by a copy of this activation, inserted after
/// it, keeps the network's function. An activation kind says so itself with
/// `static constexpr bool idempotent = true` (Relu, Relu1, Identity).
template <class A>
inline constexpr bool idempotent_activation = requires { requires A::idempotent; };

/// The grow batch at an insertion point: x, and dL/dx (the gradient that flowed into the layers after
/// the insertion point). Views: they must outlive the growth.
template <class S, class D = Cpu>
struct DepthData {
  ConstView<S, D> input;        ///< x at the insertion point, e.g. (N, C, H, W)
  ConstView<S, D> output_grad;  ///< dL/dx at the insertion point, shape of x
  bool empty() const { return input.empty() || output_grad.empty(); }  ///< no batch given
};

/// x and dL/dx at position `index` of `stack` (0: the stack's input, size(): its output) from the
/// network's last forward and backward (views of the network's buffers: use them before the next
/// forward()). Throws for a position past size() and when that backward did not compute the gradient
/// (position 0 of a stack that is its network's first layer with parameters: pass input_grad = true).
template <class K, class S, class D>
DepthData<S, D> depth_data_from_last_backward(const StackLayer<K, S, D>& stack, std::size_t index) {
  require(index <= stack.size(), "depth_data_from_last_backward: insertion position ", index, " in a stack of ",
          stack.size(), " blocks (valid positions: 0 to ", stack.size(), ")");
  return {stack.block_input(index), stack.block_input_grad(index)};
}

/// Residual blocks: the branch's last weight layer zero, the others drawn as the block's kind draws
/// them. Keeps the function for any activation; the first step trains only the outgoing weights.
struct DepthZero {
  static constexpr bool needs_data = false;  ///< reads no grow batch
};

/// Residual blocks: incoming weights epsilon x norm rule (zero by default), outgoing weights a random
/// unit direction per inner neuron x norm rule (see the file comment for the norm reference).
struct DepthRandom {
  static constexpr bool needs_data = false;  ///< reads no grow batch

  NormRule norm = NormRule::mean_norm(1.0);             ///< outgoing side
  double epsilon = 0.0;                                 ///< incoming side: norm.with_scale(epsilon)
  RandomDirection direction = RandomDirection::sphere;  ///< how the random directions are drawn
};

/// Residual blocks: incoming weights epsilon x norm rule (zero by default), outgoing weights the top-k
/// left singular vectors of M (k: the inner width) x norm rule, completed by a random orthonormal
/// complement beyond M's rank (as GradMax's width growth does). Needs DepthData.
struct DepthGradMax {
  static constexpr bool needs_data = true;  ///< reads the grow batch at the insertion point

  NormRule norm = NormRule::mean_norm(1.0);  ///< outgoing side
  double epsilon = 0.0;                      ///< incoming side: norm.with_scale(epsilon), random direction
  ops::SvdOptions svd{};                     ///< how the top-k SVD is computed
  PairDataOptions pair_data{};               ///< BatchNorm between the pair: exact Jacobian or ignored
  /// The mode the new block sees the grow batch in (that of the network's grow pass): in training mode
  /// its BatchNorms normalise with the batch's statistics, in evaluation mode with the fresh running
  /// statistics (mean 0, variance 1).
  Mode mode = Mode::train;
};

/// Residual blocks: a copy of block `source` of the same stack (its weights, BatchNorm parameters and
/// running statistics) whose branch's last weight layer is zero, so it outputs zero: LEMON's lossless
/// depth expansion (Wang et al., ICLR 2024; the ResNet variant zeroes the last normalisation, netgrow's
/// pre-activation blocks end in a convolution). The source must have an identity skip. Draws nothing.
struct DepthCopy {
  static constexpr bool needs_data = false;  ///< reads no grow batch

  std::size_t source = 0;  ///< the block to copy (its index before the insertion)
};

/// Stacks of plain Dense or Conv2d layers: an identity layer (identity weights, zero bias; a
/// convolution's centre tap is 1), which keeps the function because nothing else sits in the stack.
struct DepthIdentity {
  static constexpr bool needs_data = false;  ///< reads no grow batch
};

/// What one depth growth did.
struct DepthReport {
  std::size_t index = 0;                ///< the new block's position
  std::size_t old_depth = 0;            ///< blocks before
  std::size_t new_depth = 0;            ///< blocks after
  std::vector<double> singular_values;  ///< DepthGradMax: the top singular values of M
  double slope = 1;                     ///< product of f'(0) over the activations inside the grown pair
  double gradient_scale = 1;            ///< DepthGradMax: GrowthData::gradient_scale (BatchNorm: 1 / sqrt(eps))
  double seconds = 0;                   ///< wall time of the growth
};

namespace detail {

template <class>
inline constexpr bool always_false = false;

// (in, out) channels or features of a block or layer kind: its `in` and `out` fields, or `dim` for a
// kind that keeps its width (a transformer block).
template <class K>
std::pair<Index, Index> kind_channels(const K& k) {
  if constexpr (requires { k.dim; }) return {k.dim, k.dim};
  else return {k.in, k.out};
}

// The width at insertion point `index` of a stack, from its blocks' kinds.
template <class K, class S, class D>
Index channels_at(const StackLayer<K, S, D>& stack, std::size_t index) {
  return index > 0 ? kind_channels(stack.block(index - 1).kind()).second : kind_channels(stack.block(0).kind()).first;
}

// Per-neuron rows of a weight seen as (outer, width, rest) along `axis` (0: producer, 1: consumer).
inline Shape neuron_shape(const Shape& w, int axis, Index width) {
  Index outer = 1;
  for (int a = 0; a < axis; ++a) outer *= w[a];
  return Shape{outer, width, w.numel() / (outer * width)};
}

template <class S, class D>
double mean_neuron_norm(const Tensor<S, D>& w, int axis, Index width) {
  const std::vector<double> norms = ops::axis_norms<S>(w.cview().reshape(neuron_shape(w.shape(), axis, width)), 1);
  double sum = 0;
  for (double n : norms) sum += n;
  return norms.empty() ? 0.0 : sum / static_cast<double>(norms.size());
}

// Sets a layer's bias (when it has one) to zero.
template <class L>
void zero_bias(L& layer) {
  if (layer.has_bias()) layer.bias().value.fill_zero();
}

// Values of every parameter of `layer`, in visit order (BatchNorm running statistics included).
template <class L>
auto parameter_values(L& layer) {
  using T = Tensor<typename L::scalar_type, typename L::device_type>;
  std::vector<T> values;
  layer.visit_parameters([&](auto&&, auto& p) { values.push_back(p.value.clone()); });
  return values;
}
template <class L, class T>
void restore_parameter_values(L& layer, std::vector<T>& values) {
  std::size_t i = 0;
  layer.visit_parameters([&](auto&&, auto& p) { p.value = std::move(values[i++]); });
}

// Gives every trainable parameter of `block` zero gradients and zero optimizer state shaped like the
// state of `neighbours` (same owner, same number of tensors); no state when the neighbours have none
// yet (the optimizer then creates it on its next step).
template <class L, class Net>
void fresh_gradients_and_state(L& block, Net& neighbours) {
  std::string owner;
  std::size_t count = 0;
  bool found = false;
  neighbours.visit_parameters([&](auto&&, auto& p) {
    if (!found && p.trainable && !p.state_owner.empty()) {
      owner = p.state_owner;
      count = p.state.size();
      found = true;
    }
  });
  block.visit_parameters([&](auto&&, auto& p) {
    p.grad = std::remove_cvref_t<decltype(p.grad)>(p.value.shape());
    p.state.clear();
    p.state_owner.clear();
    if (!found || !p.trainable) return;
    for (std::size_t i = 0; i < count; ++i) p.state.emplace_back(p.value.shape());
    p.state_owner = owner;
  });
}

// Initialises a fresh residual block's branch so that it outputs zero (see the file comment).
template <class Block, class Init>
void init_residual_block(Block& block, const Init& init, Rng& rng,
                         const DepthData<typename Block::scalar_type, typename Block::device_type>& data,
                         DepthReport& report) {
  using S = typename Block::scalar_type;
  using D = typename Block::device_type;
  using Branch = typename Block::Branch;
  constexpr std::size_t P = Block::producer_index, C = Block::consumer_index;
  static_assert(C + 1 == Branch::size, "netgrow::grow::grow_depth: the branch's outgoing weight layer must be its "
                                       "last layer, so that zero weights there make the branch output zero");
  [[maybe_unused]] constexpr PairCheck<Branch, P, C> pair_check{};
  auto& producer = block.branch().template layer<P>();
  auto& consumer = block.branch().template layer<C>();
  using Producer = std::remove_cvref_t<decltype(producer)>;
  using Consumer = std::remove_cvref_t<decltype(consumer)>;
  zero_bias(consumer);
  if constexpr (requires { block.zero_side_branches(); }) block.zero_side_branches();
  if constexpr (std::same_as<Init, DepthZero> || std::same_as<Init, DepthCopy>) {
    consumer.weight().value.fill_zero();
    return;
  } else {
    static_assert(std::same_as<Init, DepthRandom> || std::same_as<Init, DepthGradMax>,
                  "netgrow::grow::grow_depth: residual blocks grow with DepthZero, DepthRandom, DepthGradMax or "
                  "DepthCopy");
    static_assert(PairTraits<Branch, P, C>::zero_at_zero,
                  "netgrow::grow::grow_depth: zero incoming weights keep the new branch at zero only if every "
                  "activation between its first and last weight layer has f(0) = 0; use DepthZero");
    if constexpr (std::same_as<Init, DepthGradMax>)
      static_assert(PairTraits<Branch, P, C>::nonzero_slope,
                    "netgrow::grow::grow_depth: DepthGradMax needs f'(0) != 0 between the branch's weight layers "
                    "(Relu1, not Relu); with f'(0) = 0 the new incoming weights get no gradient");
    for_each_between<Branch, P, C>(block.branch(), [&](auto& layer) {
      using L = std::remove_reference_t<decltype(layer)>;
      if constexpr (ActivationBetween<L>) report.slope *= layer.activation().slope_at_zero();
    });

    Tensor<S, D>& w_in = producer.weight().value;
    Tensor<S, D>& w_out = consumer.weight().value;
    const Index width = w_in.dim(Producer::output_axis);
    const Index fan_in = w_in.numel() / width, fan_out = w_out.numel() / width;
    require<ShapeError>(w_out.dim(Consumer::input_axis) == width, "grow_depth: the branch's outgoing layer takes ",
                        w_out.dim(Consumer::input_axis), " inputs from ", width, " inner neurons");
    const double mean_in = mean_neuron_norm(w_in, Producer::output_axis, width);
    const double mean_out = mean_neuron_norm(w_out, Consumer::input_axis, width);

    // Incoming rows first (the draw order of width growth), zero when epsilon is 0.
    Tensor<S, Cpu> incoming = random_unit_rows<S>(width, fan_in, RandomDirection::sphere, rng);
    set_row_norms(incoming, init.norm.with_scale(init.epsilon).magnitude(mean_in));

    Tensor<S, D> outgoing;  // (width, fan_out) unit rows
    if constexpr (std::same_as<Init, DepthRandom>) {
      outgoing = host_to<D>(random_unit_rows<S>(width, fan_out, init.direction, rng));
    } else {
      require(!data.empty(), "grow_depth: DepthGradMax needs the grow batch at the insertion point; pass "
                             "depth_data_from_last_backward(stack, index) after a forward and backward on it");
      require<ShapeError>(data.output_grad.shape() == data.input.shape(), "grow_depth: dL/dx of shape ",
                          data.output_grad.shape(), " for x of shape ", data.input.shape());
      // The block as it will be, on the grow batch: zero incoming weights, so y = x and the branch holds
      // h_in (its input) and dL/dz_out = dL/dx (its output gradient). Then back to the fresh values.
      std::vector<Tensor<S, D>> fresh = parameter_values(block);
      w_in.fill_zero();
      Tensor<S, D> y(data.input.shape());
      block.forward(data.input, y.view(), init.mode);
      block.backward(data.input, y.cview(), data.output_grad, TensorView<S, D>(), false);
      const GrowthData<S, D> m = data_from_last_backward<P, C>(block.branch(), init.pair_data);
      GradMaxDirections<S, D> d = gradmax_directions(m, width, init.svd, rng);
      restore_parameter_values(block, fresh);
      require<ShapeError>(d.rows.shape() == Shape{width, fan_out}, "grow_depth: GradMax directions of shape ",
                          d.rows.shape(), " for ", width, " inner neurons with fan_out ", fan_out);
      outgoing = std::move(d.rows);
      report.singular_values = std::move(d.singular_values);
      report.gradient_scale = m.gradient_scale();
    }
    const auto magnitude = static_cast<S>(init.norm.magnitude(mean_out));
    ops::scale<S>(outgoing.view(), magnitude);  // unit rows -> norm-rule rows

    const Tensor<S, D> incoming_on_device = host_to<D>(std::move(incoming));
    ops::copy<S>(incoming_on_device.cview(), w_in.view().reshape(Shape{width, fan_in}));
    zero_bias(producer);
    ops::rows_to_axis<S>(outgoing.cview(), Consumer::input_axis,
                         w_out.view().reshape(neuron_shape(w_out.shape(), Consumer::input_axis, width)));
  }
}

}  // namespace detail

/// The kind of a shape-keeping block for position `index` of `stack`, modelled on its neighbour (the
/// block before it, or block 0 at position 0): the neighbour kind's shape_keeping(width there), which
/// maps the width to itself with stride 1 and copies everything else (a residual block's inner width,
/// BatchNorm settings; a layer's bias and init; a convolution keeps its kernel, 3 when even, with
/// 'same' padding).
template <class K, class S, class D>
K depth_block_kind(const StackLayer<K, S, D>& stack, std::size_t index) {
  require(index <= stack.size(), "depth_block_kind: insertion position ", index, " in a stack of ", stack.size(),
          " blocks (valid positions: 0 to ", stack.size(), ")");
  static_assert(requires(const K& k) { { k.shape_keeping(Index{1}) } -> std::same_as<K>; },
                "netgrow::grow::depth_block_kind: the block kind declares no shape_keeping(width)");
  return stack.block(index > 0 ? index - 1 : 0).kind().shape_keeping(detail::channels_at(stack, index));
}

/// Inserts a new block of kind `kind` at position `index` of `stack` (0: first, size(): last) so that
/// the network's output is unchanged, initialised by `init` (see the file comment):
///   residual blocks (ResidualBlock): DepthZero, DepthRandom or DepthGradMax (which needs `data`, the
///   grow batch at the insertion point: depth_data_from_last_backward(stack, index));
///   single Dense or Conv2d blocks: DepthIdentity.
/// The new block gets zero gradients and optimizer state like its neighbours'. Throws, leaving the stack
/// unchanged, for a position past size(), a kind that does not map the width there to itself (a residual
/// block must have an identity skip: in == out, stride 1), or missing data.
template <class K, class S, class D, class Init>
DepthReport grow_depth(StackLayer<K, S, D>& stack, std::size_t index, const K& kind, const Init& init, Rng& rng,
                       const DepthData<S, D>& data = {}) {
  using Block = layer_t<K, S, D>;
  const double start = monotonic_seconds();
  require(index <= stack.size(), "grow_depth: insertion position ", index, " in a stack of ", stack.size(),
          " blocks (valid positions: 0 to ", stack.size(), ")");
  const Index channels = detail::channels_at(stack, index);
  const auto [in, out] = detail::kind_channels(kind);
  require<ShapeError>(in == channels && out == channels, "grow_depth: the new block must map the ", channels,
                      " channels at position ", index, " to ", channels, ", but its kind has in = ", in,
                      " and out = ", out);
  if constexpr (requires { kind.stride; })
    require<ShapeError>(kind.stride == 1, "grow_depth: the new block must keep the spatial size (stride 1), got "
                        "stride ", kind.stride, "; a residual block then has an identity skip");
  if constexpr (Init::needs_data)
    require(!data.empty(), "grow_depth: this initializer needs the grow batch at the insertion point; pass "
                           "depth_data_from_last_backward(stack, index) after a forward and backward on it");
  if (!data.empty()) {
    // Channels on axis 1 ((N, C, ...) images, (N, F) rows) or features last ((N, T, d) sequences).
    require<ShapeError>(data.input.rank() >= 2 && (data.input.rank() == 3 ? data.input.dim(2) : data.input.dim(1)) ==
                                                      channels,
                        "grow_depth: grow batch x of shape ", data.input.shape(), " for a position with ", channels,
                        " channels");
    require<NumericError>(ops::all_finite<S>(data.input) && ops::all_finite<S>(data.output_grad), "grow_depth: the "
                          "grow batch at position ", index, " holds NaN or infinity; growth refused, the stack is "
                          "unchanged");
  }
  DepthReport report;
  report.index = index;
  report.old_depth = stack.size();

  Rng scratch(0);  // DepthCopy overwrites every value the constructor draws
  Block block(kind, std::same_as<Init, DepthCopy> ? scratch : rng);
  if constexpr (ResidualBlock<Block>) {
    static_assert(!std::same_as<Init, DepthIdentity>, "netgrow::grow::grow_depth: residual blocks grow with "
                                                      "DepthZero, DepthRandom, DepthGradMax or DepthCopy, not "
                                                      "DepthIdentity");
    require<ShapeError>(!block.has_projection(), "grow_depth: the new block ", block.describe(),
                        " projects its skip (stride != 1 or in != out); only a block with an identity skip keeps "
                        "the network's function");
    if constexpr (std::same_as<Init, DepthCopy>) {
      require(init.source < stack.size(), "grow_depth: DepthCopy source ", init.source, " in a stack of ",
              stack.size(), " blocks");
      auto& source = stack.block(init.source);
      require<ShapeError>(source.describe() == block.describe(), "grow_depth: DepthCopy of ", source.describe(),
                          " into a block of kind ", block.describe());
      std::vector<Tensor<S, D>> values = detail::parameter_values(source);
      detail::restore_parameter_values(block, values);
    }
    if (!data.empty())
      require<ShapeError>(block.output_shape(data.input.shape()) == data.input.shape(), "grow_depth: the new block ",
                          block.describe(), " changes the shape ", data.input.shape(), " of the grow batch");
    detail::init_residual_block(block, init, rng, data, report);
  } else if constexpr (IdentityLayer<Block>) {
    static_assert(std::same_as<Init, DepthIdentity>, "netgrow::grow::grow_depth: a stack of plain Dense or Conv2d "
                                                     "layers grows by an identity layer: use grow::DepthIdentity");
    block.set_identity();
  } else {
    static_assert(detail::always_false<K>, "netgrow::grow::grow_depth: the stack's blocks must be residual blocks "
                                           "(grow::ResidualBlock, e.g. WideBlock) or single Dense/Conv2d layers");
  }
  detail::fresh_gradients_and_state(block, stack);
  stack.insert(index, std::move(block));
  report.new_depth = stack.size();
  report.seconds = monotonic_seconds() - start;
  return report;
}

/// The same with the block's kind from depth_block_kind(stack, index) (DepthCopy: the source block's kind).
template <class K, class S, class D, class Init>
DepthReport grow_depth(StackLayer<K, S, D>& stack, std::size_t index, const Init& init, Rng& rng,
                       const DepthData<S, D>& data = {}) {
  if constexpr (std::same_as<Init, DepthCopy>) {
    require(init.source < stack.size(), "grow_depth: DepthCopy source ", init.source, " in a stack of ", stack.size(),
            " blocks");
    return grow_depth(stack, index, stack.block(init.source).kind(), init, rng, data);
  } else {
    return grow_depth(stack, index, depth_block_kind(stack, index), init, rng, data);
  }
}

namespace detail {

// Where an identity layer inserted after layer I of Net takes its width from: the index of the nearest
// Dense or Conv2d layer at or before I reached through activations, BatchNorm and pooling only, or
// no_width_source.
inline constexpr std::size_t no_width_source = static_cast<std::size_t>(-1);

enum class LayerRole { weight, passes_width, other };

// A layer that can become an identity layer gives a width; one that keeps its input's layout (rank and
// channels: activations, BatchNorm, pooling, ...; layers/layer.hpp) lets the search pass.
template <class K>
constexpr LayerRole layer_role() {
  using L = layer_t<K, float, Cpu>;
  if constexpr (IdentityLayer<L>) return LayerRole::weight;
  else if constexpr (requires { requires L::keeps_layout; }) return LayerRole::passes_width;
  else return LayerRole::other;
}

template <std::size_t I, class... Kinds>
constexpr std::size_t width_source() {
  constexpr std::array<LayerRole, sizeof...(Kinds)> roles{layer_role<Kinds>()...};
  for (std::size_t j = I + 1; j-- > 0;) {
    if (roles[j] == LayerRole::weight) return j;
    if (roles[j] == LayerRole::other) return no_width_source;
  }
  return no_width_source;
}

template <class Net, std::size_t I>
struct DeeperNetwork;

template <class S, class D, class... Kinds, std::size_t I>
struct DeeperNetwork<Sequential<S, D, Kinds...>, I> {
  using KindList = std::tuple<Kinds...>;
  static constexpr std::size_t source = width_source<I, Kinds...>();
  // The inserted weight layer's kind: that of the width source (the first kind when there is none, so
  // that the static_assert in insert_identity_layer is the only error).
  using WeightKind = std::tuple_element_t<(source == no_width_source ? 0 : source), KindList>;
  using Act = std::tuple_element_t<I, KindList>;

  template <std::size_t... As, std::size_t... Bs>
  static auto make(std::index_sequence<As...>, std::index_sequence<Bs...>)
      -> Sequential<S, D, std::tuple_element_t<As, KindList>..., WeightKind, Act,
                    std::tuple_element_t<I + 1 + Bs, KindList>...>;
  using type = decltype(make(std::make_index_sequence<I + 1>{}, std::make_index_sequence<sizeof...(Kinds) - I - 1>{}));
};

}  // namespace detail

/// The network type `insert_identity_layer<I>` returns for a Sequential Net: Net's layers with an identity
/// weight layer (Dense or Conv2d, like the layer whose width it takes) and a copy of activation I after
/// layer I.
template <class Net, std::size_t I>
using deeper_network_t = typename detail::DeeperNetwork<Net, I>::type;

/// Net2DeeperNet: returns `net` with a new identity layer and a copy of activation I inserted after
/// layer I, an activation with f(f(z)) = f(z) (idempotent_activation: Relu, Relu1, Identity), so that the
/// network computes the same function. The new layer is a Dense (w -> w, identity weights) or a 'same'
/// Conv2d (c -> c, centre tap 1, the kernel of its source, 3 when even), w or c the width of the nearest
/// Dense or Conv2d before I (through activations, BatchNorm and pooling); its bias, when the source has
/// one, is zero. The existing layers move over with their parameters, gradients and optimizer state; the
/// new layer gets zero gradients and optimizer state like its neighbours'. Nothing is drawn from an Rng.
/// `net` is consumed (moved from); the new network needs a forward() before its next backward().
template <std::size_t I, class S, class D, class... Kinds>
deeper_network_t<Sequential<S, D, Kinds...>, I> insert_identity_layer(Sequential<S, D, Kinds...>&& net) {
  using Net = Sequential<S, D, Kinds...>;
  using Deeper = detail::DeeperNetwork<Net, I>;
  using Result = typename Deeper::type;
  static_assert(I < Net::size, "netgrow::grow::insert_identity_layer<I>: I is past the network's last layer");
  using Act = typename Deeper::Act;
  static_assert(Activation<Act>, "netgrow::grow::insert_identity_layer<I>: layer I must be an activation (Relu, "
                                 "Relu1 or Identity); the identity layer and a copy of it go after it");
  if constexpr (Activation<Act>)
    static_assert(idempotent_activation<Act>,
                  "netgrow::grow::insert_identity_layer<I>: activation I is not idempotent (f(f(z)) != f(z)), so an "
                  "identity layer followed by a copy of it would change the network's function; Net2DeeperNet "
                  "needs Relu, Relu1 or Identity there (see grow::idempotent_activation)");
  static_assert(Deeper::source != detail::no_width_source,
                "netgrow::grow::insert_identity_layer<I>: no Dense or Conv2d layer before layer I (reached through "
                "activations, BatchNorm and pooling only) gives the identity layer's width");
  if constexpr (Activation<Act> && idempotent_activation<Act> && Deeper::source != detail::no_width_source) {
    using WeightKind = typename Deeper::WeightKind;
    using Source = layer_t<WeightKind, S, D>;
    const auto& src = net.template layer<Deeper::source>();
    const WeightKind kind = src.kind().shape_keeping(src.weight().value.dim(Source::output_axis));
    Rng unused(0);  // the layers' constructors draw; identity values overwrite the draws
    layer_t<WeightKind, S, D> identity(kind, unused);
    identity.set_identity();
    detail::fresh_gradients_and_state(identity, net);
    layer_t<Act, S, D> activation(net.template layer<I>().kind(), unused);
    return [&]<std::size_t... As, std::size_t... Bs>(std::index_sequence<As...>, std::index_sequence<Bs...>) {
      return Result(typename Result::layer_tuple(std::move(net.template layer<As>())..., std::move(identity),
                                                 std::move(activation),
                                                 std::move(net.template layer<I + 1 + Bs>())...));
    }(std::make_index_sequence<I + 1>{}, std::make_index_sequence<Net::size - I - 1>{});
  } else {
    throw Error("insert_identity_layer: refused at compile time");  // only instantiated after a static_assert
  }
}

}  // namespace netgrow::grow
