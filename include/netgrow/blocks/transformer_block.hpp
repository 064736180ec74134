/// \file
/// netgrow/blocks/transformer_block.hpp: the pre-LN transformer block over (N, T, d) sequences:
///
/// ~~~{.unparsed}
///   u = x + drop(MHA(LN1(x)))                attention sub-block (MultiHeadAttention, optionally causal)
///   y = u + drop(mlp(LN2(u)))                MLP sub-block: Dense(d -> mlp), GELU, Dense(mlp -> d)
/// ~~~
/// drop is residual dropout (GPT-2's resid_pdrop; layers/dropout.hpp), in training mode only and only with
/// `dropout` > 0: each branch has a stream of its own, both derived from the block's `dropout_seed`. Its
/// masks are keyed by (sample, position, feature), so every growth keeps the block's function in training
/// mode too (with the masks held: hold_dropout_masks): MLP width and heads leave the branch outputs' shape,
/// LEMON's copies of stream features are dropped where their sources are (`dropout_keys`), MSG's new features
/// are faded out; LEMON's average features cannot be (refused before anything changes).
/// Parameters (PyTorch-style names): "ln1.*", "attention.query.weight" ..., "ln2.*", "mlp.0.*" (fc1),
/// "mlp.2.*" (fc2).
/// Growth sites: the MLP width is the pair (0, 2) of mlp(), a Sequential, so grow::grow_width and
/// grow::data_from_last_backward work on it as on any network (grow/transformer.hpp wraps them); the
/// heads through attention(); the model width d through both LayerNorms (LEMON).
#pragma once

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "netgrow/core/counter_hash.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/dropout.hpp"
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
  double dropout = 0;                   ///< residual dropout on both branches' outputs, in [0, 1)
  Index dropout_seed = 0;               ///< the masks' stream; 0: drawn when built (with dropout > 0)
  Index dropout_draws = 0;              ///< masks drawn so far (one per training-mode forward)
  std::vector<Index> dropout_keys{};    ///< the stream features' keys (empty: their indices; see the file comment)

  /// The configuration fields (core/fields.hpp): growth changes dim, heads and mlp (eps too, through
  /// LEMON's LayerNorm expansion, which no shape shows); training changes the dropout state (added after
  /// the first checkpoints: records without them load as dropout 0).
  static constexpr auto fields() {
    return std::tuple{field("dim", &TransformerBlock::dim, FieldRole::width),
                      field("heads", &TransformerBlock::heads, FieldRole::width),
                      field("head_dim", &TransformerBlock::head_dim), field("mlp", &TransformerBlock::mlp, FieldRole::width),
                      field("causal", &TransformerBlock::causal),
                      field("eps", &TransformerBlock::eps, FieldRole::unshaped_width),
                      field("init", &TransformerBlock::init), added_field("dropout", &TransformerBlock::dropout),
                      added_field("dropout_seed", &TransformerBlock::dropout_seed, FieldRole::state),
                      added_field("dropout_draws", &TransformerBlock::dropout_draws, FieldRole::state),
                      added_field("dropout_keys", &TransformerBlock::dropout_keys, FieldRole::state)};
  }

  /// The kind of a block that keeps `width` (depth growth): this one's settings at that width, with a
  /// dropout stream of its own (drawn when it is built) and none of its masks drawn yet.
  TransformerBlock shape_keeping(Index width) const {
    TransformerBlock k = *this;
    k.dim = width;
    k.dropout_seed = 0;
    k.dropout_draws = 0;
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
             Dense{.in = kind.mlp, .out = kind.dim, .bias = true, .init = kind.init}),
        dropout_seed_(kind.dropout > 0 && kind.dropout_seed == 0 ? static_cast<Index>((rng.next_u64() >> 1) | 1)
                                                                   : kind.dropout_seed),
        attention_drop_(branch_dropout(kind, dropout_seed_, 0), rng),
        mlp_drop_(branch_dropout(kind, dropout_seed_, 1), rng) {}

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
  ConstView<S, D> attention_output_grad() const { return dropped_ ? dh_.cview() : du_.cview(); }
  ///@}

  /// Residual dropout: true keeps both branches' current masks for the following training-mode forwards
  /// (gradient checks, comparing the block before and after a growth); false draws new ones each forward.
  void hold_dropout_masks(bool hold) {
    attention_drop_.hold_mask(hold);
    mlp_drop_.hold_mask(hold);
  }
  /// Rows of this process's batch start at global row `offset` (data parallelism: layers/dropout.hpp).
  void set_dropout_row_offset(Index offset) {
    attention_drop_.set_row_offset(offset);
    mlp_drop_.set_row_offset(offset);
  }
  /// The branches' dropout layers.
  ///@{
  const DropoutLayer<S, D>& attention_dropout() const { return attention_drop_; }
  const DropoutLayer<S, D>& mlp_dropout() const { return mlp_drop_; }
  ///@}

  /// The input shape (N, T, d); ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[2] == dim(), describe(), " expects (N, T, ", dim(), "), got ", in);
    return in;
  }

  /// y (N, T, d); keeps every intermediate for backward().
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    const Shape s = output_shape(x.shape());
    dropped_ = mode == Mode::train && attention_drop_.p() > 0;
    for (Tensor<S, D>* t : {&a_, &h_, &u_, &b_}) t->resize(s);
    ln1_.forward(x, a_.view(), mode);
    attention_.forward(a_.cview(), h_.view(), mode);
    if (dropped_) {
      attention_drop_.forward(h_.cview(), u_.view(), mode);
      ops::axpy<S>(S(1), x, u_.view());  // u = drop(MHA(LN1(x))) + x
    } else {
      ops::copy<S>(x, u_.view());
      ops::axpy<S>(S(1), h_.cview(), u_.view());  // u = x + MHA(LN1(x))
    }
    ln2_.forward(u_.cview(), b_.view(), mode);
    const ConstView<S, D> e = mlp_.forward(b_.cview(), mode);
    if (dropped_) {
      mlp_drop_.forward(e, y, mode);
      ops::axpy<S>(S(1), u_.cview(), y);  // y = drop(MLP(LN2(u))) + u
    } else {
      ops::copy<S>(u_.cview(), y);
      ops::axpy<S>(S(1), e, y);  // y = u + MLP(LN2(u))
    }
  }

  /// Parameter gradients assigned (or added to with `accumulate`); dx assigned (skipped when empty).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    require<StateError>(a_.shape() == x.shape(), describe(), "::backward: run forward first (on this input)");
    for (Tensor<S, D>* t : {&du_, &da_}) t->resize(x.shape());
    if (dropped_) {  // the branches' gradients through their masks: de = drop(dy), dh = drop(du)
      for (Tensor<S, D>* t : {&de_, &dh_}) t->resize(x.shape());
      mlp_drop_.backward(ConstView<S, D>(), ConstView<S, D>(), dy, de_.view(), false);
      mlp_.backward(de_.cview(), {.accumulate = accumulate, .input_grad = true});
    } else {
      mlp_.backward(dy, {.accumulate = accumulate, .input_grad = true});
    }
    ln2_.backward(u_.cview(), b_.cview(), mlp_.input_grad(), du_.view(), accumulate);
    ops::axpy<S>(S(1), dy, du_.view());  // du = dy + the MLP branch's
    if (dropped_) {
      attention_drop_.backward(ConstView<S, D>(), ConstView<S, D>(), du_.cview(), dh_.view(), false);
      attention_.backward(a_.cview(), h_.cview(), dh_.cview(), da_.view(), accumulate);
    } else {
      attention_.backward(a_.cview(), h_.cview(), du_.cview(), da_.view(), accumulate);
    }
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
    attention_drop_.follow_stream(e);  // the branches' outputs are stream features (their keys)
    mlp_drop_.follow_stream(e);
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

  /// Refuses, before anything changes, a stream expansion the residual dropout cannot follow exactly
  /// (layers/dropout.hpp: LEMON's average features).
  void check_stream(const StreamExpansion<S>& e) const { attention_drop_.check_stream(e); }

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
    const Dropout& drop = attention_drop_.kind();
    return TransformerBlock{dim(), a.heads, a.head_dim, mlp_width(), a.causal, ln1_.eps(), a.init,
                            drop.p, dropout_seed_, drop.draws, drop.keys};
  }
  /// E.g. "TransformerBlock(64, 2 heads x 32, mlp 256, causal)"; ", dropout 0.1" when it drops.
  std::string describe() const {
    const MultiHeadAttention a = attention_.kind();
    std::string s = "TransformerBlock(" + std::to_string(dim()) + ", " + std::to_string(a.heads) + " heads x " +
                    std::to_string(a.head_dim) + ", mlp " + std::to_string(mlp_width()) + (a.causal ? ", causal" : "");
    if (attention_drop_.p() > 0) {
      std::ostringstream p;
      p << ", dropout " << attention_drop_.p();
      s += p.str();
    }
    return s + ")";
  }

 private:
  static const TransformerBlock& checked(const TransformerBlock& k) {
    require(k.dim > 0 && k.heads > 0 && k.head_dim > 0 && k.mlp > 0, "TransformerBlock: dim, heads, head_dim and mlp ",
            "must be positive, got ", k.dim, ", ", k.heads, ", ", k.head_dim, " and ", k.mlp);
    require(std::isfinite(k.dropout) && k.dropout >= 0 && k.dropout < 1, "TransformerBlock: dropout must be in [0, 1), "
            "got ", k.dropout);
    require(k.dropout_seed >= 0 && k.dropout_draws >= 0, "TransformerBlock: dropout_seed and dropout_draws must not be "
            "negative, got ", k.dropout_seed, " and ", k.dropout_draws);
    require(k.dropout_keys.empty() || static_cast<Index>(k.dropout_keys.size()) == k.dim, "TransformerBlock: ",
            k.dropout_keys.size(), " dropout keys for ", k.dim, " features");
    return k;
  }
  // Branch `branch`'s dropout (0: attention, 1: MLP): its stream derived from the block's seed (none at p 0).
  static Dropout branch_dropout(const TransformerBlock& k, Index seed, std::uint64_t branch) {
    const Index stream =
        k.dropout > 0 ? static_cast<Index>((hash_key(static_cast<std::uint64_t>(seed), branch) >> 1) | 1) : 0;
    return Dropout{.p = k.dropout, .seed = stream, .draws = k.dropout_draws, .keys = k.dropout_keys};
  }

  LayerNormLayer<S, D> ln1_;
  MultiHeadAttentionLayer<S, D> attention_;
  LayerNormLayer<S, D> ln2_;
  Mlp mlp_;
  Index dropout_seed_;  // the block's stream (0: no dropout)
  DropoutLayer<S, D> attention_drop_, mlp_drop_;
  bool dropped_ = false;  // the last forward applied the masks
  // Forward intermediates: a = LN1(x), h = MHA(a), u = x + drop(h), b = LN2(u) (the MLP keeps its own).
  Tensor<S, D> a_, h_, u_, b_;
  Tensor<S, D> du_, da_, de_, dh_;  // backward's scratch
};

static_assert(Layer<TransformerBlockLayer<float, Cpu>> && LayerKind<TransformerBlock>);

}  // namespace netgrow
