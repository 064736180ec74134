/// \file
/// netgrow/layers/multi_head_attention.hpp: multi-head self-attention over (N, T, d) sequences.
///
/// ~~~{.unparsed}
///   Q = x Wq^T + bq, K = x Wk^T + bk, V = x Wv^T + bv      (N, T, h dh): Wq, Wk, Wv (h dh, d)
///   A_j = softmax(Q_j K_j^T / sqrt(dh)) per head j         (N, h, T, T), causal: keys after the query masked
///   y = concat_j(A_j V_j) Wo^T + bo                        (N, T, d): Wo (d, h dh)
/// ~~~
/// The four projections are Dense layers (parameters "query.weight", "query.bias", "key.*", "value.*",
/// "output.*"), the attention itself ops::attention_forward / attention_backward. The head dimension dh
/// is a setting of its own, so h dh need not equal d (head growth at fixed dh changes h only). With
/// `causal`, the output at position t depends on the inputs at positions 0..t only.
///
/// Growth: grow_heads(NewHeads) appends heads of the same dh (rows of Wq, Wk, Wv and their biases, columns
/// of Wo), gradients and optimizer state extended by zeros; grow/heads.hpp chooses their values.
#pragma once

#include <string>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/attention.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class MultiHeadAttentionLayer;

/// Layer kind: MultiHeadAttention{.dim = 64, .heads = 2, .head_dim = 32, .causal = true}.
struct MultiHeadAttention {
  static constexpr std::string_view name = "MultiHeadAttention";  ///< the kind's name
  Index dim = 0;                                                   ///< d, the model width (input and output)
  Index heads = 1;                                                 ///< h
  Index head_dim = 0;                                              ///< dh, the width of each head
  bool causal = false;                                             ///< mask keys after the query position
  bool bias = true;                                                ///< biases on the four projections
  WeightInit init = WeightInit::glorot_uniform;                    ///< how the projections are drawn

  /// The kind of the query, key and value projections: d -> h dh.
  Dense projection_in() const { return Dense{.in = dim, .out = heads * head_dim, .bias = bias, .init = init}; }

  /// The configuration fields (core/fields.hpp): growth changes dim and heads.
  static constexpr auto fields() {
    return std::tuple{field("dim", &MultiHeadAttention::dim, FieldRole::width),
                      field("heads", &MultiHeadAttention::heads, FieldRole::width),
                      field("head_dim", &MultiHeadAttention::head_dim), field("causal", &MultiHeadAttention::causal),
                      field("bias", &MultiHeadAttention::bias), field("init", &MultiHeadAttention::init)};
  }

  /// The layer this kind names: MultiHeadAttentionLayer<S, D>.
  template <class S, class D>
  using layer_type = MultiHeadAttentionLayer<S, D>;
};

/// The values of k new heads of width dh for a layer of model width d: query, key and value rows
/// (k dh, d) with biases (k dh; empty: zero), and the output projection's new columns given as rows
/// (k dh, d), row i the weights from new head dimension i to the d outputs.
template <class S, class D>
struct NewHeads {
  Index count = 0;  ///< k
  Tensor<S, D> query, query_bias, key, key_bias, value, value_bias, output;
};

