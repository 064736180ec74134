/// \file
/// netgrow/blocks/transformer_block.hpp: the pre-LN transformer block over (N, T, d) sequences:
///
/// ~~~{.unparsed}
///   u = x + MHA(LN1(x))                      attention sub-block (MultiHeadAttention, optionally causal)
///   y = u + fc2(GELU(fc1(LN2(u))))           MLP sub-block, fc1: d -> mlp, fc2: mlp -> d
/// ~~~
/// Parameters (PyTorch-style names): "ln1.*", "attention.query.weight" ..., "ln2.*", "fc1.*", "fc2.*".
/// The growth sites of later steps are its parts: the MLP pair (fc1, fc2) through GELU, the heads
/// (query/key/value rows and output columns), and the model width d through both LayerNorms.
#pragma once

#include <string>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
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

  /// Builds the parts in order (ln1, attention, ln2, fc1, fc2), drawing from `rng`.
  TransformerBlockLayer(const TransformerBlock& kind, Rng& rng)
      : ln1_(LayerNorm{.features = checked(kind).dim, .eps = kind.eps}, rng),
        attention_(MultiHeadAttention{.dim = kind.dim, .heads = kind.heads, .head_dim = kind.head_dim,
                                      .causal = kind.causal, .bias = true, .init = kind.init},
                   rng),
        ln2_(LayerNorm{.features = kind.dim, .eps = kind.eps}, rng),
        fc1_(Dense{.in = kind.dim, .out = kind.mlp, .bias = true, .init = kind.init}, rng),
        gelu_(Gelu{}, rng),
        fc2_(Dense{.in = kind.mlp, .out = kind.dim, .bias = true, .init = kind.init}, rng) {}

  Index dim() const { return fc2_.out_features(); }  ///< d
  /// The parts.
  ///@{
  LayerNormLayer<S, D>& ln1() { return ln1_; }
  MultiHeadAttentionLayer<S, D>& attention() { return attention_; }
  LayerNormLayer<S, D>& ln2() { return ln2_; }
  DenseLayer<S, D>& fc1() { return fc1_; }
  DenseLayer<S, D>& fc2() { return fc2_; }
  ///@}

  /// The input shape (N, T, d); ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[2] == dim(), describe(), " expects (N, T, ", dim(), "), got ", in);
    return in;
  }

  /// y (N, T, d); keeps every intermediate for backward().
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    const Shape s = output_shape(x.shape());
    const Shape hidden{s[0], s[1], fc1_.out_features()};
    for (Tensor<S, D>* t : {&a_, &h_, &u_, &b_, &e_}) t->resize(s);
    c_.resize(hidden);
    g_.resize(hidden);
    ln1_.forward(x, a_.view(), mode);
    attention_.forward(a_.cview(), h_.view(), mode);
    ops::copy<S>(x, u_.view());
    ops::axpy<S>(S(1), h_.cview(), u_.view());  // u = x + MHA(LN1(x))
    ln2_.forward(u_.cview(), b_.view(), mode);
    fc1_.forward(b_.cview(), c_.view(), mode);
    gelu_.forward(c_.cview(), g_.view(), mode);
    fc2_.forward(g_.cview(), e_.view(), mode);
    ops::copy<S>(u_.cview(), y);
    ops::axpy<S>(S(1), e_.cview(), y);  // y = u + MLP(LN2(u))
  }

  /// Parameter gradients assigned (or added to with `accumulate`); dx assigned (skipped when empty).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    require<StateError>(a_.shape() == x.shape(), describe(), "::backward: run forward first (on this input)");
    dg_.resize(g_.shape());
    dc_.resize(c_.shape());
    for (Tensor<S, D>* t : {&db_, &du_, &dh_, &da_}) t->resize(x.shape());
    fc2_.backward(g_.cview(), e_.cview(), dy, dg_.view(), accumulate);
    gelu_.backward(c_.cview(), g_.cview(), dg_.cview(), dc_.view(), accumulate);
    fc1_.backward(b_.cview(), c_.cview(), dc_.cview(), db_.view(), accumulate);
    ln2_.backward(u_.cview(), b_.cview(), db_.cview(), du_.view(), accumulate);
    ops::axpy<S>(S(1), dy, du_.view());  // du = dy + the MLP branch's
    attention_.backward(a_.cview(), h_.cview(), du_.cview(), da_.view(), accumulate);
    if (dx.empty()) {
      ln1_.backward(x, a_.cview(), da_.cview(), TensorView<S, D>(), accumulate);
      return;
    }
    ln1_.backward(x, a_.cview(), da_.cview(), dx, accumulate);
    ops::axpy<S>(S(1), du_.cview(), dx);  // dx = du + the attention branch's
  }

  /// The attention's and the MLP's FLOPs (normalisation, GELU and the residual additions count 0).
  double forward_flops(const Shape& in) const {
    const Shape hidden{in[0], in[1], fc1_.out_features()};
    return attention_.forward_flops(in) + fc1_.forward_flops(in) + fc2_.forward_flops(hidden);
  }

  /// Parameters named "ln1.*", "attention.*", "ln2.*", "fc1.*", "fc2.*".
  template <class F>
  void visit_parameters(F&& f) {
    const auto prefixed = [&](const char* prefix, auto& layer) {
      layer.visit_parameters(
          [&](std::string_view name, Parameter<S, D>& p) { f(std::string_view(prefix + std::string(name)), p); });
    };
    prefixed("ln1.", ln1_);
    prefixed("attention.", attention_);
    prefixed("ln2.", ln2_);
    prefixed("fc1.", fc1_);
    prefixed("fc2.", fc2_);
  }

  /// The current configuration.
  TransformerBlock kind() const {
    const MultiHeadAttention a = attention_.kind();
    return TransformerBlock{dim(), a.heads, a.head_dim, fc1_.out_features(), a.causal, ln1_.eps(), a.init};
  }
  /// E.g. "TransformerBlock(64, 2 heads x 32, mlp 256, causal)".
  std::string describe() const {
    const MultiHeadAttention a = attention_.kind();
    return "TransformerBlock(" + std::to_string(dim()) + ", " + std::to_string(a.heads) + " heads x " +
           std::to_string(a.head_dim) + ", mlp " + std::to_string(fc1_.out_features()) + (a.causal ? ", causal)" : ")");
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
  DenseLayer<S, D> fc1_;
  ActivationLayer<Gelu, S, D> gelu_;
  DenseLayer<S, D> fc2_;
  // Forward intermediates: a = LN1(x), h = MHA(a), u = x + h, b = LN2(u), c = fc1(b), g = GELU(c), e = fc2(g).
  Tensor<S, D> a_, h_, u_, b_, c_, g_, e_;
  Tensor<S, D> dg_, dc_, db_, du_, dh_, da_;  // backward's scratch
};

static_assert(Layer<TransformerBlockLayer<float, Cpu>> && LayerKind<TransformerBlock>);

}  // namespace netgrow
