/// \file
/// netgrow/layers/dense.hpp: the fully connected layer y = x W^T + b.
///
/// Shapes: x (N, in), W (out, in) as in the GradMax paper and PyTorch, b (out), y (N, out); on sequences
/// x (N, T, in) -> y (N, T, out), applied at every position (the rows are then the N T tokens).
/// Growing k neurons appends k rows to W and b (the producer side) or k columns to W (the consumer
/// side); widths are run-time values and kind() reports the current ones.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "netgrow/layers/fade_mask.hpp"
#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/layout.hpp"
#include "netgrow/ops/mask.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class DenseLayer;

/// Layer kind: Dense{.in = 784, .out = 1024}. Bias initialised to zero except with torch_default,
/// where it is U(-1/sqrt(in), 1/sqrt(in)) like PyTorch's nn.Linear.
struct Dense {
  static constexpr std::string_view name = "Dense";  ///< the kind's name (checkpoint configs, messages)
  Index in = 0;                                      ///< input features
  Index out = 0;                                     ///< output features (neurons)
  bool bias = true;                                  ///< false: no bias vector
  WeightInit init = WeightInit::glorot_uniform;      ///< how W (and b with torch_default) is drawn

  /// The configuration fields (core/fields.hpp): growth changes in and out.
  static constexpr auto fields() {
    return std::tuple{field("in", &Dense::in, FieldRole::width), field("out", &Dense::out, FieldRole::width),
                      field("bias", &Dense::bias), field("init", &Dense::init)};
  }

  /// The kind of a layer that maps `width` features to `width` (depth growth inserts it as an identity
  /// layer): this one's bias and init.
  Dense shape_keeping(Index width) const { return Dense{.in = width, .out = width, .bias = bias, .init = init}; }

  /// The layer this kind names: DenseLayer<S, D>.
  template <class S, class D>
  using layer_type = DenseLayer<S, D>;
};