/// The MultiHeadAttention layer for scalar S on device D (see the file comment).
template <class S, class D>
class MultiHeadAttentionLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = MultiHeadAttention;
  ///@}

  /// Builds and draws the four projections (query, key, value, output, in that order); throws for
  /// non-positive sizes.
  MultiHeadAttentionLayer(const MultiHeadAttention& kind, Rng& rng)
      : query_(checked(kind).projection_in(), rng),
        key_(kind.projection_in(), rng),
        value_(kind.projection_in(), rng),
        output_(Dense{.in = kind.heads * kind.head_dim, .out = kind.dim, .bias = kind.bias, .init = kind.init}, rng),
        heads_(kind.heads),
        head_dim_(kind.head_dim),
        causal_(kind.causal) {}

  Index dim() const { return output_.out_features(); }  ///< d
  Index heads() const { return heads_; }                ///< h
  Index head_dim() const { return head_dim_; }          ///< dh
  bool causal() const { return causal_; }               ///< keys after the query are masked
  /// The projections: x -> Q, K, V (h dh outputs each) and the heads' concatenation -> y (d outputs).
  ///@{
  DenseLayer<S, D>& query() { return query_; }
  DenseLayer<S, D>& key() { return key_; }
  DenseLayer<S, D>& value() { return value_; }
  DenseLayer<S, D>& output() { return output_; }
  ///@}
  /// The attention probabilities of the last forward pass (N, h, T, T).
  ConstView<S, D> probabilities() const { return probs_.cview(); }

  /// The input shape (N, T, d); ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[2] == dim(), describe(), " expects (N, T, ", dim(), "), got ", in);
    return in;
  }

  /// y (N, T, d) from x (N, T, d); keeps Q, K, V, the probabilities and the heads' outputs for backward().
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    (void)output_shape(x.shape());
    const Index n = x.dim(0), t = x.dim(1), rows = n * t, width = heads_ * head_dim_;
    const ConstView<S, D> x2 = x.reshape(Shape{rows, dim()});
    for (Tensor<S, D>* buffer : {&q_, &k_, &v_, &heads_out_}) buffer->resize(Shape{n, t, width});
    probs_.resize(Shape{n, heads_, t, t});
    query_.forward(x2, q_.view().reshape(Shape{rows, width}), mode);
    key_.forward(x2, k_.view().reshape(Shape{rows, width}), mode);
    value_.forward(x2, v_.view().reshape(Shape{rows, width}), mode);
    ops::attention_forward<S>(q_.cview(), k_.cview(), v_.cview(), heads_, causal_, probs_.view(), heads_out_.view());
    output_.forward(heads_out_.cview().reshape(Shape{rows, width}), y.reshape(Shape{rows, dim()}), mode);
  }

  /// Parameter gradients assigned (or added to with `accumulate`); dx (N, T, d) assigned, the sum of the
  /// three projections' input gradients (skipped when empty). Needs the forward pass of this x.
  void backward(ConstView<S, D> x, ConstView<S, D> y, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const Index n = x.dim(0), t = x.dim(1), rows = n * t, width = heads_ * head_dim_;
    require<StateError>(q_.shape() == Shape{n, t, width}, describe(), "::backward: run forward first (on this input)");
    const ConstView<S, D> x2 = x.reshape(Shape{rows, dim()});
    for (Tensor<S, D>* buffer : {&dheads_, &dq_, &dk_, &dv_}) buffer->resize(Shape{n, t, width});
    output_.backward(heads_out_.cview().reshape(Shape{rows, width}), y.reshape(Shape{rows, dim()}),
                     dy.reshape(Shape{rows, dim()}), dheads_.view().reshape(Shape{rows, width}), accumulate);
    ops::attention_backward<S>(q_.cview(), k_.cview(), v_.cview(), probs_.cview(), dheads_.cview(), heads_, dq_.view(),
                               dk_.view(), dv_.view());
    const bool want_dx = !dx.empty();
    if (want_dx) dx_part_.resize(Shape{rows, dim()});
    const TensorView<S, D> dx2 = want_dx ? dx.reshape(Shape{rows, dim()}) : TensorView<S, D>();
    query_.backward(x2, q_.cview().reshape(Shape{rows, width}), dq_.cview().reshape(Shape{rows, width}), dx2, accumulate);
    key_.backward(x2, k_.cview().reshape(Shape{rows, width}), dk_.cview().reshape(Shape{rows, width}),
                  want_dx ? dx_part_.view() : TensorView<S, D>(), accumulate);
    if (want_dx) ops::axpy<S>(S(1), dx_part_.cview(), dx2);
    value_.backward(x2, v_.cview().reshape(Shape{rows, width}), dv_.cview().reshape(Shape{rows, width}),
                    want_dx ? dx_part_.view() : TensorView<S, D>(), accumulate);
    if (want_dx) ops::axpy<S>(S(1), dx_part_.cview(), dx2);
  }

  /// The four projections' FLOPs and the attention's: 4 N h T^2 dh (Q K^T and A V).
  double forward_flops(const Shape& in) const {
    const Index n = in[0], t = in[1], rows = n * t, width = heads_ * head_dim_;
    const Shape projected{rows, dim()};
    return 3 * query_.forward_flops(projected) + output_.forward_flops(Shape{rows, width}) +
           4.0 * static_cast<double>(n * heads_) * static_cast<double>(t * t) * static_cast<double>(head_dim_);
  }

  /// Appends heads.count heads (see NewHeads); all shapes are checked before anything changes.
  void grow_heads(const NewHeads<S, D>& heads) {
    const Index k = heads.count, rows = k * head_dim_;
    require(k >= 0, describe(), "::grow_heads: cannot add ", k, " heads");
    for (const Tensor<S, D>* w : {&heads.query, &heads.key, &heads.value, &heads.output})
      require<ShapeError>(w->shape() == Shape{rows, dim()}, describe(), "::grow_heads: ", k, " heads need (", rows, ", ",
                          dim(), ") weights, got ", w->shape());
    for (const Tensor<S, D>* b : {&heads.query_bias, &heads.key_bias, &heads.value_bias})
      require<ShapeError>(b->empty() || (query_.has_bias() && b->numel() == rows), describe(), "::grow_heads: bias of ",
                          b->numel(), " entries for ", rows, " new head dimensions", query_.has_bias() ? "" : " (no bias)");
    if (k == 0) return;
    query_.grow_outputs(heads.query.cview(), heads.query_bias.cview());
    key_.grow_outputs(heads.key.cview(), heads.key_bias.cview());
    value_.grow_outputs(heads.value.cview(), heads.value_bias.cview());
    output_.grow_inputs(heads.output.cview());
    heads_ += k;
  }

  /// Model-width growth (layers/stream_expansion.hpp): Q, K and V read the stream (a LayerNorm's output:
  /// their columns split), the output projection writes it (rows and bias copied or averaged). The head
  /// count and dh stay. Any device.
  void grow_stream(const StreamExpansion<S>& e) {
    require<ShapeError>(dim() == e.old_width, describe(), "::grow_stream: a stream of ", e.old_width, " features");
    for (DenseLayer<S, D>* reader : {&query_, &key_, &value_}) reader->grow_stream(e);
    Tensor<S, Cpu> staging;
    const Tensor<S, D> rows = grow::host_to<D>(e.written_rows(host_view(output_.weight().value, staging)));
    Tensor<S, D> bias;
    if (output_.has_bias()) bias = grow::host_to<D>(e.written_rows(host_view(output_.bias().value, staging)));
    output_.grow_outputs(rows.cview(), bias.empty() ? ConstView<S, D>() : bias.cview().reshape(Shape{e.added()}));
  }

  /// Masked growth (MSG): heads [first, heads()) enter faded, their outputs multiplied by a gain rising
  /// from 0 to 1 over `steps` calls of advance_fades() (the output projection's inputs), so at the start
  /// they change nothing whatever their Q, K, V and output weights.
  void fade_heads(Index first, std::int64_t steps) {
    require(first >= 0 && first < heads_, describe(), "::fade_heads: no heads from ", first);
    output_.fade_inputs(first * head_dim_, heads_ * head_dim_, steps);
  }
  /// Moves the projections' fades `steps` steps on; true while one is still in progress.
  bool advance_fades(std::int64_t steps = 1) {
    bool any = false;
    for (DenseLayer<S, D>* p : {&query_, &key_, &value_, &output_}) any = p->advance_fades(steps) || any;
    return any;
  }
  /// True while a fade is in progress.
  bool fading() const { return query_.fading() || key_.fading() || value_.fading() || output_.fading(); }

  /// Makes the layer output exactly zero (depth growth: a block whose attention adds nothing):
  /// the output projection's weights and bias become 0.
  void set_zero_output() {
    output_.weight().value.fill_zero();
    if (output_.has_bias()) output_.bias().value.fill_zero();
  }

  /// Calls f for "query.weight", "query.bias", then key, value and output likewise.
  template <class F>
  void visit_parameters(F&& f) {
    const auto prefixed = [&](const char* prefix, DenseLayer<S, D>& layer) {
      layer.visit_parameters(
          [&](std::string_view name, Parameter<S, D>& p) { f(std::string_view(prefix + std::string(name)), p); });
    };
    prefixed("query.", query_);
    prefixed("key.", key_);
    prefixed("value.", value_);
    prefixed("output.", output_);
  }

  /// The current configuration (d and h after growth).
  MultiHeadAttention kind() const {
    const Dense q = query_.kind();
    return MultiHeadAttention{dim(), heads_, head_dim_, causal_, q.bias, q.init};
  }
  /// E.g. "MultiHeadAttention(64, 2 heads x 32, causal)".
  std::string describe() const {
    return "MultiHeadAttention(" + std::to_string(dim()) + ", " + std::to_string(heads_) + " heads x " +
           std::to_string(head_dim_) + (causal_ ? ", causal)" : ")");
  }

 private:
  static const MultiHeadAttention& checked(const MultiHeadAttention& k) {
    require(k.dim > 0 && k.heads > 0 && k.head_dim > 0, "MultiHeadAttention: dim, heads and head_dim must be positive, "
            "got ", k.dim, ", ", k.heads, " and ", k.head_dim);
    return k;
  }

  DenseLayer<S, D> query_, key_, value_, output_;
  Index heads_, head_dim_;
  bool causal_;
  Tensor<S, D> q_, k_, v_, probs_, heads_out_;       // the forward pass's intermediates
  Tensor<S, D> dheads_, dq_, dk_, dv_, dx_part_;     // backward's scratch
};

static_assert(Layer<MultiHeadAttentionLayer<float, Cpu>> && LayerKind<MultiHeadAttention>);

}  // namespace netgrow
