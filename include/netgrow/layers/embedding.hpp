/// \file
/// netgrow/layers/embedding.hpp: token embeddings: each id of an (N, T) batch picks its row of a
/// learned table W (vocabulary, d), giving (N, T, d).
///
/// Ids arrive in the network's scalar type (a Sequential's input is one tensor type): whole numbers in
/// [0, vocabulary), exact in float up to 2^24. A non-integer or out-of-range id throws ArgumentError
/// naming it, before anything is written. The gradient of W is accumulated by index (rows of repeated
/// ids add up); the ids get no gradient (grad_in, when asked for, is zero). The lookup and its
/// gradient are ops/embedding.hpp (Cpu and Cuda back ends); model-width growth needs a Cpu layer.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <string>
#include <tuple>

#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/ops/embedding.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class EmbeddingLayer;

/// Layer kind: Embedding{.vocabulary = 65, .dim = 128}; W drawn from N(0, init_std^2) (GPT-2's 0.02).
struct Embedding {
  static constexpr std::string_view name = "Embedding";  ///< the kind's name (checkpoint configs, messages)
  Index vocabulary = 0;                                   ///< number of distinct ids
  Index dim = 0;                                          ///< d, the embedding width
  double init_std = 0.02;                                 ///< standard deviation of the initial W

  /// The configuration fields (core/fields.hpp): growth changes dim.
  static constexpr auto fields() {
    return std::tuple{field("vocabulary", &Embedding::vocabulary), field("dim", &Embedding::dim, FieldRole::width),
                      field("init_std", &Embedding::init_std)};
  }

  /// The layer this kind names: EmbeddingLayer<S, D>.
  template <class S, class D>
  using layer_type = EmbeddingLayer<S, D>;
};

/// The Embedding layer for scalar S on device D: (N, T) ids -> (N, T, d) rows of W (see the file comment).
template <class S, class D>
class EmbeddingLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Embedding;
  ///@}

  /// Builds W (vocabulary, d) drawn from N(0, init_std^2); throws for non-positive sizes or a negative std.
  EmbeddingLayer(const Embedding& kind, Rng& rng) : init_std_(kind.init_std) {
    require(kind.vocabulary > 0 && kind.dim > 0, "Embedding: vocabulary and dim must be positive, got ",
            kind.vocabulary, " and ", kind.dim);
    require(kind.init_std >= 0, "Embedding: init_std must be non-negative, got ", kind.init_std);
    weight_ = Parameter<S, D>(Shape{kind.vocabulary, kind.dim});
    Parameter<S, D> no_bias;
    draw_on_host(weight_, no_bias, [&](TensorView<S, Cpu> w, TensorView<S, Cpu>) { fill_normal(w, 0.0, kind.init_std, rng); });
  }

  Index vocabulary() const { return weight_.value.dim(0); }  ///< number of ids
  Index dim() const { return weight_.value.dim(1); }         ///< current d
  /// The table W (vocabulary, d).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  const Parameter<S, D>& weight() const { return weight_; }
  ///@}

  /// (N, T, d) for ids (N, T); ShapeError for another rank.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2, describe(), " expects ids (N, T), got ", in);
    return Shape{in[0], in[1], dim()};
  }

  /// y[n, t] = W[ids[n, t]]; ArgumentError for an id that is not a whole number in [0, vocabulary)
  /// (ops/embedding.hpp; y untouched).
  void forward(ConstView<S, D> ids, TensorView<S, D> y, Mode) {
    (void)output_shape(ids.shape());
    ops::embedding_forward<S>(ids, weight_.value.cview(), y.reshape(Shape{ids.numel(), dim()}));
  }

  /// dW[id] (+)= the sum of dy over the positions holding id (in position order); grad_in (ids) is zero
  /// when asked for.
  void backward(ConstView<S, D> ids, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> grad_in, bool accumulate) {
    ops::embedding_backward<S>(ids, dy.reshape(Shape{ids.numel(), dim()}), weight_.grad.view(), accumulate);
    if (!grad_in.empty()) ops::fill<S>(grad_in, S(0));
  }

  /// A table lookup has no products: 0 FLOPs.
  double forward_flops(const Shape&) const { return 0.0; }

  /// Model-width growth (layers/stream_expansion.hpp): the table writes the stream, so its new columns
  /// are copies of their sources or the mean column; gradient and Adam moments grow with zeros.
  void grow_stream(const StreamExpansion<S>& e) {
    Tensor<S, Cpu> staging;
    const Tensor<S, D> columns = grow::host_to<D>(e.written_columns(host_view(weight_.value, staging)));
    grow::append_to_parameter(weight_, 1, columns.cview());
  }

  /// Calls f("weight", W).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
  }

  /// The current configuration (d after growth).
  Embedding kind() const { return {vocabulary(), dim(), init_std_}; }
  /// "Embedding(vocabulary -> d)".
  std::string describe() const {
    return "Embedding(" + std::to_string(vocabulary()) + " -> " + std::to_string(dim()) + ")";
  }

  Parameter<S, D> weight_;
  double init_std_;
};

static_assert(Layer<EmbeddingLayer<float, Cpu>> && LayerKind<Embedding>);

}  // namespace netgrow