/// The Dense layer for scalar S on device D: y (N, out) = x (N, in) W^T + b, with W (out, in) and
/// b (out) (see the file comment).
template <class S, class D>
class DenseLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Dense;
  ///@}

  /// Builds W (out, in) and b (out) and draws them from `rng` (see reset_parameters()); throws when a
  /// width is not positive.
  DenseLayer(const Dense& kind, Rng& rng) : has_bias_(kind.bias), init_(kind.init) {
    require(kind.in > 0 && kind.out > 0, "Dense: widths must be positive, got in=", kind.in, " out=", kind.out);
    weight_ = Parameter<S, D>(Shape{kind.out, kind.in});
    if (has_bias_) {
      bias_ = Parameter<S, D>(Shape{kind.out});
      bias_.weight_decay = false;
    }
    reset_parameters(rng);
  }

  /// Re-draws W (and b for torch_default) from the layer's WeightInit. On a device the values are
  /// drawn on the host, exactly as a Cpu layer draws them from the same rng, and then copied over.
  void reset_parameters(Rng& rng) {
    draw_on_host(weight_, bias_, [&](TensorView<S, Cpu> w, TensorView<S, Cpu> b) { draw_parameters(w, b, rng); });
  }

  Index in_features() const { return weight_.value.dim(1); }   ///< current input width
  Index out_features() const { return weight_.value.dim(0); }  ///< current output width
  bool has_bias() const { return has_bias_; }                  ///< built with bias = true

  /// The weights W (out, in).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  const Parameter<S, D>& weight() const { return weight_; }
  ///@}
  /// The bias b (out); throws StateError for a layer built with bias = false.
  ///@{
  Parameter<S, D>& bias() {  // (out)
    require<StateError>(has_bias_, "Dense::bias: this layer was built with bias = false");
    return bias_;
  }
  const Parameter<S, D>& bias() const {
    require<StateError>(has_bias_, "Dense::bias: this layer was built with bias = false");
    return bias_;
  }
  ///@}

  /// (N, out) for an input (N, in), (N, T, out) for a sequence (N, T, in); throws ShapeError for any
  /// other input shape.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 3, "Dense expects input (N, in_features) or (N, T, ",
                        "in_features), got ", in, in.rank() > 3 ? " (insert a Flatten before it)" : "");
    require<ShapeError>(in[-1] == in_features(), "Dense(", in_features(), " -> ", out_features(), ") expects ",
                        in_features(), " input features, got input ", in);
    Shape out = in;
    out[-1] = out_features();
    return out;
  }

  /// y (rows, out) = x (rows, in) W^T + b, rows = N (or N T). While fading (MSG, see fade_inputs):
  /// y = g_out * ((g_in * x) W^T + b) with the gains of the fading features.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    if (fading()) faded_parameters();
    const TensorView<S, D> y2 = as_rows(y);
    ops::gemm<S>(ops::Trans::no, ops::Trans::yes, S(1), as_rows(x), used_weight(), S(0), y2);
    if (has_bias_) ops::add_row_vector<S>(y2, used_bias());
  }

  /// dW (out, in) = dy^T x; db (out) = sum_rows(dy); dx (rows, in) = dy W (while fading, with the
  /// gains: dW = g_out g_in^T * dy^T x, db = g_out * sum_rows(dy), dx = dy diag(g_out) W diag(g_in)).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    if (fading()) return backward_faded(as_rows(x), as_rows(dy), dx.empty() ? dx : as_rows(dx), accumulate);
    const S beta = accumulate ? S(1) : S(0);
    const ConstView<S, D> dy2 = as_rows(dy);
    ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), dy2, as_rows(x), beta, weight_.grad.view());
    if (has_bias_) ops::sum_rows<S>(dy2, beta, bias_.grad.view());
    if (!dx.empty()) ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), dy2, weight_.value.cview(), S(0), as_rows(dx));
  }

  /// Width growth (see grow/width.hpp). Neurons this layer produces are rows of W (axis 0);
  /// neurons it consumes are columns of W (axis 1).
  ///@{
  static constexpr int output_axis = 0;
  static constexpr int input_axis = 1;
  ///@}

  /// Appends k output neurons: incoming (k, in) weights and bias (k) (empty: zero bias). Gradient
  /// and optimizer state grow with zeros.
  void grow_outputs(ConstView<S, D> incoming, ConstView<S, D> bias) {
    const Index k = incoming.rank() == 2 ? incoming.dim(0) : -1;
    require<ShapeError>(k >= 0 && incoming.dim(1) == in_features(), "Dense(", in_features(), " -> ", out_features(),
                        ")::grow_outputs: incoming weights must be (k, ", in_features(), "), got ", incoming.shape());
    require<ShapeError>(bias.empty() || bias.numel() == k, "Dense::grow_outputs: bias of ", bias.numel(),
                        " entries for ", k, " new neurons");
    require(bias.empty() || has_bias_, "Dense::grow_outputs: bias values given for a layer without bias");
    grow::append_to_parameter(weight_, 0, incoming);
    fade_out_.grow(k);
    if (has_bias_) {
      Tensor<S, D> b(Shape{k});
      if (!bias.empty()) ops::copy<S>(bias, b.view());
      grow::append_to_parameter(bias_, 0, b.cview());
    }
  }

  /// Appends k input neurons: outgoing (k, out) weights, one row per new neuron (they become
  /// columns of W). After a Flatten each new neuron feeds m consecutive inputs: rows are then
  /// (k, out m), a new neuron's (out, m) block of W flattened. Gradient and optimizer state grow with
  /// zeros.
  void grow_inputs(ConstView<S, D> outgoing) {
    require<ShapeError>(outgoing.rank() == 2 && outgoing.dim(1) % out_features() == 0, "Dense(", in_features(),
                        " -> ", out_features(), ")::grow_inputs: outgoing weights must be (k, ", out_features(),
                        " m), got ", outgoing.shape());
    const Index k = outgoing.dim(0), m = outgoing.dim(1) / out_features();
    Tensor<S, D> block(Shape{out_features(), k, m});
    ops::rows_to_axis<S>(outgoing, 1, block.view());
    grow::append_to_parameter(weight_, 1, block.cview().reshape(Shape{out_features(), k * m}));
    fade_in_.grow(k * m);
  }

  /// Masked growth (MSG; layers/fade_mask.hpp): input features [begin, end) enter with a gain rising
  /// from 0 to 1 over `steps` calls of advance_fades(), so at the start the layer ignores them whatever
  /// their weights. ArgumentError for a bad span. On a GPU the gains live there too (call advance_fades
  /// outside a recorded CUDA graph: it copies them over).
  void fade_inputs(Index begin, Index end, std::int64_t steps) {
    fade_in_.start(in_features(), begin, end, steps);
  }
  /// Output features [begin, end) (bias included) enter with a gain rising from 0 to 1: at the start
  /// they are 0 (a new block's output projection: the block starts as the identity on its residual).
  void fade_outputs(Index begin, Index end, std::int64_t steps) {
    fade_out_.start(out_features(), begin, end, steps);
  }
  /// Moves this layer's fades `steps` steps on; returns whether one is still in progress.
  /// When the last fade ends, the gained copies are released (a recorded CUDA graph that used them is
  /// then recorded again: cuda::StepGraph).
  bool advance_fades(std::int64_t steps = 1) {
    const bool in = fade_in_.active() && fade_in_.advance(steps);
    const bool out = fade_out_.active() && fade_out_.advance(steps);
    if (!fading())
      for (Tensor<S, D>* t : {&faded_weight_, &faded_bias_, &faded_grad_, &faded_bias_grad_}) *t = Tensor<S, D>();
    return in || out;
  }
  /// True while a fade is in progress.
  bool fading() const { return fade_in_.active() || fade_out_.active(); }

  /// Model-width growth (layers/stream_expansion.hpp): a Dense on the stream reads it (the output head,
  /// after the final LayerNorm): its columns over each feature's copies split, the averages' columns
  /// random after a LayerNorm, else 0. Any device (worked out on the host).
  void grow_stream(const StreamExpansion<S>& e) {
    require<ShapeError>(in_features() == e.old_width, describe(), "::grow_stream: reads ", in_features(),
                        " features of a stream of ", e.old_width);
    Tensor<S, Cpu> w = host_copy(weight_.value.cview());
    Tensor<S, Cpu> rows = e.split_columns(w.view());
    grow_inputs(grow::host_to<D>(std::move(rows)).cview());
    Tensor<S, Cpu> grown = host_copy(weight_.value.cview());
    matrix(grown).leftCols(e.old_width) = matrix(w);  // the existing columns, split
    grow::copy_between<S>(grown.cview(), weight_.value.view());
  }

  /// 2 in out FLOPs per row (per token of a sequence).
  double forward_flops(const Shape& in) const {
    const Shape out = output_shape(in);
    return 2.0 * static_cast<double>(out.numel() / out_features()) * static_cast<double>(in_features() * out_features());
  }

  /// Depth growth (grow/depth.hpp): makes this layer the identity map, W = I and b = 0; ShapeError
  /// unless it is square.
  void set_identity() {
    require<ShapeError>(in_features() == out_features(), "identity layer: ", describe(), " is not square");
    Tensor<S, Cpu> w(weight_.value.shape());
    for (Index i = 0; i < out_features(); ++i) w.at(i, i) = S(1);
    weight_.value = grow::host_to<D>(std::move(w));
    if (has_bias_) bias_.value.fill_zero();
  }

  /// Calls f("weight", W) and then, with a bias, f("bias", b).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (has_bias_) f(std::string_view("bias"), bias_);
  }

  /// The current configuration (widths after growth).
  Dense kind() const { return Dense{in_features(), out_features(), has_bias_, init_}; }

  /// "Dense(in -> out)", or "Dense(in -> out, no bias)".
  std::string describe() const {
    return "Dense(" + std::to_string(in_features()) + " -> " + std::to_string(out_features()) +
           (has_bias_ ? ")" : ", no bias)");
  }

 private:
  // A (N, F) or (N, T, F) view as (rows, F).
  template <class T>
  static TensorView<T, D> as_rows(TensorView<T, D> v) {
    return v.rank() == 3 ? v.reshape(Shape{v.dim(0) * v.dim(1), v.dim(2)}) : v;
  }

  // The weight and bias the passes use: the parameters, or their gained copies while fading.
  ConstView<S, D> used_weight() const { return fading() ? faded_weight_.cview() : weight_.value.cview(); }
  ConstView<S, D> used_bias() const { return fading() ? faded_bias_.cview() : bias_.value.cview(); }

  // diag(g_out) W diag(g_in) and g_out * b into buffers kept between passes (rewritten in place, so a
  // recorded CUDA graph stays valid while the shapes do).
  void faded_parameters() {
    const auto none = ConstView<S, D>();
    const ConstView<S, D> g_out = fade_out_.active() ? fade_out_.gains() : none;
    const ConstView<S, D> g_in = fade_in_.active() ? fade_in_.gains() : none;
    refill(faded_weight_, weight_.value.cview());
    ops::scale_rows_columns<S>(g_out, g_in, faded_weight_.view());
    if (has_bias_) {
      refill(faded_bias_, bias_.value.cview());
      ops::scale_rows_columns<S>(g_out, none, faded_bias_.view().reshape(Shape{out_features(), 1}));
    }
  }

  // t = v, reusing t's buffer when the shapes agree.
  static void refill(Tensor<S, D>& t, ConstView<S, D> v) {
    if (t.shape() != v.shape()) t = Tensor<S, D>::uninitialized(v.shape());
    ops::copy<S>(v, t.view());
  }

  // The backward pass with the gains: dW = g_out g_in^T * dy^T x, db = g_out * sum_rows(dy), dx = dy (the
  // gained W the forward pass built), gradients assigned or added to.
  void backward_faded(ConstView<S, D> x, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    if (faded_weight_.shape() != weight_.value.shape()) faded_parameters();  // else the forward pass's
    const auto none = ConstView<S, D>();
    const ConstView<S, D> g_out = fade_out_.active() ? fade_out_.gains() : none;
    const ConstView<S, D> g_in = fade_in_.active() ? fade_in_.gains() : none;
    if (faded_grad_.shape() != weight_.grad.shape()) faded_grad_ = Tensor<S, D>::uninitialized(weight_.grad.shape());
    ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), dy, x, S(0), faded_grad_.view());
    ops::scale_rows_columns<S>(g_out, g_in, faded_grad_.view());
    store_gradient(faded_grad_.cview(), weight_.grad.view(), accumulate);
    if (has_bias_) {
      if (faded_bias_grad_.shape() != bias_.grad.shape())
        faded_bias_grad_ = Tensor<S, D>::uninitialized(bias_.grad.shape());
      ops::sum_rows<S>(dy, S(0), faded_bias_grad_.view());
      ops::scale_rows_columns<S>(g_out, none, faded_bias_grad_.view().reshape(Shape{out_features(), 1}));
      store_gradient(faded_bias_grad_.cview(), bias_.grad.view(), accumulate);
    }
    if (!dx.empty()) ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), dy, faded_weight_.cview(), S(0), dx);
  }

  // grad = g, or grad += g.
  static void store_gradient(ConstView<S, D> g, TensorView<S, D> grad, bool accumulate) {
    if (accumulate) ops::axpy<S>(S(1), g, grad);
    else ops::copy<S>(g, grad);
  }

  void draw_parameters(TensorView<S, Cpu> w, TensorView<S, Cpu> b, Rng& rng) const {
    init_weights(w, init_, in_features(), out_features(), rng);
    if (has_bias_) {
      if (init_ == WeightInit::torch_default) {
        const double a = 1.0 / std::sqrt(static_cast<double>(in_features()));
        fill_uniform(b, -a, a, rng);
      } else {
        std::fill_n(b.data(), b.numel(), S(0));
      }
    }
  }

  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  bool has_bias_;
  WeightInit init_;
  FadeMask<S, D> fade_in_, fade_out_;  // MSG gains on the inputs / outputs (inactive: none)
  // While fading: the gained parameters of the last pass and the backward pass's unscaled gradients.
  Tensor<S, D> faded_weight_, faded_bias_, faded_grad_, faded_bias_grad_;
};

static_assert(Layer<DenseLayer<float, Cpu>> && LayerKind<Dense>);

}  // namespace netgrow
