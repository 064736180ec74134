/// \file
/// netgrow/blocks/transformer_block.hpp: the pre-LN transformer block over (N, T, d) sequences:
///
/// ~~~{.unparsed}
///   u = x + MHA(LN1(x))                      attention sub-block (MultiHeadAttention, optionally causal)
///   y = u + mlp(LN2(u))                      MLP sub-block: Dense(d -> mlp), GELU, Dense(mlp -> d)
/// ~~~
/// Parameters (PyTorch-style names): "ln1.*", "attention.query.weight" ..., "ln2.*", "mlp.0.*" (fc1),
/// "mlp.2.*" (fc2).
/// Growth sites: the MLP width is the pair (0, 2) of mlp(), a Sequential, so grow::grow_width and
/// grow::data_from_last_backward work on it as on any network (grow/transformer.hpp wraps them); the
/// heads through attention(); the model width d through both LayerNorms (LEMON).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class TransformerBlockLayer;

/// Block kind: TransformerBlock{.dim = 64, .heads = 2, .head_dim = 32, .mlp = 256, .causal = true}.
struct TransformerBlock {
  static constexpr std::string_view name = "TransformerBlock";  ///< the kind's name
  Index dim = 0;                                                 ///< d
  Index heads = 1;                                               ///< h
  Index head_dim = 0;                                            ///< dh
  Index mlp = 0;                                                 ///< the MLP's hidden width (4 d in GPT-2)
  bool causal = false;                                           ///< causal attention
  double eps = 1e-5;                                             ///< both LayerNorms' eps
  WeightInit init = WeightInit::glorot_uniform;                  ///< how the projections are drawn

  /// The configuration fields (core/fields.hpp): growth changes dim, heads and mlp (eps too, through
  /// LEMON's LayerNorm expansion, which no shape shows).
  static constexpr auto fields() {
    return std::tuple{field("dim", &TransformerBlock::dim, FieldRole::width),
                      field("heads", &TransformerBlock::heads, FieldRole::width),
                      field("head_dim", &TransformerBlock::head_dim), field("mlp", &TransformerBlock::mlp, FieldRole::width),
                      field("causal", &TransformerBlock::causal),
                      field("eps", &TransformerBlock::eps, FieldRole::unshaped_width),
                      field("init", &TransformerBlock::init)};
  }

  /// The kind of a block that keeps `width` (depth growth): this one's settings at that width.
  TransformerBlock shape_keeping(Index width) const {
    TransformerBlock k = *this;
    k.dim = width;
    return k;
  }

  /// The block this kind names: TransformerBlockLayer<S, D>.
  template <class S, class D>
  using layer_type = TransformerBlockLayer<S, D>;
};

