/// \file
/// netgrow/layers/positional_embedding.hpp: learned positional embeddings: y[n, t] = x[n, t] + P[t] for
/// x (N, T, d) and a learned table P (context, d), T <= context.
///
/// A sequence longer than the context throws ShapeError naming both. dP[t] sums dy[., t] over the batch
/// (rows of P past the sequence length get no gradient); dx = dy. Any device (ops::add_row_vector,
/// ops::sum_rows).
#pragma once

#include <cmath>
#include <string>
#include <tuple>

#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class PositionalEmbeddingLayer;

/// Layer kind: PositionalEmbedding{.context = 128, .dim = 64}; P drawn from N(0, init_std^2).
struct PositionalEmbedding {
  static constexpr std::string_view name = "PositionalEmbedding";  ///< the kind's name
  Index context = 0;                                                ///< the longest sequence
  Index dim = 0;                                                    ///< d
  double init_std = 0.02;                                           ///< standard deviation of the initial P

  /// The configuration fields (core/fields.hpp): growth changes dim (and the context, which the table's
  /// shape shows).
  static constexpr auto fields() {
    return std::tuple{field("context", &PositionalEmbedding::context, FieldRole::width),
                      field("dim", &PositionalEmbedding::dim, FieldRole::width),
                      field("init_std", &PositionalEmbedding::init_std)};
  }

  /// The layer this kind names: PositionalEmbeddingLayer<S, D>.
  template <class S, class D>
  using layer_type = PositionalEmbeddingLayer<S, D>;
};

/// The PositionalEmbedding layer for scalar S on device D (see the file comment).
template <class S, class D>
class PositionalEmbeddingLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = PositionalEmbedding;
  ///@}

  /// Builds P (context, d) drawn from N(0, init_std^2); throws for non-positive sizes.
  PositionalEmbeddingLayer(const PositionalEmbedding& kind, Rng& rng) : init_std_(kind.init_std) {
    require(kind.context > 0 && kind.dim > 0, "PositionalEmbedding: context and dim must be positive, got ",
            kind.context, " and ", kind.dim);
    require(kind.init_std >= 0, "PositionalEmbedding: init_std must be non-negative, got ", kind.init_std);
    table_ = Parameter<S, D>(Shape{kind.context, kind.dim});
    table_.weight_decay = false;
    Parameter<S, D> no_bias;
    draw_on_host(table_, no_bias, [&](TensorView<S, Cpu> p, TensorView<S, Cpu>) {
      fill_normal(p, 0.0, kind.init_std, rng);
    });
  }

  Index context() const { return table_.value.dim(0); }  ///< the longest sequence
  Index dim() const { return table_.value.dim(1); }      ///< current d
  /// The table P (context, d).
  ///@{
  Parameter<S, D>& table() { return table_; }
  const Parameter<S, D>& table() const { return table_; }
  ///@}

  /// The input shape (N, T, d), T <= context; ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[2] == dim(), describe(), " expects (N, T, ", dim(), "), got ", in);
    require<ShapeError>(in[1] <= context(), describe(), ": a sequence of ", in[1], " positions is longer than the ",
                        "context of ", context());
    return in;
  }

  /// y = x + P[:T] per sample.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    (void)output_shape(x.shape());
    const Index n = x.dim(0), row = x.dim(1) * dim();
    ops::copy<S>(x, y);
    ops::add_row_vector<S>(y.reshape(Shape{n, row}), table_.value.cview().reshape(Shape{context() * dim()}).rows(0, row));
  }

  /// dP[:T] (+)= the sum of dy over the batch (the other rows: 0, or unchanged when accumulating); dx = dy.
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const Index n = x.dim(0), row = x.dim(1) * dim();
    if (!accumulate) table_.grad.fill_zero();
    TensorView<S, D> used = table_.grad.view().reshape(Shape{context() * dim()}).rows(0, row);
    ops::sum_rows<S>(dy.reshape(Shape{n, row}), S(1), used);
    if (!dx.empty()) ops::copy<S>(dy, dx);
  }

  /// An addition has no products: 0 FLOPs.
  double forward_flops(const Shape&) const { return 0.0; }

  /// Context growth: rows for positions context()..new_context - 1, drawn from N(0, s^2) with s the RMS of
  /// the existing table (the trained scale); outputs for sequences up to the old context are unchanged.
  /// Gradient and optimizer state grow with zeros. Throws for a shorter context.
  void grow_context(Index new_context, Rng& rng) {
    require(new_context >= context(), describe(), "::grow_context: ", new_context, " is below the context ", context());
    if (new_context == context()) return;
    const double rms = std::sqrt(ops::squared_norm<S>(table_.value.cview()) / static_cast<double>(table_.value.numel()));
    Tensor<S, Cpu> rows(Shape{new_context - context(), dim()});
    fill_normal(rows.view(), 0.0, rms, rng);
    const Tensor<S, D> on_device = grow::host_to<D>(std::move(rows));
    grow::append_to_parameter(table_, 0, on_device.cview());
  }

  /// Model-width growth (layers/stream_expansion.hpp): the table adds to the stream, so its new columns
  /// are copies of their sources or the mean column. Any device.
  void grow_stream(const StreamExpansion<S>& e) {
    Tensor<S, Cpu> staging;
    const Tensor<S, D> columns = grow::host_to<D>(e.written_columns(host_view(table_.value, staging)));
    grow::append_to_parameter(table_, 1, columns.cview());
  }

  /// Calls f("weight", P).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), table_);
  }

  /// The current configuration.
  PositionalEmbedding kind() const { return {context(), dim(), init_std_}; }
  /// "PositionalEmbedding(context x d)".
  std::string describe() const {
    return "PositionalEmbedding(" + std::to_string(context()) + " x " + std::to_string(dim()) + ")";
  }

 private:
  Parameter<S, D> table_;
  double init_std_;
};

static_assert(Layer<PositionalEmbeddingLayer<float, Cpu>> && LayerKind<PositionalEmbedding>);

}  // namespace netgrow