/// The pre-LN transformer block for scalar S on device D (see the file comment).
template <class S, class D>
class TransformerBlockLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = TransformerBlock;
  ///@}
  using Mlp = Sequential<S, D, Dense, Gelu, Dense>;  ///< fc1 (d -> mlp), GELU, fc2 (mlp -> d)
  static constexpr std::size_t mlp_producer = 0;     ///< the MLP width's pair inside mlp(): (0, 2)
  static constexpr std::size_t mlp_consumer = 2;

  /// Builds the parts in order (ln1, attention, ln2, fc1, fc2), drawing from `rng`.
  TransformerBlockLayer(const TransformerBlock& kind, Rng& rng)
      : ln1_(LayerNorm{.features = checked(kind).dim, .eps = kind.eps}, rng),
        attention_(MultiHeadAttention{.dim = kind.dim, .heads = kind.heads, .head_dim = kind.head_dim,
                                      .causal = kind.causal, .bias = true, .init = kind.init},
                   rng),
        ln2_(LayerNorm{.features = kind.dim, .eps = kind.eps}, rng),
        mlp_(rng, Dense{.in = kind.dim, .out = kind.mlp, .bias = true, .init = kind.init}, Gelu{},
             Dense{.in = kind.mlp, .out = kind.dim, .bias = true, .init = kind.init}) {}

  /// Depth growth sees the block as a residual block (grow::ResidualBlock) whose branch is the MLP, with
  /// the attention as a side branch: DepthZero, DepthRandom, DepthGradMax and DepthCopy shape the MLP
  /// and zero the attention's output projection (the new block starts as the identity, LLaMA-Pro style).
  ///@{
  using Branch = Mlp;
  static constexpr std::size_t producer_index = mlp_producer;
  static constexpr std::size_t consumer_index = mlp_consumer;
  Branch& branch() { return mlp_; }
  bool has_projection() const { return false; }
  void zero_side_branches() { attention_.set_zero_output(); }
  ///@}

  Index dim() const { return ln1_.features(); }                      ///< d
  Index mlp_width() const { return mlp_.template layer<0>().out_features(); }  ///< the MLP's hidden width
  /// The parts.
  ///@{
  LayerNormLayer<S, D>& ln1() { return ln1_; }
  MultiHeadAttentionLayer<S, D>& attention() { return attention_; }
  LayerNormLayer<S, D>& ln2() { return ln2_; }
  Mlp& mlp() { return mlp_; }
  const Mlp& mlp() const { return mlp_; }
  DenseLayer<S, D>& fc1() { return mlp_.template layer<0>(); }
  DenseLayer<S, D>& fc2() { return mlp_.template layer<2>(); }
  ///@}

  /// Masked growth (MSG): the whole block enters faded: both branches' outputs (the attention's output
  /// projection and fc2, biases included) multiplied by a gain rising from 0 to 1 over `steps` calls of
  /// advance_fades(), so at the start the block is the identity whatever its weights.
  void fade_in(std::int64_t steps) {
    attention_.output().fade_outputs(0, dim(), steps);
    fc2().fade_outputs(0, dim(), steps);
  }
  /// MLP neurons [begin, mlp_width()) enter faded (fc2's inputs; MSG's MLP growth).
  void fade_mlp(Index begin, std::int64_t steps) {
    fc2().fade_inputs(begin, mlp_width(), steps);
  }
  /// Moves every fade in the block `steps` steps on; true while one is still in progress.
  bool advance_fades(std::int64_t steps = 1) {
    bool any = ln1_.advance_fades(steps);
    any = attention_.advance_fades(steps) || any;
    any = ln2_.advance_fades(steps) || any;
    any = fc1().advance_fades(steps) || any;
    return fc2().advance_fades(steps) || any;
  }
  /// True while a fade is in progress.
  bool fading() const {
    return ln1_.fading() || attention_.fading() || ln2_.fading() || mlp_.template layer<0>().fading() ||
           mlp_.template layer<2>().fading();
  }

  /// The attention's input LN1(x) and dL/d(attention output) from the last forward and backward (N, T, d):
  /// the grow batch of head growth (grow/heads.hpp).
  ///@{
  ConstView<S, D> attention_input() const { return a_.cview(); }
  ConstView<S, D> attention_output_grad() const { return du_.cview(); }
  ///@}

  /// The input shape (N, T, d); ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[2] == dim(), describe(), " expects (N, T, ", dim(), "), got ", in);
    return in;
  }

  /// y (N, T, d); keeps every intermediate for backward().
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    const Shape s = output_shape(x.shape());
    for (Tensor<S, D>* t : {&a_, &h_, &u_, &b_}) t->resize(s);
    ln1_.forward(x, a_.view(), mode);
    attention_.forward(a_.cview(), h_.view(), mode);
    ops::copy<S>(x, u_.view());
    ops::axpy<S>(S(1), h_.cview(), u_.view());  // u = x + MHA(LN1(x))
    ln2_.forward(u_.cview(), b_.view(), mode);
    const ConstView<S, D> e = mlp_.forward(b_.cview(), mode);
    ops::copy<S>(u_.cview(), y);
    ops::axpy<S>(S(1), e, y);  // y = u + MLP(LN2(u))
  }

  /// Parameter gradients assigned (or added to with `accumulate`); dx assigned (skipped when empty).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    require<StateError>(a_.shape() == x.shape(), describe(), "::backward: run forward first (on this input)");
    for (Tensor<S, D>* t : {&du_, &da_}) t->resize(x.shape());
    mlp_.backward(dy, {.accumulate = accumulate, .input_grad = true});
    ln2_.backward(u_.cview(), b_.cview(), mlp_.input_grad(), du_.view(), accumulate);
    ops::axpy<S>(S(1), dy, du_.view());  // du = dy + the MLP branch's
    attention_.backward(a_.cview(), h_.cview(), du_.cview(), da_.view(), accumulate);
    if (dx.empty()) {
      ln1_.backward(x, a_.cview(), da_.cview(), TensorView<S, D>(), accumulate);
      return;
    }
    ln1_.backward(x, a_.cview(), da_.cview(), dx, accumulate);
    ops::axpy<S>(S(1), du_.cview(), dx);  // dx = du + the attention branch's
  }

  /// Model-width growth (layers/stream_expansion.hpp): both LayerNorms expand, the attention reads and
  /// writes the wider stream, fc1 reads it (columns split), fc2 writes it (rows copied or averaged).
  void grow_stream(const StreamExpansion<S>& e) {
    require<ShapeError>(dim() == e.old_width, describe(), "::grow_stream: a stream of ", e.old_width, " features");
    ln1_.check_sources(std::span<const Index>(e.sources));  // before anything changes
    StreamExpansion<S> inner = e;
    inner.normalized = true;  // every reader inside reads LN1's or LN2's output
    ln1_.grow_stream(inner);
    attention_.grow_stream(inner);
    ln2_.grow_stream(inner);
    fc1().grow_stream(inner);
    auto& fc2 = this->fc2();
    Tensor<S, Cpu> staging;
    const Tensor<S, D> rows = grow::host_to<D>(inner.written_rows(host_view(fc2.weight().value, staging)));
    const Tensor<S, D> bias = grow::host_to<D>(inner.written_rows(host_view(fc2.bias().value, staging)));
    fc2.grow_outputs(rows.cview(), bias.cview().reshape(Shape{inner.added()}));
  }

  /// The attention's and the MLP's FLOPs (normalisation, GELU and the residual additions count 0).
  double forward_flops(const Shape& in) const {
    return attention_.forward_flops(in) + netgrow::forward_flops(mlp_, in);
  }

  /// Parameters named "ln1.*", "attention.*", "ln2.*", "mlp.0.*" (fc1), "mlp.2.*" (fc2).
  template <class F>
  void visit_parameters(F&& f) {
    const auto prefixed = [&](const char* prefix, auto& layer) {
      layer.visit_parameters(
          [&](std::string_view name, Parameter<S, D>& p) { f(std::string_view(prefix + std::string(name)), p); });
    };
    prefixed("ln1.", ln1_);
    prefixed("attention.", attention_);
    prefixed("ln2.", ln2_);
    mlp_.visit_parameters([&](const std::string& name, Parameter<S, D>& p) { f(std::string_view("mlp." + name), p); });
  }

  /// The current configuration.
  TransformerBlock kind() const {
    const MultiHeadAttention a = attention_.kind();
    return TransformerBlock{dim(), a.heads, a.head_dim, mlp_width(), a.causal, ln1_.eps(), a.init};
  }
  /// E.g. "TransformerBlock(64, 2 heads x 32, mlp 256, causal)".
  std::string describe() const {
    const MultiHeadAttention a = attention_.kind();
    return "TransformerBlock(" + std::to_string(dim()) + ", " + std::to_string(a.heads) + " heads x " +
           std::to_string(a.head_dim) + ", mlp " + std::to_string(mlp_width()) + (a.causal ? ", causal)" : ")");
  }

 private:
  static const TransformerBlock& checked(const TransformerBlock& k) {
    require(k.dim > 0 && k.heads > 0 && k.head_dim > 0 && k.mlp > 0, "TransformerBlock: dim, heads, head_dim and mlp ",
            "must be positive, got ", k.dim, ", ", k.heads, ", ", k.head_dim, " and ", k.mlp);
    return k;
  }

  LayerNormLayer<S, D> ln1_;
  MultiHeadAttentionLayer<S, D> attention_;
  LayerNormLayer<S, D> ln2_;
  Mlp mlp_;
  // Forward intermediates: a = LN1(x), h = MHA(a), u = x + h, b = LN2(u) (the MLP keeps its own).
  Tensor<S, D> a_, h_, u_, b_;
  Tensor<S, D> du_, da_;  // backward's scratch
};

static_assert(Layer<TransformerBlockLayer<float, Cpu>> && LayerKind<TransformerBlock>);

}  // namespace netgrow
